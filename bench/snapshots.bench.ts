/**
 * Snapshot bench: 100,000 assessment states written to Postgres by
 * `PgSnapshotStore.saveBatch` (version-checked, epoch-fenced), against a bare
 * batched upsert of the same rows (same encoding, same COPY into a temporary
 * table, no dedupe and no guards) measured in the same run on a scratch
 * database.
 *
 * Checkpoints: the same states in a real engine (2 shard workers), saved by
 * the node's path (`Engine.checkpointRows` → `PgCheckpointStore.save`: the
 * workers encode COPY rows, the main thread streams them) against the bare
 * upsert of the same rows, alternating, with the main event loop's longest
 * stall during each; and, as a diagnostic, the path the node took before
 * (the states cloned to the main thread and encoded there).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { DEFAULT_INSTRUMENTS, parseTier, type AssessmentState } from '../actors/index.js';
import { Engine, ShardKernel, type KernelSnapshot } from '../engine/index.js';
import { copySnapshots, encodeJson, migrate, PgCheckpointStore, PgSnapshotStore, type SnapshotRow } from '../persistence/index.js';
import { LoopStallMeter } from './loop-stall.js';
import type { SuiteReport } from './report.js';

export interface SnapshotBenchOptions {
  /** @default 100_000 */ readonly assessments: number;
  /** @default 'postgres://postgres@127.0.0.1:5432/postgres' (DATABASE_URL when set) */ readonly url: string;
  /** Checkpoints (and bare upserts) timed, alternating. @default 3 */ readonly repeats?: number;
  /** Shard workers of the checkpointed engine. @default 2 */ readonly workers?: number;
  /** Progress lines and targets. @default none */ readonly report?: SuiteReport;
}

const TIER = parseTier({
  id: 'bench',
  version: 1,
  name: 'bench',
  leverage: 50,
  phases: [{ name: 'funded', startingBalance: 100_000, rules: { dailyLoss: { limit: { pct: 5 } }, maxLoss: { limit: { pct: 10 } } } }],
});
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD'];
const PRICES = [60_000, 3_000, 150];

/** Realistic states: each assessment with 1–3 positions opened through the real actor. */
function states(n: number): { states: AssessmentState[]; kernel: KernelSnapshot } {
  const k = new ShardKernel({ tiers: [TIER], instruments: DEFAULT_INSTRUMENTS });
  let i = 0;
  k.apply({ i: i++, input: { type: 'clock', time: Date.parse('2026-03-02T08:00:00Z') } });
  SYMBOLS.forEach((symbol, s) =>
    k.apply({ i: i++, input: { type: 'tick', seq: s + 1, ts: 0, symbol, bid: PRICES[s]!, ask: PRICES[s]! * 1.0001 } }),
  );
  for (let a = 0; a < n; a++) {
    const assessmentId = `a${a}`;
    k.apply({ i: i++, input: { type: 'create', assessmentId, traderId: `t${a}`, tierId: TIER.id } });
    for (let j = 0; j <= a % 3; j++) {
      k.apply({
        i: i++,
        input: {
          type: 'command',
          assessmentId,
          command: { kind: 'place', clientOrderId: `c${j}`, symbol: SYMBOLS[j]!, side: 'buy', type: 'market', qty: 20_000 / PRICES[j]! },
        },
      });
    }
  }
  k.drainEvents();
  const kernel = k.snapshot();
  return { states: kernel.actors.map((x) => x.state), kernel };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor((xs.length - 1) / 2)]!;

