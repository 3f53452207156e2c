import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { TickPayloadReader } from '../nats/tick-payload.js';

const SYMBOL = 'BTC-USD';
const SYMBOL_BYTES = new TextEncoder().encode(SYMBOL);
const enc = new Encoder({ ignoreUndefined: true });

/** xorshift32, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * What the generic path makes of a payload: the fields the reader must give
 * when it answers true, or undefined when the generic path would refuse it.
 */
function generic(data: Uint8Array): { ts: number; bid: number; ask: number; bidSize: number; askSize: number } | undefined {
  let body: unknown;
  try {
    body = new Decoder().decode(data);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const p = body as Record<string, unknown>;
  const { ts, bid, ask, bidSize, askSize } = p;
  if (p['symbol'] !== SYMBOL || !finite(ts) || !finite(bid) || !finite(ask)) return undefined;
  if (bidSize !== undefined && bidSize !== null && !finite(bidSize)) return undefined;
  if (askSize !== undefined && askSize !== null && !finite(askSize)) return undefined;
  return { ts, bid, ask, bidSize: finite(bidSize) ? bidSize : Number.NaN, askSize: finite(askSize) ? askSize : Number.NaN };
}

function check(data: Uint8Array, label: string): boolean {
  const r = new TickPayloadReader();
  const read = r.read(data, SYMBOL_BYTES);
  const want = generic(data);
  if (!read) return false;
  assert.ok(want !== undefined, `${label}: read a payload the generic path refuses (${Buffer.from(data).toString('hex')})`);
  assert.deepEqual(
    { ts: r.ts, bid: r.bid, ask: r.ask, bidSize: r.bidSize, askSize: r.askSize },
    want,
    `${label}: fields differ (${Buffer.from(data).toString('hex')})`,
  );
  return true;
}

const VALUES: Array<(r: () => number) => unknown> = [
  (r) => r() * 100_000,
  (r) => Math.floor(r() * 300) - 150, // fixints, int8/16, uint8
  (r) => Math.floor(r() * 2 ** 32), // uint32
  (r) => -Math.floor(r() * 2 ** 31), // int32
  (r) => Math.floor(r() * 2 ** 52) + 2 ** 40, // 64-bit integers
  () => 1_772_438_400_000, // a time in ms: uint64
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => null,
  () => true,
  () => SYMBOL,
  () => 'ETH-USD',
  () => 'x'.repeat(300), // str16
  () => ({ nested: 1 }),
  () => [1, 2],
  () => new Uint8Array([1, 2, 3]),
];
const KEYS = ['symbol', 'ts', 'bid', 'ask', 'bidSize', 'askSize', 'venue', 'venueSeq', 'a-longer-key-than-sixteen-bytes'];

describe('TickPayloadReader', () => {
  test('reads a tick as the publisher writes it, with the values the generic decoder gives', () => {
    const data = enc.encode({
      symbol: SYMBOL,
      ts: 1_772_438_400_123,
      bid: 60_000.5,
      ask: 60_001.25,
      bidSize: 1.5,
      askSize: 2.5,
      venue: 'coinbase',
      venueSeq: 7,
    });
    assert.equal(check(data, 'as published'), true); // a time in ms is a 64-bit integer
    const small = enc.encode({
      symbol: SYMBOL,
      ts: 1_000_000,
      bid: 60_000.5,
      ask: 60_001.25,
      bidSize: 1.5,
      venue: 'coinbase',
      venueSeq: 7,
    });
    assert.equal(check(small, 'plain'), true);
    const f64 = new Encoder({ forceFloat32: false, forceIntegerToFloat: true }).encode({
      symbol: SYMBOL,
      ts: 1_772_438_400_123,
      bid: 1,
      ask: 2,
    });
    assert.equal(check(f64, 'float64 time'), true);
  });

  test('answers true only with the fields the generic decoder gives, over random and mutated payloads', () => {
    const r = rng(12345);
    let read = 0;
    for (let i = 0; i < 20_000; i++) {
      const obj: Record<string, unknown> = {};
      const required = r() < 0.8;
      if (required) {
        obj['symbol'] = r() < 0.9 ? SYMBOL : 'ETH-USD';
        obj['ts'] = r() < 0.8 ? Math.floor(r() * 2 ** 31) : VALUES[Math.floor(r() * VALUES.length)]!(r);
        obj['bid'] = r() < 0.8 ? r() * 100 : VALUES[Math.floor(r() * VALUES.length)]!(r);
        obj['ask'] = r() < 0.8 ? r() * 100 : VALUES[Math.floor(r() * VALUES.length)]!(r);
      }
      const extra = Math.floor(r() * 4);
      for (let k = 0; k < extra; k++) obj[KEYS[Math.floor(r() * KEYS.length)]!] = VALUES[Math.floor(r() * VALUES.length)]!(r);
      const forceFloat = r() < 0.3;
      let data = new Encoder({ forceFloat32: forceFloat && r() < 0.5, forceIntegerToFloat: forceFloat }).encode(obj);
      const mutation = r();
      if (mutation < 0.15) {
        data = data.slice();
        data[Math.floor(r() * data.length)] = Math.floor(r() * 256);
      } else if (mutation < 0.2) data = data.slice(0, Math.floor(r() * data.length));
      else if (mutation < 0.25) data = Uint8Array.from([...data, Math.floor(r() * 256)]);
      if (check(data, `case ${i}`)) read++;
    }
    assert.ok(read > 2_000, `the fast path read only ${read} payloads`);
  });

  test('leaves a duplicate key, an overlong key, a __proto__ key and a payload in the middle of a buffer as the generic decoder reads them', () => {
    const base = enc.encode({ symbol: SYMBOL, ts: 5, bid: 1, ask: 2 });
    // Later duplicates win, as in the generic decoder.
    const dup = Uint8Array.from([0x85, ...base.slice(1), 0xa3, ...Buffer.from('bid'), 0x03]);
    assert.equal(check(dup, 'duplicate'), true);
    assert.equal(new TickPayloadReader().read(dup, SYMBOL_BYTES) && generic(dup)?.bid, 3);
    // "bid" spelled with an overlong 'b' (0xc1 0xa2): the generic decoder reads it as "bid"; not read here.
    const overlong = Uint8Array.from([0x85, ...base.slice(1), 0xa4, 0xc1, 0xa2, ...Buffer.from('id'), 0x03]);
    assert.equal(check(overlong, 'overlong'), false);
    const proto = Uint8Array.from([0x85, ...base.slice(1), 0xa9, ...Buffer.from('__proto__'), 0x01]);
    assert.equal(check(proto, '__proto__'), false);
    const inside = new Uint8Array(base.length + 10);
    inside.set(base, 5);
    assert.equal(check(inside.subarray(5, 5 + base.length), 'subarray'), true);
  });
});
