import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { test } from 'node:test';
import { DEFAULT_INSTRUMENTS } from '../../actors/index.js';
import {
  Backoff,
  BinanceNormalizer,
  ConnectorMetrics,
  HOLD_REASONS,
  LocalBook,
  readVenueConfig,
  DEFAULT_VENUE_CONFIG,
  KalshiAuthError,
  kalshiAuthHeaders,
  kalshiCredentials,
  type MalformedVenueMessageError,
  parseVenueConfig,
  QuoteGuard,
  QuoteKeys,
  ReferencePrices,
  resolveSubscriptions,
  SendPacer,
  SymbolMap,
  VenueConfigError,
  verifyKalshiHeaders,
  type Clock,
  type NormalizedQuote,
  type TimerHandle,
} from '../market-data/index.js';

const NOW = Date.UTC(2026, 2, 2, 12, 0, 0);
const q = (over: Partial<NormalizedQuote> = {}): NormalizedQuote => ({
  venue: 'coinbase',
  symbol: 'BTC-USD',
  ts: NOW,
  bid: 100,
  ask: 100.1,
  ...over,
});
const pm = (bid: number, ask: number, over: Partial<NormalizedQuote> = {}): NormalizedQuote => ({
  venue: 'polymarket',
  symbol: 'PM:FED-DEC-CUT:YES',
  ts: NOW,
  bid,
  ask,
  ...over,
});
const guard = (o: Partial<ConstructorParameters<typeof QuoteGuard>[0]> = {}) => new QuoteGuard({ instruments: DEFAULT_INSTRUMENTS, ...o });

