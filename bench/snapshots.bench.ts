/**
 * Snapshot bench: 100,000 assessment states written to Postgres by
 * `PgSnapshotStore.saveBatch` (version-checked, epoch-fenced), against a bare
 * batched upsert of the same rows (same encoding, same COPY into a temporary
 * table, no dedupe and no guards) measured in the same run on a scratch
 * database, in alternating pairs (each pair on emptied tables: insert, then
 * update), judged by the median of the pairs' ratios.
 *
 * Checkpoints: the same states in a real engine (2 shard workers), saved by
 * the node's path (`Engine.checkpointRows` → `PgCheckpointStore.save`: the
 * workers encode COPY rows, the main thread streams them) against the bare
 * upsert of the same rows (on a thread of its own, which holds the states:
 * the main thread then holds no actor state, as a node's does not),
 * alternating, after one untimed round of each (worker boot, JIT), with the
 * main event loop's longest stall during each; and, as a diagnostic after
 * them, the path the node took before (the states cloned to the main thread
 * and encoded there).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { DEFAULT_INSTRUMENTS, parseTier, type AssessmentState } from '../actors/index.js';
import { Engine, ShardKernel, type KernelSnapshot } from '../engine/index.js';
import { encodeJson, migrate, PgCheckpointStore, PgSnapshotStore, type SnapshotRow } from '../persistence/index.js';
import { BareUpsertThread, bareUpsert } from './bare-upsert.js';
import { LoopStallMeter, type LoopStalls } from './loop-stall.js';
import type { SuiteReport } from './report.js';

export interface SnapshotBenchOptions {
  /** @default 100_000 */ readonly assessments: number;
  /** @default 'postgres://postgres@127.0.0.1:5432/postgres' (DATABASE_URL when set) */ readonly url: string;
  /** Checkpoints (and bare upserts) timed, alternating. @default 3 */ readonly repeats?: number;
  /** Store / bare upsert pairs (insert and update each) timed, alternating which goes first. @default 3 */ readonly pairs?: number;
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

/** Nanoseconds a process's main thread has run on a CPU (a Postgres backend has no other); 0 when unreadable. */
function runNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

