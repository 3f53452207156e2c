import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_INSTRUMENTS, type Instrument, type Tick } from '../../actors/index.js';
import { SyntheticFeed, type FeedItem } from '../market-data/synthetic-feed.js';

const ticksOf = (items: readonly FeedItem[]): Tick[] => items.flatMap((i) => (i.type === 'tick' ? [i.tick] : []));
const tsOf = (item: FeedItem): number => (item.type === 'tick' ? item.tick.ts : item.resolution.ts);
const seqOf = (item: FeedItem): number => (item.type === 'tick' ? item.tick.seq : item.resolution.seq);
const binary = new Map(DEFAULT_INSTRUMENTS.filter((i) => i.kind === 'binary').map((i) => [i.symbol, i]));

/** A feed whose markets resolve within the first few thousand items. */
const shortFeed = (seed = 'resolve') => new SyntheticFeed({ seed, resolveAfterMs: 60_000, startTime: 1_700_000_000_000 });

test('the same seed produces the identical sequence of items', () => {
  const a = new SyntheticFeed({ seed: 'alpha' }).take(5_000);
  const b = new SyntheticFeed({ seed: 'alpha' }).take(5_000);
  assert.deepEqual(a, b);
});

test('a different seed produces a different sequence of ticks', () => {
  const a = ticksOf(new SyntheticFeed({ seed: 'alpha' }).take(500));
  const b = ticksOf(new SyntheticFeed({ seed: 'beta' }).take(500));
  assert.notDeepEqual(a, b);
});

test('seq starts at startSeq and increases by exactly one per item, resolutions included', () => {
  const items = new SyntheticFeed({ seed: 'seq', startSeq: 42, resolveAfterMs: 10_000 }).take(2_000);
  assert.ok(items.some((i) => i.type === 'resolution'));
  items.forEach((item, index) => assert.equal(seqOf(item), 42 + index));
});

test('time starts at startTime and never goes backwards', () => {
  const feed = new SyntheticFeed({ seed: 'time', startTime: 1_700_000_000_000, resolveAfterMs: 10_000 });
  assert.equal(feed.now, 1_700_000_000_000);
  const items = feed.take(5_000);
  assert.equal(tsOf(items[0]!), 1_700_000_000_000);
  for (let i = 1; i < items.length; i++) assert.ok(tsOf(items[i]!) >= tsOf(items[i - 1]!), `item ${i} went back in time`);
  assert.equal(feed.now, tsOf(items.at(-1)!));
});

test('every tick has 0 < bid < ask, positive sizes and prices on the tick grid', () => {
  for (const tick of ticksOf(new SyntheticFeed({ seed: 'book' }).take(20_000))) {
    assert.ok(tick.bid > 0 && tick.bid < tick.ask, `${tick.symbol} ${tick.bid}/${tick.ask}`);
    assert.ok((tick.bidSize ?? 0) > 0 && (tick.askSize ?? 0) > 0, `${tick.symbol} sizes`);
    const grid = binary.has(tick.symbol) ? 1000 : 100;
    for (const price of [tick.bid, tick.ask]) assert.equal(Math.round(price * grid) / grid, price);
  }
});

test('binary ticks stay inside [0.001, 0.999] with YES and NO mids summing to one', () => {
  // A wild walk pushes prices to the bounds, where clamping matters.
  const feed = new SyntheticFeed({ seed: 'binary', markets: { 'PM:FED-DEC-CUT': { sigma: 40, probability: 0.97 } } });
  const mids = new Map<string, number>();
  let pairs = 0;
  let atBound = false;
  for (const tick of ticksOf(feed.take(20_000))) {
    const instrument = binary.get(tick.symbol);
    if (instrument === undefined) continue;
    assert.ok(tick.bid >= 0.001 && tick.ask <= 0.999, `${tick.symbol} ${tick.bid}/${tick.ask}`);
    atBound ||= tick.bid === 0.001 || tick.ask === 0.999;
    const spread = Math.round((tick.ask - tick.bid) * 1000);
    assert.ok(spread >= 10 && spread <= 20, `${tick.symbol} spread ${spread}`);
    mids.set(tick.symbol, (tick.bid + tick.ask) / 2);
    if (instrument.outcome === 'NO') {
      const yes = mids.get(`${instrument.market}:YES`);
      assert.ok(yes !== undefined && Math.abs(yes + (tick.bid + tick.ask) / 2 - 1) < 1e-9, `${instrument.market} mids`);
      pairs++;
    }
  }
  assert.ok(pairs > 1_000);
  assert.ok(atBound, 'the walk should have pushed a book against a bound');
});

