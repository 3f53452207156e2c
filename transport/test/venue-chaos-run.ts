/**
 * The chaos form of the venue connectors: a simulator misbehaves at random
 * (bad messages of every kind it can carry, gaps, dropped and stalled
 * connections, refused handshakes) while a connector publishes to a real
 * JetStream stream; then the stream is read back and checked against the
 * simulator's own record: every good top on it once and in order, every
 * bad message held with its reason. Used by venue-chaos.test.ts (seconds,
 * in `npm test`) and chaos/venues.chaos.ts (minutes).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { ConnectorMetrics, createVenueConnector, kalshiCredentials, tickPublisherSink, type Venue } from '../market-data/index.js';
import { ensureMarketStream, JetStreamTickSource, marketSubjects, TickPublisher, type MarketInput } from '../nats/index.js';
import { MemoryLog } from '../testing/memory-quote-sink.js';
import {
  BinanceSim,
  ChaosDriver,
  CoinbaseSim,
  KalshiSim,
  PolymarketSim,
  type ChaosReport,
  type Top,
  type VenueSim,
} from '../testing/venue-simulator/index.js';
import { expandFor, INSTRUMENTS, KX, PM_MARKET, PM_NO, PM_YES, symbolCount, TEST_SOCKET } from './venue-harness.js';
import { until } from '../../engine/testing/index.js';

/** What a chaos run did, for the test's diagnostics. */
export interface ChaosSummary {
  readonly venue: Venue;
  readonly report: ChaosReport;
  readonly published: number;
  readonly held: Record<string, number>;
  readonly connections: number;
  readonly idleClosures: number;
}

const IDLE_MS = 4_000;

async function simFor(venue: Venue, seed: string): Promise<{ sim: VenueSim; subs: Record<string, string>; extra: object }> {
  switch (venue) {
    case 'coinbase':
      return {
        sim: await CoinbaseSim.start({ seed, products: { 'BTC-USD': 60_000, 'ETH-USD': 3_000, 'SOL-USD': 150 } }),
        subs: { 'BTC-USD': 'BTC-USD', 'ETH-USD': 'ETH-USD', 'SOL-USD': 'SOL-USD' },
        extra: {},
      };
    case 'binance':
      return {
        sim: await BinanceSim.start({ seed, symbols: { BTCUSDT: 60_000, ETHUSDT: 3_000 } }),
        subs: { BTCUSDT: 'BTC-USD', ETHUSDT: 'ETH-USD' },
        extra: {},
      };
    case 'polymarket':
      return {
        sim: await PolymarketSim.start({
          seed,
          assets: { [PM_YES]: { market: PM_MARKET, mid: 0.4 }, [PM_NO]: { market: PM_MARKET, mid: 0.6 } },
        }),
        subs: { [PM_YES]: 'PM:FED-DEC-CUT:YES', [PM_NO]: 'PM:FED-DEC-CUT:NO' },
        extra: {},
      };
    case 'kalshi': {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return {
        sim: await KalshiSim.start({ seed, markets: { [KX]: 50, 'KXT-1': 30 }, keys: new Map([['key-1', publicKey]]) }),
        subs: { [KX]: 'KX:BTC-100K-DEC', 'KXT-1': 'KX:TEST-1' },
        extra: { credentials: kalshiCredentials('key-1', privateKey.export({ type: 'pkcs8', format: 'pem' })) },
      };
    }
  }
}