/** A clock whose time moves only when told to; timers fire as it passes them. */
class ManualClock implements Clock {
  t = 0;
  readonly #timers: Array<{ at: number; fn: () => void; id: number }> = [];
  #next = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.push({ at: this.t + ms, fn, id });
    return id as unknown as TimerHandle;
  }
  clearTimeout(h: TimerHandle): void {
    const k = this.#timers.findIndex((x) => x.id === (h as unknown as number));
    if (k >= 0) this.#timers.splice(k, 1);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const due = this.#timers[0];
      if (due === undefined || due.at > end) break;
      this.#timers.shift();
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

// --- the guard -----------------------------------------------------------------

test('the guard publishes a sane quote, then skips the same top as unchanged', () => {
  const g = guard();
  assert.deepEqual(g.check(q(), NOW), { action: 'publish' });
  assert.deepEqual(g.check(q({ ts: NOW + 5 }), NOW + 5), { action: 'unchanged' });
  assert.deepEqual(g.check(q({ bidSize: 2 }), NOW), { action: 'publish' }, 'a size change is a change');
});

test('the guard holds crossed, locked, non-finite, out-of-range and badly sized quotes with their reasons', () => {
  const reason = (x: NormalizedQuote) => {
    const d = guard().check(x, NOW);
    return d.action === 'hold' ? d.reason : d.action;
  };
  assert.equal(reason(q({ bid: 101, ask: 100 })), 'CROSSED_BOOK');
  assert.equal(reason(q({ bid: 100, ask: 100 })), 'LOCKED_BOOK');
  assert.equal(guard({ allowLocked: true }).check(q({ bid: 100, ask: 100 }), NOW).action, 'publish', 'locked tops pass when allowed');
  assert.equal(reason(q({ bid: Number.NaN })), 'PRICE_NOT_FINITE');
  assert.equal(reason(q({ ask: Infinity })), 'PRICE_NOT_FINITE');
  assert.equal(reason(q({ bid: 0 })), 'PRICE_OUT_OF_RANGE', 'a linear price must be above 0');
  assert.equal(reason(pm(0.5, 1.2)), 'PRICE_OUT_OF_RANGE', 'a binary share is worth at most 1');
  assert.equal(reason(pm(-0.1, 0.5)), 'PRICE_OUT_OF_RANGE');
  assert.equal(reason(pm(0, 0.02)), 'publish', 'a binary bid of 0 (no one bids) is in range');
  assert.equal(reason(q({ bidSize: -1 })), 'INVALID_SIZE');
  assert.equal(reason(q({ symbol: 'DOGE-USD' })), 'UNKNOWN_SYMBOL');
});

test('the guard holds a quote stamped older than its age limit or ahead of the clock beyond the skew', () => {
  const g = guard({ maxQuoteAgeMs: 1_000, maxClockSkewMs: 200 });
  assert.equal(g.check(q({ ts: NOW - 1_001 }), NOW).action, 'hold');
  assert.deepEqual((g.check(q({ ts: NOW - 1_001 }), NOW) as { reason: string }).reason, 'STALE_TIMESTAMP');
  assert.deepEqual((g.check(q({ ts: NOW + 201 }), NOW) as { reason: string }).reason, 'FUTURE_TIMESTAMP');
  assert.equal(g.check(q({ ts: NOW - 1_000 }), NOW).action, 'publish', 'exactly at the limit is fresh');
});

test('a jump beyond the band is held until consecutive quotes confirm the new level, and a spike that reverts is never published', () => {
  const g = guard({ linearBand: 0.05, jumpConfirmations: 3 });
  assert.equal(g.check(q(), NOW).action, 'publish');
  const spike = g.check(q({ bid: 130, ask: 130.1 }), NOW);
  assert.equal(spike.action, 'hold');
  assert.equal((spike as { reason: string }).reason, 'PRICE_JUMP');
  assert.equal(g.check(q({ bid: 100.2, ask: 100.3 }), NOW).action, 'publish', 'back within the band of the last good price');
  assert.equal(g.lastGood('BTC-USD'), 100.25);
  // A level that persists: held twice, published on the third quote, which becomes the reference.
  assert.equal(g.check(q({ bid: 130, ask: 130.1 }), NOW).action, 'hold');
  assert.equal(g.check(q({ bid: 130.5, ask: 130.6 }), NOW).action, 'hold');
  assert.deepEqual(g.check(q({ bid: 131, ask: 131.1 }), NOW), { action: 'publish', jump: 'confirmed' });
  assert.equal(g.check(q({ bid: 131.2, ask: 131.3 }), NOW).action, 'publish');
});

test('binary shares are banded in price, not in percent', () => {
  const g = guard({ binaryBand: 0.25 });
  assert.equal(g.check(pm(0.1, 0.12), NOW).action, 'publish');
  assert.equal(g.check(pm(0.3, 0.32), NOW).action, 'publish', '+0.2 is within 0.25 (though +190 %)');
  assert.equal((g.check(pm(0.6, 0.62), NOW) as { reason?: string }).reason, 'PRICE_JUMP');
});

test('a jump that another venue already made is published at once; a stale reference is not used', () => {
  const ref = new ReferencePrices();
  const g = guard({ reference: ref, referenceMaxAgeMs: 1_000 });
  assert.equal(g.check(q(), NOW).action, 'publish');
  ref.record('BTC-USD', 129.9, 130.1, NOW);
  assert.deepEqual(g.check(q({ bid: 130, ask: 130.1 }), NOW), { action: 'publish', jump: 'matches-reference' });
  ref.record('BTC-USD', 99, 99.1, NOW - 5_000);
  assert.equal(
    (g.check(q({ bid: 100, ask: 100.1 }), NOW) as { reason?: string }).reason,
    'PRICE_JUMP',
    'the old reference is ignored: the last good price rules',
  );
});

test('a first quote far from a fresh reference is held; seeding from the stream sets the reference', () => {
  const ref = new ReferencePrices();
  ref.record('BTC-USD', 100, 100.1, NOW);
  const g = guard({ reference: ref });
  assert.equal((g.check(q({ bid: 150, ask: 150.1 }), NOW) as { reason?: string }).reason, 'PRICE_JUMP');
  const seeded = guard();
  seeded.seed(q());
  assert.deepEqual(
    seeded.check(q({ ts: NOW + 1 }), NOW + 1),
    { action: 'unchanged' },
    'the quote already on the stream is not published again',
  );
  assert.equal((seeded.check(q({ bid: 150, ask: 150.1 }), NOW) as { reason?: string }).reason, 'PRICE_JUMP');
});

// --- reasons of refused venue messages ---------------------------------------------

test('a venue message refused for its price range or a crossed top is counted under that reason, anything else as malformed', () => {
  const n = new BinanceNormalizer({ symbols: new SymbolMap('binance', { BTCUSDT: 'BTC-USD' }) });
  const reasonOf = (m: object) => {
    try {
      n.normalize(m, NOW);
      return 'none';
    } catch (err) {
      return (err as MalformedVenueMessageError).reason;
    }
  };
  const base = { u: 1, s: 'BTCUSDT', b: '100', B: '1', a: '101', A: '1' };
  assert.equal(reasonOf({ ...base, b: '0' }), 'PRICE_OUT_OF_RANGE');
  assert.equal(reasonOf({ ...base, b: '102' }), 'CROSSED_BOOK');
  assert.equal(reasonOf({ ...base, b: 'abc' }), 'MALFORMED_MESSAGE');
  assert.equal(reasonOf({ ...base, b: '0', a: 'x' }), 'MALFORMED_MESSAGE', 'mixed issues are malformed');
});

test('a local book keeps at most its level cap per side, dropping the levels farthest from the top, so its top stays exact', () => {
  const book = new LocalBook({ maxLevels: 3 });
  for (const p of [0.1, 0.2, 0.3, 0.4, 0.05]) book.set('bid', p, 1);
  for (const p of [0.9, 0.8, 0.7, 0.6, 0.95]) book.set('ask', p, 1);
  assert.equal(book.depth('bid'), 3);
  assert.equal(book.depth('ask'), 3);
  assert.deepEqual([book.bestBid()?.price, book.bestAsk()?.price], [0.4, 0.6]);
  book.set('bid', 0.4, 0);
  assert.equal(book.bestBid()?.price, 0.3, 'the next level was kept');
});

// --- backoff, pacing, keys ---------------------------------------------------------

test('backoff waits half its ceiling plus a jitter from the injected random source, doubling to the cap', () => {
  const draws = [0, 1, 0.5, 0.5, 0.5, 0.5];
  const b = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => draws.shift()! });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [50, 200, 300, 600, 750]);
  b.reset();
  assert.equal(b.next(), 75);
  assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
});

