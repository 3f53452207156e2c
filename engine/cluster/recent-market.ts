/**
 * The market inputs a node applied most recently, in a bounded ring. A shard
 * taken from a recent checkpoint (a hand-over's, or a crashed owner's last
 * periodic one) is caught up from here, in memory, without opening a reader
 * of the market log: the inputs are the very ones the live pump applied, in
 * its order, so the catch-up is the same as one read from the log.
 */
import type { Logger } from 'pino';
import type { MarketInput, MarketLog } from '../node/ports.js';

/** A ring of the last `capacity` market inputs applied; see the module comment. */
export class RecentMarket {
  readonly #ring: Array<MarketInput | undefined>;
  #start = 0;
  #size = 0;
  /** Every input applied with a seq above this is in the ring. */
  #floor: number;

  /**
   * @param capacity most inputs kept (memory: about 200 B each)
   * @param floor market seq the pump starts after (nothing at or below it is kept)
   */
  constructor(capacity: number, floor: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
    this.#ring = new Array<MarketInput | undefined>(capacity);
    this.#floor = floor;
  }

  /** Oldest market seq the ring can catch up from: {@link since} answers for any `from` at or above it. */
  get floor(): number {
    return this.#floor;
  }

  /** Record an input the pump just applied (seqs increase). */
  push(m: MarketInput): void {
    const cap = this.#ring.length;
    if (cap === 0) {
      this.#floor = m.seq;
      return;
    }
    if (this.#size === cap) {
      this.#floor = this.#ring[this.#start]!.seq;
      this.#ring[this.#start] = undefined;
      this.#start = (this.#start + 1) % cap;
      this.#size--;
    }
    this.#ring[(this.#start + this.#size) % cap] = m;
    this.#size++;
  }

  /**
   * Fill an empty ring with the inputs before its floor, read from the log at
   * start: `inputs` are every input after market seq `after`, in order, up to
   * the floor. A node that just started can then catch shards up from
   * checkpoints older than its own start without opening a reader.
   */
  backfill(after: number, inputs: readonly MarketInput[]): void {
    if (this.#size > 0 || after >= this.#floor) return;
    const top = this.#floor;
    this.#floor = after;
    for (const m of inputs) if (m.seq > after && m.seq <= top) this.push(m);
  }

  /** Every input applied after market seq `from`, in order; undefined when the ring no longer reaches back that far. */
  since(from: number): MarketInput[] | undefined {
    if (from < this.#floor) return undefined;
    const cap = this.#ring.length;
    // Binary search for the first input past `from` (seqs increase around the ring).
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ring[(this.#start + mid) % cap]!.seq <= from) lo = mid + 1;
      else hi = mid;
    }
    const out: MarketInput[] = [];
    for (let k = lo; k < this.#size; k++) out.push(this.#ring[(this.#start + k) % cap]!);
    return out;
  }
}

/**
 * Read the market inputs before a node's start position (`tickSeq`) into its
 * empty ring, bounded by the ring's size and by `deadlineMs`, so the shards
 * it takes from checkpoints older than its start catch up from memory. Whole
 * or not at all: the ring must hold every input after its floor. A member
 * joins only after this (its start, not a move's pause): the default
 * deadline leaves room for a loaded machine, where a ring left empty sends
 * every catch-up of a joining node to the log (each one a reader of its own).
 */
export async function backfillRecent(
  ring: RecentMarket,
  market: MarketLog,
  tickSeq: number,
  capacity: number,
  log?: Logger,
  deadlineMs = 10_000,
): Promise<void> {
  if (tickSeq <= 0 || capacity <= 0) return;
  const after = Math.max(0, tickSeq - capacity);
  const inputs: MarketInput[] = [];
  const t0 = performance.now();
  const reader = market.open(after + 1);
  const end = t0 + deadlineMs;
  const timer = setTimeout(() => void reader.stop(), deadlineMs);
  try {
    for await (const m of reader) {
      if (m.seq > tickSeq || performance.now() > end) break;
      inputs.push(m);
      if (m.seq === tickSeq) break;
    }
  } catch (err) {
    log?.warn({ err }, 'market history for the ring of recent inputs not read; catch-ups read the log instead');
    return;
  } finally {
    clearTimeout(timer);
    await reader.stop().catch(() => undefined);
  }
  const ms = Math.round(performance.now() - t0);
  if (inputs.length > 0 && inputs[inputs.length - 1]!.seq === tickSeq) {
    ring.backfill(after, inputs);
    log?.info({ after, upTo: tickSeq, inputs: inputs.length, ms }, 'ring of recent market inputs backfilled');
  } else
    log?.warn(
      { after, upTo: tickSeq, read: inputs.length, ms },
      'ring of recent market inputs not backfilled: catch-ups from checkpoints before the start read the log',
    );
}
