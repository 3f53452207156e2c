/**
 * The HTTP API's requests are counted per remote address (the TCP peer's),
 * shared by the gateways through Redis, before any handler runs; health,
 * readiness and metrics are not counted; a limiter that fails or stalls lets
 * the request through and says so in the log.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { presetTiers } from '../../actors/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { createSharedState, MemoryRateLimiter, type RateLimiter, type SharedState } from '../../persistence/index.js';
import { Gateway } from '../server/gateway.js';
import { GatewayMetrics } from '../server/gateway-metrics.js';
import { httpApi, TraderIndex, type HttpApiOptions } from '../server/http-api.js';
import { TokenVerifier } from '../server/token-verifier.js';
import { SECRET, startHarness, token, type Harness } from './gateway-harness.js';

const skip = (await serviceGate('postgres', '127.0.0.1', 5432)) || (await serviceGate('redis', '127.0.0.1', 6379));
const T = Date.UTC(2026, 11, 6, 12, 0, 10); // 10 s into a minute: 50 s left in the window

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code: string } } & Record<string, unknown>;
}

/** One request from `from` (any 127/8 address is this machine's loopback). */
function call(port: number, path: string, o: { from?: string; auth?: string; method?: string; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      ...(o.auth === undefined ? {} : { authorization: `Bearer ${o.auth}` }),
      ...(o.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const req = request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', localAddress: o.from ?? '127.0.0.1', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : { text },
          });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('HTTP requests limited per address', { skip }, () => {
  let h: Harness;
  let shared: SharedState;
  const owners = new TraderIndex();
  const lines: string[] = [];
  /** How often the engine was asked for a state: the assessment routes' handlers ran. */
  let stateReads = 0;
  /** The limiter the gateway counts with; each test sets its own. */
  let limiter: RateLimiter = new MemoryRateLimiter({ limit: 1_000, windowMs: 60_000 });
  const extra: Gateway[] = [];
  const routes = (
    node: Harness['node'],
    registry: Registry,
    verifier: TokenVerifier,
    requestLimiter: RateLimiter,
  ): ReturnType<typeof httpApi> => {
    const o: HttpApiOptions = {
      engine: {
        state: (id) => {
          stateReads++;
          return node.state(id);
        },
        offer: (r) => node.offer(r),
      },
      verifier,
      registry,
      tiers: presetTiers(),
      owners,
      leaderboard: shared.leaderboard,
      idempotency: shared.idempotency,
      shards: () => node.engine.shards(),
      requestLimiter,
      limiterTimeoutMs: 200,
      log: pino(
        { level: 'info' },
        new Writable({
          write: (c, _e, done) => {
            lines.push(String(c));
            done();
          },
        }),
      ),
    };
    return httpApi(o);
  };

  before(async () => {
    shared = await createSharedState();
    owners.add('alice', 'rl-alice');
    h = await startHarness([['rl-alice', 'alice']], {
      routes: ({ node, registry, verifier }) => routes(node, registry, verifier, { take: (k, c) => limiter.take(k, c) }),
    });
  });
  after(async () => {
    for (const g of extra) await g.drain();
    await h?.stop();
    await shared?.close();
  });

  test('an address over its request budget is answered 429 REQUEST_RATE_LIMITED with Retry-After, and the handler is not run', async () => {
    limiter = new MemoryRateLimiter({ limit: 3, windowMs: 60_000, clock: () => T });
    const alice = await token('alice');
    const from = '127.0.0.2';
    for (let i = 0; i < 3; i++) assert.equal((await call(h.gateway.port, '/v1/assessments/rl-alice', { from, auth: alice })).status, 200);
    const reads = stateReads;
    const errorsBefore =
      (await h.registry.getSingleMetric('gateway_http_errors_total')?.get())?.values.find(
        (v) => v.labels['code'] === 'REQUEST_RATE_LIMITED',
      )?.value ?? 0;
    const refused = await call(h.gateway.port, '/v1/assessments/rl-alice', { from, auth: alice });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error?.code, 'REQUEST_RATE_LIMITED');
    assert.equal(refused.headers['retry-after'], '50');
    assert.equal(stateReads, reads, 'the refused request never reached its handler');
    // Unauthenticated probes, and refusals from the headers alone, spend the same budget.
    assert.equal((await call(h.gateway.port, '/v1/tiers', { from })).status, 429);
    const post = await call(h.gateway.port, '/v1/assessments/rl-alice/orders', { from, auth: alice, method: 'POST', body: '{}' });
    assert.equal(post.status, 429);
    const errorsAfter =
      (await h.registry.getSingleMetric('gateway_http_errors_total')?.get())?.values.find(
        (v) => v.labels['code'] === 'REQUEST_RATE_LIMITED',
      )?.value ?? 0;
    assert.equal(errorsAfter - errorsBefore, 3, 'each refusal is counted in the HTTP error metric');
  });

  test('another address keeps its own budget, and health, readiness and metrics are not counted', async () => {
    limiter = new MemoryRateLimiter({ limit: 1, windowMs: 60_000, clock: () => T });
    assert.equal((await call(h.gateway.port, '/v1/tiers', { from: '127.0.0.3' })).status, 200);
    assert.equal((await call(h.gateway.port, '/v1/tiers', { from: '127.0.0.3' })).status, 429);
    assert.equal(
      (await call(h.gateway.port, '/v1/tiers', { from: '127.0.0.4' })).status,
      200,
      'a second address is not refused for the first one',
    );
    for (const path of ['/healthz', '/readyz', '/metrics'])
      assert.equal((await call(h.gateway.port, path, { from: '127.0.0.3' })).status, 200, `${path} is answered over the budget`);
  });

  test('two gateways sharing the Redis limiter count one address once, not once per gateway', async () => {
    const redis = await createSharedState({
      redisUrl: 'redis://127.0.0.1:6379',
      keyPrefix: `test-http-limits-${process.pid}-${Date.now()}:`,
      clock: () => T,
    });
    try {
      limiter = redis.limiter({ limit: 4, windowMs: 60_000 });
      const registry = new Registry();
      const second = await Gateway.start({
        engine: h.node,
        verifier: await TokenVerifier.create({ secret: SECRET }),
        hub: h.hub,
        metrics: new GatewayMetrics(registry, h.hub),
        log: pino({ level: 'silent' }),
        port: 0,
        routes: routes(h.node, registry, await TokenVerifier.create({ secret: SECRET }), redis.limiter({ limit: 4, windowMs: 60_000 })),
      });
      extra.push(second);
      const from = '127.0.0.5';
      const statuses: number[] = [];
      for (const port of [h.gateway.port, second.port, h.gateway.port, second.port, h.gateway.port, second.port])
        statuses.push((await call(port, '/v1/tiers', { from })).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    } finally {
      await redis.close();
    }
  });

  test('a limiter that fails or stalls lets the request through and logs why, without a crash or a hang', async () => {
    const alice = await token('alice');
    limiter = {
      take: async () => {
        throw Object.assign(new Error('redis is down'), { code: 'SHARED_STATE_UNAVAILABLE' });
      },
    };
    lines.length = 0;
    assert.equal((await call(h.gateway.port, '/v1/assessments/rl-alice', { from: '127.0.0.6', auth: alice })).status, 200);
    assert.ok(
      lines.some((l) => l.includes('request limiter failed') && l.includes('redis is down')),
      'the failure is logged',
    );
    limiter = { take: () => new Promise(() => {}) };
    lines.length = 0;
    const started = Date.now();
    assert.equal((await call(h.gateway.port, '/v1/tiers', { from: '127.0.0.6' })).status, 200);
    assert.ok(Date.now() - started < 5_000, 'answered after the limiter deadline, not never');
    assert.ok(
      lines.some((l) => l.includes('request limiter too slow')),
      'the stall is logged',
    );
  });
});
