import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { presetTiers } from '../../actors/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { createSharedState, MemoryRateLimiter, PgPurchaseStore, PgSimulationStore, type SharedState } from '../../persistence/index.js';
import { httpApi, TraderIndex } from '../server/http-api.js';
import { assessmentIdFor, createStripe, Purchases, signedWebhook, startStripeFake, type StripeFake } from '../payments/index.js';
import { startHarness, token, type Harness } from './gateway-harness.js';
import { SimPool, SimulationService } from '../../sim/index.js';
import { until } from '../../engine/testing/index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);
const WEBHOOK_SECRET = 'whsec_http_api_test';

describe('HTTP API on the gateway', { skip }, () => {
  let h: Harness;
  let fake: StripeFake;
  let shared: SharedState;
  const owners = new TraderIndex();
  let base: string;
  const pool = new SimPool({ workers: 1 });
  const completed: object[] = [];
  const call = async (
    method: string,
    path: string,
    o: { trader?: string; roles?: string[]; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.trader !== undefined) headers['authorization'] = `Bearer ${await token(o.trader, { roles: o.roles ?? ['trader'] })}`;
    if (o.body !== undefined || o.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(o.raw !== undefined ? { body: o.raw } : o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
  };

  before(async () => {
    fake = await startStripeFake();
    shared = await createSharedState();
    owners.add('alice', 'h-alice');
    h = await startHarness(
      [
        ['h-alice', 'alice'],
        ['h-bob', 'bob'],
      ],
      {
        routes: ({ node, registry, db, verifier }) =>
          httpApi({
            engine: node,
            verifier,
            registry,
            tiers: presetTiers(),
            owners,
            leaderboard: shared.leaderboard,
            idempotency: shared.idempotency,
            log: pino({ level: 'silent' }),
            shards: () => node.engine.shards(),
            orderLimiter: new MemoryRateLimiter({ limit: 3, windowMs: 60_000 }),
            purchases: new Purchases({
              store: new PgPurchaseStore(db.sql),
              stripe: createStripe('sk_test_http', fake.url),
              webhookSecret: WEBHOOK_SECRET,
              successUrl: 'http://127.0.0.1/ok',
              cancelUrl: 'http://127.0.0.1/no',
              prices: { 'one-step-50k': { amountCents: 29_900, currency: 'usd' } },
              issuer: {
                issue: async (a) => {
                  const r = await node.offer({ kind: 'create', assessmentId: a.assessmentId, traderId: a.traderId, tierId: a.tierId });
                  if (!r.ok && r.code !== 'DUPLICATE_ASSESSMENT') throw new Error(r.message);
                  owners.add(a.traderId, a.assessmentId);
                },
              },
              publish: async () => {},
            }),
            simulations: new SimulationService({
              simulator: pool,
              store: new PgSimulationStore(db.sql),
              tiers: () => presetTiers(),
              assessment: (id) => node.state(id),
              clock: () => Date.now(),
              publish: async (_subject, payload) => void completed.push(payload),
            }),
            maxSimulationBodyBytes: 200_000,
          }),
      },
    );
    base = `http://127.0.0.1:${h.gateway.port}`;
  });
  after(async () => {
    await h?.stop();
    await fake?.stop();
    await shared?.close();
    await pool.close();
  });

  test('health answers, metrics are Prometheus text with the gateway figures, tiers are listed', async () => {
    assert.deepEqual((await call('GET', '/healthz')).body, { status: 'ok' });
    assert.deepEqual((await call('GET', '/readyz')).body, { status: 'ready' });
    const metrics = await call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body as string, /^# HELP gateway_connections /m);
    assert.match(metrics.body as string, /^gateway_frames_sent_total \d+/m);
    const tiers = (await call('GET', '/v1/tiers')).body as { tiers: Array<{ id: string }> };
    assert.ok(tiers.tiers.some((t) => t.id === 'one-step-50k'));
  });

  test("a trader reads their assessment and its violations; another trader's is refused like a missing one; no token is 401", async () => {
    const mine = await call('GET', '/v1/assessments/h-alice', { trader: 'alice' });
    assert.equal(mine.status, 200);
    assert.equal((mine.body as { assessment: { traderId: string } }).assessment.traderId, 'alice');
    assert.deepEqual((await call('GET', '/v1/assessments/h-alice/violations', { trader: 'alice' })).body, { violations: [] });
    for (const id of ['h-bob', 'nope']) {
      const r = await call('GET', `/v1/assessments/${id}`, { trader: 'alice' });
      assert.equal(r.status, 404);
      assert.equal((r.body as { error: { code: string } }).error.code, 'FORBIDDEN_ASSESSMENT');
    }
    const anonymous = await call('GET', '/v1/assessments/h-alice');
    assert.equal(anonymous.status, 401);
    const list = await call('GET', '/v1/assessments', { trader: 'alice' });
    assert.deepEqual(
      (list.body as { assessments: Array<{ id: string }> }).assessments.map((a) => a.id),
      ['h-alice'],
    );
    assert.equal((await call('GET', '/v1/operator/shards', { trader: 'alice' })).status, 403);
    const ops = await call('GET', '/v1/operator/shards', { trader: 'ops', roles: ['operator'] });
    assert.equal((ops.body as { shards: unknown[] }).shards.length, 2);
  });

  test('an order with an Idempotency-Key is accepted once: resent, it is answered with that acceptance; another order under the key is a conflict; a missing key or a bad order is a 400', async () => {
    const order = { op: 'place', clientOrderId: 'ignored', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1, stopLoss: 58_000 };
    const first = await call('POST', '/v1/assessments/h-alice/orders', {
      trader: 'alice',
      body: order,
      headers: { 'idempotency-key': 'k-1' },
    });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const again = await call('POST', '/v1/assessments/h-alice/orders', {
      trader: 'alice',
      body: order,
      headers: { 'idempotency-key': 'k-1' },
    });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.deepEqual(again.body, first.body, 'the resend (its answer lost) is answered with the first acceptance');
    const other = await call('POST', '/v1/assessments/h-alice/orders', {
      trader: 'alice',
      body: { ...order, side: 'sell', stopLoss: 62_000 },
      headers: { 'idempotency-key': 'k-1' },
    });
    assert.equal(other.status, 409);
    assert.equal((other.body as { error: { code: string } }).error.code, 'DUPLICATE_CLIENT_ORDER_ID');
    await h.tick(60_020);
    const state = await h.node.state('h-alice');
    assert.ok('k-1' in state!.clientOrderIds, 'the key became the client order id');
    assert.equal(state!.positions['BTC-USD']?.qty, 0.1, 'one fill, not two');
    assert.equal((await call('POST', '/v1/assessments/h-alice/orders', { trader: 'alice', body: order })).status, 400);
    const bad = await call('POST', '/v1/assessments/h-alice/orders', {
      trader: 'alice',
      body: { ...order, qty: -1 },
      headers: { 'idempotency-key': 'k-2' },
    });
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: { message: string } }).error.message, /qty/);
    const malformed = await call('POST', '/v1/assessments/h-alice/orders', {
      trader: 'alice',
      raw: '{not json',
      headers: { 'idempotency-key': 'k-3' },
    });
    assert.equal((malformed.body as { error: { code: string } }).error.code, 'MALFORMED_JSON');
    const big = await call('POST', '/v1/assessments/h-alice/orders', {
      trader: 'alice',
      raw: 'x'.repeat(70_000),
      headers: { 'idempotency-key': 'k-4' },
    });
    assert.equal(big.status, 413);
  });

  test('orders past the trader\u2019s shared rate limit are refused with 429 and Retry-After', async () => {
    const order = (k: string) =>
      call('POST', '/v1/assessments/h-bob/orders', {
        trader: 'bob',
        body: { op: 'cancel', orderId: 'o-none' },
        headers: { 'idempotency-key': k },
      });
    const statuses = [];
    for (const k of ['r1', 'r2', 'r3', 'r4']) statuses.push((await order(k)).status);
    assert.deepEqual(statuses, [202, 202, 202, 429]);
    const res = await fetch(`${base}/v1/assessments/h-bob/orders`, {
      method: 'POST',
      body: JSON.stringify({ op: 'flatten' }),
      headers: { authorization: `Bearer ${await token('bob')}`, 'idempotency-key': 'r5', 'content-type': 'application/json' },
    });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
  });

  test('a purchase goes to Stripe Checkout, its signed webhook creates the assessment, and a forged or repeated webhook does nothing', async () => {
    const started = await call('POST', '/v1/purchases', { trader: 'carol', body: { tierId: 'one-step-50k', email: 'carol@example.com' } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const { purchaseId, sessionId, checkoutUrl } = started.body as { purchaseId: string; sessionId: string; checkoutUrl: string };
    assert.match(checkoutUrl, /^http/);
    const stripe = createStripe('sk_test_http', fake.url);
    const event = signedWebhook(stripe, WEBHOOK_SECRET, 'checkout.session.completed', fake.completeSession(sessionId));
    const forged = await call('POST', '/v1/stripe/webhook', {
      raw: event.body,
      headers: { 'stripe-signature': event.header.replace(/v1=[0-9a-f]+/, `v1=${'0'.repeat(64)}`) },
    });
    assert.equal(forged.status, 400);
    assert.equal((forged.body as { error: { code: string } }).error.code, 'WEBHOOK_SIGNATURE_INVALID');
    const assessmentId = assessmentIdFor(purchaseId);
    assert.equal(await h.node.state(assessmentId), undefined, 'the forged webhook created nothing');
    const applied = await call('POST', '/v1/stripe/webhook', { raw: event.body, headers: { 'stripe-signature': event.header } });
    assert.deepEqual(applied.body, { received: true, status: 'applied' });
    const repeated = await call('POST', '/v1/stripe/webhook', { raw: event.body, headers: { 'stripe-signature': event.header } });
    assert.deepEqual(repeated.body, { received: true, status: 'duplicate' });
    await until(() => owners.of('carol').includes(assessmentId), { what: 'the assessment in the engine', deadlineMs: 5_000 });
    const state = await h.node.state(assessmentId);
    assert.equal(state?.traderId, 'carol');
    const list = await call('GET', '/v1/assessments', { trader: 'carol' });
    assert.deepEqual(
      (list.body as { assessments: Array<{ id: string }> }).assessments.map((a) => a.id),
      [assessmentId],
    );
  });

  test('a trader starts a simulation over HTTP and polls it to its result; others cannot see it; bad and oversized requests are refused', async () => {
    const trades = Array.from({ length: 30 }, (_, i) => ({
      closedAt: `2026-09-${String(1 + Math.floor(i / 2)).padStart(2, '0')}T12:0${i % 2}:00Z`,
      pnl: i % 3 === 0 ? -400 : 650,
    }));
    const started = await call('POST', '/v1/simulations', {
      trader: 'alice',
      body: { tierId: 'one-step-50k', trades, paths: 2_000, seed: 'http' },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const id = (started.body as { simulation: { id: string; status: string } }).simulation.id;
    type Sim = { status: string; result: { paths: number; pass: { p: number }; fan: unknown } };
    let done: Sim | undefined;
    for (let i = 0; i < 200 && done === undefined; i++) {
      const r = (await call('GET', `/v1/simulations/${id}`, { trader: 'alice' })).body as { simulation: Sim };
      if (r.simulation.status === 'completed') done = r.simulation;
      else await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.ok(done !== undefined, 'the simulation completed');
    assert.equal(done.result.paths, 2_000);
    assert.ok(done.result.fan !== undefined);
    assert.ok(completed.some((c) => (c as { simulationId: string }).simulationId === id));
    const listed = (await call('GET', '/v1/simulations', { trader: 'alice' })).body as {
      simulations: Array<{ id: string; result: Record<string, unknown> }>;
    };
    assert.equal(listed.simulations[0]!.id, id);
    assert.equal(listed.simulations[0]!.result.fan, undefined, 'listings leave the chart data out');
    const foreign = await call('GET', `/v1/simulations/${id}`, { trader: 'bob' });
    assert.equal(foreign.status, 404);
    assert.equal((foreign.body as { error: { code: string } }).error.code, 'UNKNOWN_SIMULATION');
    assert.equal((await call('GET', '/v1/simulations', { trader: 'bob' })).body.simulations.length, 0);
    const bad = await call('POST', '/v1/simulations', { trader: 'alice', body: { tierId: 'one-step-50k', trades, paths: 'lots' } });
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: { message: string } }).error.message, /paths/);
    const theirs = await call('POST', '/v1/simulations', { trader: 'alice', body: { assessmentId: 'h-bob' } });
    assert.equal(theirs.status, 404);
    assert.equal((theirs.body as { error: { code: string } }).error.code, 'FORBIDDEN_ASSESSMENT');
    const huge = await call('POST', '/v1/simulations', {
      trader: 'alice',
      raw: JSON.stringify({ tierId: 'one-step-50k', trades: Array(5_000).fill(trades[0]) }),
    });
    assert.equal(huge.status, 413);
    assert.equal((await call('POST', '/v1/simulations', { body: { tierId: 'one-step-50k', trades } })).status, 401);
  });

  test('readiness fails while the gateway drains', async () => {
    await h.gateway.drain();
    const r = await fetch(`${base}/readyz`).then(
      (res) => res.status,
      () => 'refused',
    );
    assert.ok(r === 503 || r === 'refused', `readiness during drain: ${r}`);
  });
});
