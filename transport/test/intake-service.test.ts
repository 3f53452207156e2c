import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Decoder, encode } from '@msgpack/msgpack';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { ClusterNode, IntakeResult } from '../../engine/index.js';
import { composeNode, type ComposedNode } from '../../engine/main/compose-node.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import { ensureMarketStream, marketSubjects, TickPublisher } from '../nats/index.js';
import { intakeSubjects, type InspectReply } from '../nats/intake-service.js';
import { until } from '../../engine/testing/index.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));
const dec = new Decoder();

describe('engine node on JetStream with its NATS intake service', { skip }, () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let db: TestDatabase;
  let composed: ComposedNode;
  let node: ClusterNode;
  const id = randomBytes(4).toString('hex');
  const namespace = `intake-${id}`;
  const stream = `INTAKE_${id}`;
  const events = `INTAKE_EV_${id}`;
  const subjects = intakeSubjects('g1', namespace);
  /** The node's log lines, as an operator reads them. */
  const logged: Array<{ msg: string; reason?: string; seq?: number }> = [];
  let publisher: TickPublisher;
  const ask = async (payload: Uint8Array): Promise<IntakeResult> =>
    dec.decode((await nc.request(subjects.intake, payload, { timeout: 5_000 })).data) as IntakeResult;
  const metric = async (name: string, label: string, value: string): Promise<number> =>
    (await composed.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels[label] === value)?.value ?? 0;

  before(async () => {
    nc = await connect({ servers: '127.0.0.1:4222' });
    jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await ensureMarketStream(jsm, { name: stream, subjects: marketSubjects(namespace) });
    publisher = new TickPublisher(js, { namespace });
    await publisher.publishClock(Date.UTC(2026, 0, 5, 9));
    await publisher.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts: Date.UTC(2026, 0, 5, 9, 0, 1), bid: 60_000, ask: 60_010 });
    db = await createTestDatabase();
    // The node as `serve` composes it alone (no NODE_ID): its intake service on `engine.g1.*`.
    composed = await composeNode(
      {
        natsUrl: 'nats://127.0.0.1:4222',
        databaseUrl: db.url,
        namespace,
        marketStream: stream,
        eventStream: events,
        group: 'g1',
        workers: 2,
        flushIntervalMs: 0,
        checkpointIntervalMs: 0,
        clockBeat: false,
      },
      pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
    );
    node = composed.node;
  });

  after(async () => {
    await composed?.close();
    await jsm?.streams.delete(stream).catch(() => undefined);
    await jsm?.streams.delete(events).catch(() => undefined);
    await nc?.close();
    await db?.drop();
  });

  test('a create and an order are acknowledged over NATS only once journaled, and the order fills on the next tick', async () => {
    const created = await ask(encode({ kind: 'create', assessmentId: 'n1', traderId: 't1', tierId: 'one-step-50k' }));
    assert.equal(created.ok, true, JSON.stringify(created));
    const order = await ask(
      encode({
        kind: 'command',
        assessmentId: 'n1',
        command: { kind: 'place', clientOrderId: 'k1', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1, stopLoss: 58_000 },
      }),
    );
    assert.ok(order.ok, JSON.stringify(order));
    const [row] = await db.sql<{ position: string }[]>`select position from journal where assessment_id = 'n1' and client_order_id = 'k1'`;
    assert.equal(Number(row!.position), order.position, 'the acknowledged position is the journal row');
    await publisher.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts: Date.UTC(2026, 0, 5, 9, 0, 2), bid: 60_100, ask: 60_110 });
    await until(() => node.lastSeq >= 3, { what: 'the node to apply the three market inputs' });
    const state = await node.state('n1');
    assert.equal(state!.positions['BTC-USD']?.qty, 0.1);
    const seen = dec.decode((await nc.request(subjects.inspect, new Uint8Array(0), { timeout: 5_000 })).data) as InspectReply;
    assert.equal(seen.tickSeq, 3);
    assert.deepEqual(
      seen.digests.map(([a]) => a),
      ['n1'],
    );
  });

  test('malformed, oversized and ill-typed requests are refused with what was wrong, and nothing is journaled', async () => {
    const [before] = await db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array([0xc1, 0x00, 0xff]), /msgpack|decode|Unrecognized/i],
      [encode([1, 2, 3]), /not a msgpack map/],
      [encode({ kind: 'command' }), /assessmentId/],
      [encode({ kind: 'teleport', assessmentId: 'n1' }), /kind/],
      [
        encode({ kind: 'command', assessmentId: 'n1', command: { kind: 'place', note: 'x'.repeat(17_000) } }),
        /17\d{3} bytes; the limit is 16384/,
      ],
    ];
    for (const [payload, why] of cases) {
      const r = await ask(payload);
      assert.ok(!r.ok && r.code === 'MALFORMED_REQUEST' && why.test(r.message), JSON.stringify(r));
    }
    const invalid = await ask(
      encode({
        kind: 'command',
        assessmentId: 'n1',
        command: { kind: 'place', clientOrderId: 'z', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 'lots' },
      }),
    );
    assert.ok(!invalid.ok && invalid.code === 'INVALID_COMMAND' && /qty/.test(invalid.message), JSON.stringify(invalid));
    const stranger = await ask(encode({ kind: 'command', assessmentId: 'someone-else', command: { kind: 'flatten' } }));
    assert.ok(!stranger.ok && stranger.code === 'UNKNOWN_ASSESSMENT');
    const [afterCount] = await db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    assert.equal(afterCount!.n, before!.n);
    const count = (result: string) => metric('engine_intake_total', 'result', result);
    assert.equal(await count('INVALID_COMMAND'), 1, 'each refusal is counted by its code');
    assert.equal(await count('UNKNOWN_ASSESSMENT'), 1);
    assert.equal(await count('accepted'), 2);
    assert.equal(await count('MALFORMED_REQUEST'), cases.length);
  });

  test('a malformed tick or an unknown symbol on the market stream is skipped with a reason and the engine goes on', async () => {
    const js = jetstream(nc);
    const from = node.lastSeq;
    await js.publish(`${namespace}.ticks.coinbase.BTC-USD`, new Uint8Array([0xc1]));
    await publisher.publishTick({ venue: 'coinbase', symbol: 'DOGE-USD', ts: Date.UTC(2026, 0, 5, 9, 0, 3), bid: 1, ask: 1.1 });
    await publisher.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts: Date.UTC(2026, 0, 5, 9, 0, 4), bid: 60_200, ask: 60_210 });
    await until(() => node.lastSeq >= from + 3, { what: 'the node to read past the three ticks' });
    const skipped = logged.filter((l) => l.msg === 'market message skipped');
    assert.deepEqual(
      skipped.map((l) => l.seq),
      [from + 1, from + 2],
      'each skipped message is logged with its seq',
    );
    assert.match(skipped[1]!.reason!, /unknown symbol "DOGE-USD"/);
    assert.equal(await metric('engine_market_messages_rejected_total', 'reason', 'malformed'), 1, 'and counted by its kind');
    assert.equal(await metric('engine_market_messages_rejected_total', 'reason', 'unknown_symbol'), 1);
    assert.equal(node.lastSeq, from + 3, 'the good tick after them was applied');
  });
});
