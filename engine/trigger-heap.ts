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

  /** Rebuild without stale entries once they outnumber live ones. */
  compactIfStale(versions: Uint32Array): void {
    if (this.#size < 1024 || this.#size < 2 * this.live) return;
    const keys = this.#keys.slice(0, this.#size);
    const slots = this.#slots.slice(0, this.#size);
    const vers = this.#vers.slice(0, this.#size);
    const n = this.#size;
    this.#size = 0;
    this.live = 0;
    for (let i = 0; i < n; i++) {
      if (vers[i] === versions[slots[i]!]) this.push(keys[i]!, slots[i]!, vers[i]!);
    }
  }

  #popTop(): void {
    const last = --this.#size;
    if (last === 0) return;
    const key = this.#keys[last]!;
    const slot = this.#slots[last]!;
    const ver = this.#vers[last]!;
    const keys = this.#keys;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && keys[r]! < keys[l]! ? r : l;
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
