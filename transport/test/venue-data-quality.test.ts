import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { kalshiCredentials, ReferencePrices, type HoldReason } from '../market-data/index.js';
import { BinanceSim, CoinbaseSim, KalshiSim, PolymarketSim, type VenueSim } from '../testing/venue-simulator/index.js';
import {
  connectTo,
  expandFor,
  KX,
  metricValue,
  PM_MARKET,
  PM_NO,
  PM_YES,
  symbolCount,
  topsOf,
  type TestConnector,
} from './venue-harness.js';
import { until } from '../../engine/testing/index.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const CREDENTIALS = kalshiCredentials('key-1', privateKey.export({ type: 'pkcs8', format: 'pem' }));

interface Case {
  readonly name: string;
  readonly start: () => Promise<VenueSim>;
  readonly subs: Record<string, string>;
  readonly extra?: Parameters<typeof connectTo>[2];
}

const CASES: Case[] = [
  {
    name: 'Coinbase level2',
    start: () => CoinbaseSim.start({ products: { 'BTC-USD': 60_000, 'ETH-USD': 3_000 } }),
    subs: { 'BTC-USD': 'BTC-USD', 'ETH-USD': 'ETH-USD' },
  },
  {
    name: 'Coinbase ticker',
    start: () => CoinbaseSim.start({ products: { 'SOL-USD': 150 } }),
    subs: { 'SOL-USD': 'SOL-USD' },
    extra: { channel: 'ticker' },
  },
  {
    name: 'Binance',
    start: () => BinanceSim.start({ symbols: { BTCUSDT: 60_000, ETHUSDT: 3_000 } }),
    subs: { BTCUSDT: 'BTC-USD', ETHUSDT: 'ETH-USD' },
  },
  {
    name: 'Polymarket',
    start: () => PolymarketSim.start({ assets: { [PM_YES]: { market: PM_MARKET, mid: 0.4 }, [PM_NO]: { market: PM_MARKET, mid: 0.6 } } }),
    subs: { [PM_YES]: 'PM:FED-DEC-CUT:YES', [PM_NO]: 'PM:FED-DEC-CUT:NO' },
  },
  {
    name: 'Kalshi',
    start: () => KalshiSim.start({ markets: { [KX]: 50, 'KXT-1': 30 }, keys: new Map([['key-1', publicKey]]) }),
    subs: { [KX]: 'KX:BTC-100K-DEC', 'KXT-1': 'KX:TEST-1' },
    extra: { credentials: CREDENTIALS },
  },
];

/** The reasons a bad kind is held for (a gap also holds the frames that arrive before the resnapshot). */
const REASONS: Record<string, HoldReason> = {
  malformed: 'MALFORMED_MESSAGE',
  'out-of-range': 'PRICE_OUT_OF_RANGE',
  crossed: 'CROSSED_BOOK',
  locked: 'LOCKED_BOOK',
  stale: 'STALE_TIMESTAMP',
  future: 'FUTURE_TIMESTAMP',
  spike: 'PRICE_JUMP',
  gap: 'SEQUENCE_GAP',
  'unknown-instrument': 'UNKNOWN_INSTRUMENT',
};

async function stopAll(t: TestConnector, sim: VenueSim): Promise<void> {
  await t.connector.stop();
  await sim.stop();
}

