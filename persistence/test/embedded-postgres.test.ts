import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import {
  DataDirInUseError,
  EMBEDDED_POSTGRES_SETTINGS,
  EmbeddedPostgres,
  loadMigrations,
  migrate,
  PgCheckpointStore,
  PgJournal,
  PgSnapshotStore,
  PgUnavailableError,
  recommendedClientOptions,
  recommendedSnapshotStoreOptions,
  type SnapshotRow,
} from '../postgres/index.js';

// About the size of an encoded AssessmentState; the -Infinity floor needs the JSON codec's tagging.
interface State {
  readonly id: string;
  readonly floor: number;
  readonly pad: string;
}
const row = (i: number, version = 1): SnapshotRow<State> => ({
  assessmentId: `a${String(i).padStart(6, '0')}`,
  version,
  ownerEpoch: 1,
  tickSeq: version * 10,
  journalPos: version * 3,
  state: { id: `a${i}`, floor: i === 0 ? -Infinity : i, pad: 'x'.repeat(800) },
});
const rows = (from: number, count: number): SnapshotRow<State>[] => Array.from({ length: count }, (_, k) => row(from + k));
const connect = (pg: EmbeddedPostgres) => postgres(pg.url, { ...recommendedClientOptions, onnotice: () => {} });
const elapsed = (t0: number) => Math.round(performance.now() - t0);

