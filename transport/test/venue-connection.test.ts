import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { kalshiCredentials, type QuoteSink } from '../market-data/index.js';
import { BinanceSim, CoinbaseSim, KalshiSim, PolymarketSim, type VenueSim } from '../testing/venue-simulator/index.js';
import { connectTo, expandFor, KX, metricValue, PM_MARKET, PM_NO, PM_YES, topsOf } from './venue-harness.js';
import { until } from '../../engine/testing/index.js';

const CB = { 'BTC-USD': 'BTC-USD', 'ETH-USD': 'ETH-USD' };
const BN = { BTCUSDT: 'BTC-USD', ETHUSDT: 'ETH-USD' };
const PM = { [PM_YES]: 'PM:FED-DEC-CUT:YES', [PM_NO]: 'PM:FED-DEC-CUT:NO' };

/** Step every instrument `n` times. */
function steps(sim: VenueSim, n: number): void {
  for (let k = 0; k < n; k++) for (const i of sim.instruments()) sim.step(i);
}

/** Wait until every instrument of the simulator has a live subscription. */
const allSubscribed = (sim: VenueSim) =>
  until(() => sim.instruments().every((i) => sim.subscribed(i)), { what: `${sim.venue} subscriptions`, deadlineMs: 10_000 });

/** Step until the stream holds what the record expects for every symbol (deadline-bounded). */
async function settled(
  sim: VenueSim,
  subs: Record<string, string>,
  ticks: () => ReadonlyArray<{ symbol: string; bid: number; ask: number }>,
): Promise<void> {
  const expected = sim.record.expected(expandFor(sim.venue, subs));
  await until(() => [...expected].every(([s, tops]) => topsOf(ticks(), s).length >= tops.length), {
    what: 'the expected ticks',
    deadlineMs: 10_000,
  });
  for (const [s, tops] of expected) assert.deepEqual(topsOf(ticks(), s), tops, `${s}: the good tops, once and in order`);
}

