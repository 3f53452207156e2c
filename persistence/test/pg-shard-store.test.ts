import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { shardKey, shardOf, type KernelMeta, type ShardCheckpointWrite } from '../../engine/index.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import { PgMembership, PgShardJournal, PgShardStore } from '../index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

/** An assessment id whose shard is `v` (found by trying names). */
function idIn(v: number, tag = ''): string {
  for (let n = 0; ; n++) if (shardOf(`a${tag}-${n}`) === v) return `a${tag}-${n}`;
}
const create = (id: string, shard: number, epoch: number, w = 1) => ({
  shard,
  epoch,
  input: { type: 'create' as const, assessmentId: id, traderId: 't', tierId: 'one-step-50k' },
  clientOrderId: '__create',
  tickWatermark: w,
});
const meta: KernelMeta = {
  now: 1,
  lastTickSeq: 7,
  lastInput: 9,
  book: { instruments: [], quotes: [], resolutions: [] } as unknown as KernelMeta['book'],
  tiers: [],
};
const write = (shard: number, epoch: number, version: number, ids: string[] = []): ShardCheckpointWrite => ({
  shard,
  epoch,
  version,
  inputPos: 9,
  tickSeq: 7,
  journalPos: 0,
  meta,
  actors: ids.map((id) => ({ state: { id, tierId: 'x' } as never, quarantined: false, cursor: [7, 2] as const })),
});

