/**
 * The simulator against results no one here wrote: the gambler's-ruin
 * probability for ±1 trades, and the two-barrier hitting probability of
 * Brownian motion with drift (for the log price of a geometric Brownian
 * motion). Each estimate must fall within the simulator's own 99.9% Wilson
 * interval (z = 3.29) at every point of a grid; a seeded run makes the check
 * reproducible.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SimPool } from '../montecarlo/sim-pool.js';
import type { CompiledPhase, SimulationJobInput } from '../montecarlo/simulation-spec.js';

const pool = new SimPool({ workers: 2 });
after(() => pool.close());

const Z999 = 3.2905267314919255;
const START = 100_000;

function within(k: number, n: number, expected: number, what: string): void {
  // Wilson score interval at 99.9%.
  const p = k / n;
  const z2 = Z999 * Z999;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z999 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  assert.ok(
    Math.abs(expected - centre) <= half,
    `${what}: simulated ${p.toFixed(4)} [${(centre - half).toFixed(4)}, ${(centre + half).toFixed(4)}], closed form ${expected.toFixed(4)}`,
  );
}

function phase(target: number, maxLoss: number, basis: 'balance' | 'equity'): CompiledPhase {
  return {
    name: 'challenge',
    startingBalance: START,
    target,
    targetBasis: basis,
    daily: null,
    maxLoss: { amount: maxLoss, mode: 'static', lockLevel: null },
    minTradingDays: 0,
    minTrades: 0,
    consistency: null,
    maxDays: null,
    inactivityDays: null,
  };
}

/** P(reach +a before −b) for a ±1 walk with up-probability p. */
function gamblersRuin(p: number, a: number, b: number): number {
  if (p === 0.5) return b / (a + b);
  const r = (1 - p) / p;
  return (1 - r ** b) / (1 - r ** (a + b));
}

test("±1 trades pass with the gambler's-ruin probability of reaching +a before −b", async () => {
  const unit = 1_000;
  // Win probability p as k wins among n history trades, resampled IID.
  const grid = [
    [9, 20, 5, 5],
    [1, 2, 10, 5],
    [11, 20, 4, 12],
    [3, 5, 6, 6],
    [2, 5, 3, 3],
    [1, 2, 3, 12],
  ] as const;
  for (const [k, n, a, b] of grid) {
    const returns = Array.from({ length: n }, (_, i) => (i < k ? unit : -unit) / START);
    // The floor sits half a unit above −b, so the walk breaches exactly when it reaches −b.
    const job: SimulationJobInput = {
      seed: `ruin-${k}-${n}-${a}-${b}`,
      paths: 40_000,
      method: 'iid',
      returns,
      tradesPerDay: [10],
      horizon: { trades: 800 },
      phases: [phase(a * unit, b * unit - unit / 2, 'balance')],
      fanPaths: 0,
      ruin: false,
    };
    const r = await pool.run(job);
    assert.equal(r.outcomes.undecided, 0);
    within(r.outcomes.passed, r.paths, gamblersRuin(k / n, a, b), `p=${k}/${n} a=${a} b=${b}`);
    assert.equal(r.outcomes['max-loss'], r.paths - r.outcomes.passed);
  }
});

/** P(X hits +up before −down) for X = νt + σW. */
function brownianHit(nu: number, sigma: number, up: number, down: number): number {
  if (nu === 0) return down / (up + down);
  const k = (2 * nu) / (sigma * sigma);
  return (1 - Math.exp(k * down)) / (Math.exp(-k * up) - Math.exp(k * down));
}

test('a position in a geometric Brownian motion hits its equity target before its floor with the closed-form barrier probability', async () => {
  const grid = [
    { mu: 0, sigma: 0.8, target: 5_000, loss: 5_000, exposure: 1 },
    { mu: 0.9, sigma: 0.6, target: 6_000, loss: 4_000, exposure: 1 },
    { mu: -0.6, sigma: 0.7, target: 4_000, loss: 8_000, exposure: 2 },
    { mu: 1.5, sigma: 0.5, target: 5_000, loss: 5_000, exposure: -1 },
  ];
  for (const g of grid) {
    // One position held through the horizon: equity = B + eB(S/S0 − 1), a monotone map of the log price.
    const job: SimulationJobInput = {
      seed: `gbm-${g.mu}-${g.sigma}`,
      paths: 20_000,
      method: 'parametric',
      tradesPerDay: [1],
      model: { mu: g.mu, sigma: g.sigma, exposure: g.exposure, holdDays: 400, stepsPerDay: 48 },
      horizon: { days: 400 },
      phases: [phase(g.target, g.loss, 'equity')],
      fanPaths: 0,
      ruin: false,
    };
    const r = await pool.run(job);
    assert.equal(r.outcomes.undecided, 0);
    const nu = g.mu - (g.sigma * g.sigma) / 2;
    const e = g.exposure * START;
    // Barriers in log-price space; a short position reaches its target when the price falls.
    const upPrice = Math.log(1 + g.target / e);
    const downPrice = Math.log(1 - g.loss / e);
    const expected = g.exposure > 0 ? brownianHit(nu, g.sigma, upPrice, -downPrice) : brownianHit(-nu, g.sigma, -upPrice, downPrice);
    within(r.outcomes.passed, r.paths, expected, `mu=${g.mu} sigma=${g.sigma} e=${g.exposure}`);
  }
});