export async function runSnapshotBench(o: SnapshotBenchOptions): Promise<Record<string, number>> {
  o.report?.progress(`building ${o.assessments} states`);
  const { states: rows, kernel } = states(o.assessments);
  const db = `vatic_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(o.url, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${db}`);
  const url = new URL(o.url);
  url.pathname = `/${db}`;
  const sql = postgres(url.toString(), { max: 4, onnotice: () => undefined });
  try {
    await migrate(sql);
    await sql.unsafe('create table snapshots_bare (like snapshots including all)');
    const encodedBytes = rows.reduce((s, r) => s + encodeJson(r).length, 0);

    // Baseline: the bare batched upsert: the same encoding and the same COPY
    // into a temporary table, then an upsert with no version or epoch guard.
    const bare = async (version: number) => {
      const t0 = performance.now();
      const c = {
        ids: [] as string[],
        versions: [] as string[],
        epochs: [] as string[],
        ticks: [] as string[],
        positions: [] as string[],
        states: [] as string[],
      };
      for (const r of rows) {
        c.ids.push(r.id);
        c.versions.push(String(version));
        c.epochs.push('1');
        c.ticks.push('3');
        c.positions.push('0');
        c.states.push(encodeJson(r));
      }
      await copySnapshots(sql, c, { table: 'snapshots_bare', guarded: false });
      return (performance.now() - t0) / 1000;
    };
    const store = new PgSnapshotStore(sql);
    const guarded = async (version: number) => {
      const batch: SnapshotRow[] = rows.map((state) => ({
        assessmentId: state.id,
        version,
        ownerEpoch: 1,
        tickSeq: 3,
        journalPos: 0,
        state,
      }));
      const t0 = performance.now();
      const written = await store.saveBatch(batch);
      if (written !== rows.length) throw new Error(`store wrote ${written} of ${rows.length}`);
      return (performance.now() - t0) / 1000;
    };
    // Interleave to share the machine's noise: insert, then update, each measured for both.
    const bareInsert = await bare(1);
    const storeInsert = await guarded(1);
    const bareUpdate = await bare(2);
    const storeUpdate = await guarded(2);
    const t0 = performance.now();
    const loaded = await store.loadAll();
    const loadSeconds = (performance.now() - t0) / 1000;
    if (loaded.length !== rows.length) throw new Error(`loaded ${loaded.length} of ${rows.length}`);

    // Checkpoints of the same states held by a real engine, alternating with the bare upsert.
    // The store's rows above carry newer versions than a fresh checkpoint lineage: start that lineage on an empty table.
    await sql`delete from snapshots`;
    o.report?.progress('checkpoints: restoring the engine');
    const engine = await Engine.restore({ lastInput: kernel.lastInput, kernel }, { workers: o.workers ?? 2 });
    const checkpoints = new PgCheckpointStore(sql, { group: 'bench' });
    const epoch = await checkpoints.claim();
    let version = 1;
    const meter = new LoopStallMeter();
    const timed = async (fn: () => Promise<void>) => {
      meter.start();
      const t = performance.now();
      await fn();
      const seconds = (performance.now() - t) / 1000;
      return { seconds, ...meter.stop() };
    };
    const viaWorkers = () =>
      timed(async () => {
        const { lastInput, done } = engine.checkpointRows(true, { maxStateBytes: checkpoints.maxStateBytes });
        const encoded = await done;
        await checkpoints.save({ inputPos: lastInput, tickSeq: 3, journalPos: 0, version: version++, encoded }, epoch);
      });
    const viaMain = () =>
      timed(async () => {
        const { lastInput, done } = engine.checkpoint(true);
        const snapshot = await done;
        await checkpoints.save({ inputPos: lastInput, tickSeq: 3, journalPos: 0, version: version++, snapshot }, epoch);
      });
    const runs = {
      bare: [] as number[],
      ckpt: [] as number[],
      wall: [] as number[],
      cpu: [] as number[],
      oldSeconds: [] as number[],
      oldWall: [] as number[],
      oldCpu: [] as number[],
    };
    let bareVersion = 3;
    try {
      for (let r = 0; r < (o.repeats ?? 3); r++) {
        o.report?.progress(`checkpoints: round ${r + 1} of ${o.repeats ?? 3}`);
        runs.bare.push(await bare(bareVersion++));
        const c = await viaWorkers();
        runs.ckpt.push(c.seconds);
        runs.wall.push(c.maxWallMs);
        runs.cpu.push(c.maxCpuMs);
        const m = await viaMain();
        runs.oldSeconds.push(m.seconds);
        runs.oldWall.push(m.maxWallMs);
        runs.oldCpu.push(m.maxCpuMs);
      }
    } finally {
      await engine.stop();
    }
    const [count] = await sql<{ n: string }[]>`select count(*)::text as n from snapshots where group_id = 'bench'`;
    if (Number(count!.n) !== rows.length) throw new Error(`checkpoint holds ${count!.n} of ${rows.length} actors`);
    return {
      checkpointSeconds: median(runs.ckpt),
      checkpointBareSeconds: median(runs.bare),
      checkpointRatio: median(runs.ckpt) / median(runs.bare),
      checkpointStallMs: Math.max(...runs.wall),
      checkpointStallCpuMs: Math.max(...runs.cpu),
      oldCheckpointSeconds: median(runs.oldSeconds),
      oldCheckpointStallMs: Math.max(...runs.oldWall),
      oldCheckpointStallCpuMs: Math.max(...runs.oldCpu),
      checkpointRuns: runs.ckpt.length,
      rows: rows.length,
      avgStateBytes: encodedBytes / rows.length,
      storeInsertSeconds: storeInsert,
      bareInsertSeconds: bareInsert,
      storeUpdateSeconds: storeUpdate,
      bareUpdateSeconds: bareUpdate,
      insertRatio: storeInsert / bareInsert,
      updateRatio: storeUpdate / bareUpdate,
      loadSeconds,
    };
  } finally {
    await sql.end();
    await admin.unsafe(`drop database if exists ${db} with (force)`);
    await admin.end();
  }
}
