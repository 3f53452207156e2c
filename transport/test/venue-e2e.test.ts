import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { DEFAULT_INSTRUMENTS } from '../../actors/index.js';
import type { OutputEvent } from '../../engine/index.js';
import { composeNode } from '../../engine/main/compose-node.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import { createVenueConnector, tickPublisherSink } from '../market-data/index.js';
import { JetStreamTickSource, TickPublisher, type MarketInput } from '../nats/index.js';
import { BinanceSim } from '../testing/venue-simulator/index.js';
import { expandFor, TEST_SOCKET, topsOf } from './venue-harness.js';
import { until } from '../../engine/testing/index.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));
const SUBS = { BTCUSDT: 'BTC-USD' };

describe('venue to verdict', { skip }, () => {
  let db: TestDatabase;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  before(async () => {
    db = await createTestDatabase();
    nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    jsm = await jetstreamManager(nc);
  });
  after(async () => {
    await nc?.close();
    await db?.drop();
  });

  test('simulator → connector → JetStream → engine node as serve composes it: the node sees exactly the good ticks, a held spike breaches no one, a confirmed move does', async () => {
    const suffix = randomBytes(4).toString('hex');
    const stream = `T_VE2E_${suffix}`;
    const namespace = `ve2e${suffix}`;
    const events: OutputEvent[] = [];
    // The node as `serve` composes it alone; it makes the market stream the connector publishes to.
    const composed = await composeNode(
      {
        natsUrl: 'nats://127.0.0.1:4222',
        databaseUrl: db.url,
        namespace,
        marketStream: stream,
        eventStream: `${stream}_EVENTS`,
        workers: 1,
        flushIntervalMs: 0,
        checkpointIntervalMs: 0,
        clockBeat: false,
      },
      pino({ level: 'silent' }),
      [{ onEvents: (e) => void events.push(...e) }],
    );
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    const js = jetstream(nc);
    const connector = createVenueConnector({
      venue: 'binance',
      instruments: DEFAULT_INSTRUMENTS,
      subscriptions: SUBS,
      url: sim.url,
      socket: TEST_SOCKET,
      sink: tickPublisherSink(new TickPublisher(js, { namespace, instruments: DEFAULT_INSTRUMENTS })),
    });
    const node = composed.node;
    const caughtUp = async (what: string) => {
      const tail = await composed.marketTail();
      await until(() => node.lastSeq >= tail, { what: what, deadlineMs: 10_000 });
    };
    const of = (type: string) => events.filter((e) => e.type === type);
    try {
      await node.ready;
      connector.start();
      await until(() => sim.server.connections.size === 1 && connector.connected, { what: 'the venue connection', deadlineMs: 10_000 });
      for (let k = 0; k < 5; k++) sim.step('BTCUSDT');
      await until(() => connector.published === 5, { what: 'five ticks published', deadlineMs: 10_000 });
      await caughtUp('the node at the stream tail');

      // A short of 0.2 BTC with its stop 3 % away: a published +30 % print would stop it out for ~3,600, past the 3 % daily loss.
      assert.equal((await node.offer({ kind: 'create', assessmentId: 'a1', traderId: 't1', tierId: 'one-step-50k' })).ok, true);
      const ask = topsOf(
        (await readStream(stream, namespace, await composed.marketTail())).filter((i) => i.type === 'tick') as never,
        'BTC-USD',
      ).at(-1)!.ask;
      const order = {
        kind: 'place',
        clientOrderId: 'c1',
        symbol: 'BTC-USD',
        side: 'sell',
        type: 'market',
        qty: 0.2,
        stopLoss: Math.round(ask * 1.03),
      };
      assert.equal((await node.offer({ kind: 'command', assessmentId: 'a1', command: order })).ok, true);
      await until(() => of('order.filled').length === 1, { what: 'the short filled', deadlineMs: 10_000 });

      for (const kind of ['spike', 'crossed', 'locked', 'out-of-range', 'malformed', 'unknown-instrument', 'spike'] as const)
        sim.inject('BTCUSDT', kind);
      for (let k = 0; k < 5; k++) sim.step('BTCUSDT');
      const expected = sim.record.expected(expandFor('binance', SUBS)).get('BTC-USD')!;
      await until(() => connector.published === expected.length, { what: 'the good ticks published', deadlineMs: 10_000 });
      await caughtUp('the node at the stream tail');
      assert.equal(of('order.filled').length, 1, 'no stop was triggered by a held print');
      assert.equal(of('rules.violation-detected').length, 0);
      assert.equal(of('assessment.failed').length, 0);

      const inputs = await readStream(stream, namespace, await composed.marketTail());
      assert.deepEqual(
        topsOf(inputs.filter((i) => i.type === 'tick') as never, 'BTC-USD'),
        expected,
        "the node's market log holds exactly the good tops, in order",
      );
      assert.ok(
        inputs.every((i) => i.type !== 'tick' || i.ask < ask * 1.1),
        'no spike on the log',
      );

      // The market really moves +30 %: three quotes at the level confirm it, the stop fills there, the breach is real.
      sim.move('BTCUSDT', 1.3);
      sim.step('BTCUSDT');
      sim.step('BTCUSDT');
      await until(() => connector.published === expected.length + 1, { what: 'the confirmed move published', deadlineMs: 10_000 });
      await caughtUp('the node at the stream tail');
      await until(() => of('order.filled').length === 2 && of('assessment.failed').length === 1, {
        what: 'the stop filled and the breach judged',
        deadlineMs: 10_000,
      });
      const stop = of('order.filled')[1] as OutputEvent & { price: number };
      assert.ok(stop.price > ask * 1.25, `the stop filled at the market's new level (${stop.price})`);
    } finally {
      await connector.stop();
      await composed.close();
      await sim.stop();
      await jsm.streams.delete(stream).catch(() => false);
      await jsm.streams.delete(`${stream}_EVENTS`).catch(() => false);
    }

    async function readStream(name: string, ns: string, last: number): Promise<MarketInput[]> {
      const out: MarketInput[] = [];
      if (last === 0) return out;
      const source = new JetStreamTickSource(jetstream(nc), { stream: name, namespace: ns, instruments: DEFAULT_INSTRUMENTS });
      for await (const input of source) {
        out.push(input);
        if (input.seq >= last) break;
      }
      await source.stop();
      return out;
    }
  });
});
