/**
 * The simulator's judge against the live engine: every simulated path is
 * replayed through a real shard kernel (market orders, ticks, clock) and must
 * end the same way, on the same trade, with the same balance.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import { Harness, ofType } from '../../actors/test/harness.js';
import { parseTier, type Tier } from '../../actors/index.js';
import { compilePhases } from '../montecarlo/compile-tier.js';
import { planFor, runChunk, type PathTrace } from '../montecarlo/path-kernel.js';
import { OUTCOMES, SimulationJob, type Outcome } from '../montecarlo/simulation-spec.js';

const DAY = 86_400_000;
/** Monday 1 January 2024, 00:00 UTC: a reset instant, so path day 0 starts at the reset. */
const START = Date.UTC(2024, 0, 1);
const PRICE = 1_000_000;
const TIERS = 60;

/** A random tier using every rule a closed trade can meet, in UTC with no fees (exact prices). */
function randomTier(rng: () => number, n: number): Tier {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const phase = (name: string, last: boolean) => ({
    name,
    startingBalance: 100_000,
    ...(rng() < 0.4 ? { maxDays: 3 + Math.floor(rng() * 12) } : {}),
    rules: {
      ...(last && rng() < 0.3
        ? {}
        : {
            profitTarget: {
              target: rng() < 0.5 ? { pct: 4 + Math.floor(rng() * 6) } : { amount: 3_000 + Math.floor(rng() * 5_000) },
              basis: pick(['balance', 'equity'] as const),
            },
          }),
      ...(rng() < 0.85
        ? {
            dailyLoss: {
              limit: rng() < 0.5 ? { pct: 2 + Math.floor(rng() * 4) } : { amount: 1_500 + Math.floor(rng() * 3_000) },
              basis: pick(['balance', 'balance-or-equity'] as const),
              pctOf: pick(['start', 'base'] as const),
              severity: pick(['hard', 'soft'] as const),
            },
          }
        : {}),
      ...(rng() < 0.9
        ? {
            maxLoss: {
              limit: { pct: 4 + Math.floor(rng() * 7) },
              mode: pick(['static', 'eod-trailing', 'intraday-trailing'] as const),
              lock: pick(['none', 'start', { startPlus: 500 }] as const),
            },
          }
        : {}),
      ...(rng() < 0.5 ? { minTradingDays: { days: 1 + Math.floor(rng() * 5) } } : {}),
      ...(rng() < 0.3 ? { minTrades: { count: 2 + Math.floor(rng() * 10) } } : {}),
      ...(rng() < 0.4 ? { consistency: { maxBestDayShare: pick([0.3, 0.4, 0.5]) } } : {}),
      ...(rng() < 0.3 ? { inactivity: { days: 1 + Math.floor(rng() * 3) } } : {}),
    },
  });
  const two = rng() < 0.4;
  return parseTier({
    id: `parity-${n}`,
    version: 1,
    name: `Parity ${n}`,
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 100,
    fees: { linear: 0, binary: 0 },
    phases: two ? [phase('challenge', false), phase('verification', false), phase('funded', true)] : [phase('challenge', true)],
  });
}

interface Traced {
  readonly events: { t: number; pnl: number }[];
  end: number | undefined;
}

/** How the engine ended the assessment, in the simulator's words. */
function engineOutcome(h: Harness, tier: Tier): { outcome: Outcome; balance: number; passedAt: number | undefined } {
  const passed =
    ofType(h.log, 'assessment.passed')[0] ??
    ofType(h.log, 'assessment.phase-passed').find(
      (e) => tier.phases[tier.phases.findIndex((p) => p.name === e.nextPhase)]!.rules.profitTarget === undefined,
    );
  if (passed !== undefined) return { outcome: 'passed', balance: passed.balance, passedAt: passed.at };
  const s = h.state();
  const failed = ofType(h.log, 'assessment.failed')[0];
  const expired = ofType(h.log, 'assessment.expired')[0];
  const ruleId = failed?.ruleId ?? expired?.ruleId;
  const outcome = ruleId === undefined ? 'undecided' : (ruleId as Outcome);
  assert.ok(OUTCOMES.includes(outcome), `unexpected end ${ruleId}`);
  return { outcome, balance: s.balance, passedAt: undefined };
}

/** Replay one traced path through a real shard kernel. */
function replay(tier: Tier, path: Traced): Harness {
  const h = new Harness(tier, { start: START });
  const at = (t: number) => START + t * 60_000;
  for (const e of path.events) {
    h.clock(at(e.t));
    if (Number.isNaN(e.pnl)) continue;
    h.tick('BTC-USD', PRICE, PRICE);
    h.buy('BTC-USD', 1);
    h.tick('BTC-USD', PRICE + e.pnl, PRICE + e.pnl);
    if (h.state().positions['BTC-USD'] !== undefined) h.command({ kind: 'close-position', clientOrderId: `x${e.t}`, symbol: 'BTC-USD' });
  }
  if (path.end !== undefined) h.clock(at(path.end));
  return h;
}

test('every simulated path ends as the live engine ends it: same rule, same day, same balance', () => {
  const rng = seedrandom('parity');
  let compared = 0;
  const seen = new Set<Outcome>();
  for (let n = 0; n < TIERS; n++) {
    const tier = randomTier(rng, n);
    // Returns are multiples of 2^-16 so that prices and balances stay exact in both.
    const returns = Array.from({ length: 40 }, () => Math.round((rng() - 0.47) * 0.05 * 65_536) / 65_536);
    const job = SimulationJob.parse({
      seed: `p${n}`,
      paths: 40,
      method: rng() < 0.5 ? 'iid' : 'block',
      returns,
      tradesPerDay: [0, 0, 1, 2, 3, 5],
      horizon: rng() < 0.5 ? { trades: 60 } : { days: 12 },
      phases: compilePhases(tier),
      fanPaths: 0,
    });
    const paths = new Map<number, Traced>();
    const trace: PathTrace = {
      trade: (p, t, pnl) => {
        const x = paths.get(p) ?? { events: [], end: undefined };
        x.events.push({ t, pnl });
        paths.set(p, x);
      },
      end: (p, t) => {
        const x = paths.get(p) ?? { events: [], end: undefined };
        x.end = t;
        paths.set(p, x);
      },
    };
    const rec = runChunk(planFor(job), 0, 0, job.paths, { trace });
    for (let i = 0; i < job.paths; i++) {
      const engine = engineOutcome(replay(tier, paths.get(i) ?? { events: [], end: undefined }), tier);
      const simulated = OUTCOMES[rec.outcome[i]!]!;
      const where = `tier ${n} path ${i}: ${JSON.stringify(tier.phases.map((p) => p.rules))}`;
      assert.equal(simulated, engine.outcome, where);
      if (simulated === 'passed') assert.equal(rec.passDay[i], Math.floor((engine.passedAt! - START) / DAY) + 1, where);
      if (simulated !== 'passed') assert.equal(rec.finalPnl[i]! + 100_000, engine.balance, where);
      else assert.equal(rec.finalPnl[i]! + 100_000, engine.balance, where);
      seen.add(simulated);
      compared++;
    }
  }
  assert.equal(compared, TIERS * 40);
  // The generated tiers and paths reach every ending, so each rule's parity is exercised.
  for (const o of OUTCOMES) assert.ok(seen.has(o), `no path ended '${o}'`);
});
