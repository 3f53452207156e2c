/**
 * Snapshot bench: 100,000 assessment states written to Postgres by a
 * checkpoint of `PgCheckpointStore.save` (epoch-fenced, version-checked: what
 * an engine node writes at every checkpoint), against a bare batched upsert of
 * the same rows (same encoding, same COPY into a temporary table, no fence and
 * no guards) measured in the same run on a scratch database.
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_INSTRUMENTS, parseTier, type AssessmentState } from '../actors/index.js';
import { ShardKernel } from '../engine/index.js';
import type { KernelSnapshot } from '../engine/index.js';
import { encodeJson, PgCheckpointStore } from '../persistence/index.js';
import { copyField, copyIn } from '../persistence/postgres/index.js';
import { createTestDatabase } from '../engine/testing/pg-test-db.js';

export interface SnapshotBenchOptions {
  /** @default 100_000 */ readonly assessments: number;
  /** @default 'postgres://postgres@127.0.0.1:5432/postgres' (DATABASE_URL when set) */ readonly url: string;
}

const TIER = parseTier({
  id: 'bench', version: 1, name: 'bench', leverage: 50,
  phases: [{ name: 'funded', startingBalance: 100_000, rules: { dailyLoss: { limit: { pct: 5 } }, maxLoss: { limit: { pct: 10 } } } }],
});
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD'];
const PRICES = [60_000, 3_000, 150];

/** Realistic states: each assessment with 1–3 positions opened through the real actor. */
function kernelSnapshot(n: number): KernelSnapshot {
  const k = new ShardKernel({ tiers: [TIER], instruments: DEFAULT_INSTRUMENTS });
  let i = 0;
  k.apply({ i: i++, input: { type: 'clock', time: Date.parse('2026-03-02T08:00:00Z') } });
  SYMBOLS.forEach((symbol, s) => k.apply({ i: i++, input: { type: 'tick', seq: s + 1, ts: 0, symbol, bid: PRICES[s]!, ask: PRICES[s]! * 1.0001 } }));
  for (let a = 0; a < n; a++) {
    const assessmentId = `a${a}`;
    k.apply({ i: i++, input: { type: 'create', assessmentId, traderId: `t${a}`, tierId: TIER.id } });
    for (let j = 0; j <= a % 3; j++) {
      k.apply({ i: i++, input: { type: 'command', assessmentId, command: { kind: 'place', clientOrderId: `c${j}`, symbol: SYMBOLS[j]!, side: 'buy', type: 'market', qty: 20_000 / PRICES[j]! } } });
    }
  }
  k.drainEvents();
  return k.snapshot();
}

export async function runSnapshotBench(o: SnapshotBenchOptions): Promise<Record<string, number>> {
  const kernel = kernelSnapshot(o.assessments);
  const rows: AssessmentState[] = kernel.actors.map((x) => x.state);
  const scratch = await createTestDatabase({ serverUrl: o.url, prefix: 'vatic_bench_' });
  const { sql } = scratch;
  try {
    await sql.unsafe('create table snapshots_bare (like snapshots including all)');
    const encodedBytes = rows.reduce((s, r) => s + encodeJson(r).length, 0);

    // Baseline: the bare batched upsert: the same encoding and the same COPY
    // into a temporary table, then an upsert with no fence and no version guard.
    const bare = async (version: number) => {
      const t0 = performance.now();
      const conn = await sql.reserve();
      try {
        await conn`begin`;
        await conn`create temp table if not exists bare_in (assessment_id text, state text) on commit delete rows`;
        await copyIn(conn.unsafe('copy bare_in from stdin'), rows.length, (i) => `${copyField(rows[i]!.id)}\t${copyField(encodeJson(rows[i]!))}\n`);
        await conn`
          insert into snapshots_bare (assessment_id, version, owner_epoch, tick_seq, journal_pos, state, group_id, quarantined, updated_at)
          select assessment_id, ${version}, 1, 3, 0, state, 'default', false, now() from bare_in
          on conflict (assessment_id) do update set version = excluded.version, state = excluded.state, updated_at = excluded.updated_at`;
        await conn`commit`;
      } finally {
        conn.release();
      }
      return (performance.now() - t0) / 1000;
    };
    const store = new PgCheckpointStore(sql);
    const epoch = await store.claim();
    const guarded = async (version: number) => {
      const t0 = performance.now();
      await store.save({ version, inputPos: kernel.lastInput, tickSeq: 3, journalPos: 0, snapshot: { lastInput: kernel.lastInput, kernel } }, epoch);
      return (performance.now() - t0) / 1000;
    };
    // Interleave to share the machine's noise: insert, then update, each measured for both.
    const bareInsert = await bare(1);
    const storeInsert = await guarded(1);
    const bareUpdate = await bare(2);
    const storeUpdate = await guarded(2);
    const t0 = performance.now();
    const loaded = await store.load();
    const loadSeconds = (performance.now() - t0) / 1000;
    if (loaded?.actorsLoaded !== rows.length) throw new Error(`loaded ${loaded?.actorsLoaded ?? 0} of ${rows.length}`);
    return {
      rows: rows.length, avgStateBytes: encodedBytes / rows.length,
      storeInsertSeconds: storeInsert, bareInsertSeconds: bareInsert, storeUpdateSeconds: storeUpdate, bareUpdateSeconds: bareUpdate,
      insertRatio: storeInsert / bareInsert, updateRatio: storeUpdate / bareUpdate, loadSeconds,
    };
  } finally {
    await scratch.drop();
  }
}
