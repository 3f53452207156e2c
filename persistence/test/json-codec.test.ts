import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeJson, encodeJson } from '../index.js';

const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.double(),
    fc.constantFrom(Infinity, -Infinity, NaN, -0, 0),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 }),
  ),
})).node;

test('any JSON-like value with non-finite numbers and nulls anywhere survives encode and decode', () => {
  fc.assert(
    fc.property(value, (v) => {
      // -0 becomes 0 in JSON, as everywhere; every other number, ±Infinity and NaN included, comes back.
      assert.deepEqual(decodeJson(encodeJson(v)), normalize(v));
    }),
    { numRuns: 2_000 },
  );
});

test('a value without non-finite numbers encodes to plain JSON', () => {
  const state = { id: 'a1', balance: 100_000.5, positions: { 'BTC-USD': { qty: 0.1 } }, tags: ['x'], note: 'null and void' };
  assert.equal(encodeJson(state), JSON.stringify(state));
  assert.equal(encodeJson({ floor: -Infinity }), '{"floor":{"__float":"-Infinity"}}');
});

function normalize(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}
