/**
 * The next deadline of every session (its auth timeout, then its token's
 * expiry) in one min-heap behind one timer, rather than a timer per session:
 * a `Timeout`, its closure and their contexts were ~400 B of each idle
 * connection's heap, more than the session itself.
 *
 * The heap is two parallel arrays (deadlines as unboxed doubles, sessions),
 * and each session holds its slot, so a session's deadline moves or goes
 * (on re-auth, on close) in O(log n) and a closed session is not kept alive
 * until its token would have expired.
 */

/** What the heap needs of a session: where it sits in the heap (-1 when it is not in it). */
export interface DeadlineHolder {
  deadlineSlot: number;
}

/** Node timers hold at most 2^31 - 1 ms: a later deadline is reached in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** One deadline per session; `onDue` is called once it has passed (the session is then out of the heap). */
export class SessionDeadlines<S extends DeadlineHolder> {
  readonly #onDue: (s: S) => void;
  readonly #clock: () => number;
  readonly #at: number[] = [];
  readonly #who: S[] = [];
  #timer: NodeJS.Timeout | undefined = undefined;
  /** The deadline the timer was armed for (Infinity when none). */
  #armedFor = Infinity;
  #stopped = false;

  constructor(onDue: (s: S) => void, clock: () => number = Date.now) {
    this.#onDue = onDue;
    this.#clock = clock;
  }

  /** Sessions waiting for a deadline. */
  get size(): number {
    return this.#who.length;
  }

  /** Set (or move) the session's deadline, ms on the clock. */
  set(s: S, at: number): void {
    if (this.#stopped) return;
    const slot = s.deadlineSlot;
    if (slot < 0) {
      this.#at.push(at);
      this.#who.push(s);
      s.deadlineSlot = this.#who.length - 1;
      this.#up(this.#who.length - 1);
    } else {
      const was = this.#at[slot]!;
      this.#at[slot] = at;
      if (at < was) this.#up(slot);
      else this.#down(slot);
    }
    this.#arm();
  }

  /** Drop the session's deadline, if it has one. */
  delete(s: S): void {
    const slot = s.deadlineSlot;
    if (slot < 0) return;
    s.deadlineSlot = -1;
    const last = this.#who.length - 1;
    const at = this.#at.pop()!,
      who = this.#who.pop()!;
    if (slot === last) return;
    this.#at[slot] = at;
    this.#who[slot] = who;
    who.deadlineSlot = slot;
    this.#up(slot);
    this.#down(who.deadlineSlot);
    // The timer may now fire early: it finds nothing due and re-arms.
  }

  /** Stop the timer; no deadline is taken or fired afterwards. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const s of this.#who) s.deadlineSlot = -1;
    this.#at.length = 0;
    this.#who.length = 0;
  }

  #arm(): void {
    const next = this.#at[0];
    if (next === undefined || next >= this.#armedFor) return;
    clearTimeout(this.#timer);
    this.#armedFor = next;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_DELAY_MS, Math.max(0, next - this.#clock())));
    // Sockets keep the process alive, not deadlines of sessions (a drained gateway must let it exit).
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.#clock();
    while (!this.#stopped && this.#who.length > 0 && this.#at[0]! <= now) {
      const s = this.#who[0]!;
      this.delete(s);
      this.#onDue(s);
    }
    if (!this.#stopped) this.#arm();
  }

  #up(k: number): void {
    const at = this.#at;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (at[p]! <= at[k]!) return;
      this.#swap(k, p);
      k = p;
    }
  }

  #down(k: number): void {
    const at = this.#at,
      n = at.length;
    for (;;) {
      const l = 2 * k + 1,
        r = l + 1;
      let m = k;
      if (l < n && at[l]! < at[m]!) m = l;
      if (r < n && at[r]! < at[m]!) m = r;
      if (m === k) return;
      this.#swap(k, m);
      k = m;
    }
  }

  #swap(i: number, j: number): void {
    const at = this.#at,
      who = this.#who;
    const a = at[i]!,
      w = who[i]!;
    at[i] = at[j]!;
    who[i] = who[j]!;
    at[j] = a;
    who[j] = w;
    who[i]!.deadlineSlot = i;
    w.deadlineSlot = j;
  }
}