describe('embedded postgres (PGlite over a socket)', () => {
  let root: string;
  let dataDir: string;
  let pg: EmbeddedPostgres;
  let sql: postgres.Sql;
  let coldStartMs: number;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vatic-embedded-pg-'));
    dataDir = join(root, 'pg');
    const t0 = performance.now();
    pg = await EmbeddedPostgres.start({ dataDir });
    coldStartMs = elapsed(t0);
    sql = connect(pg);
  });

  after(async () => {
    await sql?.end({ timeout: 5 });
    await pg?.stop();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  test('a fresh data directory is initialised and the migrations apply once', async (t) => {
    t.diagnostic(`cold start (initdb) ${coldStartMs} ms`);
    assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const all = (await loadMigrations()).map((m) => m.name);
    assert.deepEqual((await migrate(sql)).applied, all);
    const again = await migrate(sql);
    assert.deepEqual(again.applied, []);
    assert.deepEqual(again.skipped, all);
  });

  test('the backend runs with the small buffer pool of its settings, not the 128 MB initdb writes', async () => {
    assert.ok(EMBEDDED_POSTGRES_SETTINGS.includes('shared_buffers=16MB'));
    const [row] = await sql<{ shared_buffers: string }[]>`show shared_buffers`;
    assert.equal(row?.shared_buffers, '16MB');
  });

  test('snapshots written with PgSnapshotStore read back unchanged, and an older version is refused', async (t) => {
    const store = new PgSnapshotStore<State>(sql, recommendedSnapshotStoreOptions);
    const t0 = performance.now();
    assert.equal(await store.saveBatch(rows(0, 2_000)), 2_000);
    const ms = elapsed(t0);
    t.diagnostic(`2,000 snapshots of ~850 B saved in ${ms} ms (${Math.round(2_000_000 / Math.max(ms, 1))} rows/s)`);
    const stored = await store.loadAll();
    assert.equal(stored.length, 2_000);
    assert.equal(stored[0]!.state.floor, -Infinity);
    assert.deepEqual(stored[1]!.state, row(1).state);
    assert.equal(await store.saveBatch([row(5, 3)]), 1);
    assert.equal(await store.saveBatch([row(5, 2)]), 0);
    const [five] = await store.load([row(5).assessmentId]);
    assert.equal(five!.version, 3);
  });

  test('a batch above the COPY threshold goes through statements when copyThreshold is Infinity', async () => {
    const store = new PgSnapshotStore<State>(sql, recommendedSnapshotStoreOptions);
    assert.equal(await store.saveBatch(rows(2_000, 10_000)), 10_000);
    assert.equal((await store.loadAll()).length, 12_000);
  });

  test('a journal entry appended with PgJournal reads back, and its client order id is accepted once', async () => {
    const epoch = await new PgCheckpointStore(sql).claim();
    const journal = new PgJournal(sql);
    const entry = {
      input: { type: 'create', assessmentId: 'j1', traderId: 't1', tierId: 'tier' },
      clientOrderId: 'c1',
      tickWatermark: 7,
    } as const;
    const [first] = await journal.appendBatch([entry], epoch);
    assert.equal(first!.ok, true);
    const [second] = await journal.appendBatch([entry], epoch);
    assert.deepEqual(second, { ok: false, reason: 'DUPLICATE_CLIENT_ORDER_ID', position: first!.position });
    const read = [];
    for await (const page of journal.readAfter(0)) read.push(...page);
    assert.deepEqual(read, [{ position: first!.position, input: entry.input, clientOrderId: 'c1', tickWatermark: 7 }]);
  });

  test('a second connection is refused with too_many_connections while one is open', async () => {
    await sql`select 1`; // the first client holds its connection open
    const other = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await assert.rejects(
        other`select 1`,
        (err: { code?: string; message?: string }) => err.code === '53300' && /max: 1/.test(err.message ?? ''),
      );
    } finally {
      await other.end({ timeout: 1 });
    }
    assert.equal((await sql<{ n: number }[]>`select 2 as n`)[0]!.n, 2);
  });

  test('a second instance on a data directory in use fails with DataDirInUseError', async () => {
    await assert.rejects(
      EmbeddedPostgres.start({ dataDir }),
      (err: unknown) =>
        err instanceof DataDirInUseError &&
        err.code === 'EMBEDDED_PG_DIR_IN_USE' &&
        err.pid === process.pid &&
        err.message.includes(dataDir),
    );
    assert.equal((await sql<{ n: number }[]>`select 3 as n`)[0]!.n, 3); // the live instance is untouched
  });

  test('the data survives a stop and a restart on the same directory, past a lock left by a dead process', async (t) => {
    await sql.end({ timeout: 5 });
    await pg.stop();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(join(dataDir, 'embedded-postgres.lock'), `${dead}\n`);
    const t0 = performance.now();
    pg = await EmbeddedPostgres.start({ dataDir });
    t.diagnostic(`warm start ${elapsed(t0)} ms`);
    sql = connect(pg);
    assert.deepEqual((await migrate(sql)).applied, []);
    const stored = await new PgSnapshotStore<State>(sql).loadAll();
    assert.equal(stored.length, 12_000);
    assert.equal(stored[0]!.state.floor, -Infinity);
    const read = [];
    for await (const page of new PgJournal(sql).readAfter(0)) read.push(...page);
    assert.deepEqual(
      read.map((r) => r.clientOrderId),
      ['c1'],
    );
  });

  // PGlite reads EOF where CopyData should follow, raises FATAL 08P01 and its WASM program exits. Not
  // through PgSnapshotStore: its rollback on the dead reserved connection crashes the process
  // (porsager/postgres #1208). Pinned to pglite 0.5.14 / pglite-socket 0.2.17: revisit on upgrade.
  test('a COPY FROM STDIN kills the backend, clients then fail fast, and committed data survives a restart', async () => {
    await sql`create table copy_probe (v text)`;
    await sql`insert into copy_probe values ('kept')`;
    await assert.rejects(sql`copy copy_probe from stdin`.writable(), { code: 'CONNECTION_CLOSED' });
    assert.equal(pg.failure?.code, 'EMBEDDED_PG_FAILED');
    assert.match(pg.failure!.message, /backend died/);
    await assert.rejects(new PgSnapshotStore(sql).loadAll(), PgUnavailableError);
    await sql.end({ timeout: 1 });
    await pg.stop();
    pg = await EmbeddedPostgres.start({ dataDir });
    sql = connect(pg);
    assert.deepEqual([...(await sql`select v from copy_probe`)], [{ v: 'kept' }]);
    assert.equal((await new PgSnapshotStore<State>(sql).loadAll()).length, 12_000);
  });
});
