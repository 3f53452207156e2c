import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryRateLimiter } from '../../persistence/index.js';
import { LeasedBudget } from '../server/trader-budget.js';

function budget(): { b: LeasedBudget; advance: (ms: number) => void } {
  let now = 1_000_000;
  const b = new LeasedBudget({
    limiter: new MemoryRateLimiter({ limit: 100, windowMs: 1_000 }),
    prefix: 'frames:',
    chunk: 20,
    clock: () => now,
  });
  return { b, advance: (ms) => (now += ms) };
}

test('a connected trader idle past the sweep keeps its lease, so its next frame is taken at once', async () => {
  const { b, advance } = budget();
  await b.prime('trader-1');
  assert.equal(b.take('trader-1'), true);
  advance(60_000);
  b.sweep(10_000, (key) => key === 'trader-1');
  assert.equal(b.take('trader-1'), true, 'a calm trader still connected must not lose its frame to the sweep');
});

test('a trader with no connection left loses its idle lease to the sweep, and is primed again on its next sign-in', async () => {
  const { b, advance } = budget();
  await b.prime('trader-2');
  b.take('trader-2');
  advance(60_000);
  b.sweep(10_000, () => false);
  assert.equal(b.size, 0);
  assert.equal(b.take('trader-2'), false, 'no lease: the frame waits for a refill');
  await b.prime('trader-2');
  assert.equal(b.take('trader-2'), true);
});