describe('per-shard journal, ownership and checkpoints', { skip }, () => {
  let db: TestDatabase;
  let store: PgShardStore;
  let journal: PgShardJournal;
  before(async () => {
    db = await createTestDatabase();
    store = new PgShardStore(db.sql);
    journal = new PgShardJournal(db.sql);
  });
  after(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    await db.sql`truncate journal, snapshots, checkpoints, shard_owners, cluster_members`;
  });

  test('a batch mixing shards writes the entries of shards still held and refuses, one by one, those of a shard claimed since', async () => {
    const mine = await store.claim([3, 4], { node: null, force: true });
    assert.deepEqual(
      [...mine],
      [
        [3, 1],
        [4, 1],
      ],
    );
    await store.claim([4], { node: 'other', force: true }); // shard 4 moves on
    const a = idIn(3),
      b = idIn(4),
      c = idIn(3, 'c');
    const results = await journal.appendBatch([create(a, 3, 1), create(b, 4, 1), create(c, 3, 1)]);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.reason)),
      ['ok', 'FENCED', 'ok'],
    );
    const rows = await db.sql<{ group_id: string; assessment_id: string }[]>`select group_id, assessment_id from journal order by position`;
    assert.deepEqual(
      rows.map((r) => [r.group_id, r.assessment_id]),
      [
        [shardKey(3), a],
        [shardKey(3), c],
      ],
    );
    const again = await journal.appendBatch([create(a, 3, 1)]);
    assert.ok(
      !again[0]!.ok &&
        again[0]!.reason === 'DUPLICATE_CLIENT_ORDER_ID' &&
        again[0]!.position === (results[0] as { position: number }).position,
    );
    assert.ok(
      !again[0]!.ok && again[0]!.reason === 'DUPLICATE_CLIENT_ORDER_ID' && again[0]!.repeat !== undefined,
      'the same input resent is known as a repeat',
    );
    const other = await journal.appendBatch([
      { ...create(a, 3, 1), input: { type: 'create', assessmentId: a, traderId: 'someone-else', tierId: 'two-step-100k' } },
    ]);
    assert.ok(
      !other[0]!.ok && other[0]!.reason === 'DUPLICATE_CLIENT_ORDER_ID' && other[0]!.repeat === undefined,
      'another input under the same key is not',
    );
  });

  test('reading a shard back returns its entries after its position only', async () => {
    await store.claim([5, 6], { node: null, force: true });
    const ids5 = [idIn(5, 'x'), idIn(5, 'y'), idIn(5, 'z')];
    const r = await journal.appendBatch([create(ids5[0]!, 5, 1), create(idIn(6), 6, 1), create(ids5[1]!, 5, 1), create(ids5[2]!, 5, 1)]);
    const first = (r[0] as { position: number }).position;
    const read: string[] = [];
    for await (const page of journal.readShards(new Map([[5, first]]))) for (const e of page) read.push(e.input.assessmentId);
    assert.deepEqual(read, ids5.slice(1));
    const all: string[] = [];
    for await (const page of journal.readAll()) for (const e of page) all.push(e.input.assessmentId);
    assert.equal(all.length, 4);
  });

  test('a claim takes an unowned, released or lapsed shard, and leaves one a live member holds', async () => {
    const members = new PgMembership(db.sql);
    await members.join('a', 60_000, {});
    await members.join('b', 60_000, {});
    assert.deepEqual(
      [...(await store.claim([1, 2], { node: 'a', force: false }))],
      [
        [1, 1],
        [2, 1],
      ],
    );
    assert.equal((await store.claim([1], { node: 'b', force: false })).size, 0, 'held by a live member');
    await store.save([write(2, 1, 1)], { release: true });
    assert.deepEqual([...(await store.claim([2], { node: 'b', force: false }))], [[2, 2]], 'released');
    await db.sql`update cluster_members set expires_at = clock_timestamp() - interval '1 second' where node_id = 'a'`;
    assert.deepEqual([...(await store.claim([1], { node: 'b', force: false }))], [[1, 2]], "its holder's lease lapsed");
    assert.deepEqual([...(await store.claim([1], { node: 'a', force: true }))], [[1, 3]], 'a solo node takes anything');
    assert.equal(
      (await store.claim([1], { node: 'b', force: false, expected: new Map([[1, 2]]) })).size,
      0,
      'the epoch seen is no longer the one held',
    );
  });

  test('two claimers racing for one released shard: exactly one takes it', async () => {
    const members = new PgMembership(db.sql);
    await members.join('a', 60_000, {});
    await members.join('b', 60_000, {});
    await store.claim([9], { node: 'a', force: false });
    await store.save([write(9, 1, 1)], { release: true });
    for (let round = 0; round < 5; round++) {
      const epochBefore = (await store.owners()).find((o) => o.shard === 9)!.epoch;
      const [x, y] = await Promise.all([store.claim([9], { node: 'a', force: false }), store.claim([9], { node: 'b', force: false })]);
      assert.equal(x.size + y.size, 1, 'one winner');
      const owner = (await store.owners()).find((o) => o.shard === 9)!;
      assert.equal(owner.epoch, epochBefore + 1);
      assert.equal(owner.ownerNode, x.size === 1 ? 'a' : 'b');
      await store.save([write(9, owner.epoch, round + 2)], { release: true });
    }
  });

  test('a save of many shards writes those still held and names the fenced ones, whose rows stay untouched', async () => {
    await store.claim([10, 11], { node: null, force: true });
    const [x, y] = [idIn(10), idIn(11)];
    assert.deepEqual((await store.save([write(10, 1, 1, [x]), write(11, 1, 1, [y])])).fenced, []);
    await store.claim([11], { node: 'other', force: true });
    const result = await store.save([write(10, 1, 2, [x]), write(11, 1, 2, [y])]);
    assert.deepEqual(result.fenced, [11]);
    const loaded = await store.load([10, 11]);
    assert.equal(loaded.get(10)!.version, 2);
    assert.equal(loaded.get(11)!.version, 1, 'the fenced shard keeps its checkpoint');
    assert.deepEqual(
      loaded.get(10)!.actors.map((a) => [a.state.id, a.cursor]),
      [[x, [7, 2]]],
      'actors come back with their event cursor',
    );
    const rows = await db.sql<
      { assessment_id: string; version: string; group_id: string }[]
    >`select assessment_id, version::text, group_id from snapshots order by assessment_id`;
    assert.deepEqual(rows.map((r) => [r.group_id, r.version]).sort(), [
      [shardKey(10), '2'],
      [shardKey(11), '1'],
    ]);
  });

  test('a lease is judged by the database clock: a lapsed member is not listed and its renewal says so', async () => {
    const members = new PgMembership(db.sql);
    const { incarnation } = await members.join('n1', 60_000, { pid: 1 });
    assert.deepEqual(
      (await members.live()).map((m) => m.nodeId),
      ['n1'],
    );
    assert.equal(await members.renew('n1', incarnation, 60_000), 'renewed');
    await db.sql`update cluster_members set expires_at = clock_timestamp() - interval '1 second'`;
    assert.deepEqual(await members.live(), []);
    assert.equal(await members.renew('n1', incarnation, 60_000), 'lapsed');
    const second = await members.join('n1', 60_000, { pid: 2 });
    assert.equal(second.incarnation, incarnation + 1);
    assert.equal(await members.renew('n1', incarnation, 60_000), 'replaced', 'an older process under the same name learns it was replaced');
    await members.leave('n1', second.incarnation);
    assert.deepEqual(await members.live(), []);
  });
});
