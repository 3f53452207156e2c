import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { cents, Harness, ofType, types } from './harness.js';

/** Binary shares only, 10K, nominal 10x leverage that binary shares must ignore. */
function binaryTier(fee: number, rules: object = {}) {
  return parseTier({
    id: 'pm',
    version: 1,
    name: 'Prediction',
    timezone: 'UTC',
    kinds: ['binary'],
    leverage: 10,
    fees: { linear: 0, binary: fee },
    phases: [{ name: 'challenge', startingBalance: 10_000, rules }],
  });
}

const YES = 'PM:FED-DEC-CUT:YES';
const NO = 'PM:FED-DEC-CUT:NO';

test('a binary share costs its price times the shares with no leverage, plus the binary fee', () => {
  const h = new Harness(binaryTier(0.01));
  h.tick(YES, 0.39, 0.4);

  const tooMany = h.buy(YES, 25_000); // 10,000 + 100 fee > 10,000
  const fits = h.buy(YES, 24_000); // 9,600 + 96 fee

  assert.equal(ofType(tooMany, 'order.rejected')[0]?.reason, 'INSUFFICIENT_MARGIN');
  const [f] = ofType(fits, 'order.filled');
  assert.deepEqual([f?.qty, f?.price, cents(f!.fee)], [24_000, 0.4, 96]);
  const fig = h.figures();
  assert.equal(cents(fig.usedMargin), 9_600);
  assert.equal(cents(fig.balance), 10_000 - 96);
  assert.equal(cents(fig.equity), cents(10_000 - 96 + (0.39 - 0.4) * 24_000)); // marked at the bid
});

test('a resolution settles the winning outcome at 1 and the losing outcome at 0 with realized P&L', () => {
  const h = new Harness(binaryTier(0));
  h.tick(YES, 0.39, 0.4);
  h.tick(NO, 0.55, 0.56);
  h.buy(YES, 1_000); // cost 400
  h.tick(NO, 0.54, 0.55);
  h.buy(NO, 500); // cost 275

  const out = h.resolve('PM:FED-DEC-CUT', 'YES');

  assert.deepEqual(
    ofType(out, 'position.settled').map((e) => [e.symbol, e.qty, e.payout, cents(e.realizedPnl)]),
    [
      [YES, 1_000, 1, 600],
      [NO, 500, 0, -275],
    ],
  );
  const s = h.state();
  assert.deepEqual(s.positions, {});
  assert.equal(cents(s.balance), 10_325);
  assert.equal(cents(s.dayPnl[0]!), 325);
});

test('a resolution cancels working orders on that market only, as MARKET_RESOLVED', () => {
  const h = new Harness(binaryTier(0));
  h.tick(YES, 0.39, 0.4);
  h.tick('KX:BTC-100K-DEC:YES', 0.2, 0.21);
  const onMarket = ofType(h.place({ symbol: YES, side: 'buy', type: 'limit', qty: 100, limitPrice: 0.3 }), 'order.accepted')[0]!.order;
  const elsewhere = ofType(
    h.place({ symbol: 'KX:BTC-100K-DEC:YES', side: 'buy', type: 'limit', qty: 100, limitPrice: 0.1 }),
    'order.accepted',
  )[0]!.order;

  const out = h.resolve('PM:FED-DEC-CUT', 'NO');

  assert.deepEqual(
    ofType(out, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[onMarket.id, 'MARKET_RESOLVED']],
  );
  assert.deepEqual(Object.keys(h.state().orders), [elsewhere.id]);
});

test('a settlement that takes equity under the max-loss floor fails the assessment with the resolution as cause', () => {
  const h = new Harness(binaryTier(0, { maxLoss: { limit: { pct: 20 } } })); // floor 8,000
  h.tick(YES, 0.5, 0.5);
  h.buy(YES, 5_000); // cost 2,500, equity 10,000
  const seq = h.nextSeq;

  const out = h.resolve('PM:FED-DEC-CUT', 'NO');

  assert.deepEqual(types(out), ['position.settled', 'rules.violation-detected', 'assessment.failed']);
  const v = ofType(out, 'rules.violation-detected')[0]!.violation;
  assert.deepEqual(v.cause, { kind: 'resolution', seq, ts: h.now, market: 'PM:FED-DEC-CUT', outcome: 'NO' });
  assert.deepEqual([v.limit, v.value], [8_000, 7_500]);
});

test('binary risk per trade is the whole cost of the shares', () => {
  const h = new Harness(binaryTier(0, { riskPerTrade: { maxPct: 10 } })); // 1,000 of 10,000
  h.tick(YES, 0.5, 0.5);

  const over = h.buy(YES, 2_001);
  const fits = h.buy(YES, 2_000);

  assert.equal(ofType(over, 'order.rejected')[0]?.reason, 'RISK_PER_TRADE_EXCEEDED');
  assert.equal(ofType(fits, 'order.filled').length, 1);
});

test('open gains on shares do not fund new shares: buying power is cash, not equity', () => {
  const h = new Harness(binaryTier(0));
  h.tick(YES, 0.39, 0.4);
  h.buy(YES, 20_000); // 8,000 of cash in shares, 2,000 left
  h.tick(YES, 0.79, 0.8); // open gain (0.79 − 0.40) × 20,000 = 7,800

  // The other outcome at 0.20: 12,000 shares cost 2,400 > the 2,000 of cash, though equity is 17,800.
  h.tick(NO, 0.19, 0.2);
  const refused = h.buy(NO, 12_000);
  const fits = h.buy(NO, 10_000); // 2,000

  assert.equal(ofType(refused, 'order.rejected')[0]?.reason, 'INSUFFICIENT_MARGIN');
  assert.equal(ofType(fits, 'order.filled')[0]?.qty, 10_000);
});

test("buying more shares of an outcome is judged on the whole position's cost, not the new shares alone", () => {
  const h = new Harness(
    parseTier({
      id: 'pm-risk-position',
      version: 1,
      name: 'PM risk',
      timezone: 'UTC',
      kinds: ['binary'],
      fees: { linear: 0, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 10_000, rules: { riskPerTrade: { maxPct: 10 } } }],
    }),
  );
  h.tick('PM:FED-DEC-CUT:YES', 0.5, 0.5);
  h.buy('PM:FED-DEC-CUT:YES', 1_500); // 750

  const more = h.buy('PM:FED-DEC-CUT:YES', 1_000); // 750 + 500 > 1,000

  assert.deepEqual(
    ofType(more, 'order.rejected').map((e) => e.reason),
    ['RISK_PER_TRADE_EXCEEDED'],
  );
});
