import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sfc32 } from '../montecarlo/sfc32.js';

test('the same seed gives the same stream, another seed another', () => {
  const a = new Sfc32('s');
  const b = new Sfc32('s');
  const c = new Sfc32('t');
  const xs = Array.from({ length: 50 }, () => a.nextU32());
  assert.deepEqual(
    Array.from({ length: 50 }, () => b.nextU32()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 50 }, () => c.nextU32()),
    xs,
  );
});

test('index(n) is uniform on [0, n) for small, awkward and large n (chi-square at the 0.1% level)', () => {
  const rng = new Sfc32('index');
  // Critical values of chi-square at p = 0.001 for n − 1 degrees of freedom.
  for (const [n, critical] of [
    [3, 13.82],
    [7, 22.46],
    [500, 605.7],
    [40_000, 40_690],
    [100_000, 100_980],
  ] as const) {
    const draws = n * 60;
    const counts = new Float64Array(n);
    for (let i = 0; i < draws; i++) {
      const k = rng.index(n);
      assert.ok(Number.isInteger(k) && k >= 0 && k < n, `index(${n}) gave ${k}`);
      counts[k]!++;
    }
    const expected = draws / n;
    let chi = 0;
    for (const c of counts) chi += (c - expected) ** 2 / expected;
    assert.ok(chi < critical, `index(${n}): chi-square ${chi.toFixed(1)} over ${critical}`);
  }
});
