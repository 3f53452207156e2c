import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardOf, type ShardJournalAppend } from '../../engine/index.js';
import { createTestDatabase, serviceGate } from '../../engine/testing/index.js';
import { PgShardJournal, PgShardStore } from '../index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

/** An assessment id whose shard is `v` (found by trying names). */
function idIn(v: number, tag = ''): string {
  for (let n = 0; ; n++) if (shardOf(`a${tag}-${n}`) === v) return `a${tag}-${n}`;
}

const place = (id: string, key: string | null, epoch: number, tickWatermark: number): ShardJournalAppend => ({
  shard: shardOf(id),
  epoch,
  input: {
    type: 'command',
    assessmentId: id,
    command: { kind: 'place', clientOrderId: key ?? 'none', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 1 },
  },
  clientOrderId: key,
  tickWatermark,
});

test('a batch over several shards answers each entry at its index: positions in order, duplicates refused with the holding position, a moved shard fenced, watermarks kept per entry', {
  skip,
}, async () => {
  const db = await createTestDatabase();
  try {
    const store = new PgShardStore(db.sql);
    const epochs = await store.claim([1, 2, 3], { node: null, force: true });
    const journal = new PgShardJournal(db.sql);
    const [a, b, c] = [idIn(1), idIn(2), idIn(3)];
    const [first] = await journal.appendBatch([place(a, 'o1', epochs.get(1)!, 3)]);
    assert.ok(first!.ok);
    await store.claim([3], { node: 'other', force: true }); // shard 3 moves on
    const batch = [
      place(a, 'o2', 1, 5),
      place(a, 'o1', 1, 5),
      place(b, null, 1, 5),
      place(c, 'o1', 1, 5),
      place(b, 'o2', 1, 7),
      place(a, 'o2', 1, 5),
      place(b, null, 1, 5),
    ];
    const results = await journal.appendBatch(batch);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.reason)),
      ['ok', 'DUPLICATE_CLIENT_ORDER_ID', 'ok', 'FENCED', 'ok', 'DUPLICATE_CLIENT_ORDER_ID', 'ok'],
    );
    const positions = results.flatMap((r) => (r.ok ? [r.position] : []));
    assert.deepEqual(
      positions,
      [...positions].sort((x, y) => x - y),
      'accepted entries take positions in batch order',
    );
    assert.ok(positions[0]! > (first!.ok ? first!.position : Infinity));
    assert.equal(results[1]!.ok === false && results[1]!.position, first!.ok && first!.position, 'a stored key answers with its position');
    assert.equal(results[5]!.ok === false && results[5]!.position, positions[0], 'a key repeated in the batch answers with the first');
    const stored: Array<{ position: number; tickWatermark: number; key: string | null; id: string }> = [];
    for await (const page of journal.readShards(new Map([1, 2, 3].map((v) => [v, first!.ok ? first!.position : 0]))))
      for (const r of page)
        stored.push({ position: r.position, tickWatermark: r.tickWatermark, key: r.clientOrderId, id: r.input.assessmentId });
    assert.deepEqual(stored, [
      { position: positions[0]!, tickWatermark: 5, key: 'o2', id: a },
      { position: positions[1]!, tickWatermark: 5, key: null, id: b },
      { position: positions[2]!, tickWatermark: 7, key: 'o2', id: b },
      { position: positions[3]!, tickWatermark: 5, key: null, id: b },
    ]);
  } finally {
    await db.drop();
  }
});

test('a batch whose every shard moved writes nothing and answers each entry fenced', { skip }, async () => {
  const db = await createTestDatabase();
  try {
    const store = new PgShardStore(db.sql);
    await store.claim([4], { node: null, force: true });
    await store.claim([4], { node: 'other', force: true });
    const id = idIn(4);
    const results = await new PgShardJournal(db.sql).appendBatch([place(id, 'o1', 1, 1), place(id, null, 1, 1)]);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.reason)),
      ['FENCED', 'FENCED'],
    );
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    assert.equal(row?.n, 0);
  } finally {
    await db.drop();
  }
});
