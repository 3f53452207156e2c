/**
 * Seeded randomness for simulations. Everything here is a pure function of
 * the seed: no module-level state, no `Math.random`.
 */
import seedrandom from 'seedrandom';

/** A uniform generator on [0, 1). */
export type Rng = () => number;

/**
 * Creates a deterministic uniform generator on [0, 1) from a string seed,
 * using seedrandom's `alea` (fast, 53-bit, passes BigCrush).
 */
export function createRng(seed: string): Rng {
  const prng = seedrandom.alea(seed);
  return () => prng();
}

/** One Box-Muller pair of independent standard normals. */
function boxMuller(rng: Rng): [number, number] {
  // 1 - u keeps the argument of log in (0, 1], so it is never log(0).
  const r = Math.sqrt(-2 * Math.log(1 - rng()));
  const theta = 2 * Math.PI * rng();
  return [r * Math.cos(theta), r * Math.sin(theta)];
}

/**
 * Draws one standard normal with Box-Muller. Stateless, so the second value
 * of the pair is discarded; use {@link createNormal} or {@link Random} to
 * keep it.
 */
export function normal(rng: Rng): number {
  return boxMuller(rng)[0];
}

/**
 * Returns a standard-normal generator that caches the second Box-Muller value
 * in its closure, so it costs one `log`/`sqrt` per two draws.
 */
export function createNormal(rng: Rng): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const [z0, z1] = boxMuller(rng);
    spare = z1;
    return z0;
  };
}

/** ln(k!) exactly for small k, by Stirling's series beyond (error < 1e-15). */
function logFactorial(k: number): number {
  if (k < 20) {
    let s = 0;
    for (let i = 2; i <= k; i++) s += Math.log(i);
    return s;
  }
  const k2 = k * k;
  return k * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI * k) + 1 / (12 * k) - 1 / (360 * k * k2) + 1 / (1260 * k2 * k2 * k);
}

/**
 * Draws a Poisson variate with mean `lambda`. Uses Knuth's multiplication
 * method for small means and Hörmann's PTRS rejection sampler (as in NumPy)
 * for `lambda >= 10`, where Knuth's method would take O(lambda) draws.
 */
export function poisson(rng: Rng, lambda: number): number {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new RangeError(`poisson: invalid lambda ${lambda}`);
  if (lambda === 0) return 0;
  if (lambda < 10) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rng();
    while (p > limit) {
      k++;
      p *= rng();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng() - 0.5;
    const v = rng();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    const lhs = Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b);
    if (lhs <= -lambda + k * loglam - logFactorial(k)) return k;
  }
}

/** A small seeded random source: uniform, normal, Poisson, integer and pick. */
export class Random {
  readonly #rng: Rng;
  readonly #normal: () => number;

  /** @param source a string seed (fed to {@link createRng}) or an existing generator. */
  constructor(source: string | Rng) {
    this.#rng = typeof source === 'string' ? createRng(source) : source;
    this.#normal = createNormal(this.#rng);
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.#rng();
  }

  /** Standard normal (mean 0, variance 1). */
  normal(): number {
    return this.#normal();
  }

  /** Poisson with mean `lambda`. */
  poisson(lambda: number): number {
    return poisson(this.#rng, lambda);
  }

  /** Exponential with the given mean (> 0). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.#rng());
  }

  /** Integer uniform on [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int: n must be a positive integer, got ${n}`);
    return Math.floor(this.#rng() * n);
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick: empty array');
    return items[this.int(items.length)] as T;
  }
}
