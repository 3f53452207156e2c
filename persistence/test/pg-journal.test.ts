import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FencedError, type JournalAppend } from '../../engine/index.js';
import { createTestDatabase, serviceGate } from '../../engine/testing/index.js';
import { PgCheckpointStore, PgJournal } from '../index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

const place = (id: string, key: string | null, tickWatermark: number): JournalAppend => ({
  input: {
    type: 'command',
    assessmentId: id,
    command: { kind: 'place', clientOrderId: key ?? 'none', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 1 },
  },
  clientOrderId: key,
  tickWatermark,
});

test('a batch answers each entry at its index: positions in order, duplicates (stored or within the batch) refused with the holding position, watermarks kept per entry', {
  skip,
}, async () => {
  const db = await createTestDatabase();
  try {
    const epoch = await new PgCheckpointStore(db.sql).claim();
    const journal = new PgJournal(db.sql);
    const [first] = await journal.appendBatch([place('a1', 'o1', 3)], epoch);
    assert.ok(first!.ok);
    const batch = [
      place('a1', 'o2', 5),
      place('a1', 'o1', 5),
      place('a2', null, 5),
      place('a2', 'o2', 7),
      place('a1', 'o2', 5),
      place('a3', null, 5),
    ];
    const results = await journal.appendBatch(batch, epoch);
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, false, true, true, false, true],
    );
    const positions = results.flatMap((r) => (r.ok ? [r.position] : []));
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
      'accepted entries take positions in batch order',
    );
    assert.ok(positions[0]! > first!.position);
    assert.equal(results[1]!.ok === false && results[1]!.position, first!.ok && first!.position, 'a stored key answers with its position');
    assert.equal(results[4]!.ok === false && results[4]!.position, positions[0], 'a key repeated in the batch answers with the first');
    const stored: Array<{ position: number; tickWatermark: number; key: string | null }> = [];
    for await (const page of journal.readAfter(first!.ok ? first!.position : 0))
      for (const r of page) stored.push({ position: r.position, tickWatermark: r.tickWatermark, key: r.clientOrderId });
    assert.deepEqual(stored, [
      { position: positions[0]!, tickWatermark: 5, key: 'o2' },
      { position: positions[1]!, tickWatermark: 5, key: null },
      { position: positions[2]!, tickWatermark: 7, key: 'o2' },
      { position: positions[3]!, tickWatermark: 5, key: null },
    ]);
  } finally {
    await db.drop();
  }
});

test('a batch from an owner whose epoch was superseded is refused as fenced and writes nothing', { skip }, async () => {
  const db = await createTestDatabase();
  try {
    const store = new PgCheckpointStore(db.sql);
    const old = await store.claim();
    await store.claim();
    const journal = new PgJournal(db.sql);
    await assert.rejects(journal.appendBatch([place('a1', 'o1', 0)], old), FencedError);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    assert.equal(row!.n, 0);
  } finally {
    await db.drop();
  }
});
