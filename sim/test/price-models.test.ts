import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedWalk, DAY_MS, JumpDiffusion, YEAR_MS } from '../price-models.js';
import { Random, createRng, normal, poisson } from '../random.js';

/** Sample mean, variance, and the standard errors of both (the latter from the fourth moment, so valid for non-normal data). */
function moments(xs: readonly number[]): { mean: number; variance: number; seMean: number; seVariance: number } {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  let m2 = 0;
  let m4 = 0;
  for (const x of xs) {
    const d2 = (x - mean) ** 2;
    m2 += d2;
    m4 += d2 * d2;
  }
  const variance = m2 / (n - 1);
  m4 /= n;
  return { mean, variance, seMean: Math.sqrt(variance / n), seVariance: Math.sqrt((m4 - variance * variance) / n) };
}

/** `n` independent one-step log returns of the model over `dtMs`. */
function logReturns(model: JumpDiffusion, dtMs: number, n: number, seed: string): number[] {
  const random = new Random(seed);
  return Array.from({ length: n }, () => Math.log(model.step(100, dtMs, random) / 100));
}

const Z = 5; // tolerance in standard errors: a false failure is a ~1e-6 event

test('jump-diffusion without jumps has log-returns with mean (mu - sigma²/2)t and variance sigma²t', () => {
  const mu = 0.3;
  const sigma = 0.6;
  const model = new JumpDiffusion({ mu, sigma, jumpsPerYear: 0 });
  const t = DAY_MS / YEAR_MS;
  const m = moments(logReturns(model, DAY_MS, 50_000, 'no-jumps'));
  const expectedMean = (mu - (sigma * sigma) / 2) * t;
  const expectedVariance = sigma * sigma * t;
  assert.ok(Math.abs(m.mean - expectedMean) < Z * m.seMean, `mean ${m.mean} vs ${expectedMean} (se ${m.seMean})`);
  assert.ok(
    Math.abs(m.variance - expectedVariance) < Z * m.seVariance,
    `variance ${m.variance} vs ${expectedVariance} (se ${m.seVariance})`,
  );
});

test('jumps add lambda(jumpMean² + jumpStd²)t to the variance of log-returns', () => {
  const params = { sigma: 0.3, jumpsPerYear: 4 * 365, jumpMean: -0.01, jumpStd: 0.02 };
  const t = DAY_MS / YEAR_MS;
  const m = moments(logReturns(new JumpDiffusion(params), DAY_MS, 50_000, 'jumps'));
  const diffusionVariance = params.sigma ** 2 * t;
  const jumpVariance = params.jumpsPerYear * (params.jumpMean ** 2 + params.jumpStd ** 2) * t;
  // The jump part dominates here, so a model without jumps would fail by many standard errors.
  assert.ok(jumpVariance > 20 * m.seVariance);
  const expected = diffusionVariance + jumpVariance;
  assert.ok(Math.abs(m.variance - expected) < Z * m.seVariance, `variance ${m.variance} vs ${expected} (se ${m.seVariance})`);
});

test('the jump compensator keeps the expected price growth at exp(mu t)', () => {
  const mu = 0.2;
  const model = new JumpDiffusion({ mu, sigma: 0.3, jumpsPerYear: 4 * 365, jumpMean: -0.01, jumpStd: 0.02 });
  const random = new Random('compensator');
  const growth = Array.from({ length: 50_000 }, () => model.step(1, DAY_MS, random));
  const m = moments(growth);
  const expected = Math.exp((mu * DAY_MS) / YEAR_MS);
  assert.ok(Math.abs(m.mean - expected) < Z * m.seMean, `mean growth ${m.mean} vs ${expected}`);
});

test('a step of zero time leaves the price unchanged', () => {
  assert.equal(new JumpDiffusion().step(123.45, 0, new Random('zero')), 123.45);
});

test('the bounded walk never leaves [floor, ceiling], even with huge steps', () => {
  for (const params of [{}, { sigma: 5 }, { sigma: 50, floor: 0.2, ceiling: 0.3 }]) {
    const walk = new BoundedWalk(params);
    const random = new Random(`walk-${JSON.stringify(params)}`);
    let p = 0.5;
    let lowest = 1;
    let highest = 0;
    for (let i = 0; i < 20_000; i++) {
      p = walk.step(p, random.exponential(DAY_MS / 10), random);
      assert.ok(p >= walk.floor && p <= walk.ceiling, `p=${p} left [${walk.floor}, ${walk.ceiling}]`);
      lowest = Math.min(lowest, p);
      highest = Math.max(highest, p);
    }
    // It must actually wander, not sit still.
    assert.ok(highest - lowest > (walk.ceiling - walk.floor) / 2, `range ${lowest}..${highest}`);
  }
});

test('the bounded walk rejects bounds outside (0, 1) or in the wrong order', () => {
  assert.throws(() => new BoundedWalk({ floor: 0 }), RangeError);
  assert.throws(() => new BoundedWalk({ floor: 0.6, ceiling: 0.4 }), RangeError);
  assert.throws(() => new BoundedWalk({ ceiling: 1 }), RangeError);
});

test('the same seed gives the same uniform, normal and Poisson draws', () => {
  const draw = (seed: string) => {
    const rng = createRng(seed);
    return [rng(), normal(rng), poisson(rng, 3), poisson(rng, 250)];
  };
  assert.deepEqual(draw('s'), draw('s'));
  assert.notDeepEqual(draw('s'), draw('t'));
});

test('poisson draws have mean and variance lambda for small and large lambda', () => {
  for (const lambda of [0.05, 4, 37, 1000]) {
    const random = new Random(`poisson-${lambda}`);
    const m = moments(Array.from({ length: 40_000 }, () => random.poisson(lambda)));
    assert.ok(Math.abs(m.mean - lambda) < Z * m.seMean, `lambda=${lambda}: mean ${m.mean}`);
    assert.ok(Math.abs(m.variance - lambda) < Z * m.seVariance, `lambda=${lambda}: variance ${m.variance}`);
  }
});

test('normal draws of the Random class have mean 0 and variance 1', () => {
  const random = new Random('normal');
  const m = moments(Array.from({ length: 40_000 }, () => random.normal()));
  assert.ok(Math.abs(m.mean) < Z * m.seMean);
  assert.ok(Math.abs(m.variance - 1) < Z * m.seVariance);
});

test('int and pick stay within range', () => {
  const random = new Random('int');
  const items = ['a', 'b', 'c'] as const;
  for (let i = 0; i < 1000; i++) {
    const k = random.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    assert.ok(items.includes(random.pick(items)));
  }
});
