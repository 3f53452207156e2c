/**
 * Recovery bench: a node restarting on a shard group of 100,000 assessments.
 *
 * Set-up, untimed, on a scratch database: the assessments (tier
 * `two-step-100k`, each with 1–3 open positions) are built in one in-process
 * `ShardKernel` and saved as the group's checkpoint by `PgCheckpointStore.save`,
 * the same rows a running node writes. After the checkpoint: `--seconds` of
 * ticks from the `SyntheticFeed` (BTC/ETH/SOL at its default 100 ms mean
 * interval per symbol, ~30 ticks/s, the production-like rate) plus a clock
 * input per second on a `MemoryMarketLog`, and `--journal` journal entries
 * (orders, and 1% creates) with watermarks spread over those ticks.
 *
 * Measured, `--repeats` times: the real path, `EngineNode.start` → claim →
 * `PgCheckpointStore.load` → `Engine.restore` → journal backlog read → merge
 * and replay of the market log to its tail, until `node.ready`; then, as the
 * node does not wait for its shards, until `engine.barrier()` (every replayed
 * input applied). The split comes from timing the node's ports (store, journal,
 * market log) from outside, so the node runs unmodified. A diagnostic row
 * times `Engine.restore` + `barrier()` alone (worker spawn and snapshot restore).
 *
 * Baseline, in the same run and alternating with it: `select state from
 * snapshots` for the same rows and `JSON.parse` of each, nothing else. Any
 * recovery must at least read and parse every actor's state, so this is the
 * floor; the rest of the recovery is what the engine adds to it.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../actors/index.js';
import {
  Engine,
  EngineNode,
  ShardKernel,
  type CheckpointStore,
  type Journal,
  type JournalAppend,
  type MarketLog,
} from '../engine/index.js';
import { PgCheckpointStore, PgJournal } from '../persistence/index.js';
import { SyntheticFeed } from '../transport/market-data/index.js';
import { MemoryMarketLog } from '../transport/memory/index.js';
import { createTestDatabase } from '../engine/testing/index.js';

export interface RecoveryBenchOptions {
  /** @default 100_000 */ readonly assessments: number;
  /** Feed time of ticks after the checkpoint, s. @default 60 */ readonly seconds: number;
  /** Journal entries after the checkpoint. @default 5_000 */ readonly journal: number;
  /** @default 3 */ readonly repeats: number;
  /** @default 2 */ readonly workers: number;
  readonly url: string;
}

const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD'];
const PRICES = [60_000, 3_000, 150];
const T0 = Date.parse('2026-03-02T08:00:00Z');
const TIER = 'two-step-100k';
const TARGET_S = 5;

/** Points in time of one start, from the ports' side. */
interface Marks {
  t0: number;
  claimed: number;
  loaded: number;
  journalStart: number;
  journalEnd: number;
  ready: number;
  applied: number;
}

/** The checkpoint state: built in one kernel, as a running node would have checkpointed it. */
function buildCheckpointState(n: number) {
  const k = new ShardKernel({ tiers: presetTiers(), instruments: DEFAULT_INSTRUMENTS });
  let i = 0;
  k.apply({ i: i++, input: { type: 'clock', time: T0 } });
  SYMBOLS.forEach((symbol, s) =>
    k.apply({ i: i++, input: { type: 'tick', seq: s + 2, ts: T0, symbol, bid: PRICES[s]!, ask: PRICES[s]! * 1.0001 } }),
  );
  for (let a = 0; a < n; a++) {
    const assessmentId = `a${a}`;
    k.apply({ i: i++, input: { type: 'create', assessmentId, traderId: `t${a}`, tierId: TIER } });
    for (let j = 0; j <= a % 3; j++) {
      k.apply({
        i: i++,
        input: {
          type: 'command',
          assessmentId,
          command: {
            kind: 'place',
            clientOrderId: `c${j}`,
            symbol: SYMBOLS[j]!,
            side: j === 1 ? 'sell' : 'buy',
            type: 'market',
            qty: 20_000 / PRICES[j]!,
          },
        },
      });
    }
  }
  k.drainEvents();
  return { snapshot: { lastInput: i - 1, kernel: k.snapshot() }, tickSeq: 1 + SYMBOLS.length };
}

