/**
 * A binary min-heap of (key, slot, version) in typed arrays: the price index's
 * building block. Entries whose version no longer matches their slot's are
 * stale and skipped (lazy deletion); the heap compacts when they pile up.
 */
export class TriggerHeap {
  #keys: Float64Array;
  #slots: Int32Array;
  #vers: Uint32Array;
  #size = 0;
  /** Entries after the last {@link compactIfGrown} rebuild. */
  #rebuiltSize = 512;
  /** Entries believed current; maintained by the owner when it stales entries. */
  live = 0;

  constructor(capacity = 64) {
    this.#keys = new Float64Array(capacity);
    this.#slots = new Int32Array(capacity);
    this.#vers = new Uint32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** The smallest key (stale entries included), Infinity when empty. */
  get minKey(): number {
    return this.#size > 0 ? this.#keys[0]! : Infinity;
  }

  push(key: number, slot: number, ver: number): void {
    if (this.#size === this.#keys.length) this.#grow();
    let i = this.#size++;
    this.live++;
    const keys = this.#keys;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      this.#move(parent, i);
      i = parent;
    }
    this.#set(i, key, slot, ver);
  }

  /**
   * Pop every entry with key ≤ `threshold`; `visit` gets the slots whose entry
   * is current per `versions`. Stale entries are dropped on the way.
   */
  popUpTo(threshold: number, versions: Uint32Array, visit: (slot: number) => void): void {
    while (this.#size > 0 && this.#keys[0]! <= threshold) {
      const slot = this.#slots[0]!;
      const current = this.#vers[0] === versions[slot];
      this.#popTop();
      if (current) {
        this.live--;
        visit(slot);
      }
    }
  }

  /**
   * Rebuild without stale entries once they outnumber live ones (`live` kept by the owner). In place, by
   * pushing the current entries again in array order: the same heap as a rebuild into fresh arrays.
   */
  compactIfStale(versions: Uint32Array): void {
    if (this.#size < 1024 || this.#size < 2 * this.live) return;
    const n = this.#size;
    const keys = this.#keys;
    const slots = this.#slots;
    const vers = this.#vers;
    this.#size = 0;
    this.live = 0;
    // push writes only below the entry being read (the heap never outgrows the entries read so far)
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const slot = slots[i]!;
      const ver = vers[i]!;
      if (ver === versions[slot]) this.push(key, slot, ver);
    }
  }

  /**
   * Rebuild without stale entries once the heap has doubled since the last rebuild: for an owner that stales
   * entries without counting them (the order of equal keys may change, so only where it does not matter).
   * Amortized over the pushes that doubled it, a rebuild costs O(1) a push.
   */
  compactIfGrown(versions: Uint32Array): void {
    if (this.#size < 1024 || this.#size < 2 * this.#rebuiltSize) return;
    const keys = this.#keys;
    const slots = this.#slots;
    const vers = this.#vers;
    let n = 0;
    for (let i = 0; i < this.#size; i++) {
      if (vers[i] !== versions[slots[i]!]) continue;
      keys[n] = keys[i]!;
      slots[n] = slots[i]!;
      vers[n] = vers[i]!;
      n++;
    }
    this.#size = n;
    this.live = n;
    this.#rebuiltSize = Math.max(n, 512);
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#siftDown(i, keys[i]!, slots[i]!, vers[i]!, n);
  }

  #popTop(): void {
    const last = --this.#size;
    if (last === 0) return;
    this.#siftDown(0, this.#keys[last]!, this.#slots[last]!, this.#vers[last]!, last);
  }

  /** Place (key, slot, ver) at `i` or below, among the first `size` entries. */
  #siftDown(i: number, key: number, slot: number, ver: number, size: number): void {
    const keys = this.#keys;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && keys[r]! < keys[l]! ? r : l;
      if (keys[c]! >= key) break;
      this.#move(c, i);
      i = c;
    }
    this.#set(i, key, slot, ver);
  }

  #move(from: number, to: number): void {
    this.#keys[to] = this.#keys[from]!;
    this.#slots[to] = this.#slots[from]!;
    this.#vers[to] = this.#vers[from]!;
  }

  #set(i: number, key: number, slot: number, ver: number): void {
    this.#keys[i] = key;
    this.#slots[i] = slot;
    this.#vers[i] = ver;
  }

  #grow(): void {
    const cap = this.#keys.length * 2;
    const keys = new Float64Array(cap);
    keys.set(this.#keys);
    const slots = new Int32Array(cap);
    slots.set(this.#slots);
    const vers = new Uint32Array(cap);
    vers.set(this.#vers);
    this.#keys = keys;
    this.#slots = slots;
    this.#vers = vers;
  }
}
