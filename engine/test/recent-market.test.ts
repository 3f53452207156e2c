import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { boundedStep } from '../main/compose-node.js';
import { RecentMarket } from '../cluster/recent-market.js';
import type { MarketInput } from '../node/ports.js';

const tick = (seq: number): MarketInput =>
  ({ type: 'tick', seq, symbol: 'BTC-USD', bid: 100, ask: 101, ts: seq * 1_000 }) as unknown as MarketInput;

test('the ring of recent inputs answers every input after a seq it still reaches, in order, and nothing for one it no longer reaches', () => {
  const ring = new RecentMarket(4, 10);
  assert.deepEqual(ring.since(10), [], 'nothing applied yet after its start');
  for (const seq of [11, 12, 14, 15]) ring.push(tick(seq)); // 13 was skipped by the log
  assert.deepEqual(
    ring.since(10)!.map((m) => m.seq),
    [11, 12, 14, 15],
  );
  assert.deepEqual(
    ring.since(12)!.map((m) => m.seq),
    [14, 15],
  );
  assert.equal(ring.since(9), undefined, 'before its start it cannot say');
  ring.push(tick(16)); // 11 leaves
  assert.equal(ring.floor, 11);
  assert.equal(ring.since(10), undefined, 'the input after 10 is gone');
  assert.deepEqual(
    ring.since(11)!.map((m) => m.seq),
    [12, 14, 15, 16],
  );
});

test("a ring backfilled at start reaches back before the node's start position, and only when it was empty", () => {
  const ring = new RecentMarket(8, 20);
  ring.backfill(16, [17, 18, 19, 20].map(tick));
  assert.equal(ring.floor, 16);
  ring.push(tick(21));
  assert.deepEqual(
    ring.since(16)!.map((m) => m.seq),
    [17, 18, 19, 20, 21],
  );
  ring.backfill(2, [3, 4].map(tick));
  assert.equal(ring.floor, 16, 'a ring already in use is not backfilled');
});

test('a stop step that never finishes is given up after its bound, and one that fails does not stop the next', async () => {
  const log = pino({ level: 'silent' });
  const t0 = performance.now();
  await boundedStep('hangs', () => new Promise(() => undefined), 50, log);
  assert.ok(performance.now() - t0 < 1_000, 'given up after its bound');
  let next = false;
  await boundedStep('fails', () => Promise.reject(new Error('gone')), 50, log);
  await boundedStep('next', async () => void (next = true), 50, log);
  assert.equal(next, true);
});
