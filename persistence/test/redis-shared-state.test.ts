import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceGate } from '../../engine/testing/index.js';
import { connectRedis, createSharedState, SharedStateUnavailableError, type SharedState } from '../index.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const WINDOW_MS = 100;
const LIMIT = 3;

/** A fake clock, starting on a window boundary. */
function fakeClock() {
  let now = 1_700_000_000_000;
  return { clock: () => now, advance: (ms: number) => void (now += ms) };
}

interface Harness {
  state: SharedState;
  /** Move time forward: the fake clock always, real time too when Redis owns expiry. */
  advance(ms: number): Promise<void>;
}

/** The contract every implementation keeps. */
function contract(make: () => Promise<Harness>) {
  let h: Harness;
  before(async () => {
    h = await make();
  });
  after(async () => {
    await h.state.close();
  });

  test('the limit refuses the (n+1)th request in a window and allows again after it', async () => {
    const { rateLimiter } = h.state;
    for (let i = 1; i <= LIMIT; i++) {
      assert.deepEqual(await rateLimiter.take('acct-1'), { allowed: true, remaining: LIMIT - i, resetMs: WINDOW_MS });
    }
    assert.deepEqual(await rateLimiter.take('acct-1'), { allowed: false, remaining: 0, resetMs: WINDOW_MS });
    assert.equal((await rateLimiter.take('acct-2')).allowed, true, 'another key has its own budget');
    await h.advance(WINDOW_MS);
    assert.deepEqual(await rateLimiter.take('acct-1'), { allowed: true, remaining: LIMIT - 1, resetMs: WINDOW_MS });
  });

  test('a refused request spends nothing and a costly one spends its cost', async () => {
    const { rateLimiter } = h.state;
    assert.deepEqual(await rateLimiter.take('acct-3', 2), { allowed: true, remaining: 1, resetMs: WINDOW_MS });
    assert.equal((await rateLimiter.take('acct-3', 2)).allowed, false);
    assert.deepEqual(await rateLimiter.take('acct-3', 1), { allowed: true, remaining: 0, resetMs: WINDOW_MS });
    await assert.rejects(rateLimiter.take('acct-3', 0), RangeError);
  });

  test('a second claim of a key is a duplicate until it expires', async () => {
    const { idempotency } = h.state;
    assert.equal(await idempotency.claim('req-1', 100), 'first');
    assert.equal(await idempotency.claim('req-1', 100), 'duplicate');
    assert.equal(await idempotency.claim('req-2', 100), 'first');
    await h.advance(150);
    assert.equal(await idempotency.claim('req-1', 100), 'first');
  });

  test('the leaderboard ranks by return and updates in place', async () => {
    const { leaderboard } = h.state;
    await leaderboard.update([
      { assessmentId: 'a', returnPct: 1.5 },
      { assessmentId: 'b', returnPct: -2.25 },
      { assessmentId: 'c', returnPct: 7.1 },
    ]);
    assert.deepEqual(await leaderboard.top(2), [
      { rank: 1, assessmentId: 'c', returnPct: 7.1 },
      { rank: 2, assessmentId: 'a', returnPct: 1.5 },
    ]);
    await leaderboard.update([{ assessmentId: 'b', returnPct: 9.75 }]);
    assert.deepEqual(
      (await leaderboard.top(10)).map((e) => [e.rank, e.assessmentId, e.returnPct]),
      [
        [1, 'b', 9.75],
        [2, 'c', 7.1],
        [3, 'a', 1.5],
      ],
    );
    assert.equal(await leaderboard.rankOf('a'), 3);
    assert.equal(await leaderboard.rankOf('nobody'), undefined);
    assert.equal(await leaderboard.remove('c'), true);
    assert.equal(await leaderboard.remove('c'), false);
    assert.equal(await leaderboard.rankOf('a'), 2);
    assert.deepEqual(await leaderboard.top(0), []);
  });

  test('equal returns are ordered the same way by every implementation', async () => {
    const { leaderboard } = h.state;
    await leaderboard.update([
      { assessmentId: 'tie-x', returnPct: -50 },
      { assessmentId: 'tie-y', returnPct: -50 },
      { assessmentId: 'tie-z', returnPct: 0.1 + 0.2 },
    ]);
    const bottom = (await leaderboard.top(100)).slice(-3);
    assert.deepEqual(
      bottom.map((e) => [e.assessmentId, e.returnPct]),
      [
        ['tie-z', 0.1 + 0.2],
        ['tie-y', -50],
        ['tie-x', -50],
      ],
    );
    await assert.rejects(leaderboard.update([{ assessmentId: 'nan', returnPct: Number.NaN }]), RangeError);
  });
}

describe('in-process shared state', () => {
  contract(async () => {
    const { clock, advance } = fakeClock();
    const state = await createSharedState({ clock, rateLimit: { limit: LIMIT, windowMs: WINDOW_MS } });
    assert.equal(state.kind, 'in-process');
    return { state, advance: async (ms) => advance(ms) };
  });
});

const skip = await serviceGate('redis', '127.0.0.1', 6379);
const prefix = `vatic-test:${process.pid}-${randomBytes(4).toString('hex')}:`;

describe('redis shared state', { skip }, () => {
  const { clock, advance } = fakeClock();
  const open = () => createSharedState({ redisUrl: REDIS_URL, clock, keyPrefix: prefix, rateLimit: { limit: LIMIT, windowMs: WINDOW_MS } });

  after(async () => {
    const admin = await connectRedis(REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await admin.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      const [, left] = await admin.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1000);
      assert.deepEqual(left, [], 'no test keys remain');
    } finally {
      await admin.quit();
    }
  });

  describe('contract', () => {
    contract(async () => {
      const state = await open();
      assert.equal(state.kind, 'redis');
      // Redis expires idempotency keys in real time; the fake clock drives rate-limit windows.
      return {
        state,
        advance: async (ms) => {
          advance(ms);
          await sleep(ms);
        },
      };
    });
  });

  test('two clients sharing Redis share one budget', async () => {
    const [one, two] = await Promise.all([open(), open()]);
    try {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).rateLimiter.take('shared-acct')));
      assert.equal(results.filter((r) => r.allowed).length, LIMIT, 'exactly the limit across both clients');
      assert.equal((await one.rateLimiter.take('shared-acct')).allowed, false);
      assert.equal(await one.idempotency.claim('shared-req', 10_000), 'first');
      assert.equal(await two.idempotency.claim('shared-req', 10_000), 'duplicate');
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

test('an unreachable Redis gives a clear named error with a code rather than hanging', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));

  const started = performance.now();
  const err = await createSharedState({ redisUrl: `redis://:secret@127.0.0.1:${port}` }).then(
    () => assert.fail('connected to a closed port'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SharedStateUnavailableError);
  assert.equal(err.name, 'SharedStateUnavailableError');
  assert.equal(err.code, 'SHARED_STATE_UNAVAILABLE');
  assert.match(err.message, new RegExp(`unreachable at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
  assert.doesNotMatch(err.message, /secret/);
  assert.ok(performance.now() - started < 1_500, 'fails fast');
});