describe('data quality at the door', () => {
  for (const c of CASES) {
    const what =
      c.extra?.channel === 'ticker'
        ? "the venue's best bid and ask are published once and in order"
        : 'every bad message is held with its reason, counted and logged, and exactly the good tops are published';
    test(`${c.name}: ${what}`, async () => {
      const sim = await c.start();
      const t = connectTo(sim, c.subs, c.extra);
      const ids = sim.instruments();
      const first = ids[0]!;
      try {
        if (sim.venue === 'binance') await until(() => sim.server.connections.size === 1, { what: 'a connection', deadlineMs: 10_000 });
        else await until(() => ids.every((i) => sim.subscribed(i)), { what: 'subscriptions', deadlineMs: 10_000 });
        for (let k = 0; k < 20; k++) for (const i of ids) sim.step(i);
        const kinds = c.extra?.channel === 'ticker' ? [] : [...sim.supports]; // the simulator's bad kinds are level2 frames
        for (const kind of kinds) {
          sim.inject(first, kind);
          sim.step(first);
          if (kind === 'gap') await until(() => sim.subscribed(first), { what: 'the resnapshot', deadlineMs: 10_000 });
        }
        for (let k = 0; k < 10; k++) for (const i of ids) sim.step(i);

        const expected = sim.record.expected(expandFor(sim.venue, c.subs));
        const holds = sim.record.holds(symbolCount(sim.venue, c.subs));
        await until(() => [...expected].every(([s, tops]) => topsOf(t.sink.ticks, s).length >= tops.length), {
          what: 'the good ticks',
          deadlineMs: 10_000,
        });
        await until(() => [...holds].every(([r, n]) => (t.connector.held.get(r) ?? 0) >= n), { what: 'the holds', deadlineMs: 10_000 });
        for (const [s, tops] of expected) assert.deepEqual(topsOf(t.sink.ticks, s), tops, `${s}: the good tops, once and in order`);
        assert.deepEqual(new Map([...t.connector.held].sort()), new Map([...holds].sort()), 'held by reason, as the simulator sent them');
        for (const kind of kinds) {
          const reason = REASONS[kind]!;
          assert.ok(holds.has(reason), `the simulator sent ${kind}`);
          assert.equal(
            await metricValue(t.registry, 'market_data_held_total', { venue: sim.venue, reason }),
            holds.get(reason),
            `${reason} counted`,
          );
          assert.ok(
            t.log.with('market data held back').some((l) => l.obj['reason'] === reason),
            `${reason} logged`,
          );
        }
        const labels = (await t.registry.getSingleMetric('market_data_held_total')!.get()).values.map((v) => String(v.labels['symbol']));
        const configured = new Set(
          Object.keys(c.subs).flatMap((id) => expandFor(sim.venue, c.subs)(id, { bid: 0.4, ask: 0.6 }).map(([s]) => s)),
        );
        assert.deepEqual(
          labels.filter((l) => l !== '-' && !configured.has(l)),
          [],
          'a symbol label is always a configured symbol (or "-")',
        );
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
      await until(() => sim.server.connections.size === 1 && t.connector.connected, { what: 'a connection', deadlineMs: 10_000 });
      const conn = [...sim.server.connections][0]!;
      for (let k = 0; k < 50; k++)
        conn.send(JSON.stringify({ stream: 'x@bookTicker', data: { u: 'bad', s: `EVIL${k}USDT`, b: '1', B: '1', a: '2', A: '1' } }));
      await until(() => t.connector.held.get('MALFORMED_MESSAGE') === 50, { what: 'fifty malformed frames', deadlineMs: 10_000 });
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
      await until(() => sim.subscribed(KX), { what: 'the subscription', deadlineMs: 10_000 });
      sim.step(KX);
      sim.inject(KX, 'gap');
      sim.step(KX); // reveals the gap
      await until(() => sim.subscribed(KX) && (t.connector.held.get('SEQUENCE_GAP') ?? 0) === 1, {
        what: 'the resnapshot',
        deadlineMs: 10_000,
      });
      sim.step(KX);
      const sent = [...sim.server.connections][0]!.received.map(
        (m) => JSON.parse(m) as { cmd: string; params: { sids?: number[]; channels?: string[] } },
      );
      assert.deepEqual(
        sent.map((m) => `${m.cmd} ${m.params.sids?.join(',') ?? m.params.channels?.join(',')}`),
        ['subscribe orderbook_delta', 'subscribe market_lifecycle_v2', 'unsubscribe 1', 'subscribe orderbook_delta'],
      );
      await until(
        () =>
          topsOf(t.sink.ticks, 'KX:BTC-100K-DEC:YES').length ===
          sim.record.expected(expandFor('kalshi', subs)).get('KX:BTC-100K-DEC:YES')!.length,
        { what: 'the ticks', deadlineMs: 10_000 },
      );
      assert.deepEqual(
        topsOf(t.sink.ticks, 'KX:BTC-100K-DEC:YES'),
        sim.record.expected(expandFor('kalshi', subs)).get('KX:BTC-100K-DEC:YES'),
      );
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
      await until(() => sim.subscribed('BTC-USD') && sim.subscribed('ETH-USD'), { what: 'the subscriptions', deadlineMs: 10_000 });
      sim.inject('BTC-USD', 'gap');
      sim.step('ETH-USD'); // reveals the gap: ETH's book is resnapshotted too (the lost frame could have been anyone's)
      await until(() => sim.subscribed('BTC-USD') && sim.subscribed('ETH-USD'), { what: 'the resnapshots', deadlineMs: 10_000 });
      const sent = [...sim.server.connections][0]!.received.map(
        (m) => JSON.parse(m) as { type: string; channel: string; product_ids?: string[] },
      );
      assert.deepEqual(
        sent.slice(2).map((m) => `${m.type} ${m.product_ids?.join(',')}`),
        ['unsubscribe BTC-USD,ETH-USD', 'subscribe BTC-USD,ETH-USD'],
      );
      assert.equal(t.connector.held.get('AWAITING_SNAPSHOT'), 1, 'the ETH update that revealed the gap');
      for (let k = 0; k < 5; k++) {
        sim.step('BTC-USD');
        sim.step('ETH-USD');
      }
      const expected = sim.record.expected(expandFor('coinbase', subs));
      await until(() => [...expected].every(([s, tops]) => topsOf(t.sink.ticks, s).length >= tops.length), {
        what: 'the ticks',
        deadlineMs: 10_000,
      });
      for (const [s, tops] of expected) assert.deepEqual(topsOf(t.sink.ticks, s), tops);
    } finally {
      await stopAll(t, sim);
    }
  });

  test('a move that persists is published on its third quote; a spike that reverts never is', async () => {
    const sim = await BinanceSim.start({ symbols: { BTCUSDT: 60_000 } });
    const t = connectTo(sim, { BTCUSDT: 'BTC-USD' }, { guard: { linearBand: 0.05, jumpConfirmations: 3 } });
    try {
      await until(() => sim.server.connections.size === 1, { what: 'a connection', deadlineMs: 10_000 });
      sim.step('BTCUSDT');
      sim.inject('BTCUSDT', 'spike'); // a bad print, and the venue back at its level
      await until(() => t.sink.ticks.length === 2, { what: 'two ticks', deadlineMs: 10_000 });
      assert.ok(
        t.sink.ticks.every((x) => x.bid < 61_000),
        'the spike was not published',
      );
      sim.move('BTCUSDT', 1.2);
      sim.step('BTCUSDT');
      sim.step('BTCUSDT');
      await until(() => t.sink.ticks.length === 3, { what: 'the confirmed level', deadlineMs: 10_000 });
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
      await until(() => coinbase.subscribed('BTC-USD') && binance.server.connections.size === 1, {
        what: 'both venues',
        deadlineMs: 10_000,
      });
      binance.step('BTCUSDT');
      await until(() => t.sink.ticks.length === 1 && ref.reference('BTC-USD') !== undefined, {
        what: 'a first tick and a reference',
        deadlineMs: 10_000,
      });
      coinbase.move('BTC-USD', 1.3);
      coinbase.step('BTC-USD');
      coinbase.step('BTC-USD'); // the reference connector's own guard confirms the move on its third quote
      await until(() => (ref.reference('BTC-USD')?.mid ?? 0) > 70_000, {
        what: 'the reference venue at the new level',
        deadlineMs: 10_000,
      });
      binance.move('BTCUSDT', 1.3);
      await until(() => t.sink.ticks.length === 2, { what: 'the move, published at once', deadlineMs: 10_000 });
      assert.equal(await metricValue(t.registry, 'market_data_jumps_accepted_total', { how: 'matches-reference' }), 1);
      binance.inject('BTCUSDT', 'spike');
      await until(() => t.sink.ticks.length === 3, { what: 'the next good tick', deadlineMs: 10_000 });
      assert.equal(t.connector.held.get('PRICE_JUMP'), 1, 'a spike the reference venue did not make');
      assert.equal(r.sink.ticks.length, 0, 'a reference connector publishes nothing');
    } finally {
      await r.connector.stop();
      await stopAll(t, binance);
      await coinbase.stop();
    }
  });

  test('prediction-market resolutions become resolution messages once; a winner that is not configured is held', async () => {
    const pm = await PolymarketSim.start({
      assets: { [PM_YES]: { market: PM_MARKET, mid: 0.4 }, [PM_NO]: { market: PM_MARKET, mid: 0.6 } },
    });
    const kx = await KalshiSim.start({ markets: { [KX]: 50, KXOTHER: 30 }, keys: new Map([['key-1', publicKey]]) });
    const p = connectTo(pm, { [PM_YES]: 'PM:FED-DEC-CUT:YES', [PM_NO]: 'PM:FED-DEC-CUT:NO' });
    const onlyYes = connectTo(pm, { [PM_YES]: 'PM:FED-DEC-CUT:YES' });
    const k = connectTo(kx, { [KX]: 'KX:BTC-100K-DEC' }, { credentials: CREDENTIALS });
    try {
      await until(() => pm.server.connections.size === 2 && pm.subscribed(PM_NO) && kx.subscribed(KX), {
        what: 'subscriptions',
        deadlineMs: 10_000,
      });
      await until(() => [...kx.server.connections][0]!.received.length === 2, { what: 'the lifecycle subscription', deadlineMs: 10_000 });
      await until(() => p.connector.connected && k.connector.connected, { what: 'connected', deadlineMs: 10_000 });
      pm.resolve(PM_NO);
      pm.resolve(PM_NO);
      kx.resolve('KXOTHER', 'yes');
      kx.resolve(KX, 'no');
      kx.resolve(KX, 'no');
      await until(
        () => p.sink.resolutions.length === 1 && k.sink.resolutions.length === 1 && onlyYes.connector.held.has('UNKNOWN_OUTCOME'),
        { what: 'the resolutions', deadlineMs: 10_000 },
      );
      assert.deepEqual(
        p.sink.resolutions.map(({ ts: _t, ...r }) => r),
        [{ venue: 'polymarket', market: 'PM:FED-DEC-CUT', outcome: 'NO' }],
      );
      assert.deepEqual(
        k.sink.resolutions.map(({ ts: _t, ...r }) => r),
        [{ venue: 'kalshi', market: 'KX:BTC-100K-DEC', outcome: 'NO' }],
      );
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
