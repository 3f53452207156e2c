import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand } from '../../actors/index.js';
import { FrameCodec, FrameError, PROTOCOL_JSON } from '../protocol/protocol.js';

const long = 'x'.repeat(65);

test('a client order id longer than 64 characters is refused by the command schema every door uses', () => {
  assert.throws(() => parseCommand({ kind: 'place', clientOrderId: long, symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 1 }));
  assert.throws(() => parseCommand({ kind: 'close-position', clientOrderId: long, symbol: 'BTC-USD' }));
  assert.equal(parseCommand({ kind: 'close-position', clientOrderId: 'x'.repeat(64), symbol: 'BTC-USD' }).kind, 'close-position');
});

test('a socket order frame with a client order id longer than 64 characters is refused MALFORMED_FRAME', () => {
  const codec = new FrameCodec(PROTOCOL_JSON, 65_536);
  const frame = {
    t: 'order',
    id: 1,
    assessmentId: 'a1',
    order: { op: 'place', clientOrderId: long, symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 1 },
  };
  const bytes = new TextEncoder().encode(JSON.stringify(frame));

  assert.throws(
    () => codec.decode(bytes.buffer as ArrayBuffer, false),
    (err: unknown) => err instanceof FrameError && err.code === 'MALFORMED_FRAME',
  );
});
