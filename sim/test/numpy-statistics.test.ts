/**
 * The summary's statistics against NumPy's on the same samples: mean,
 * population standard deviation, percentiles (linear interpolation) and the
 * histogram. Needs python3 with NumPy (Debian's python3-numpy); CI installs
 * it, and there the test never skips.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import { distribution, histogram } from '../montecarlo/summarize.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!hasNumpy && process.env.CI === 'true') throw new Error('CI needs python3 with NumPy (apt-get install python3-numpy)');

const NUMPY = `
import json, sys, numpy as np
samples = json.load(sys.stdin)
out = []
for xs in samples:
    a = np.array(xs, dtype=np.float64)
    counts, edges = np.histogram(a, bins=40, range=(0.0, float(a.max()) if a.max() > 0 else 1e-9))
    out.append({"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
                "p": [float(x) for x in np.percentile(a, [5, 25, 50, 75, 95, 99])],
                "counts": [int(c) for c in counts], "edges": [float(e) for e in edges]})
print(json.dumps(out))
`;

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs NumPy ${b}`);
}

test('mean, standard deviation, percentiles and histogram equal NumPy on the same samples', {
  skip: hasNumpy ? false : 'python3 with NumPy is not installed',
}, () => {
  const rng = seedrandom('numpy');
  const samples = [
    Array.from({ length: 10_001 }, () => rng() * 0.2), // uniform, odd length
    Array.from({ length: 4_096 }, () => -Math.log(1 - rng()) * 0.03), // skewed like drawdowns
    Array.from({ length: 7 }, () => Math.round(rng() * 5)), // tiny, with ties
    [0.05],
  ];
  const numpy = JSON.parse(execFileSync('python3', ['-c', NUMPY], { input: JSON.stringify(samples), encoding: 'utf8' })) as {
    mean: number;
    std: number;
    min: number;
    max: number;
    p: number[];
    counts: number[];
    edges: number[];
  }[];
  samples.forEach((xs, i) => {
    const d = distribution(Float64Array.from(xs));
    const n = numpy[i]!;
    close(d.mean, n.mean, `sample ${i} mean`);
    close(d.std, n.std, `sample ${i} std`);
    close(d.min, n.min, `sample ${i} min`);
    close(d.max, n.max, `sample ${i} max`);
    [d.p5, d.p25, d.p50, d.p75, d.p95, d.p99].forEach((v, k) => close(v, n.p[k]!, `sample ${i} percentile ${[5, 25, 50, 75, 95, 99][k]}`));
    const h = histogram(Float64Array.from(xs));
    assert.deepEqual(h.counts, n.counts, `sample ${i} histogram counts`);
    h.edges.forEach((e, k) => close(e, n.edges[k]!, `sample ${i} edge ${k}`));
  });
});
