import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { JournalOutcomeUnknownError } from '../../engine/index.js';
import { createTestDatabase, FaultProxy, serviceGate } from '../../engine/testing/index.js';
import { PgCheckpointStore, PgJournal } from '../index.js';
import { until } from '../../engine/testing/index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

test('a journal batch whose connection is lost after it was sent is refused as outcome unknown, for it may have committed', {
  skip,
}, async () => {
  const db = await createTestDatabase();
  const proxy = await FaultProxy.start({ listenHost: '127.0.0.1', targetHost: '127.0.0.1', targetPort: 5432 });
  const url = new URL(db.url);
  url.port = String(proxy.port);
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const epoch = await new PgCheckpointStore(db.sql).claim();
    const journal = new PgJournal(sql);
    const create = (id: string) => ({
      input: { type: 'create' as const, assessmentId: id, traderId: 't', tierId: 'one-step-50k' },
      clientOrderId: null,
      tickWatermark: 0,
    });
    await journal.appendBatch([create('a1')], epoch); // the connection is up
    proxy.faults.holdReplies = true;
    const lost = journal.appendBatch([create('a2')], epoch);
    lost.catch(() => undefined);
    const committed = async () =>
      (await db.sql<{ n: number }[]>`select count(*)::int as n from journal where assessment_id = 'a2'`)[0]!.n === 1;
    await until(committed, { what: 'the batch to reach the server and commit', intervalMs: 20 });
    proxy.resetAll(); // the reply never comes: the connection dies
    await assert.rejects(lost, (err: unknown) => err instanceof JournalOutcomeUnknownError && err.code === 'JOURNAL_OUTCOME_UNKNOWN');
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    await proxy.close();
    await db.drop();
  }
});
