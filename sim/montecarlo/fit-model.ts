/**
 * Fit a Merton jump-diffusion to a price series: log returns beyond four
 * robust standard deviations are jumps (their rate, mean and spread), the
 * rest is the diffusion (its volatility from the median absolute deviation,
 * so the jumps do not inflate it); the drift is the series' growth rate.
 */
import { medianAbsoluteDeviation, mean, standardDeviation } from 'simple-statistics';
import { YEAR_MS } from '../price-models.js';

/** The fitted parameters, annualized over 365 days. */
export interface FittedModel {
  readonly mu: number;
  readonly sigma: number;
  readonly jumpsPerYear: number;
  readonly jumpMean: number;
  readonly jumpStd: number;
  readonly observations: number;
}

/** Fit from `(time ms, price)` points in time order, at least 30 of them. */
export function fitJumpDiffusion(points: readonly { readonly t: number; readonly price: number }[]): FittedModel {
  if (points.length < 30) throw new RangeError(`fitting needs at least 30 prices, got ${points.length}`);
  const rets: number[] = [];
  const dts: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const dt = (points[i]!.t - points[i - 1]!.t) / YEAR_MS;
    if (!(dt > 0) || !(points[i]!.price > 0) || !(points[i - 1]!.price > 0))
      throw new RangeError(`prices must be positive and times increasing (point ${i})`);
    rets.push(Math.log(points[i]!.price / points[i - 1]!.price));
    dts.push(dt);
  }
  const dtMean = mean(dts);
  // 1.4826 × MAD estimates a normal's standard deviation, robust to the jumps.
  const robustStep = 1.4826 * medianAbsoluteDeviation(rets);
  const jumps = rets.filter((r) => Math.abs(r) > 4 * robustStep);
  const diffusion = rets.filter((r) => Math.abs(r) <= 4 * robustStep);
  const years = (points.at(-1)!.t - points[0]!.t) / YEAR_MS;
  const sigma = (diffusion.length > 1 ? standardDeviation(diffusion) : robustStep) / Math.sqrt(dtMean);
  const growth = Math.log(points.at(-1)!.price / points[0]!.price) / years;
  const jumpsPerYear = jumps.length / years;
  const jumpMean = jumps.length > 0 ? mean(jumps) : 0;
  const jumpStd = jumps.length > 1 ? standardDeviation(jumps) : 0;
  // Log growth = mu − σ²/2 − λk + λ·jumpMean (compensated jumps), solved for mu.
  const kappa = Math.exp(jumpMean + (jumpStd * jumpStd) / 2) - 1;
  const mu = growth + (sigma * sigma) / 2 + jumpsPerYear * (kappa - jumpMean);
  return { mu, sigma, jumpsPerYear, jumpMean, jumpStd, observations: rets.length };
}
