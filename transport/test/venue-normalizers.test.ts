import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  BinanceNormalizer,
  CoinbaseNormalizer,
  KalshiNormalizer,
  MalformedVenueMessageError,
  PolymarketNormalizer,
  SequenceGapError,
  SymbolMap,
  UnknownInstrumentError,
} from '../market-data/index.js';

/** Named venue messages of one fixture file, in the venue's documented format. */
const fixture = (name: string): Record<string, Record<string, unknown>> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));

const cb = fixture('coinbase-ticker');
const bn = fixture('binance-book-ticker');
const pm = fixture('polymarket-market');
const kx = fixture('kalshi-market');

const PM_YES = '71321045679252212594626385532706912750332728571942532289631379312455583992563';
const PM_NO = '52114319501245915516055106046884209969926127482827954674443846427813813222426';
const KX = 'KXBTCMAX100-25DEC31';
const RECEIVED = 1_735_689_600_500;

const coinbase = () => new CoinbaseNormalizer({ symbols: new SymbolMap('coinbase', { 'ETH-USD': 'ETH-USD', 'BTC-USD': 'BTC-USD' }) });
const binance = () => new BinanceNormalizer({ symbols: new SymbolMap('binance', { BTCUSDT: 'BTC-USD' }) });
const polymarket = () =>
  new PolymarketNormalizer({
    symbols: new SymbolMap('polymarket', { [PM_YES]: 'PM:FED-DEC-CUT:YES', [PM_NO]: 'PM:FED-DEC-CUT:NO' }),
  });
const kalshi = (withNo = false) =>
  new KalshiNormalizer({
    symbols: new SymbolMap('kalshi', { [KX]: 'KX:BTC-100K-DEC:YES' }),
    ...(withNo ? { noSymbols: new SymbolMap('kalshi', { [KX]: 'KX:BTC-100K-DEC:NO' }) } : {}),
  });

/** A copy of a fixture message with `patch` applied to its top level (or to `msg` for Kalshi). */
const patched = (message: Record<string, unknown>, patch: Record<string, unknown>, inMsg = false): Record<string, unknown> =>
  inMsg ? { ...message, msg: { ...(message['msg'] as object), ...patch } } : { ...message, ...patch };

/** Asserts `fn` throws a MalformedVenueMessageError whose message names `field`. */
function assertMalformed(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MalformedVenueMessageError, `expected MalformedVenueMessageError, got ${String(err)}`);
    assert.equal(err.code, 'MALFORMED_VENUE_MESSAGE');
    assert.match(err.message, new RegExp(field.replace(/\./g, '\\.')));
    return true;
  });
}

/** Asserts `fn` throws UnknownInstrumentError for `id`. */
function assertUnknown(fn: () => unknown, id: string): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof UnknownInstrumentError && err.code === 'UNKNOWN_INSTRUMENT' && err.instrumentId === id,
  );
}

// --- symbol map -------------------------------------------------------------

test('a symbol map resolves mapped ids and refuses unmapped ones instead of guessing', () => {
  const map = new SymbolMap('binance', [['BTCUSDT', 'BTC-USD']]);
  assert.equal(map.resolve('BTCUSDT'), 'BTC-USD');
  assert.deepEqual(map.ids(), ['BTCUSDT']);
  assertUnknown(() => map.resolve('btcusdt'), 'btcusdt');
  assert.throws(
    () =>
      new SymbolMap('binance', [
        ['A', 'X'],
        ['A', 'Y'],
      ]),
    /listed twice/,
  );
});

// --- Coinbase ---------------------------------------------------------------

test('a Coinbase Exchange ticker normalizes to its exact best bid and ask, sizes, time and sequence', () => {
  assert.deepEqual(coinbase().normalize(cb['exchangeTicker'], RECEIVED), [
    {
      venue: 'coinbase',
      symbol: 'ETH-USD',
      ts: 1_666_222_102_061,
      bid: 1285.04,
      ask: 1285.27,
      bidSize: 0.46688654,
      askSize: 1.5663704,
      venueSeq: 37_475_248_783,
    },
  ]);
});

test('a Coinbase ticker given as JSON text normalizes the same as the parsed object', () => {
  assert.deepEqual(coinbase().normalize(JSON.stringify(cb['exchangeTicker'])), coinbase().normalize(cb['exchangeTicker']));
});

test('a Coinbase Advanced Trade ticker normalizes using best_bid_quantity and best_ask_quantity', () => {
  assert.deepEqual(coinbase().normalize(cb['advancedTradeTicker']), [
    {
      venue: 'coinbase',
      symbol: 'BTC-USD',
      ts: 1_675_974_637_167,
      bid: 21931.98,
      ask: 21933.98,
      bidSize: 8000.21,
      askSize: 8038.07770938,
      venueSeq: 0,
    },
  ]);
});

