/**
 * The resume ring of one assessment stream: its last frames, msgpack-encoded,
 * in one circular byte buffer bounded by bytes and by count. Frames carry
 * consecutive seqs, so only where each frame lies is kept, not its seq.
 *
 * One buffer per stream rather than one object per frame: a gateway holds
 * thousands of streams with hundreds of frames each, and a long-lived object
 * per frame fills the old generation, whose collections then stall fan-out.
 * The buffer is taken whole at the first frame, not grown: streams subscribed
 * together fill at the same pace, so growing would copy every ring in the
 * same loop turn (a stall of 100+ ms at 1,000 streams), and a ring in use
 * reaches its bound within seconds anyway.
 */

export class FrameRing {
  readonly #maxBytes: number;
  readonly #maxFrames: number;
  #buf: Uint8Array | undefined;
  /** Byte offset and length of each frame, by slot; slot `#head` is the oldest. */
  #start: Int32Array | undefined;
  #len: Int32Array | undefined;
  #head = 0;
  #count = 0;
  /** Seq of the oldest frame held (of the next one pushed, when empty). */
  #firstSeq = 1;
  /** Where the next frame goes. */
  #write = 0;

  /**
   * @param maxBytes bytes held at most; a larger frame empties the ring
   * @param maxFrames frames held at most
   */
  constructor(maxBytes: number, maxFrames: number) {
    this.#maxBytes = Math.max(1, maxBytes);
    this.#maxFrames = Math.max(1, Math.min(maxFrames, this.#maxBytes)); // a frame is at least a byte
  }

  /** Frames held. */
  get size(): number {
    return this.#count;
  }

  /** Bytes of the buffer (capacity, not what is held). */
  get capacity(): number {
    return this.#buf?.length ?? 0;
  }

  /**
   * Keep a copy of frame `seq` (the one after the newest held, or the first);
   * false when the frame alone is over the byte bound (the ring is then
   * emptied: a resume from before it must take a snapshot). No view is made:
   * the hub sends every frame and makes none per frame.
   */
  push(seq: number, data: Uint8Array): boolean {
    if (this.#count > 0 && seq !== this.#firstSeq + this.#count) this.#clear(seq); // not the next: nothing older can be replayed
    const len = data.length;
    if (len > this.#maxBytes) {
      this.#clear(seq + 1);
      return false;
    }
    if (this.#count === 0) this.#firstSeq = seq;
    if (this.#count === this.#maxFrames) this.#dropOldest();
    // Not zeroed: only bytes written are ever read.
    const buf = (this.#buf ??= new Uint8Array(Buffer.allocUnsafeSlow(this.#maxBytes).buffer, 0, this.#maxBytes));
    const start = (this.#start ??= new Int32Array(this.#maxFrames));
    const lens = (this.#len ??= new Int32Array(this.#maxFrames));
    let pos = this.#write;
    if (pos + len > buf.length) {
      // Wrap: the frames past the write position are the oldest lap's tail.
      while (this.#count > 0 && start[this.#head]! >= pos) this.#dropOldest();
      pos = 0;
    }
    while (this.#count > 0 && start[this.#head]! < pos + len && start[this.#head]! + lens[this.#head]! > pos) this.#dropOldest();
    if (this.#count === 0) {
      this.#firstSeq = seq;
      this.#head = 0;
    }
    const slot = (this.#head + this.#count) % this.#maxFrames;
    buf.set(data, pos);
    start[slot] = pos;
    lens[slot] = len;
    this.#count++;
    this.#write = pos + len;
    return true;
  }

  /**
   * The frames after `seq`, oldest first, as views valid until the next
   * push; undefined when the ring no longer holds frame `seq + 1`.
   */
  after(seq: number): Uint8Array[] | undefined {
    if (this.#count === 0 || seq + 1 < this.#firstSeq) return undefined;
    const out: Uint8Array[] = [];
    for (let k = seq + 1 - this.#firstSeq; k < this.#count; k++) {
      const slot = (this.#head + k) % this.#maxFrames;
      out.push(this.#buf!.subarray(this.#start![slot]!, this.#start![slot]! + this.#len![slot]!));
    }
    return out;
  }

  /** Drop every frame held; the next one pushed is `nextSeq`. */
  reset(nextSeq: number): void {
    this.#clear(nextSeq);
  }

  #clear(nextSeq: number): void {
    this.#count = 0;
    this.#head = 0;
    this.#write = 0;
    this.#firstSeq = nextSeq;
  }

  #dropOldest(): void {
    this.#head = (this.#head + 1) % this.#maxFrames;
    this.#count--;
    this.#firstSeq++;
  }
}
