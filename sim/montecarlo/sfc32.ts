/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, 128-bit state):
 * the inner-loop generator of the Monte Carlo kernel. seedrandom seeds it, so
 * a chunk's numbers are a pure function of the job seed and the chunk index.
 */
import seedrandom from 'seedrandom';

const TWO_32 = 4294967296;

export class Sfc32 {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare = NaN;

  /** Seed from a string through seedrandom (ARC4), then discard the first outputs. */
  constructor(seed: string) {
    const src = seedrandom(seed);
    this.#a = src.int32() | 0;
    this.#b = src.int32() | 0;
    this.#c = src.int32() | 0;
    this.#d = 1;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextU32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const t = (((a + b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform on [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / TWO_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  #half = -1;

  /**
   * Exactly uniform integer in [0, n), from 16 random bits when n ≤ 65,536
   * (each 32-bit draw serves two calls): Lemire's multiply-and-reject, so no
   * value is favoured. The kernel's resampling indices come from here.
   */
  index(n: number): number {
    if (n > 65_536) return Math.floor(this.next() * n);
    for (;;) {
      let h = this.#half;
      if (h >= 0) this.#half = -1;
      else {
        const x = this.nextU32();
        h = x >>> 16;
        this.#half = x & 0xffff;
      }
      const m = h * n;
      const low = m & 0xffff;
      if (low >= n || low >= (65_536 - n) % n) return m >>> 16;
    }
  }

  /**
   * The generator's whole state (`a, b, c, d` and the unused half-draw of
   * `index`), so a generated kernel can run the same stream in locals.
   */
  saveState(into: Int32Array): void {
    into[0] = this.#a;
    into[1] = this.#b;
    into[2] = this.#c;
    into[3] = this.#d;
    into[4] = this.#half;
  }

  /** Continue from a state written by {@link saveState} (and advanced by a kernel). */
  loadState(from: Int32Array): void {
    this.#a = from[0]!;
    this.#b = from[1]!;
    this.#c = from[2]!;
    this.#d = from[3]!;
    this.#half = from[4]!;
  }

  /** Uniform on (0, 1]: safe under `log`. */
  positive(): number {
    return 1 - this.next();
  }

  /** Standard normal (Box–Muller, keeping the second value). */
  normal(): number {
    const s = this.#spare;
    if (!Number.isNaN(s)) {
      this.#spare = NaN;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.positive()));
    const theta = 2 * Math.PI * this.next();
    this.#spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Poisson with a small mean, by inversion. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    let k = 0;
    let p = Math.exp(-mean);
    let cdf = p;
    const u = this.next();
    while (u > cdf && k < 1000) {
      k++;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }
}
