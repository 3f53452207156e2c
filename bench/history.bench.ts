/**
 * History bench: how fast the history read model takes the engine's events,
 * against how fast the engine emits them in the same run, and how long an
 * assessment's report takes to make from it.
 *
 * Set-up: a real engine (`--workers` shard workers) runs a seeded script:
 * one assessment with `--trades` round trips over 30 feed days (the report's
 * subject) and `--assessments` others with `--per-assessment` round trips
 * each, a third of them ending in a breach. The clock runs from the first
 * input to the barrier after the last: the engine's event rate.
 *
 * Measured on a scratch Postgres database:
 * 1. **ingest**: the events (those the events stream carries) into
 *    `PgHistoryStore` in batches of 2,000, as the projector and the durable
 *    consumer write them; events/s. The target is the ingest bench's event
 *    rate (`--baseline-rate`: its breaches and fills of 100k ticks, about 5
 *    events each, over its run: ~130 events/s here); the engine's own burst
 *    rate in this run (every account trading at every step) is shown beside.
 * 2. **report**: `ReportService.build` of the big assessment (every read,
 *    the equity series, performance, risk and compliance) and its HTML page,
 *    `--repeats` times; the median (target < 200 ms for 10,000 trades). The
 *    Monte Carlo pass probability by day is timed apart (`passMs`): it runs on
 *    the simulation pool, in the background of the report job.
 */
import { performance } from 'node:perf_hooks';
import seedrandom from 'seedrandom';
import { parseTier } from '../actors/index.js';
import { Engine, type EngineInput, type OutputEvent } from '../engine/index.js';
import { PgHistoryReader, PgHistoryStore, PgReportStore, type HistoryEvent } from '../persistence/index.js';
import { SimPool, replaySource, renderAssessmentReport, ReportService } from '../sim/index.js';
import { eventSubject } from '../transport/nats/index.js';
import { createTestDatabase } from '../engine/testing/index.js';

export interface HistoryBenchOptions {
  /** Round trips of the report's assessment. @default 10_000 */ readonly trades: number;
  /** Other assessments. @default 2_000 */ readonly assessments: number;
  /** Round trips of each other assessment. @default 20 */ readonly perAssessment: number;
  /** @default 2 */ readonly workers: number;
  /** Report builds timed. @default 5 */ readonly repeats: number;
  /** Postgres server (a scratch database is created and dropped). */ readonly url: string;
  /** Events/s the ingest must reach: the ingest bench's event rate. @default 300 */ readonly baselineRate: number;
}

const T0 = Date.UTC(2026, 2, 2, 0, 0);
const DAY = 86_400_000;
const TIER = parseTier({
  id: 'bench-history',
  version: 1,
  name: 'Bench history',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 20,
  fees: { linear: 0.0001, binary: 0 },
  phases: [{ name: 'funded', startingBalance: 100_000, rules: { dailyLoss: { limit: { pct: 5 } }, maxLoss: { limit: { pct: 10 } } } }],
});
/** The reported assessment's tier: floors it never reaches in 10,000 round trips, a target for the pass probability. */
const BIG = parseTier({
  id: 'bench-history-big',
  version: 1,
  name: 'Bench history (big)',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 20,
  fees: { linear: 0, binary: 0 },
  phases: [
    {
      name: 'challenge',
      startingBalance: 100_000,
      rules: { profitTarget: { target: { pct: 50 } }, dailyLoss: { limit: { pct: 20 } }, maxLoss: { limit: { pct: 80 } } },
    },
  ],
});