/** CPU run by the backends of the bench's own database, ns, by pid (Linux, local server; empty elsewhere). */
async function backendsNs(sql: postgres.Sql): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database()`;
  return new Map(rows.map((r) => [r.pid, runNs(r.pid)]));
}

/**
 * Wall time `fn` reports, and the CPU time it cost: this process's threads
 * plus the Postgres backends of the bench's database, in seconds. Unlike the
 * wall time, the CPU time hardly moves with the machine's load.
 */
async function timedCpu(sql: postgres.Sql, fn: () => Promise<number>): Promise<{ seconds: number; cpu: number }> {
  const b0 = await backendsNs(sql);
  const c0 = process.cpuUsage();
  const seconds = await fn();
  const c = process.cpuUsage(c0);
  const b1 = await backendsNs(sql);
  let backendNs = 0;
  for (const [pid, ns] of b1) backendNs += ns - (b0.get(pid) ?? 0);
  return { seconds, cpu: (c.user + c.system) / 1e6 + backendNs / 1e9 };
}

/**
 * The store against the bare upsert: `pairs` rounds on emptied tables, each
 * an insert then an update of every state by both, which goes first
 * alternating round by round (a single pair is at the mercy of a noisy
 * machine: an autovacuum or a WAL checkpoint landing in one side of it).
 */
async function storeVsBare(sql: postgres.Sql, rows: readonly AssessmentState[], pairs: number, o: SnapshotBenchOptions) {
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
  const bare = (version: number) => bareUpsert(sql, rows, version, 'snapshots_bare');
  const runs = { storeInsert: [] as number[], bareInsert: [] as number[], storeUpdate: [] as number[], bareUpdate: [] as number[] };
  const cpu = { storeInsert: [] as number[], bareInsert: [] as number[], storeUpdate: [] as number[], bareUpdate: [] as number[] };
  const ratios = { insert: [] as number[], update: [] as number[], insertCpu: [] as number[], updateCpu: [] as number[] };
  for (let p = 0; p < pairs; p++) {
    o.report?.progress(`store / bare upsert: pair ${p + 1} of ${pairs}`);
    await sql`truncate snapshots, snapshots_bare`;
    const pair = async (version: number) => {
      const first = p % 2 === 0 ? 'bare' : 'store';
      const a = await timedCpu(sql, () => (first === 'bare' ? bare(version) : guarded(version)));
      const b = await timedCpu(sql, () => (first === 'bare' ? guarded(version) : bare(version)));
      return first === 'bare' ? { store: b, bare: a } : { store: a, bare: b };
    };
    for (const [what, version] of [
      ['Insert', 1],
      ['Update', 2],
    ] as const) {
      const r = await pair(version);
      runs[`store${what}`].push(r.store.seconds);
      runs[`bare${what}`].push(r.bare.seconds);
      cpu[`store${what}`].push(r.store.cpu);
      cpu[`bare${what}`].push(r.bare.cpu);
      const w = what === 'Insert' ? 'insert' : 'update';
      ratios[w].push(r.store.seconds / r.bare.seconds);
      ratios[`${w}Cpu`].push(r.store.cpu / r.bare.cpu);
    }
  }
  const t0 = performance.now();
  const loaded = (await store.loadAll()).length;
  const loadSeconds = (performance.now() - t0) / 1000;
  if (loaded !== rows.length) throw new Error(`loaded ${loaded} of ${rows.length}`);
  return {
    storeInsertSeconds: median(runs.storeInsert),
    bareInsertSeconds: median(runs.bareInsert),
    storeUpdateSeconds: median(runs.storeUpdate),
    bareUpdateSeconds: median(runs.bareUpdate),
    insertRatio: median(ratios.insert),
    updateRatio: median(ratios.update),
    storeInsertCpuSeconds: median(cpu.storeInsert),
    bareInsertCpuSeconds: median(cpu.bareInsert),
    storeUpdateCpuSeconds: median(cpu.storeUpdate),
    bareUpdateCpuSeconds: median(cpu.bareUpdate),
    insertCpuRatio: median(ratios.insertCpu),
    updateCpuRatio: median(ratios.updateCpu),
    storePairs: pairs,
    loadSeconds,
  };
}

export async function runSnapshotBench(o: SnapshotBenchOptions): Promise<Record<string, number>> {
  o.report?.progress(`building ${o.assessments} states`);
  // Dropped once the engine and the baseline's thread hold the states (see bare-upsert.ts).
  let built: { states: AssessmentState[]; kernel: KernelSnapshot } | undefined = states(o.assessments);
  const rowCount = built.states.length;
  const avgStateBytes = built.states.reduce((s, r) => s + encodeJson(r).length, 0) / rowCount;
  const db = `vatic_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(o.url, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${db}`);
  const url = new URL(o.url);
  url.pathname = `/${db}`;
  const sql = postgres(url.toString(), { max: 4, onnotice: () => undefined });
  let bareThread: BareUpsertThread | undefined;
  let engine: Engine | undefined;
  try {
    await migrate(sql);
    await sql.unsafe('create table snapshots_bare (like snapshots including all)');
    const store = await storeVsBare(sql, built.states, o.pairs ?? 3, o);

    // Checkpoints of the same states held by a real engine, alternating with the bare upsert.
    // The store's rows above carry newer versions than a fresh checkpoint lineage: start that lineage on an empty table.
    await sql`delete from snapshots`;
    o.report?.progress('checkpoints: restoring the engine');
    bareThread = await BareUpsertThread.start({ url: url.toString(), table: 'snapshots_bare', states: built.states });
    engine = await Engine.restore({ lastInput: built.kernel.lastInput, kernel: built.kernel }, { workers: o.workers ?? 2 });
    built = undefined;
    await engine.barrier(); // the workers are up (booting them is no part of a checkpoint)
    const checkpoints = new PgCheckpointStore(sql, { group: 'bench' });
    const epoch = await checkpoints.claim();
    let version = 1;
    const meter = new LoopStallMeter();
    const timed = async (fn: () => Promise<void>): Promise<LoopStalls & { seconds: number; cpu: number }> => {
      let stalls: LoopStalls | undefined;
      const { seconds, cpu } = await timedCpu(sql, async () => {
        meter.start();
        const t = performance.now();
        await fn();
        const seconds = (performance.now() - t) / 1000;
        stalls = meter.stop();
        return seconds;
      });
      return { seconds, cpu, ...stalls! };
    };
    const bareRun = (v: number) => timedCpu(sql, () => bareThread!.run(v));
    const running = engine;
    const viaWorkers = () =>
      timed(async () => {
        const { lastInput, done } = running.checkpointRows(true, { maxStateBytes: checkpoints.maxStateBytes });
        const encoded = await done;
        await checkpoints.save({ inputPos: lastInput, tickSeq: 3, journalPos: 0, version: version++, encoded }, epoch);
      });
    const viaMain = () =>
      timed(async () => {
        const { lastInput, done } = running.checkpoint(true);
        const snapshot = await done;
        await checkpoints.save({ inputPos: lastInput, tickSeq: 3, journalPos: 0, version: version++, snapshot }, epoch);
      });
    const runs = {
      bare: [] as number[],
      bareCpu: [] as number[],
      ckpt: [] as number[],
      ckptCpu: [] as number[],
      stalls: [] as LoopStalls[],
      oldSeconds: [] as number[],
      old: [] as LoopStalls[],
    };
    let bareVersion = 1;
    o.report?.progress('checkpoints: one untimed round');
    await bareThread.run(bareVersion++);
    await viaWorkers();
    for (let r = 0; r < (o.repeats ?? 3); r++) {
      o.report?.progress(`checkpoints: round ${r + 1} of ${o.repeats ?? 3}`);
      const b = await bareRun(bareVersion++);
      runs.bare.push(b.seconds);
      runs.bareCpu.push(b.cpu);
      const c = await viaWorkers();
      runs.ckpt.push(c.seconds);
      runs.ckptCpu.push(c.cpu);
      runs.stalls.push(c);
    }
    // The previous path, after the rounds: the states it clones to the main thread are no garbage of theirs.
    for (let r = 0; r < (o.repeats ?? 3); r++) {
      o.report?.progress(`diagnostic: states encoded on main, ${r + 1} of ${o.repeats ?? 3}`);
      const m = await viaMain();
      runs.oldSeconds.push(m.seconds);
      runs.old.push(m);
    }
    const [count] = await sql<{ n: string }[]>`select count(*)::text as n from snapshots where group_id = 'bench'`;
    if (Number(count!.n) !== rowCount) throw new Error(`checkpoint holds ${count!.n} of ${rowCount} actors`);
    const longest = (xs: readonly LoopStalls[]) => xs.reduce((a, b) => (b.maxWallMs > a.maxWallMs ? b : a));
    const worst = longest(runs.stalls);
    return {
      checkpointSeconds: median(runs.ckpt),
      checkpointBareSeconds: median(runs.bare),
      checkpointRatio: median(runs.ckpt) / median(runs.bare),
      checkpointCpuSeconds: median(runs.ckptCpu),
      checkpointBareCpuSeconds: median(runs.bareCpu),
      checkpointCpuRatio: median(runs.ckptCpu) / median(runs.bareCpu),
      checkpointStallMs: worst.maxWallMs,
      checkpointStallWaitMs: worst.maxWallWaitMs,
      checkpointStallCpuMs: Math.max(...runs.stalls.map((x) => x.maxCpuMs)),
      oldCheckpointSeconds: median(runs.oldSeconds),
      oldCheckpointStallMs: longest(runs.old).maxWallMs,
      oldCheckpointStallCpuMs: Math.max(...runs.old.map((x) => x.maxCpuMs)),
      checkpointRuns: runs.ckpt.length,
      rows: rowCount,
      avgStateBytes,
      ...store,
    };
  } finally {
    await engine?.stop();
    await bareThread?.stop();
    await sql.end();
    await admin.unsafe(`drop database if exists ${db} with (force)`);
    await admin.end();
  }
}