test('the pacer sends at most its rate after its burst, whatever is queued at once', () => {
  const clock = new ManualClock();
  const sent: Array<[number, string]> = [];
  const p = new SendPacer({ ratePerSecond: 4, burst: 2, clock });
  p.attach((m) => sent.push([clock.now(), m]));
  for (let k = 0; k < 6; k++) p.send(`m${k}`);
  assert.deepEqual(
    sent.map(([t]) => t),
    [0, 0],
    'the burst goes at once',
  );
  clock.advance(1_000);
  assert.deepEqual(
    sent.map(([t]) => t),
    [0, 0, 250, 500, 750, 1000],
  );
  p.detach();
  p.send('after');
  assert.equal(sent.length, 6, 'nothing is sent on a detached connection');
});

test('dedupe keys are the venue time, the content and its occurrence at that time, so A → B → A gets three keys', () => {
  const keys = new QuoteKeys();
  const a = q();
  const b = q({ bid: 100.05 });
  const k = [keys.key(a), keys.key(b), keys.key(a)];
  assert.equal(new Set(k).size, 3);
  assert.match(k[2]!, new RegExp(`^${NOW}\\.[0-9a-f]{8}\\.1$`));
  const other = new QuoteKeys();
  assert.deepEqual([other.key(a), other.key(b), other.key(a)], k, 'another connector seeing the same quotes makes the same keys');
  assert.match(keys.key(q({ ts: NOW + 1 })), /\.0$/, 'a new venue time starts the count again');
  keys.key(q({ ts: NOW - 60_000, bid: 99 })); // a late quote, stamped a minute back
  assert.match(keys.key(a), /\.2$/, 'a late quote does not reset the count at the times around it');
});

// --- Kalshi signing ------------------------------------------------------------------

test('a Kalshi handshake signature verifies with the key pair and fails when the path, time or key differ', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const creds = kalshiCredentials('key-1', privateKey.export({ type: 'pkcs1', format: 'pem' }));
  const headers = Object.fromEntries(
    Object.entries(kalshiAuthHeaders(creds, 'GET', '/trade-api/ws/v2', NOW)).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const keys = new Map([['key-1', publicKey]]);
  assert.equal(verifyKalshiHeaders(headers, 'GET', '/trade-api/ws/v2', keys, NOW + 1_000), 'key-1');
  assert.throws(() => verifyKalshiHeaders(headers, 'GET', '/trade-api/ws/v3', keys, NOW), /does not verify/);
  assert.throws(() => verifyKalshiHeaders(headers, 'GET', '/trade-api/ws/v2', keys, NOW + 60_000), /out of date/);
  assert.throws(() => verifyKalshiHeaders(headers, 'GET', '/trade-api/ws/v2', new Map([['key-1', other.publicKey]]), NOW), KalshiAuthError);
  assert.throws(() => verifyKalshiHeaders({}, 'GET', '/trade-api/ws/v2', keys, NOW), /missing/);
});