test('a Coinbase ticker that leaves the top of book unchanged, or arrives out of order, yields no quote', () => {
  const n = coinbase();
  assert.equal(n.normalize(cb['exchangeTicker']).length, 1);
  assert.deepEqual(n.normalize(cb['exchangeTickerSameTop']), []);
  assert.deepEqual(n.normalize(cb['exchangeTickerOlder']), []);
});

test('Coinbase subscription and heartbeat messages yield no quote', () => {
  assert.deepEqual(coinbase().normalize(cb['subscriptions']), []);
  assert.deepEqual(coinbase().normalize(cb['heartbeat']), []);
});

test('a malformed Coinbase ticker is refused with an error naming the field', () => {
  assertMalformed(() => coinbase().normalize(patched(cb['exchangeTicker']!, { best_bid: 'abc' })), 'best_bid');
  assertMalformed(() => coinbase().normalize(patched(cb['exchangeTicker']!, { product_id: undefined })), 'product_id');
  assertMalformed(() => coinbase().normalize(patched(cb['exchangeTicker']!, { best_ask: '1000' })), 'best_ask: crossed: ask below bid');
  assertMalformed(() => coinbase().normalize('{"type":'), 'not JSON');
});

test('a Coinbase ticker for an unmapped product is refused', () => {
  assertUnknown(() => coinbase().normalize(patched(cb['exchangeTicker']!, { product_id: 'DOGE-USD' })), 'DOGE-USD');
});

// --- Binance ----------------------------------------------------------------

test('a Binance bookTicker normalizes exactly, stamped with the receive time since it carries none', () => {
  assert.deepEqual(binance().normalize(bn['bookTicker'], RECEIVED), [
    {
      venue: 'binance',
      symbol: 'BTC-USD',
      ts: RECEIVED,
      bid: 60123.45,
      ask: 60123.46,
      bidSize: 1.25,
      askSize: 0.75,
      venueSeq: 400_900_217,
    },
  ]);
});

test('a Binance combined-stream frame is unwrapped and a futures bookTicker uses its event time', () => {
  const n = binance();
  n.normalize(bn['bookTicker'], RECEIVED);
  assert.deepEqual(n.normalize(bn['combinedStream'], RECEIVED), [
    {
      venue: 'binance',
      symbol: 'BTC-USD',
      ts: RECEIVED,
      bid: 60123.4,
      ask: 60123.46,
      bidSize: 3,
      askSize: 0.75,
      venueSeq: 400_900_218,
    },
  ]);
  assert.deepEqual(n.normalize(JSON.stringify(bn['futuresBookTicker']), RECEIVED), [
    {
      venue: 'binance',
      symbol: 'BTC-USD',
      ts: 1_735_689_600_123,
      bid: 60120.1,
      ask: 60120.2,
      bidSize: 10,
      askSize: 6,
      venueSeq: 400_900_300,
    },
  ]);
});

test('a repeated Binance update id and a subscription reply yield no quote', () => {
  const n = binance();
  n.normalize(bn['bookTicker'], RECEIVED);
  assert.deepEqual(n.normalize(bn['bookTicker'], RECEIVED), []);
  assert.deepEqual(n.normalize(bn['subscribeReply'], RECEIVED), []);
});

test('a malformed Binance bookTicker is refused with an error naming the field', () => {
  assertMalformed(() => binance().normalize(patched(bn['bookTicker']!, { B: undefined }), RECEIVED), 'B');
  assertMalformed(() => binance().normalize(patched(bn['bookTicker']!, { a: '-1' }), RECEIVED), 'a: a positive price');
});

test('a Binance bookTicker for an unmapped symbol is refused', () => {
  assertUnknown(() => binance().normalize(patched(bn['bookTicker']!, { s: 'DOGEUSDT' }), RECEIVED), 'DOGEUSDT');
});

// --- Polymarket -------------------------------------------------------------

test('a Polymarket book event normalizes to its best bid and ask in 0..1 with their sizes', () => {
  assert.deepEqual(polymarket().normalize(pm['bookYes']), [
    {
      venue: 'polymarket',
      symbol: 'PM:FED-DEC-CUT:YES',
      ts: 1_735_689_600_000,
      bid: 0.5,
      ask: 0.52,
      bidSize: 15,
      askSize: 25,
    },
  ]);
});

test('a Polymarket frame holding an array of book events yields one quote per asset', () => {
  const quotes = polymarket().normalize(JSON.stringify([pm['bookYes'], pm['bookNo']]));
  assert.deepEqual(
    quotes.map((q) => [q.symbol, q.bid, q.ask]),
    [
      ['PM:FED-DEC-CUT:YES', 0.5, 0.52],
      ['PM:FED-DEC-CUT:NO', 0.47, 0.51],
    ],
  );
});