/** Run the chaos form for one venue for `seconds`, then check the stream against the record (assert). */
export async function chaosRun(venue: Venue, seconds: number, seed = `chaos-${venue}`): Promise<ChaosSummary> {
  const suffix = randomBytes(4).toString('hex');
  const stream = `T_VCHAOS_${suffix}`;
  const namespace = `vchaos${suffix}`;
  const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc);
  await ensureMarketStream(jsm, { name: stream, subjects: marketSubjects(namespace), storage: 'memory' });
  const { sim, subs, extra } = await simFor(venue, seed);
  const registry = new Registry();
  const log = new MemoryLog();
  const connector = createVenueConnector({
    venue,
    instruments: INSTRUMENTS,
    subscriptions: subs,
    url: sim.url,
    metrics: new ConnectorMetrics(registry),
    log,
    sink: tickPublisherSink(new TickPublisher(jetstream(nc), { namespace, instruments: INSTRUMENTS, timeoutMs: 10_000 })),
    socket: { ...TEST_SOCKET, idleTimeoutMs: IDLE_MS },
    staleAfterMs: 600_000,
    ...extra,
  });
  try {
    connector.start();
    const inSync = () =>
      venue === 'binance' ? sim.server.connections.size > 0 && connector.connected : sim.instruments().every((i) => sim.subscribed(i));
    await until(inSync, { what: `${venue} subscriptions`, deadlineMs: 20_000 });
    // One good quote per symbol first: a connector's very first quote has no reference to judge a jump by
    // (docs/market-data.md; in production the stream's last tick seeds it), so chaos starts once there is one.
    for (const i of sim.instruments()) sim.step(i);
    const symbolsQuoted = new Set(sim.instruments().flatMap((i) => expandFor(venue, subs)(i, { bid: 0.4, ask: 0.6 }).map(([s]) => s)));
    await until(() => connector.published >= symbolsQuoted.size, { what: 'a first quote of every symbol', deadlineMs: 20_000 });
    const report = await new ChaosDriver(sim, { seed, badRate: 0.15, faultEveryMs: 1_500 }).run(seconds * 1_000);
    // A calm end: in sync again, a few good updates of every instrument, so the last tops are known.
    await until(inSync, { what: `${venue} back in sync after the chaos`, deadlineMs: IDLE_MS * 4 });
    for (let k = 0; k < 3; k++) for (const i of sim.instruments()) sim.step(i);

    const expected = sim.record.expected(expandFor(venue, subs));
    const total = [...expected.values()].reduce((n, tops) => n + tops.length, 0);
    const holds = sim.record.holds(symbolCount(venue, subs));
    const wanted = [...holds].reduce((n, [, k]) => n + k, 0);
    const heldNow = () => [...connector.held.values()].reduce((n, k) => n + k, 0);
    // The connector may be far behind a simulator that sent as fast as it could: wait while it makes progress.
    let progress = -1;
    while (!(connector.published >= total && heldNow() >= wanted)) {
      const now = connector.published + heldNow();
      if (now === progress) {
        throw new Error(
          `stuck at ${connector.published} of ${total} publishes and ${heldNow()} of ${wanted} holds: held ${JSON.stringify(Object.fromEntries(connector.held))}, ` +
            `the record's ${JSON.stringify(Object.fromEntries(holds))}; ${JSON.stringify(
              log.lines
                .filter((l) => l.level !== 'info')
                .slice(-20)
                .map((l) => [l.msg, l.obj]),
            )}`,
        );
      }
      progress = now;
      await until(() => (connector.published >= total && heldNow() >= wanted) || connector.published + heldNow() > progress, {
        what: 'progress',
        deadlineMs: 30_000,
      }).catch(() => {});
    }
    await connector.stop();

    const last = (await jsm.streams.info(stream)).state.last_seq;
    const source = new JetStreamTickSource(jetstream(nc), { stream, namespace, instruments: INSTRUMENTS });
    const got: MarketInput[] = [];
    if (last > 0) {
      for await (const input of source) {
        got.push(input);
        if (input.seq >= last) break;
      }
    }
    await source.stop();
    const onStream = new Map<string, Top[]>();
    for (const input of got) {
      if (input.type !== 'tick') continue;
      const list = onStream.get(input.symbol) ?? [];
      list.push({
        bid: input.bid,
        ask: input.ask,
        ...(input.bidSize === undefined ? {} : { bidSize: input.bidSize }),
        ...(input.askSize === undefined ? {} : { askSize: input.askSize }),
      });
      onStream.set(input.symbol, list);
    }
    const idleClosures = log.with('venue connection closed').filter((l) => l.obj['cause'] === 'idle').length;
    assert.ok(
      idleClosures <= (report.faults.get('stall') ?? 0),
      `every idle closure follows a stall (${idleClosures} closures, ${report.faults.get('stall') ?? 0} stalls): an unplanned one would make the record unreliable`,
    );
    for (const [symbol, tops] of expected)
      assert.deepEqual(onStream.get(symbol) ?? [], tops, `${venue} ${symbol}: every good top on the stream once and in order`);
    assert.equal(got.length, total, 'nothing else on the stream');
    assert.deepEqual(new Map([...connector.held].sort()), new Map([...holds].sort()), `${venue}: every bad message held with its reason`);
    return {
      venue,
      report,
      published: connector.published,
      held: Object.fromEntries(connector.held),
      connections: connector.connections,
      idleClosures,
    };
  } finally {
    await connector.stop();
    await sim.stop();
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}
