import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseCommand } from '../../actors/index.js';
import { convertLegacyGroup, LegacyLayoutConflictError, PgCheckpointStore, PgJournal } from '../../persistence/index.js';
import type { MemoryMarketLog } from '../../transport/memory/index.js';
import {
  Engine,
  FencedError,
  shardKey,
  shardOf,
  stateDigest,
  VIRTUAL_SHARDS,
  type IntakeRequest,
  type JournalAppendResult,
  type JournalInput,
} from '../index.js';
import { createTestDatabase, type TestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { ClusterHarness, createReq, tiers } from './cluster-harness.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

/**
 * The single-group layout as an older version wrote it: one journal and one
 * checkpoint for the whole group under one owner epoch (PgJournal,
 * PgCheckpointStore), its engine fed as that version fed it: the market log
 * in order, each journaled request right after the market input its
 * watermark names.
 */
class LegacyGroupWriter {
  readonly #journal: PgJournal;
  readonly #checkpoints: PgCheckpointStore;
  readonly #market: MemoryMarketLog;
  readonly engine: Engine;
  readonly epoch: number;
  #seq = 0;
  #journalPos = 0;
  #version = 0;

  private constructor(db: TestDatabase, market: MemoryMarketLog, engine: Engine, epoch: number) {
    this.#journal = new PgJournal(db.sql);
    this.#checkpoints = new PgCheckpointStore(db.sql);
    this.#market = market;
    this.engine = engine;
    this.epoch = epoch;
  }

  /** Claim the group and start an empty engine. */
  static async start(db: TestDatabase, market: MemoryMarketLog): Promise<LegacyGroupWriter> {
    const epoch = await new PgCheckpointStore(db.sql).claim();
    return new LegacyGroupWriter(db, market, await Engine.start({ workers: 2, tiers, flushIntervalMs: 0 }), epoch);
  }

  /** Apply the market log up to its last input. */
  async readMarket(): Promise<void> {
    if (this.#seq >= this.#market.lastSeq) return;
    const reader = this.#market.open(this.#seq + 1);
    for await (const m of reader) {
      this.engine.submit(m, m.seq);
      this.#seq = m.seq;
      if (m.seq >= this.#market.lastSeq) break;
    }
    await reader.stop();
  }

  /** Journal a request at the market position reached, then apply it there. */
  async offer(req: IntakeRequest): Promise<JournalAppendResult> {
    await this.readMarket();
    const input: JournalInput =
      req.kind === 'create'
        ? { type: 'create', assessmentId: req.assessmentId, traderId: req.traderId, tierId: req.tierId }
        : { type: 'command', assessmentId: req.assessmentId, command: parseCommand(req.command) };
    const clientOrderId = input.type === 'create' ? '__create' : 'clientOrderId' in input.command ? input.command.clientOrderId : null;
    const [r] = await this.#journal.appendBatch([{ input, clientOrderId, tickWatermark: this.#seq }], this.epoch);
    if (r!.ok) {
      this.engine.submit(input, this.#seq);
      this.#journalPos = r!.position;
    }
    return r!;
  }

  /** Save the group's checkpoint at the market position reached. */
  async checkpoint(): Promise<void> {
    await this.readMarket();
    const snapshot = await this.engine.snapshot();
    const mark = { inputPos: snapshot.lastInput, tickSeq: this.#seq, journalPos: this.#journalPos };
    await this.#checkpoints.save({ ...mark, version: ++this.#version, snapshot }, this.epoch);
  }
}

let db: TestDatabase;
before(async () => {
  if (!skip) db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('rows of the single-group layout are converted once, exactly, into per-shard rows: a solo node then recovers the very states the old layout held, and its old owner is fenced', {
  skip,
}, async () => {
  const h = new ClusterHarness(db);
  h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
  h.ticks(3);
  const old = await LegacyGroupWriter.start(db, h.market);
  const ids = Array.from({ length: 12 }, (_, n) => `legacy-${n}`);
  for (const id of ids) assert.equal((await old.offer(createReq(id))).ok, true);
  h.ticks(5);
  for (const [k, id] of ids.entries())
    assert.equal((await old.offer({ kind: 'command', assessmentId: id, command: h.place(`l${k}`, k % 2 ? 'buy' : 'sell') })).ok, true);
  h.ticks(5);
  await old.checkpoint();
  for (const [k, id] of ids.slice(0, 6).entries())
    assert.equal((await old.offer({ kind: 'command', assessmentId: id, command: h.place(`after-${k}`, 'buy') })).ok, true);
  h.ticks(5);
  await old.readMarket();
  const before = new Map((await old.engine.snapshot()).kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));

  const converted = await convertLegacyGroup(db.sql);
  assert.deepEqual(converted, { converted: true, journalEntries: 18 + ids.length, actors: ids.length, checkpoint: true });
  const journal = await db.sql<{ group_id: string; assessment_id: string }[]>`select group_id, assessment_id from journal`;
  assert.ok(
    journal.every((r) => r.group_id === shardKey(shardOf(r.assessment_id))),
    "each entry under its assessment's shard",
  );
  const [counts] = await db.sql<{ cps: number; owners: number; released: number; legacy: number }[]>`select
    (select count(*) from checkpoints where group_id ~ '^v[0-9]{4}$')::int as cps,
    (select count(*) from shard_owners where group_id ~ '^v[0-9]{4}$')::int as owners,
    (select count(*) from shard_owners where released)::int as released,
    ((select count(*) from journal where group_id = 'default') + (select count(*) from snapshots where group_id = 'default')
      + (select count(*) from checkpoints where group_id = 'default') + (select count(*) from shard_owners where group_id = 'default'))::int as legacy`;
  assert.deepEqual(counts, { cps: VIRTUAL_SHARDS, owners: VIRTUAL_SHARDS, released: VIRTUAL_SHARDS, legacy: 0 });
  assert.deepEqual(
    await convertLegacyGroup(db.sql),
    { converted: false, journalEntries: 0, actors: 0, checkpoint: false },
    'a second start converts nothing',
  );

  // The old owner, were it still running, can no longer write.
  await assert.rejects(old.offer({ kind: 'command', assessmentId: ids[0]!, command: h.place('stale', 'buy') }), FencedError);
  await assert.rejects(old.checkpoint(), FencedError);
  await old.engine.stop();

  const node = await h.start(undefined);
  await node.ready;
  const after = new Map((await node.inspect()).snapshot.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));
  assert.deepEqual(after, before, 'every state as the old layout held it');
  assert.ok('after-0' in (await node.state(ids[0]!))!.clientOrderIds, 'orders journaled after the old checkpoint are back');
  assert.equal((await h.offer({ kind: 'command', assessmentId: ids[1]!, command: h.place('new', 'buy') })).ok, true);
  h.ticks(3);
  await h.caughtUp();
  const digests = new Map((await node.inspect()).snapshot.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));
  assert.equal(digests.size, ids.length);
  await h.stopAll();
});

test('a database with rows of both layouts is not converted', { skip }, async () => {
  await db.sql`truncate journal, snapshots, checkpoints, shard_owners`;
  await db.sql`insert into shard_owners (group_id, epoch) values ('default', 3), ('v0001', 1)`;
  await assert.rejects(
    convertLegacyGroup(db.sql),
    (e: unknown) => e instanceof LegacyLayoutConflictError && e.code === 'LEGACY_LAYOUT_CONFLICT',
  );
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from shard_owners where group_id = 'default'`;
  assert.equal(row!.n, 1, 'nothing changed');
});