test('Polymarket price changes move the best bid and ask, and a size of zero removes the level', () => {
  const n = polymarket();
  n.normalize(pm['bookYes']);
  assert.deepEqual(n.normalize(pm['priceChangeNewBestBid']), [
    {
      venue: 'polymarket',
      symbol: 'PM:FED-DEC-CUT:YES',
      ts: 1_735_689_601_000,
      bid: 0.51,
      ask: 0.52,
      bidSize: 40,
      askSize: 25,
    },
  ]);
  assert.deepEqual(n.normalize(pm['priceChangeRemoveBestAsk']), [
    {
      venue: 'polymarket',
      symbol: 'PM:FED-DEC-CUT:YES',
      ts: 1_735_689_602_000,
      bid: 0.51,
      ask: 0.53,
      bidSize: 40,
      askSize: 60,
    },
  ]);
  assert.deepEqual(n.normalize(pm['priceChangeBelowTop']), [], 'a change below the top moves nothing');
  assert.deepEqual(n.normalize(pm['legacyPriceChangeRemoveBestBid']), [
    {
      venue: 'polymarket',
      symbol: 'PM:FED-DEC-CUT:YES',
      ts: 1_735_689_604_000,
      bid: 0.5,
      ask: 0.53,
      bidSize: 15,
      askSize: 60,
    },
  ]);
  assert.equal(n.book(PM_YES)?.depth('bid'), 3);
});

test('Polymarket events without a book change, and price changes before the first book, yield no quote', () => {
  const n = polymarket();
  assert.deepEqual(n.normalize(pm['priceChangeNewBestBid']), []);
  n.normalize(pm['bookYes']);
  assert.deepEqual(n.normalize(pm['lastTradePrice']), []);
});

test('a malformed Polymarket event is refused with an error naming the field', () => {
  assertMalformed(() => polymarket().normalize(patched(pm['bookYes']!, { bids: [{ price: '1.5', size: '1' }] })), 'bids.0.price');
  assertMalformed(() => polymarket().normalize(patched(pm['bookYes']!, { timestamp: 'yesterday' })), 'timestamp');
  assertMalformed(
    () =>
      polymarket().normalize(
        patched(pm['priceChangeNewBestBid']!, {
          price_changes: [{ asset_id: PM_YES, price: '0.5', size: '1', side: 'BID' }],
        }),
      ),
    'price_changes.0.side',
  );
  assertMalformed(() => polymarket().normalize({ event_type: 'mystery' }), 'event_type');
});

test('a Polymarket event for an unmapped asset is refused and leaves the books untouched', () => {
  const n = polymarket();
  assertUnknown(() => n.normalize(patched(pm['bookYes']!, { asset_id: '123' })), '123');
  n.normalize(pm['bookYes']);
  const change = pm['priceChangeNewBestBid']!;
  const mixed = {
    ...change,
    price_changes: [...(change['price_changes'] as object[]), { asset_id: '999', price: '0.3', size: '1', side: 'BUY' }],
  };
  assertUnknown(() => n.normalize(mixed), '999');
  assert.equal(n.book(PM_YES)?.bestBid()?.price, 0.5);
});

// --- Kalshi -----------------------------------------------------------------

test('a Kalshi ticker normalizes cents to 0..1 and seconds to ms, with the NO quote mirrored when mapped', () => {
  assert.deepEqual(kalshi(true).normalize(kx['ticker'], RECEIVED), [
    { venue: 'kalshi', symbol: 'KX:BTC-100K-DEC:YES', ts: 1_735_689_600_000, bid: 0.47, ask: 0.49 },
    { venue: 'kalshi', symbol: 'KX:BTC-100K-DEC:NO', ts: 1_735_689_600_000, bid: 0.51, ask: 0.53 },
  ]);
});

test('a Kalshi snapshot gives YES bid = best YES bid and YES ask = 100 minus the best NO bid', () => {
  assert.deepEqual(kalshi().normalize(kx['snapshot'], RECEIVED), [
    {
      venue: 'kalshi',
      symbol: 'KX:BTC-100K-DEC:YES',
      ts: RECEIVED,
      bid: 0.47,
      ask: 0.48,
      bidSize: 50,
      askSize: 300,
      venueSeq: 1,
    },
  ]);
});

