/**
 * Automatic mean block length for the stationary bootstrap: Politis & White
 * (2004), "Automatic Block-Length Selection for the Dependent Bootstrap", with
 * the correction of Patton, Politis & White (2009). It follows the reference
 * implementation in the `arch` package (`optimal_block_length`).
 */
import { mean } from 'simple-statistics';

/**
 * The stationary bootstrap's optimal mean block length for `x`, capped at
 * `min(3√n, n/3)` and at least 1. Mirrors `arch.bootstrap.optimal_block_length`
 * step for step; a series too short to estimate or without variance gets 1.
 */
export function optimalBlockLength(x: readonly number[]): number {
  const n = x.length;
  const kn = Math.max(5, Math.trunc(Math.log10(n)));
  const mMax = Math.ceil(Math.sqrt(n)) + kn;
  if (n < mMax + 2) return 1;
  const bMax = Math.ceil(Math.min(3 * Math.sqrt(n), n / 3));
  const m0 = mean(x as number[]);
  const eps = x.map((v) => v - m0);
  const dot = (a: number, b: number, len: number): number => {
    let s = 0;
    for (let i = 0; i < len; i++) s += eps[a + i]! * eps[b + i]!;
    return s;
  };
  const cv = 2 * Math.sqrt(Math.log10(n) / n);
  const acv = new Float64Array(mMax + 1);
  const absAcorr = new Float64Array(mMax + 1);
  let optM = -1;
  for (let i = 0; i <= mMax; i++) {
    const len = n - (i + 1);
    const v1 = dot(i + 1, i + 1, len);
    const v2 = dot(0, 0, len);
    const cross = dot(i, 0, n - i);
    acv[i] = cross / n;
    absAcorr[i] = Math.abs(cross) / Math.sqrt(v1 * v2);
    if (i >= kn && optM < 0) {
      // The first run of kn insignificant autocorrelations.
      let quiet = true;
      for (let j = i - kn; j < i; j++) if (!(absAcorr[j]! < cv)) quiet = false;
      if (quiet) optM = i - kn;
    }
  }
  if (!(acv[0]! > 0)) return 1;
  const m = Math.min(optM >= 0 ? 2 * Math.max(optM, 1) : mMax, mMax);
  let g = 0;
  let lrAcv = acv[0]!;
  for (let k = 1; k <= m; k++) {
    const lam = k / m <= 0.5 ? 1 : 2 * (1 - k / m);
    g += 2 * lam * k * acv[k]!;
    lrAcv += 2 * lam * acv[k]!;
  }
  const dSb = 2 * lrAcv * lrAcv;
  const b = Math.cbrt((2 * g * g) / dSb) * Math.cbrt(n);
  return Number.isFinite(b) ? Math.max(1, Math.min(b, bMax)) : 1;
}
