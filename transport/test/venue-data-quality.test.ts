import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { kalshiCredentials, ReferencePrices, type HoldReason } from '../market-data/index.js';
import { BinanceSim, CoinbaseSim, KalshiSim, PolymarketSim, waitFor, type VenueSim } from '../testing/venue-simulator/index.js';
import { connectTo, expandFor, KX, metricValue, PM_MARKET, PM_NO, PM_YES, symbolCount, topsOf, type TestConnector } from './venue-harness.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const CREDENTIALS = kalshiCredentials('key-1', privateKey.export({ type: 'pkcs8', format: 'pem' }));

interface Case {
  readonly name: string;
  readonly start: () => Promise<VenueSim>;
  readonly subs: Record<string, string>;
  readonly extra?: Parameters<typeof connectTo>[2];
}

const CASES: Case[] = [
  { name: 'Coinbase level2', start: () => CoinbaseSim.start({ products: { 'BTC-USD': 60_000, 'ETH-USD': 3_000 } }), subs: { 'BTC-USD': 'BTC-USD', 'ETH-USD': 'ETH-USD' } },
  { name: 'Coinbase ticker', start: () => CoinbaseSim.start({ products: { 'SOL-USD': 150 } }), subs: { 'SOL-USD': 'SOL-USD' }, extra: { channel: 'ticker' } },
  { name: 'Binance', start: () => BinanceSim.start({ symbols: { BTCUSDT: 60_000, ETHUSDT: 3_000 } }), subs: { BTCUSDT: 'BTC-USD', ETHUSDT: 'ETH-USD' } },
  {
    name: 'Polymarket',
    start: () => PolymarketSim.start({ assets: { [PM_YES]: { market: PM_MARKET, mid: 0.4 }, [PM_NO]: { market: PM_MARKET, mid: 0.6 } } }),
    subs: { [PM_YES]: 'PM:FED-DEC-CUT:YES', [PM_NO]: 'PM:FED-DEC-CUT:NO' },
  },
  {
    name: 'Kalshi',
    start: () => KalshiSim.start({ markets: { [KX]: 50, 'KXT-1': 30 }, keys: new Map([['key-1', publicKey]]) }),
    subs: { [KX]: 'KX:BTC-100K-DEC', 'KXT-1': 'KX:TEST-1' }, extra: { credentials: CREDENTIALS },
  },
];

/** The reasons a bad kind is held for (a gap also holds the frames that arrive before the resnapshot). */
const REASONS: Record<string, HoldReason> = {
  malformed: 'MALFORMED_MESSAGE', 'out-of-range': 'PRICE_OUT_OF_RANGE', crossed: 'CROSSED_BOOK', locked: 'LOCKED_BOOK', stale: 'STALE_TIMESTAMP',
  future: 'FUTURE_TIMESTAMP', spike: 'PRICE_JUMP', gap: 'SEQUENCE_GAP', 'unknown-instrument': 'UNKNOWN_INSTRUMENT',
};

async function stopAll(t: TestConnector, sim: VenueSim): Promise<void> {
  await t.connector.stop();
  await sim.stop();
}