describe('venue connection life', () => {
  test('a dropped connection is reconnected and resubscribed, and the quotes after it are published in order', async () => {
    const sim = await CoinbaseSim.start({ products: { 'BTC-USD': 60_000, 'ETH-USD': 3_000 } });
    const t = connectTo(sim, CB);
    try {
      await allSubscribed(sim);
      steps(sim, 10);
      sim.server.dropAll();
      await until(() => t.connector.connections === 2 && sim.server.connections.size === 1, {
        what: 'a second connection',
        deadlineMs: 10_000,
      });
      await allSubscribed(sim);
      steps(sim, 10);
      await settled(sim, CB, () => t.sink.ticks);
      assert.equal(await metricValue(t.registry, 'market_data_reconnects_total', { venue: 'coinbase', reason: 'dropped' }), 1);
      const subscribes = [...sim.server.connections][0]!.received.map((m) => JSON.parse(m) as { type: string; channel: string });
      assert.deepEqual(
        subscribes.map((m) => `${m.type} ${m.channel}`),
        ['subscribe heartbeats', 'subscribe level2'],
        'the new connection subscribed again',
      );
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('stopping closes the venue connection with 1000 and waits for it', async () => {
    const sim = await CoinbaseSim.start({ products: { 'BTC-USD': 60_000 } });
    const t = connectTo(sim, { 'BTC-USD': 'BTC-USD' });
    try {
      await allSubscribed(sim);
      const conn = [...sim.server.connections][0]!;
      await t.connector.stop();
      await conn.closed;
      assert.equal(conn.closeCode, 1000);
      assert.equal(conn.closeReason, 'shutdown');
      assert.equal(t.connector.connected, false);
      assert.equal(await metricValue(t.registry, 'market_data_connected', { venue: 'coinbase' }), 0);
      assert.equal(await metricValue(t.registry, 'market_data_reconnects_total'), 0, 'a shutdown is no reconnect');
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('a stalled venue (no data, no pongs) is noticed by the idle watchdog and replaced', async () => {
    const sim = await CoinbaseSim.start({ products: { 'BTC-USD': 60_000 } });
    const t = connectTo(sim, { 'BTC-USD': 'BTC-USD' }, { socket: { idleTimeoutMs: 1_000 } });
    try {
      await allSubscribed(sim);
      steps(sim, 3);
      sim.server.stallAll();
      await until(() => t.connector.connections === 2, { what: 'a replacement connection', deadlineMs: 15_000 });
      await allSubscribed(sim);
      steps(sim, 3);
      await settled(sim, { 'BTC-USD': 'BTC-USD' }, () => t.sink.ticks);
      assert.equal(await metricValue(t.registry, 'market_data_reconnects_total', { reason: 'idle' }), 1);
      assert.match(String(t.log.with('venue connection closed')[0]?.obj['detail']), /no frame for 1000 ms/);
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('refused handshakes are retried with exponential backoff, jittered by the injected random source', async () => {
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    sim.server.rejectNextHandshakes(4, 503);
    const draws = [0, 1, 0.5, 0.25];
    const t = connectTo(
      sim,
      { BTCUSDT: 'BTC-USD' },
      { socket: { backoff: { initialMs: 20, maxMs: 100, random: () => draws.shift() ?? 0 } } },
    );
    try {
      await until(() => sim.server.connections.size === 1, { what: 'the fifth attempt to connect', deadlineMs: 10_000 });
      const delays = t.log.with('reconnecting').map((l) => l.obj['delayMs']);
      // Ceilings 20, 40, 80, 100 (capped); half of each, plus the jitter's share of the other half.
      assert.deepEqual(delays, [10, 40, 60, 63]);
      assert.deepEqual(sim.server.refused, [503, 503, 503, 503]);
      assert.equal(await metricValue(t.registry, 'market_data_reconnects_total', { reason: 'http_503' }), 4);
      steps(sim, 3);
      await settled(sim, { BTCUSDT: 'BTC-USD' }, () => t.sink.ticks);
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('subscribe messages are paced under the venue limit: a venue that cuts connections above it keeps the paced connector and cuts an unpaced one', async () => {
    const markets = Object.fromEntries(Array.from({ length: 7 }, (_, k) => [`KXT-${k}`, 40 + k]));
    const subs = Object.fromEntries(Object.keys(markets).map((m, k) => [m, `KX:TEST-${k}`]));
    const unpaced = await KalshiSim.start({ markets, inboundLimitPerSecond: 4 });
    const burst = connectTo(unpaced, subs, { perSubscribe: 1, socket: { sendRatePerSecond: Infinity } });
    try {
      await until(() => unpaced.server.throttled >= 1, { what: 'the venue cutting the unpaced connector', deadlineMs: 10_000 });
    } finally {
      await burst.connector.stop();
      await unpaced.stop();
    }
    const sim = await KalshiSim.start({ markets, inboundLimitPerSecond: 4 });
    const t = connectTo(sim, subs, { perSubscribe: 1, socket: { sendRatePerSecond: 2.5, sendBurst: 1 } });
    try {
      await until(() => [...sim.server.connections][0]?.received.length === 8, {
        what: 'one subscribe per market, and the lifecycle channel',
        deadlineMs: 10_000,
      });
      await allSubscribed(sim);
      assert.equal(sim.server.throttled, 0);
      assert.equal(t.connector.connections, 1);
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('a Binance connection is replaced before the venue age limit, make before break, without losing or doubling a quote', async () => {
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000, ETHUSDT: 3_000 }, maxConnectionAgeMs: 1_000 });
    const t = connectTo(sim, BN, { socket: { maxConnectionAgeMs: 250 } });
    try {
      const deadline = performance.now() + 15_000;
      while (t.log.with('venue connection rotated').length < 3) {
        assert.ok(performance.now() < deadline, 'three rotations within the deadline');
        steps(sim, 1);
        await new Promise((r) => setTimeout(r, 2));
      }
      steps(sim, 5);
      await settled(sim, BN, () => t.sink.ticks);
      assert.equal(
        await metricValue(t.registry, 'market_data_reconnects_total', { reason: 'dropped' }),
        0,
        'the venue never had to cut a connection',
      );
      assert.ok((await metricValue(t.registry, 'market_data_reconnects_total', { reason: 'rotated' })) >= 3);
      for (const s of ['BTC-USD', 'ETH-USD']) {
        const seqs = t.sink.of(s).map((x) => x.venueSeq!);
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
          `${s}: quotes in venue order`,
        );
      }
      assert.equal(t.sink.duplicates, 0, 'an update seen on both connections is published once');
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('a Binance serverShutdown announcement switches to a new connection at once', async () => {
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    const t = connectTo(sim, { BTCUSDT: 'BTC-USD' });
    try {
      await until(() => sim.server.connections.size === 1, { what: 'a connection', deadlineMs: 10_000 });
      steps(sim, 2);
      await until(() => t.sink.ticks.length === 2, { what: 'two ticks', deadlineMs: 10_000 });
      sim.announceShutdown();
      await until(() => t.log.with('venue connection rotated').length === 1, { what: 'the rotation', deadlineMs: 10_000 });
      assert.equal(await metricValue(t.registry, 'market_data_reconnects_total', { reason: 'rotated' }), 1);
      steps(sim, 2);
      await settled(sim, { BTCUSDT: 'BTC-USD' }, () => t.sink.ticks);
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('Kalshi refuses an unsigned or wrongly signed handshake (401, retried with backoff); the right key subscribes', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const sim = await KalshiSim.start({ markets: { [KX]: 50 }, keys: new Map([['key-1', publicKey]]) });
    const subs = { [KX]: 'KX:BTC-100K-DEC' };
    const unsigned = connectTo(sim, subs);
    const forged = connectTo(sim, subs, { credentials: kalshiCredentials('key-1', wrong.export({ type: 'pkcs8', format: 'pem' })) });
    try {
      await until(
        () =>
          sim.authFailures.filter((f) => /missing/.test(f)).length >= 2 &&
          sim.authFailures.filter((f) => /does not verify/.test(f)).length >= 2,
        { what: 'two refusals of each', deadlineMs: 10_000 },
      );
      await until(async () => (await metricValue(forged.registry, 'market_data_reconnects_total', { reason: 'http_401' })) >= 2, {
        what: 'two 401s counted',
        deadlineMs: 10_000,
      });
      assert.equal(sim.server.handshakes, 0);
    } finally {
      await unsigned.connector.stop();
      await forged.connector.stop();
    }
    const t = connectTo(sim, subs, { credentials: kalshiCredentials('key-1', privateKey.export({ type: 'pkcs8', format: 'pem' })) });
    try {
      await allSubscribed(sim);
      steps(sim, 5);
      await settled(sim, subs, () => t.sink.ticks);
      assert.equal(t.connector.connections, 1);
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('Polymarket gets a PING every keepalive interval and its PONG keeps a quiet connection open', async () => {
    const sim = await PolymarketSim.start({ assets: { [PM_YES]: { market: PM_MARKET, mid: 0.5 } } });
    const t = connectTo(sim, { [PM_YES]: 'PM:FED-DEC-CUT:YES' }, { socket: { keepaliveIntervalMs: 200, idleTimeoutMs: 1_500 } });
    try {
      await allSubscribed(sim);
      await until(() => sim.pongs >= 10, { what: 'ten PING/PONG rounds (over the idle timeout)', deadlineMs: 10_000 });
      assert.equal(t.connector.connections, 1, 'the quiet connection was never taken for dead');
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('an instrument without updates is marked stale, resubscribed, and recovers when its book arrives', async () => {
    const sim = await PolymarketSim.start({
      assets: { [PM_YES]: { market: PM_MARKET, mid: 0.5 }, [PM_NO]: { market: PM_MARKET, mid: 0.5 } },
    });
    const t = connectTo(sim, PM, { staleAfterMs: 300 });
    try {
      await allSubscribed(sim);
      const stale = () => metricValue(t.registry, 'market_data_feed_stale', { symbol: 'PM:FED-DEC-CUT:NO' });
      const deadline = performance.now() + 10_000;
      while (t.log.with('feed recovered').length === 0) {
        assert.ok(performance.now() < deadline, 'the NO feed went stale and recovered within the deadline');
        sim.step(PM_YES); // only YES trades
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(t.log.with('feed stale').find((l) => l.obj['instrument'] === PM_NO)?.level, 'warn');
      const sent = [...sim.server.connections][0]!.received
        .filter((m) => m.includes(PM_NO))
        .map((m) => (JSON.parse(m) as { operation?: string; type?: string }).operation ?? 'initial');
      assert.deepEqual(sent.slice(0, 3), ['initial', 'unsubscribe', 'subscribe'], 'the stale asset was resubscribed for a fresh book');
      assert.equal(await stale(), 0);
      assert.ok((await metricValue(t.registry, 'market_data_resnapshots_total', { cause: 'stale' })) >= 1);
      assert.ok((await metricValue(t.registry, 'market_data_feed_age_seconds', { symbol: 'PM:FED-DEC-CUT:YES' })) < 1);
    } finally {
      await t.connector.stop();
      await sim.stop();
    }
  });

  test('a publisher that falls behind makes the connector stop reading the venue (bounded memory), and nothing is lost once it catches up', async () => {
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    const held: Array<() => void> = [];
    let inFlight = 0;
    let peak = 0;
    const published: number[] = [];
    const slow: QuoteSink = {
      publishTick: (tick) =>
        new Promise((resolve) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          held.push(() => {
            inFlight--;
            published.push(tick.venueSeq!);
            resolve({ duplicate: false });
          });
        }),
      publishResolution: () => Promise.resolve({ duplicate: false }),
    };
    const t = connectTo(sim, { BTCUSDT: 'BTC-USD' }, { sink: slow, maxInFlight: 8, socket: { idleTimeoutMs: 60_000 } });
    try {
      await until(() => sim.server.connections.size === 1, { what: 'a connection', deadlineMs: 10_000 });
      steps(sim, 3_000);
      await until(() => inFlight >= 8, { what: 'the window filled', deadlineMs: 10_000 });
      const expected = sim.record.expected(expandFor('binance', { BTCUSDT: 'BTC-USD' })).get('BTC-USD')!;
      const deadline = performance.now() + 20_000;
      while (published.length < expected.length) {
        assert.ok(performance.now() < deadline, 'every quote published within the deadline');
        held.splice(0).forEach((release) => release());
        await new Promise((r) => setTimeout(r, 1));
      }
      assert.ok(peak < 3_000 / 2, `at most a read buffer past the window in flight (peak ${peak})`);
      assert.deepEqual(
        published,
        [...published].sort((a, b) => a - b),
        'in venue order',
      );
      assert.equal(published.length, expected.length);
    } finally {
      held.splice(0).forEach((release) => release());
      await t.connector.stop();
      await sim.stop();
    }
  });
});