// --- configuration -------------------------------------------------------------------

test('subscriptions come from the configuration, narrowed by --symbols, and a symbol the engine does not know is refused', () => {
  assert.deepEqual(resolveSubscriptions('binance', DEFAULT_VENUE_CONFIG, DEFAULT_INSTRUMENTS, ['BTC-USD']), { BTCUSDT: 'BTC-USD' });
  assert.deepEqual(resolveSubscriptions('coinbase', DEFAULT_VENUE_CONFIG, DEFAULT_INSTRUMENTS), {
    'BTC-USD': 'BTC-USD',
    'ETH-USD': 'ETH-USD',
    'SOL-USD': 'SOL-USD',
  });
  assert.deepEqual(resolveSubscriptions('kalshi', DEFAULT_VENUE_CONFIG, DEFAULT_INSTRUMENTS, ['KX:BTC-100K-DEC:YES']), {
    'KXBTCMAX100-25DEC31': 'KX:BTC-100K-DEC',
  });
  assert.deepEqual(resolveSubscriptions('binance', DEFAULT_VENUE_CONFIG, DEFAULT_INSTRUMENTS, ['SOLUSDC=SOL-USD']), { SOLUSDC: 'SOL-USD' });
  const refused = (fn: () => unknown, code: string) => assert.throws(fn, (e: unknown) => e instanceof VenueConfigError && e.code === code);
  refused(() => resolveSubscriptions('binance', DEFAULT_VENUE_CONFIG, DEFAULT_INSTRUMENTS, ['DOGEUSDT=DOGE-USD']), 'UNKNOWN_SYMBOL');
  refused(() => resolveSubscriptions('coinbase', DEFAULT_VENUE_CONFIG, DEFAULT_INSTRUMENTS, ['AVAX-USD']), 'NOT_CONFIGURED');
  refused(() => resolveSubscriptions('kalshi', { kalshi: { instruments: { KXFOO: 'KX:FOO' } } }, DEFAULT_INSTRUMENTS), 'UNKNOWN_SYMBOL');
  refused(() => parseVenueConfig({ coinbase: { instruments: { 'BTC-USD': 3 } } }), 'INVALID_CONFIG');
  refused(() => parseVenueConfig({ kraken: {} }), 'INVALID_CONFIG');
});

// --- documentation -----------------------------------------------------------------

test('docs/market-data.md names every hold reason and metric, the deploy kit alerts on a stale or lost feed with real metrics, and the example configuration is the built-in one', () => {
  const doc = readFileSync('docs/market-data.md', 'utf8');
  for (const reason of HOLD_REASONS) assert.ok(doc.includes(`\`${reason}\``), `the policy table names ${reason}`);
  const registry = new Registry();
  void new ConnectorMetrics(registry);
  const names = registry.getMetricsAsArray().map((m) => m.name);
  for (const name of names) assert.ok(doc.includes(`\`${name}\``), `the metrics table names ${name}`);
  const rules = readFileSync('deploy/k8s/monitoring/rules.yaml', 'utf8');
  for (const alert of ['VaticVenueDisconnected', 'VaticVenueFeedStale'])
    assert.ok(rules.includes(`alert: ${alert}`), `the deploy kit alerts with ${alert}`);
  for (const used of new Set(rules.match(/market_data_[a-z_]+/g))) assert.ok(names.includes(used), `alert rule metric ${used} exists`);
  assert.deepEqual(readVenueConfig('docs/market-data-venues.example.json'), {
    ...DEFAULT_VENUE_CONFIG,
    coinbase: { ...DEFAULT_VENUE_CONFIG.coinbase!, channel: 'level2' },
    kalshi: { ...DEFAULT_VENUE_CONFIG.kalshi!, url: 'wss://api.elections.kalshi.com/trade-api/ws/v2' },
  });
});