describe('data quality at the door', () => {
  for (const c of CASES) {
    const what = c.extra?.channel === 'ticker' ? 'the venue\'s best bid and ask are published once and in order' : 'every bad message is held with its reason, counted and logged, and exactly the good tops are published';
    test(`${c.name}: ${what}`, async () => {
      const sim = await c.start();
      const t = connectTo(sim, c.subs, c.extra);
      const ids = sim.instruments();
      const first = ids[0]!;
      try {
        if (sim.venue === 'binance') await waitFor(() => sim.server.connections.size === 1, 'a connection');
        else await waitFor(() => ids.every((i) => sim.subscribed(i)), 'subscriptions');
        for (let k = 0; k < 20; k++) for (const i of ids) sim.step(i);
        const kinds = c.extra?.channel === 'ticker' ? [] : [...sim.supports]; // the simulator's bad kinds are level2 frames
        for (const kind of kinds) {
          sim.inject(first, kind);
          sim.step(first);
          if (kind === 'gap') await waitFor(() => sim.subscribed(first), 'the resnapshot');
        }
        for (let k = 0; k < 10; k++) for (const i of ids) sim.step(i);

        const expected = sim.record.expected(expandFor(sim.venue, c.subs));
        const holds = sim.record.holds(symbolCount(sim.venue, c.subs));
        await waitFor(() => [...expected].every(([s, tops]) => topsOf(t.sink.ticks, s).length >= tops.length), 'the good ticks');
        await waitFor(() => [...holds].every(([r, n]) => (t.connector.held.get(r) ?? 0) >= n), 'the holds');
        for (const [s, tops] of expected) assert.deepEqual(topsOf(t.sink.ticks, s), tops, `${s}: the good tops, once and in order`);
        assert.deepEqual(new Map([...t.connector.held].sort()), new Map([...holds].sort()), 'held by reason, as the simulator sent them');
        for (const kind of kinds) {
          const reason = REASONS[kind]!;
          assert.ok(holds.has(reason), `the simulator sent ${kind}`);
          assert.equal(await metricValue(t.registry, 'market_data_held_total', { venue: sim.venue, reason }), holds.get(reason), `${reason} counted`);
          assert.ok(t.log.with('market data held back').some((l) => l.obj['reason'] === reason), `${reason} logged`);
        }
        const labels = (await t.registry.getSingleMetric('market_data_held_total')!.get()).values.map((v) => String(v.labels['symbol']));
        const configured = new Set(Object.keys(c.subs).flatMap((id) => expandFor(sim.venue, c.subs)(id, { bid: 0.4, ask: 0.6 }).map(([s]) => s)));
        assert.deepEqual(labels.filter((l) => l !== '-' && !configured.has(l)), [], 'a symbol label is always a configured symbol (or "-")');
        const published = await metricValue(t.registry, 'market_data_quotes_published_total', { venue: sim.venue });
        assert.equal(published, t.sink.ticks.length);
      } finally {
        await stopAll(t, sim);
      }
    });
  }

  test('instrument ids a venue message names become metric labels only when configured (the label set stays bounded)', async () => {
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    const t = connectTo(sim, { BTCUSDT: 'BTC-USD' });
    try {
      await waitFor(() => sim.server.connections.size === 1 && t.connector.connected, 'a connection');
      const conn = [...sim.server.connections][0]!;
      for (let k = 0; k < 50; k++) conn.send(JSON.stringify({ stream: 'x@bookTicker', data: { u: 'bad', s: `EVIL${k}USDT`, b: '1', B: '1', a: '2', A: '1' } }));
      await waitFor(() => t.connector.held.get('MALFORMED_MESSAGE') === 50, 'fifty malformed frames');
      const labels = (await t.registry.getSingleMetric('market_data_held_total')!.get()).values.map((v) => v.labels['symbol']);
      assert.deepEqual(labels, ['-']);
      assert.equal(t.log.with('market data held back').length, 1, 'one log line, the rest counted until the next');
    } finally {
      await stopAll(t, sim);
    }
  });

  test('a Kalshi sequence gap unsubscribes the subscription and subscribes its markets again for a fresh snapshot', async () => {
    const sim = await KalshiSim.start({ markets: { [KX]: 50 }, keys: new Map([['key-1', publicKey]]) });
    const subs = { [KX]: 'KX:BTC-100K-DEC' };
    const t = connectTo(sim, subs, { credentials: CREDENTIALS });
    try {
      await waitFor(() => sim.subscribed(KX), 'the subscription');
      sim.step(KX);
      sim.inject(KX, 'gap');
      sim.step(KX); // reveals the gap
      await waitFor(() => sim.subscribed(KX) && (t.connector.held.get('SEQUENCE_GAP') ?? 0) === 1, 'the resnapshot');
      sim.step(KX);
      const sent = [...sim.server.connections][0]!.received.map((m) => JSON.parse(m) as { cmd: string; params: { sids?: number[]; channels?: string[] } });
      assert.deepEqual(sent.map((m) => `${m.cmd} ${m.params.sids?.join(',') ?? m.params.channels?.join(',')}`), [
        'subscribe orderbook_delta', 'subscribe market_lifecycle_v2', 'unsubscribe 1', 'subscribe orderbook_delta',
      ]);
      await waitFor(() => topsOf(t.sink.ticks, 'KX:BTC-100K-DEC:YES').length === sim.record.expected(expandFor('kalshi', subs)).get('KX:BTC-100K-DEC:YES')!.length, 'the ticks');
      assert.deepEqual(topsOf(t.sink.ticks, 'KX:BTC-100K-DEC:YES'), sim.record.expected(expandFor('kalshi', subs)).get('KX:BTC-100K-DEC:YES'));
      assert.equal(await metricValue(t.registry, 'market_data_sequence_gaps_total', { venue: 'kalshi' }), 1);
      assert.equal(await metricValue(t.registry, 'market_data_resnapshots_total', { venue: 'kalshi', cause: 'gap' }), 1);
    } finally {
      await stopAll(t, sim);
    }
  });

  test('a Coinbase sequence_num gap resnapshots every level2 book; updates before the snapshot are held', async () => {
    const sim = await CoinbaseSim.start({ products: { 'BTC-USD': 60_000, 'ETH-USD': 3_000 } });
    const subs = { 'BTC-USD': 'BTC-USD', 'ETH-USD': 'ETH-USD' };
    const t = connectTo(sim, subs);
    try {
      await waitFor(() => sim.subscribed('BTC-USD') && sim.subscribed('ETH-USD'), 'the subscriptions');
      sim.inject('BTC-USD', 'gap');
      sim.step('ETH-USD'); // reveals the gap: ETH's book is resnapshotted too (the lost frame could have been anyone's)
      await waitFor(() => sim.subscribed('BTC-USD') && sim.subscribed('ETH-USD'), 'the resnapshots');
      const sent = [...sim.server.connections][0]!.received.map((m) => JSON.parse(m) as { type: string; channel: string; product_ids?: string[] });
      assert.deepEqual(sent.slice(2).map((m) => `${m.type} ${m.product_ids?.join(',')}`), ['unsubscribe BTC-USD,ETH-USD', 'subscribe BTC-USD,ETH-USD']);
      assert.equal(t.connector.held.get('AWAITING_SNAPSHOT'), 1, 'the ETH update that revealed the gap');
      for (let k = 0; k < 5; k++) { sim.step('BTC-USD'); sim.step('ETH-USD'); }
      const expected = sim.record.expected(expandFor('coinbase', subs));
      await waitFor(() => [...expected].every(([s, tops]) => topsOf(t.sink.ticks, s).length >= tops.length), 'the ticks');
      for (const [s, tops] of expected) assert.deepEqual(topsOf(t.sink.ticks, s), tops);
    } finally {
      await stopAll(t, sim);
    }
  });

  test('a move that persists is published on its third quote; a spike that reverts never is', async () => {
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    const t = connectTo(sim, { BTCUSDT: 'BTC-USD' }, { guard: { linearBand: 0.05, jumpConfirmations: 3 } });
    try {
      await waitFor(() => sim.server.connections.size === 1, 'a connection');
      sim.step('BTCUSDT');
      sim.inject('BTCUSDT', 'spike'); // a bad print, and the venue back at its level
      await waitFor(() => t.sink.ticks.length === 2, 'two ticks');
      assert.ok(t.sink.ticks.every((x) => x.bid < 61_000), 'the spike was not published');
      sim.move('BTCUSDT', 1.2);
      sim.step('BTCUSDT');
      sim.step('BTCUSDT');
      await waitFor(() => t.sink.ticks.length === 3, 'the confirmed level');
      assert.ok(t.sink.ticks[2]!.bid > 70_000);
      assert.equal(t.connector.held.get('PRICE_JUMP'), 3, 'the spike and the first two quotes at the new level');
      assert.equal(await metricValue(t.registry, 'market_data_jumps_accepted_total', { how: 'confirmed' }), 1);
      assert.ok(t.log.with('price move beyond the band accepted').length === 1);
    } finally {
      await stopAll(t, sim);
    }
  });

  test('a jump another venue made too is published at once; one it did not make is held', async () => {
    const coinbase = await CoinbaseSim.start({ products: { 'BTC-USD': 60_000 } });
    const binance = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    const ref = new ReferencePrices();
    const r = connectTo(coinbase, { 'BTC-USD': 'BTC-USD' }, { recordInto: ref, sink: undefined });
    const t = connectTo(binance, { BTCUSDT: 'BTC-USD' }, { reference: ref });
    try {
      await waitFor(() => coinbase.subscribed('BTC-USD') && binance.server.connections.size === 1, 'both venues');
      binance.step('BTCUSDT');
      await waitFor(() => t.sink.ticks.length === 1 && ref.reference('BTC-USD') !== undefined, 'a first tick and a reference');
      coinbase.move('BTC-USD', 1.3);
      coinbase.step('BTC-USD');
      coinbase.step('BTC-USD'); // the reference connector's own guard confirms the move on its third quote
      await waitFor(() => (ref.reference('BTC-USD')?.mid ?? 0) > 70_000, 'the reference venue at the new level');
      binance.move('BTCUSDT', 1.3);
      await waitFor(() => t.sink.ticks.length === 2, 'the move, published at once');
      assert.equal(await metricValue(t.registry, 'market_data_jumps_accepted_total', { how: 'matches-reference' }), 1);
      binance.inject('BTCUSDT', 'spike');
      await waitFor(() => t.sink.ticks.length === 3, 'the next good tick');
      assert.equal(t.connector.held.get('PRICE_JUMP'), 1, 'a spike the reference venue did not make');
      assert.equal(r.sink.ticks.length, 0, 'a reference connector publishes nothing');
    } finally {
      await r.connector.stop();
      await stopAll(t, binance);
      await coinbase.stop();
    }
  });

  test('prediction-market resolutions become resolution messages once; a winner that is not configured is held', async () => {
    const pm = await PolymarketSim.start({ assets: { [PM_YES]: { market: PM_MARKET, mid: 0.4 }, [PM_NO]: { market: PM_MARKET, mid: 0.6 } } });
    const kx = await KalshiSim.start({ markets: { [KX]: 50, KXOTHER: 30 }, keys: new Map([['key-1', publicKey]]) });
    const p = connectTo(pm, { [PM_YES]: 'PM:FED-DEC-CUT:YES', [PM_NO]: 'PM:FED-DEC-CUT:NO' });
    const onlyYes = connectTo(pm, { [PM_YES]: 'PM:FED-DEC-CUT:YES' });
    const k = connectTo(kx, { [KX]: 'KX:BTC-100K-DEC' }, { credentials: CREDENTIALS });
    try {
      await waitFor(() => pm.server.connections.size === 2 && pm.subscribed(PM_NO) && kx.subscribed(KX), 'subscriptions');
      await waitFor(() => [...kx.server.connections][0]!.received.length === 2, 'the lifecycle subscription');
      await waitFor(() => p.connector.connected && k.connector.connected, 'connected');
      pm.resolve(PM_NO);
      pm.resolve(PM_NO);
      kx.resolve('KXOTHER', 'yes');
      kx.resolve(KX, 'no');
      kx.resolve(KX, 'no');
      await waitFor(() => p.sink.resolutions.length === 1 && k.sink.resolutions.length === 1 && onlyYes.connector.held.has('UNKNOWN_OUTCOME'), 'the resolutions');
      assert.deepEqual(p.sink.resolutions.map(({ ts: _t, ...r }) => r), [{ venue: 'polymarket', market: 'PM:FED-DEC-CUT', outcome: 'NO' }]);
      assert.deepEqual(k.sink.resolutions.map(({ ts: _t, ...r }) => r), [{ venue: 'kalshi', market: 'KX:BTC-100K-DEC', outcome: 'NO' }]);
      assert.equal(onlyYes.sink.resolutions.length, 0, 'the winning asset is not configured: never guessed');
      assert.equal(await metricValue(k.registry, 'market_data_resolutions_published_total'), 1);
    } finally {
      await p.connector.stop();
      await onlyYes.connector.stop();
      await k.connector.stop();
      await pm.stop();
      await kx.stop();
    }
  });
});
