import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTape, TapeError, type TapeRefusal } from '../tape.js';

const clock = '{"type":"clock","time":"2026-03-02T08:00:00Z"}';
const tick = (seq: number, symbol: string, bid: number, ask: number, extra = '') =>
  `{"type":"tick","seq":${seq},"ts":"2026-03-02T08:00:00Z","symbol":"${symbol}","bid":${bid},"ask":${ask}${extra}}`;

function refusal(text: string): { line: number; reason: TapeRefusal } {
  try {
    parseTape(text);
  } catch (err) {
    assert.ok(err instanceof TapeError, String(err));
    return { line: err.line, reason: err.reason };
  }
  assert.fail('the tape was accepted');
}

test('a binary tick priced in cents (97) is refused with its line number and PRICE_OUT_OF_RANGE', () => {
  const text = [clock, '# a comment', tick(1, 'PM:FED-DEC-CUT:YES', 0.4, 0.42), tick(2, 'PM:FED-DEC-CUT:YES', 96, 97)].join('\n');
  assert.deepEqual(refusal(text), { line: 4, reason: 'PRICE_OUT_OF_RANGE' });
  assert.throws(() => parseTape(text), /tape line 4: PRICE_OUT_OF_RANGE: tick PM:FED-DEC-CUT:YES bid 96 ask 97/);
});

test('a tick whose seq repeats or goes below an earlier one is refused with SEQ_NOT_INCREASING', () => {
  assert.deepEqual(refusal([clock, tick(1, 'BTC-USD', 1, 2), tick(2, 'ETH-USD', 1, 2), tick(2, 'BTC-USD', 1, 2)].join('\n')), {
    line: 4,
    reason: 'SEQ_NOT_INCREASING',
  });
  assert.deepEqual(refusal([tick(5, 'BTC-USD', 1, 2), tick(3, 'BTC-USD', 1, 2)].join('\n')), { line: 2, reason: 'SEQ_NOT_INCREASING' });
  // Ticks and resolutions share one sequence, as on the market stream.
  assert.deepEqual(
    refusal(
      [tick(5, 'PM:FED-DEC-CUT:YES', 0.4, 0.5), '{"type":"resolution","seq":5,"ts":0,"market":"PM:FED-DEC-CUT","outcome":"YES"}'].join(
        '\n',
      ),
    ),
    { line: 2, reason: 'SEQ_NOT_INCREASING' },
  );
});

test('linear ticks are refused by reason: crossed, not positive, negative size, unknown symbol, fractional time', () => {
  assert.equal(refusal(tick(1, 'BTC-USD', 2, 1)).reason, 'CROSSED_QUOTE');
  assert.equal(refusal(tick(1, 'BTC-USD', 0, 1)).reason, 'PRICE_NOT_POSITIVE');
  assert.equal(refusal(tick(1, 'BTC-USD', 1, 2, ',"bidSize":-1')).reason, 'INVALID_SIZE');
  assert.equal(refusal(tick(1, 'DOGE-USD', 1, 2)).reason, 'UNKNOWN_SYMBOL');
  assert.equal(refusal('{"type":"tick","seq":1,"ts":1.5,"symbol":"BTC-USD","bid":1,"ask":2}').reason, 'MALFORMED_LINE');
  // A displayed size of zero is a valid (empty) level.
  assert.equal(parseTape(tick(1, 'BTC-USD', 1, 2, ',"bidSize":0')).length, 1);
});

test('a tick of an instrument the tape declares is checked by that instrument kind', () => {
  const inst = '{"type":"instrument","instrument":{"symbol":"PM:X:YES","kind":"binary","minQty":1,"market":"PM:X","outcome":"YES"}}';
  assert.equal(parseTape([inst, tick(1, 'PM:X:YES', 0, 1)].join('\n')).length, 2);
  assert.deepEqual(refusal([inst, tick(1, 'PM:X:YES', 0.5, 1.5)].join('\n')), { line: 2, reason: 'PRICE_OUT_OF_RANGE' });
  assert.deepEqual(refusal(tick(1, 'PM:X:YES', 0.5, 0.6)), { line: 1, reason: 'UNKNOWN_SYMBOL' });
});

test('resolutions of an unknown market, an unknown outcome or a market already resolved are refused', () => {
  const r = (seq: number, market: string, outcome: string) =>
    `{"type":"resolution","seq":${seq},"ts":0,"market":"${market}","outcome":"${outcome}"}`;
  assert.deepEqual(refusal(r(1, 'PM:NOPE', 'YES')), { line: 1, reason: 'UNKNOWN_MARKET' });
  assert.deepEqual(refusal(r(1, 'PM:FED-DEC-CUT', 'MAYBE')), { line: 1, reason: 'UNKNOWN_OUTCOME' });
  assert.deepEqual(refusal([r(1, 'PM:FED-DEC-CUT', 'YES'), r(2, 'PM:FED-DEC-CUT', 'NO')].join('\n')), {
    line: 2,
    reason: 'ALREADY_RESOLVED',
  });
});

test('a clock line earlier than the one before it is refused with CLOCK_BACKWARDS; an equal one is accepted', () => {
  assert.equal(parseTape([clock, clock].join('\n')).length, 2);
  assert.deepEqual(refusal([clock, '{"type":"clock","time":"2026-03-02T07:59:59Z"}'].join('\n')), { line: 2, reason: 'CLOCK_BACKWARDS' });
});
