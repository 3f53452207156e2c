/**
 * Stochastic price models used by the synthetic feed. Each model is a
 * stateless stepper: `step(current, dtMs, random)` returns the next value, so
 * the caller owns state and the randomness source (and thus determinism).
 */
import type { Random } from './random.js';

/** Milliseconds in a (365-day) year: the time unit of annualised parameters. */
export const YEAR_MS = 365 * 24 * 3600 * 1000;
/** Milliseconds in a day. */
export const DAY_MS = 24 * 3600 * 1000;

/** Parameters of {@link JumpDiffusion}. */
export interface JumpDiffusionParams {
  /**
   * Annual drift: the expected simple return is `exp(mu * t) - 1`, jumps included.
   * @default 0
   */
  readonly mu?: number;
  /**
   * Annual volatility of the diffusion part (0.6 = 60%).
   * @default 0.6
   */
  readonly sigma?: number;
  /**
   * Mean number of jumps per year (Poisson intensity lambda).
   * @default 1095 (three a day)
   */
  readonly jumpsPerYear?: number;
  /**
   * Mean of the log jump size.
   * @default 0
   */
  readonly jumpMean?: number;
  /**
   * Standard deviation of the log jump size.
   * @default 0.008
   */
  readonly jumpStd?: number;
}

function checkFinite(name: string, value: number, min = -Infinity): number {
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a finite number >= ${min}, got ${value}`);
  return value;
}

function checkDt(dtMs: number): void {
  if (!Number.isFinite(dtMs) || dtMs < 0) throw new RangeError(`dtMs must be finite and >= 0, got ${dtMs}`);
}

/**
 * Merton jump-diffusion: geometric Brownian motion plus compound Poisson jumps
 * with normally distributed log sizes. Over `t` years the log return is
 * `(mu - sigma²/2 - lambda*k) t + sigma W_t + sum of N_t jumps`, where
 * `k = exp(jumpMean + jumpStd²/2) - 1` compensates the jumps so `mu` stays the
 * total expected growth rate. Its variance is `sigma² t + lambda t (jumpMean² + jumpStd²)`.
 */
export class JumpDiffusion {
  readonly mu: number;
  readonly sigma: number;
  readonly jumpsPerYear: number;
  readonly jumpMean: number;
  readonly jumpStd: number;
  /** Drift of the log price per year, compensator included. */
  readonly #logDrift: number;

  constructor(params: JumpDiffusionParams = {}) {
    this.mu = checkFinite('mu', params.mu ?? 0);
    this.sigma = checkFinite('sigma', params.sigma ?? 0.6, 0);
    this.jumpsPerYear = checkFinite('jumpsPerYear', params.jumpsPerYear ?? 3 * 365, 0);
    this.jumpMean = checkFinite('jumpMean', params.jumpMean ?? 0);
    this.jumpStd = checkFinite('jumpStd', params.jumpStd ?? 0.008, 0);
    const k = Math.exp(this.jumpMean + (this.jumpStd * this.jumpStd) / 2) - 1;
    this.#logDrift = this.mu - (this.sigma * this.sigma) / 2 - this.jumpsPerYear * k;
  }

  /** The price `dtMs` milliseconds after `price` (which must be > 0). */
  step(price: number, dtMs: number, random: Random): number {
    checkDt(dtMs);
    if (dtMs === 0) return price;
    const t = dtMs / YEAR_MS;
    let logReturn = this.#logDrift * t + this.sigma * Math.sqrt(t) * random.normal();
    const jumps = this.jumpsPerYear > 0 ? random.poisson(this.jumpsPerYear * t) : 0;
    // The sum of n iid N(m, s²) jumps is N(n m, n s²): one draw instead of n.
    if (jumps > 0) logReturn += jumps * this.jumpMean + Math.sqrt(jumps) * this.jumpStd * random.normal();
    return price * Math.exp(logReturn);
  }
}

/** Parameters of {@link BoundedWalk}. */
export interface BoundedWalkParams {
  /**
   * Volatility on the logit scale per square root of a day.
   * @default 0.8
   */
  readonly sigma?: number;
  /**
   * Lowest probability the walk can reach (exclusive of 0).
   * @default 0.01
   */
  readonly floor?: number;
  /**
   * Highest probability the walk can reach (exclusive of 1).
   * @default 0.99
   */
  readonly ceiling?: number;
}

const logit = (p: number): number => Math.log(p / (1 - p));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Driftless random walk of a probability on the logit scale, reflected at
 * `logit(floor)` and `logit(ceiling)`. Reflection (rather than clamping) keeps
 * probability mass from piling up on the bounds.
 */
export class BoundedWalk {
  readonly sigma: number;
  readonly floor: number;
  readonly ceiling: number;
  readonly #lo: number;
  readonly #hi: number;

  constructor(params: BoundedWalkParams = {}) {
    this.sigma = checkFinite('sigma', params.sigma ?? 0.8, 0);
    this.floor = params.floor ?? 0.01;
    this.ceiling = params.ceiling ?? 0.99;
    if (!(this.floor > 0 && this.floor < this.ceiling && this.ceiling < 1)) {
      throw new RangeError(`need 0 < floor < ceiling < 1, got floor=${this.floor} ceiling=${this.ceiling}`);
    }
    this.#lo = logit(this.floor);
    this.#hi = logit(this.ceiling);
  }

  /** Clamps a probability into [floor, ceiling]. */
  clamp(p: number): number {
    return Math.min(this.ceiling, Math.max(this.floor, p));
  }

  /** The probability `dtMs` milliseconds after `p`; always within [floor, ceiling]. */
  step(p: number, dtMs: number, random: Random): number {
    checkDt(dtMs);
    if (Number.isNaN(p)) throw new RangeError('p must be a number');
    if (dtMs === 0) return this.clamp(p);
    const x = logit(this.clamp(p)) + this.sigma * Math.sqrt(dtMs / DAY_MS) * random.normal();
    // Fold x into [lo, hi] by mirroring; the modulo handles steps wider than the band.
    const width = this.#hi - this.#lo;
    let y = (x - this.#lo) % (2 * width);
    if (y < 0) y += 2 * width;
    if (y > width) y = 2 * width - y;
    // Rounding in sigmoid may land a hair outside; clamp to keep the promise exact.
    return this.clamp(sigmoid(this.#lo + y));
  }
}