test('Kalshi deltas move the best bid and ask, and a level whose quantity reaches zero is removed', () => {
  const n = kalshi(true);
  n.normalize(kx['snapshot'], RECEIVED);
  assert.deepEqual(n.normalize(kx['deltaRemoveBestYesBid'], RECEIVED), [
    {
      venue: 'kalshi',
      symbol: 'KX:BTC-100K-DEC:YES',
      ts: 1_735_689_602_000,
      bid: 0.46,
      ask: 0.48,
      bidSize: 250,
      askSize: 300,
      venueSeq: 2,
    },
    { venue: 'kalshi', symbol: 'KX:BTC-100K-DEC:NO', ts: 1_735_689_602_000, bid: 0.52, ask: 0.54, bidSize: 300, askSize: 250, venueSeq: 2 },
  ]);
  assert.deepEqual(
    n.normalize(kx['deltaRemoveBestNoBid'], RECEIVED).map((q) => [q.symbol, q.bid, q.ask, q.bidSize, q.askSize]),
    [
      ['KX:BTC-100K-DEC:YES', 0.46, 0.49, 250, 120],
      ['KX:BTC-100K-DEC:NO', 0.51, 0.54, 120, 250],
    ],
  );
  assert.deepEqual(n.normalize(kx['deltaBelowTop'], RECEIVED), [], 'a change below the top moves nothing');
});

test('Kalshi detects a sequence gap, refuses deltas until a snapshot arrives, then recovers', () => {
  const n = kalshi();
  for (const name of ['snapshot', 'deltaRemoveBestYesBid', 'deltaRemoveBestNoBid', 'deltaBelowTop']) n.normalize(kx[name], RECEIVED);
  assert.throws(
    () => n.normalize(kx['deltaAfterGap'], RECEIVED),
    (err: unknown) => {
      assert.ok(err instanceof SequenceGapError);
      assert.equal(err.code, 'SEQUENCE_GAP');
      assert.equal(err.resync, true);
      assert.deepEqual([err.subscription, err.expected, err.received, err.instrumentIds], [2, 5, 6, [KX]]);
      return true;
    },
  );
  assert.deepEqual(n.awaitingSnapshot(), [KX]);
  assert.deepEqual(n.normalize(kx['deltaWhileStale'], RECEIVED), [], 'deltas are refused while the book is stale');
  assert.deepEqual(n.normalize(kx['resyncSnapshot'], RECEIVED), [
    {
      venue: 'kalshi',
      symbol: 'KX:BTC-100K-DEC:YES',
      ts: RECEIVED,
      bid: 0.4,
      ask: 0.45,
      bidSize: 10,
      askSize: 20,
      venueSeq: 8,
    },
  ]);
  assert.deepEqual(n.awaitingSnapshot(), []);
  assert.deepEqual(n.normalize(kx['deltaAfterResync'], RECEIVED), [
    {
      venue: 'kalshi',
      symbol: 'KX:BTC-100K-DEC:YES',
      ts: 1_735_689_609_000,
      bid: 0.41,
      ask: 0.45,
      bidSize: 5,
      askSize: 20,
      venueSeq: 9,
    },
  ]);
});

test('Kalshi deltas before any snapshot are refused and control frames yield no quote', () => {
  const n = kalshi();
  assert.deepEqual(n.normalize(kx['deltaRemoveBestYesBid'], RECEIVED), []);
  assert.deepEqual(n.awaitingSnapshot(), [KX]);
  assert.deepEqual(n.normalize(kx['subscribed'], RECEIVED), []);
});

test('a malformed Kalshi frame is refused with an error naming the field', () => {
  assertMalformed(() => kalshi().normalize(patched(kx['deltaRemoveBestYesBid']!, { side: 'maybe' }, true), RECEIVED), 'msg.side');
  assertMalformed(() => kalshi().normalize(patched(kx['deltaRemoveBestYesBid']!, { price: 150 }, true), RECEIVED), 'msg.price');
  assertMalformed(() => kalshi().normalize(patched(kx['snapshot']!, { seq: undefined }), RECEIVED), 'seq');
  assertMalformed(() => kalshi().normalize(patched(kx['snapshot']!, { yes: [[45]] }, true), RECEIVED), 'msg.yes.0');
});

test('a Kalshi frame for an unmapped market is refused but still consumes its sequence number', () => {
  const n = kalshi();
  n.normalize(kx['snapshot'], RECEIVED);
  assertUnknown(
    () => n.normalize(patched(kx['deltaRemoveBestYesBid']!, { market_ticker: 'KXOTHER-25DEC31' }, true), RECEIVED),
    'KXOTHER-25DEC31',
  );
  assert.deepEqual(
    n.normalize(kx['deltaRemoveBestNoBid'], RECEIVED).map((q) => [q.bid, q.ask]),
    [[0.47, 0.49]],
  );
});

test('a Kalshi sequence gap is reported even when the gapped frame is for an unmapped market', () => {
  const n = kalshi();
  n.normalize(kx['snapshot'], RECEIVED);
  const gapped = patched(kx['deltaAfterGap']!, { market_ticker: 'KXOTHER-25DEC31' }, true);
  assert.throws(
    () => n.normalize(gapped, RECEIVED),
    (err: unknown) => err instanceof SequenceGapError && err.instrumentIds.join() === KX,
  );
  assert.deepEqual(n.awaitingSnapshot(), [KX]);
});
