import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { presetTiers } from '../../actors/index.js';
import { PgCheckpointStore, PgJournal } from '../../persistence/index.js';
import { MemoryMarketLog } from '../../transport/memory/index.js';
import {
  EngineNode,
  FencedError,
  JournalOutcomeUnknownError,
  mergeSequenced,
  runInputs,
  stateDigest,
  type EngineNodeOptions,
  type Journal,
  type JournalRecord,
  type MarketInput,
  type NodeInspection,
} from '../index.js';
import { createTestDatabase, type TestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { until } from '../testing/until.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);
const T0 = Date.UTC(2026, 0, 5, 9, 0);
const tiers = presetTiers();

function nodeOptions(db: TestDatabase, market: MemoryMarketLog, extra: Partial<EngineNodeOptions> = {}, copy = true): EngineNodeOptions {
  return {
    market,
    journal: new PgJournal(db.sql),
    checkpoints: new PgCheckpointStore(db.sql, { copy }),
    marketTail: () => market.tail(),
    engine: { workers: 2, tiers, flushIntervalMs: 0 },
    checkpointIntervalMs: 0,
    ...extra,
  };
}

let price = 50_000;
function publishTicks(market: MemoryMarketLog, n: number, t: { now: number }): void {
  for (let k = 0; k < n; k++) {
    t.now += 1_000;
    price *= 1 + Math.sin(t.now / 7_000) * 0.002;
    market.publish({ type: 'tick', symbol: 'BTC-USD', ts: t.now, bid: price - 1, ask: price + 1 });
    if (k % 10 === 0) market.publish({ type: 'clock', time: t.now });
  }
}

async function readAll(market: MemoryMarketLog, upTo: number): Promise<MarketInput[]> {
  const out: MarketInput[] = [];
  if (upTo < 1) return out;
  const reader = market.open(1);
  for await (const m of reader) {
    out.push(m);
    if (m.seq >= upTo) break;
  }
  return out;
}

async function journalUpTo(db: TestDatabase, position: number): Promise<JournalRecord[]> {
  const out: JournalRecord[] = [];
  for await (const page of new PgJournal(db.sql).readAfter(0)) out.push(...page.filter((r) => r.position <= position));
  return out;
}

/** Every assessment's digest in `seen` equals a from-scratch replay of the same inputs. */
async function assertEqualsReplay(db: TestDatabase, market: MemoryMarketLog, seen: NodeInspection): Promise<number> {
  const inputs = mergeSequenced(await readAll(market, seen.tickSeq), await journalUpTo(db, seen.journalPos));
  const { engine } = await runInputs(inputs, { workers: 1, tiers });
  try {
    const replayed = await engine.snapshot();
    assert.equal(replayed.lastInput, seen.inputPos, 'the replay ends at the same input position');
    const digests = (s: typeof replayed) => s.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]);
    assert.deepEqual(digests(seen.snapshot), digests(replayed));
    return replayed.kernel.actors.length;
  } finally {
    await engine.stop();
  }
}

async function caughtUp(node: EngineNode, market: MemoryMarketLog): Promise<void> {
  await until(() => node.lastSeq >= market.lastSeq, { what: `the node to apply the market log to seq ${market.lastSeq}`, intervalMs: 5 });
}

/** A market order with a stop 3% away (the tier requires one; it risks well under 2%). */
const place = (id: string, side: 'buy' | 'sell', qty = 0.2) => ({
  kind: 'place',
  clientOrderId: id,
  symbol: 'BTC-USD',
  side,
  type: 'market',
  qty,
  stopLoss: Math.round(side === 'buy' ? price * 0.97 : price * 1.03),
});

