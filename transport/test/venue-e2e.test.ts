import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../../actors/index.js';
import { EngineNode, type OutputEvent } from '../../engine/index.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import { PgCheckpointStore, PgJournal } from '../../persistence/index.js';
import { createVenueConnector, tickPublisherSink } from '../market-data/index.js';
import { ensureMarketStream, JetStreamTickSource, marketSubjects, TickPublisher, type MarketInput } from '../nats/index.js';
import { JetStreamMarketLog } from '../nats/jetstream-market-log.js';
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

  test('simulator → connector → JetStream → engine node: the node sees exactly the good ticks, a held spike breaches no one, a confirmed move does', async () => {
    const suffix = randomBytes(4).toString('hex');
    const stream = `T_VE2E_${suffix}`;
    const namespace = `ve2e${suffix}`;
    await ensureMarketStream(jsm, { name: stream, subjects: marketSubjects(namespace), storage: 'memory' });
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
    const market = new JetStreamMarketLog(js, jsm, { stream, namespace, instruments: DEFAULT_INSTRUMENTS });
    const events: OutputEvent[] = [];
    const node = await EngineNode.start({
      market,
      journal: new PgJournal(db.sql),
      checkpoints: new PgCheckpointStore(db.sql),
      marketTail: () => market.tail(),
      engine: { workers: 1, tiers: presetTiers(), instruments: DEFAULT_INSTRUMENTS, flushIntervalMs: 0 },
      checkpointIntervalMs: 0,
      output: {
        onEvents: (e) => {
          events.push(...e);
        },
      },
    });
    const caughtUp = async (what: string) => {
      const tail = await market.tail();
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
        (await readStream(stream, namespace, await market.tail())).filter((i) => i.type === 'tick') as never,
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

      const inputs = await readStream(stream, namespace, await market.tail());
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
      await node.stop();
      await sim.stop();
      await jsm.streams.delete(stream).catch(() => false);
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