/** The seeded script: ticks on BTC-USD, each round trip a buy and a sell a few ticks apart. */
function script(o: HistoryBenchOptions): EngineInput[] {
  const rng = seedrandom('history-bench');
  const inputs: EngineInput[] = [
    { type: 'tier', tier: TIER },
    { type: 'tier', tier: BIG },
    { type: 'clock', time: T0 },
  ];
  inputs.push({ type: 'create', assessmentId: 'big', traderId: 't-big', tierId: BIG.id });
  for (let i = 0; i < o.assessments; i++) inputs.push({ type: 'create', assessmentId: `a${i}`, traderId: `t-a${i}`, tierId: TIER.id });
  const steps = Math.max(o.trades, o.perAssessment) * 2;
  const span = 30 * DAY;
  let price = 60_000;
  let seq = 0;
  let cid = 0;
  for (let k = 0; k < steps; k++) {
    const ts = T0 + Math.floor(((k + 1) * span) / (steps + 1));
    price = Math.max(1_000, price * (1 + (rng() - 0.499) * 0.002));
    inputs.push({ type: 'tick', seq: ++seq, ts, symbol: 'BTC-USD', bid: Math.round(price), ask: Math.round(price) + 1 });
    const side = k % 2 === 0 ? 'buy' : 'sell';
    if (k < o.trades * 2)
      inputs.push({
        type: 'command',
        assessmentId: 'big',
        command: { kind: 'place', clientOrderId: `c${++cid}`, symbol: 'BTC-USD', side, type: 'market', qty: 0.5 },
      });
    if (k < o.perAssessment * 2) {
      for (let i = 0; i < o.assessments; i++) {
        // A third trade big enough for the price's swings to breach them, sooner or later.
        const qty = i % 3 === 0 ? 25 : 0.2;
        inputs.push({
          type: 'command',
          assessmentId: `a${i}`,
          command: { kind: 'place', clientOrderId: `c${++cid}`, symbol: 'BTC-USD', side, type: 'market', qty },
        });
      }
    }
  }
  return inputs;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runHistoryBench(o: HistoryBenchOptions): Promise<Record<string, number>> {
  const inputs = script(o);
  const events: OutputEvent[] = [];
  const engine = await Engine.start({
    workers: o.workers,
    tiers: [],
    flushIntervalMs: 0,
    output: {
      onEvents: (e) => {
        for (const x of e) events.push(x);
      },
    },
  });
  const t0 = performance.now();
  for (const input of inputs) engine.submit(input);
  await engine.barrier();
  const engineSeconds = (performance.now() - t0) / 1000;
  await engine.stop();
  const kept = events.filter((e) => 'assessmentId' in e && eventSubject(e.type) !== undefined) as unknown as HistoryEvent[];

  const scratch = await createTestDatabase({ serverUrl: o.url, prefix: 'vatic_bench_' });
  const { sql } = scratch;
  const pool = new SimPool({ workers: 1 });
  try {
    const store = new PgHistoryStore(sql);
    const t1 = performance.now();
    for (let k = 0; k < kept.length; k += 2_000) await store.ingest(kept.slice(k, k + 2_000));
    const ingestSeconds = (performance.now() - t1) / 1000;

    const service = new ReportService({
      reader: new PgHistoryReader(sql),
      store: new PgReportStore(sql),
      tiers: () => [TIER, BIG],
      replay: (id) => replaySource(id, undefined, true),
      simulator: pool,
    });
    const runs: number[] = [];
    let trades = 0;
    let bytes = 0;
    for (let r = 0; r < o.repeats + 1; r++) {
      const t = performance.now();
      const report = (await service.build('big', 'request', { passProbability: false }))!;
      const html = renderAssessmentReport(report);
      if (r > 0) runs.push(performance.now() - t); // the first run warms the code paths up
      trades = report.trades.count;
      bytes = html.length;
    }
    const t2 = performance.now();
    const withPass = (await service.build('big', 'request'))!;
    const passMs = performance.now() - t2;
    return {
      engineEvents: events.length,
      historyEvents: kept.length,
      engineSeconds,
      engineEventsPerSec: events.length / engineSeconds,
      ingestSeconds,
      ingestEventsPerSec: kept.length / ingestSeconds,
      ingestOverEngine: kept.length / ingestSeconds / (kept.length / engineSeconds),
      baselineRate: o.baselineRate,
      reportTrades: trades,
      reportMs: median(runs),
      reportMaxMs: Math.max(...runs),
      htmlBytes: bytes,
      passDays: withPass.risk.passProbability.length,
      passMs,
    };
  } finally {
    await pool.close();
    await scratch.drop();
  }
}