describe('engine node', { skip }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  for (const copy of [true, false])
    test(`acknowledged orders survive a stop without a checkpoint and the recovered state equals a from-scratch replay (checkpoint rows by ${copy ? 'COPY' : 'unnest'})`, async () => {
      await db.sql`truncate journal, snapshots, checkpoints, shard_owners`;
      const market = new MemoryMarketLog();
      const t = { now: T0 };
      market.publish({ type: 'clock', time: t.now });
      publishTicks(market, 5, t);
      const first = await EngineNode.start(nodeOptions(db, market, {}, copy));
      await first.ready;
      for (const id of ['a1', 'a2', 'a3']) {
        const r = await first.offer({ kind: 'create', assessmentId: id, traderId: `t-${id}`, tierId: 'one-step-50k' });
        assert.equal(r.ok, true);
      }
      publishTicks(market, 20, t);
      const acks = await Promise.all([
        first.offer({ kind: 'command', assessmentId: 'a1', command: place('c1', 'buy') }),
        first.offer({ kind: 'command', assessmentId: 'a2', command: place('c1', 'sell') }),
        first.offer({ kind: 'command', assessmentId: 'a3', command: place('c1', 'buy', 0.5) }),
      ]);
      assert.ok(
        acks.every((a) => a.ok),
        JSON.stringify(acks),
      );
      publishTicks(market, 30, t);
      await first.checkpointNow();
      assert.equal((await first.offer({ kind: 'command', assessmentId: 'a1', command: place('c2', 'sell') })).ok, true);
      publishTicks(market, 30, t);
      await caughtUp(first, market);
      await first.stop({ checkpoint: false });

      publishTicks(market, 10, t);
      const second = await EngineNode.start(nodeOptions(db, market, {}, copy));
      await second.ready;
      assert.equal(second.epoch, first.epoch + 1, 'the restarted node is a newer owner');
      const seen = await second.inspect();
      assert.equal(seen.tickSeq, market.lastSeq);
      const a1 = seen.snapshot.kernel.actors.find((a) => a.state.id === 'a1')!.state;
      assert.deepEqual(Object.keys(a1.clientOrderIds).sort(), ['c1', 'c2'], 'both acknowledged orders are there');
      assert.equal(await assertEqualsReplay(db, market, seen), 3);
      await second.stop();
    });

  test('a repeated client order id is refused with the position that holds it and applied once', async () => {
    await db.sql`truncate journal, snapshots, checkpoints, shard_owners`;
    const market = new MemoryMarketLog();
    const t = { now: T0 };
    market.publish({ type: 'clock', time: t.now });
    publishTicks(market, 3, t);
    const node = await EngineNode.start(nodeOptions(db, market));
    await node.ready;
    await node.offer({ kind: 'create', assessmentId: 'd1', traderId: 't', tierId: 'one-step-50k' });
    const [a, b] = await Promise.all([
      node.offer({ kind: 'command', assessmentId: 'd1', command: place('same', 'buy') }),
      node.offer({ kind: 'command', assessmentId: 'd1', command: place('same', 'buy') }),
    ]);
    assert.equal(a.ok, true);
    assert.ok(!b.ok && b.code === 'DUPLICATE_CLIENT_ORDER_ID', JSON.stringify(b));
    const later = await node.offer({ kind: 'command', assessmentId: 'd1', command: place('same', 'sell') });
    assert.ok(!later.ok && later.code === 'DUPLICATE_CLIENT_ORDER_ID' && a.ok && later.position === a.position, JSON.stringify(later));
    publishTicks(market, 3, t);
    await caughtUp(node, market);
    const state = await node.state('d1');
    assert.equal(Object.keys(state!.positions).length, 1);
    assert.equal(Object.values(state!.positions)[0]!.qty, 0.2, 'one fill, not two');
    await node.stop();
  });

  test('bad requests are refused with a code and a reason, and nothing is journaled', async () => {
    await db.sql`truncate journal, snapshots, checkpoints, shard_owners`;
    const market = new MemoryMarketLog();
    market.publish({ type: 'clock', time: T0 });
    const node = await EngineNode.start(nodeOptions(db, market));
    await node.ready;
    await node.offer({ kind: 'create', assessmentId: 'b1', traderId: 't', tierId: 'one-step-50k' });
    const refusals = await Promise.all([
      node.offer({ kind: 'command', assessmentId: 'nope', command: place('x', 'buy') }),
      node.offer({
        kind: 'command',
        assessmentId: 'b1',
        command: { kind: 'place', clientOrderId: 'x', symbol: 'BTC-USD', side: 'up', type: 'market', qty: -1 },
      }),
      node.offer({ kind: 'create', assessmentId: 'b1', traderId: 't', tierId: 'one-step-50k' }),
      node.offer({ kind: 'create', assessmentId: 'b2', traderId: 't', tierId: 'no-such-tier' }),
    ]);
    assert.deepEqual(
      refusals.map((r) => (r.ok ? 'ok' : r.code)),
      ['UNKNOWN_ASSESSMENT', 'INVALID_COMMAND', 'DUPLICATE_ASSESSMENT', 'UNKNOWN_TIER'],
    );
    const invalid = refusals[1]!;
    assert.ok(!invalid.ok && /side/.test(invalid.message) && /qty/.test(invalid.message), 'the message names the bad fields');
    const [count] = await db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    assert.equal(count!.n, 1, 'only the first create was journaled');
    await node.stop();
  });

  test('a node whose group was claimed by a newer owner refuses to journal and halts', async () => {
    await db.sql`truncate journal, snapshots, checkpoints, shard_owners`;
    const market = new MemoryMarketLog();
    market.publish({ type: 'clock', time: T0 });
    const old = await EngineNode.start(nodeOptions(db, market));
    await old.ready;
    await old.offer({ kind: 'create', assessmentId: 'f1', traderId: 't', tierId: 'one-step-50k' });
    const newer = await EngineNode.start(nodeOptions(db, market));
    await newer.ready;
    const refused = await old.offer({ kind: 'command', assessmentId: 'f1', command: place('z', 'buy') });
    assert.ok(!refused.ok && refused.code === 'JOURNAL_UNAVAILABLE', JSON.stringify(refused));
    assert.ok(old.fault instanceof FencedError);
    await assert.rejects(
      new PgCheckpointStore(db.sql).save(
        { inputPos: 0, tickSeq: 0, journalPos: 0, version: 99, snapshot: (await old.inspect()).snapshot },
        old.epoch,
      ),
      FencedError,
    );
    assert.equal(
      (await newer.offer({ kind: 'command', assessmentId: 'f1', command: place('z', 'buy') })).ok,
      true,
      'the new owner takes the order',
    );
    await old.stop();
    await newer.stop();
  });

  test('a journal write whose outcome is unknown halts the node instead of going on without what the journal may hold', async () => {
    await db.sql`truncate journal, snapshots, checkpoints, shard_owners`;
    const market = new MemoryMarketLog();
    const t = { now: T0 };
    market.publish({ type: 'clock', time: T0 });
    publishTicks(market, 20, t);
    // The real journal, except that one write commits and then reports its connection lost.
    const real = new PgJournal(db.sql);
    let loseNext = false;
    const journal: Journal = {
      readAfter: (p) => real.readAfter(p),
      async appendBatch(entries, epoch) {
        const results = await real.appendBatch(entries, epoch);
        if (loseNext) throw new JournalOutcomeUnknownError('connection lost after the batch was sent');
        return results;
      },
    };
    const node = await EngineNode.start(nodeOptions(db, market, { journal }));
    await node.ready;
    assert.equal((await node.offer({ kind: 'create', assessmentId: 'u1', traderId: 't', tierId: 'one-step-50k' })).ok, true);
    await caughtUp(node, market);
    loseNext = true;
    const unknown = await node.offer({ kind: 'command', assessmentId: 'u1', command: place('lost-reply', 'buy') });
    assert.ok(!unknown.ok && unknown.code === 'JOURNAL_UNAVAILABLE' && /outcome unknown/.test(unknown.message), JSON.stringify(unknown));
    assert.ok(node.fault instanceof JournalOutcomeUnknownError, 'the node halted');
    loseNext = false;
    const after = await node.offer({ kind: 'command', assessmentId: 'u1', command: place('next', 'buy') });
    assert.ok(!after.ok && after.code === 'STOPPING', 'nothing more is journaled by the halted node');
    assert.equal((await journalUpTo(db, Number.MAX_SAFE_INTEGER)).length, 2, 'the lost-reply order is in the journal');
    await node.stop();
    // A restarted node takes the order from the journal; its state equals a replay.
    const again = await EngineNode.start(nodeOptions(db, market));
    await again.ready;
    await caughtUp(again, market);
    const seen = await again.inspect();
    assert.equal(seen.journalPos, (await journalUpTo(db, Number.MAX_SAFE_INTEGER)).at(-1)!.position);
    await assertEqualsReplay(db, market, seen);
    const retried = await again.offer({ kind: 'command', assessmentId: 'u1', command: place('lost-reply', 'buy') });
    assert.ok(
      !retried.ok && retried.code === 'DUPLICATE_CLIENT_ORDER_ID' && retried.position !== undefined,
      'the retry finds it journaled',
    );
    await again.stop();
  });
});