export async function runRecoveryBench(
  o: RecoveryBenchOptions,
): Promise<{ figures: Record<string, number>; runs: Record<string, number[]> }> {
  const scratch = await createTestDatabase({ serverUrl: o.url, prefix: 'vatic_bench_' });
  const { sql } = scratch;
  try {
    const load = loadavg()[0]!;
    const tSetup = performance.now();
    const built = buildCheckpointState(o.assessments);
    const store = new PgCheckpointStore(sql);
    const epoch = await store.claim();
    await store.save(
      { inputPos: built.snapshot.lastInput, tickSeq: built.tickSeq, journalPos: 0, version: 1, snapshot: built.snapshot },
      epoch,
    );

    // After the checkpoint: the feed's ticks and a clock each second, then journal entries placed among them.
    const market = new MemoryMarketLog({ firstSeq: built.tickSeq + 1 });
    const feed = new SyntheticFeed({
      seed: 'recovery',
      instruments: DEFAULT_INSTRUMENTS.filter((x) => SYMBOLS.includes(x.symbol)),
      startTime: T0,
    });
    let ticks = 0;
    for (let second = T0; feed.now < T0 + o.seconds * 1000; ) {
      const item = feed.next();
      if (item.type !== 'tick') continue;
      while (item.tick.ts >= second + 1000) market.publish({ type: 'clock', time: (second += 1000) });
      const { seq: _seq, ...tick } = item.tick;
      market.publish({ type: 'tick', ...tick });
      ticks++;
    }
    const first = built.tickSeq + 1,
      tail = market.lastSeq;
    const journal = new PgJournal(sql);
    let created = 0;
    for (let e = 0; e < o.journal; e += 1_000) {
      const batch: JournalAppend[] = [];
      for (let j = e; j < Math.min(o.journal, e + 1_000); j++) {
        const tickWatermark = first + Math.floor(((tail - first) * j) / o.journal);
        if (j % 100 === 99) {
          const assessmentId = `n${created++}`;
          batch.push({
            input: { type: 'create', assessmentId, traderId: assessmentId, tierId: TIER },
            clientOrderId: '__create',
            tickWatermark,
          });
          continue;
        }
        const assessmentId = `a${(j * 7919) % o.assessments}`,
          s = j % 3;
        batch.push({
          input: {
            type: 'command',
            assessmentId,
            command: {
              kind: 'place',
              clientOrderId: `j${j}`,
              symbol: SYMBOLS[s]!,
              side: j % 2 === 0 ? 'buy' : 'sell',
              type: 'market',
              qty: 2_000 / PRICES[s]!,
            },
          },
          clientOrderId: `j${j}`,
          tickWatermark,
        });
      }
      await journal.appendBatch(batch, epoch);
    }
    const [sizes] = await sql<{ jpos: string; bytes: string }[]>`
      select (select max(position) from journal)::text as jpos, (select sum(length(state)) from snapshots)::text as bytes`;
    const { jpos, bytes } = sizes!;
    const setupSeconds = (performance.now() - tSetup) / 1000;

    /** One real start, with the ports timed from outside. */
    const recover = async (): Promise<Marks> => {
      const m: Marks = { t0: performance.now(), claimed: NaN, loaded: NaN, journalStart: NaN, journalEnd: NaN, ready: NaN, applied: NaN };
      const checkpoints: CheckpointStore = {
        claim: async () => {
          const e = await store.claim();
          m.claimed = performance.now();
          return e;
        },
        load: async () => {
          const cp = await store.load();
          m.loaded = performance.now();
          return cp;
        },
        save: (cp, e) => store.save(cp, e),
      };
      const timedJournal: Journal = {
        appendBatch: (entries, e) => journal.appendBatch(entries, e),
        async *readAfter(position) {
          m.journalStart = performance.now();
          yield* journal.readAfter(position);
          m.journalEnd = performance.now();
        },
      };
      const marketLog: MarketLog = { open: (from) => market.open(from) };
      const node = await EngineNode.start({
        market: marketLog,
        journal: timedJournal,
        checkpoints,
        marketTail: () => market.tail(),
        engine: { workers: o.workers, tiers: presetTiers() },
        checkpointIntervalMs: 0,
      });
      await node.ready;
      m.ready = performance.now();
      await node.engine.barrier();
      m.applied = performance.now();
      if (node.lastSeq !== tail || node.journalPos !== Number(jpos))
        throw new Error(`recovered to seq ${node.lastSeq}/${tail}, journal ${node.journalPos}/${jpos}`);
      await node.stop({ checkpoint: false });
      return m;
    };

    /** Baseline: read every state and parse it, nothing else. */
    const bare = async (): Promise<number> => {
      const t0 = performance.now();
      const rows = await sql<{ state: string }[]>`select state from snapshots where group_id = 'default'`;
      let n = 0;
      for (const r of rows) n += (JSON.parse(r.state) as { id: string }).id.length > 0 ? 1 : 0;
      if (n !== o.assessments) throw new Error(`baseline read ${n} states`);
      return (performance.now() - t0) / 1000;
    };

    /** Diagnostic: worker spawn + snapshot restore alone, until the shards answer. */
    const cp = (await store.load())!;
    const restoreOnly = async (): Promise<number> => {
      const t0 = performance.now();
      const engine = await Engine.restore(cp.snapshot, { workers: o.workers, tiers: presetTiers() });
      await engine.state('a0'); // answered once its shard has booted and restored; both shards boot in parallel
      await engine.state('a1');
      const s = (performance.now() - t0) / 1000;
      await engine.stop();
      return s;
    };

    await recover(); // warm-up: the first start also compiles the worker modules
    const runs: Record<string, number[]> = {
      claim: [],
      load: [],
      claimLoad: [],
      restore: [],
      journalRead: [],
      replay: [],
      ready: [],
      shardsCaughtUp: [],
      applied: [],
      baseline: [],
      restoreOnly: [],
    };
    for (let r = 0; r < o.repeats; r++) {
      runs['baseline']!.push(await bare());
      const m = await recover();
      const s = (a: number, b: number) => (b - a) / 1000;
      runs['claim']!.push(s(m.t0, m.claimed));
      runs['load']!.push(s(m.claimed, m.loaded));
      runs['claimLoad']!.push(s(m.t0, m.loaded));
      runs['restore']!.push(s(m.loaded, m.journalStart));
      runs['journalRead']!.push(s(m.journalStart, m.journalEnd));
      runs['replay']!.push(s(m.journalEnd, m.ready));
      runs['ready']!.push(s(m.t0, m.ready));
      runs['shardsCaughtUp']!.push(s(m.ready, m.applied));
      runs['applied']!.push(s(m.t0, m.applied));
      runs['restoreOnly']!.push(await restoreOnly());
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const med = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
    const figures = {
      assessments: o.assessments,
      ticks,
      marketInputs: tail - first + 1,
      journalEntries: o.journal,
      stateMiB: Number(bytes) / 2 ** 20,
      setupSeconds,
      loadAverage: load,
      ...med,
      readyVsBaseline: med['ready']! / med['baseline']!,
      targetSeconds: TARGET_S,
    };
    return { figures, runs };
  } finally {
    await scratch.drop();
  }
}