test('each market resolves exactly once, to one of its outcomes, and its instruments tick no more afterwards', () => {
  const items = shortFeed().take(10_000);
  const resolvedAt = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    if (item.type === 'resolution') {
      const { market, outcome, ts } = item.resolution;
      assert.ok(!resolvedAt.has(market), `${market} resolved twice`);
      assert.ok(outcome === 'YES' || outcome === 'NO');
      assert.equal(ts, 1_700_000_060_000);
      resolvedAt.set(market, index);
    } else {
      const market = binary.get(item.tick.symbol)?.market;
      if (market !== undefined) assert.ok(!resolvedAt.has(market), `${item.tick.symbol} ticked after resolution`);
    }
  }
  assert.deepEqual([...resolvedAt.keys()].sort(), ['KX:BTC-100K-DEC', 'PM:FED-DEC-CUT']);
  // Linear instruments go on after the markets close.
  const last = Math.max(...resolvedAt.values());
  assert.ok(items.slice(last + 1).some((i) => i.type === 'tick' && i.tick.symbol === 'BTC-USD'));
});

test('the winning outcome follows the final probability across seeds', () => {
  const outcomes = (probability: number) =>
    Array.from({ length: 40 }, (_, k) => {
      const feed = new SyntheticFeed({
        seed: `winner-${k}`,
        instruments: [...binary.values()].slice(0, 2),
        resolveAfterMs: 1_000,
        markets: { 'PM:FED-DEC-CUT': { probability, sigma: 0 } },
      });
      const resolution = feed.take(100).find((i) => i.type === 'resolution');
      assert.ok(resolution?.type === 'resolution');
      return resolution.resolution.outcome;
    });
  // With a walk that cannot move, p = 0.99 and 0.01 are near-certain.
  assert.ok(outcomes(0.99).filter((o) => o === 'YES').length >= 36);
  assert.ok(outcomes(0.01).filter((o) => o === 'NO').length >= 36);
});

test('a feed of binary markets only ends after the last resolution', () => {
  const feed = new SyntheticFeed({ seed: 'end', instruments: [...binary.values()], resolveAfterMs: 500 });
  const items = feed.take(1_000_000);
  assert.ok(feed.done);
  assert.equal(items.filter((i) => i.type === 'resolution').length, 2);
  assert.equal(items.at(-1)?.type, 'resolution');
  assert.throws(() => feed.next(), /exhausted/);
});

test('symbol overrides and unknown linear instruments get their starting prices', () => {
  const extra: Instrument = { symbol: 'DOGE-USD', kind: 'linear', venue: 'test', minQty: 1 };
  const feed = new SyntheticFeed({
    seed: 'prices',
    instruments: [...DEFAULT_INSTRUMENTS, extra],
    symbols: { 'ETH-USD': { price: 2_500 } },
  });
  const first = new Map(ticksOf(feed.take(DEFAULT_INSTRUMENTS.length + 1)).map((t) => [t.symbol, (t.bid + t.ask) / 2]));
  const expected: Record<string, number> = { 'BTC-USD': 60_000, 'ETH-USD': 2_500, 'SOL-USD': 150, 'DOGE-USD': 100 };
  for (const [symbol, price] of Object.entries(expected)) {
    const mid = first.get(symbol);
    assert.ok(mid !== undefined && Math.abs(mid / price - 1) < 5e-4, `${symbol} starts at ${mid}, expected ~${price}`);
  }
});

test('invalid options are rejected', () => {
  assert.throws(() => new SyntheticFeed({ seed: 'x', meanIntervalMs: 0 }), RangeError);
  assert.throws(() => new SyntheticFeed({ seed: 'x', markets: { 'PM:FED-DEC-CUT': { probability: 1 } } }), RangeError);
  const dup = DEFAULT_INSTRUMENTS[0]!;
  assert.throws(() => new SyntheticFeed({ seed: 'x', instruments: [dup, dup] }), /duplicate/);
});
