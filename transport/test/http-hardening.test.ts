import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { Gauge } from 'prom-client';
import { presetTiers } from '../../actors/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { createSharedState, type SharedState } from '../../persistence/index.js';
import { httpApi, TraderIndex } from '../server/http-api.js';
import { rawHttp, startHarness, token, type Harness } from './gateway-harness.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

describe('HTTP doors of the gateway', { skip }, () => {
  let h: Harness;
  let shared: SharedState;
  let base: string;
  const metric = async (line: RegExp): Promise<number> => {
    const m = line.exec(await h.registry.metrics());
    return m === null ? 0 : Number(m[1]);
  };

  before(async () => {
    shared = await createSharedState();
    const owners = new TraderIndex();
    owners.add('alice', 'hh-alice');
    h = await startHarness(
      [
        ['hh-alice', 'alice'],
        ['hh-bob', 'bob'],
      ],
      {
        routes:
          ({ node, registry, verifier }) =>
          (app, gateway) => {
            // Handlers that fail the way a bug would: thrown, and rejected.
            app.get('/test/throws', () => {
              throw new TypeError('a bug in a handler');
            });
            app.get('/test/rejects', (async (res: { onAborted(f: () => void): void }) => {
              res.onAborted(() => undefined);
              await new Promise((r) => setTimeout(r, 5));
              throw new TypeError('a bug after an await');
            }) as never);
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
            })(app, gateway);
          },
      },
    );
    base = `http://127.0.0.1:${h.gateway.port}`;
  });
  after(async () => {
    await h?.stop();
    await shared?.close();
  });

  test('a malformed percent-escape in any path parameter is answered 400 MALFORMED_PATH before the token check, counted, and the gateway keeps serving', async () => {
    const before = await metric(/gateway_http_errors_total\{code="MALFORMED_PATH"\} (\d+)/);
    for (const path of [
      '/v1/assessments/%ZZ',
      '/v1/simulations/%ZZ',
      '/v1/assessments/%C3%28/violations',
      '/v1/assessments/%E0%A4%A/orders',
    ]) {
      const method = path.endsWith('/orders') ? 'POST' : 'GET';
      const res = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 400, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'MALFORMED_PATH', path);
    }
    assert.equal(await metric(/gateway_http_errors_total\{code="MALFORMED_PATH"\} (\d+)/), before + 4);
    assert.equal(
      await metric(/gateway_handler_errors_total\{where="http"\} (\d+)/),
      0,
      'a client\u2019s bad request is not a handler\u2019s failure',
    );
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  test('a handler that throws, or rejects after an await, is answered 500 INTERNAL and counted; the process keeps serving', async () => {
    for (const path of ['/test/throws', '/test/rejects']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 500, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'INTERNAL');
    }
    assert.ok((await metric(/gateway_handler_errors_total\{where="http"\} (\d+)/)) >= 2);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  test('a metrics collector that fails is answered 500 INTERNAL, and the process keeps serving', async () => {
    let failing = true;
    new Gauge({
      name: 'test_failing_collector',
      help: 'Fails while asked to.',
      registers: [h.registry],
      collect() {
        if (failing) throw new Error('a collector bug');
        this.set(1);
      },
    });
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'INTERNAL');
    failing = false;
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
  });

  test('a Content-Length over the limit is answered 413 at once from the header, without waiting for the body', async () => {
    const bearer = await token('alice');
    const r = await rawHttp(
      h.gateway.port,
      `POST /v1/assessments/hh-alice/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bearer}\r\nIdempotency-Key: k1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"op":`,
    );
    assert.match(r.text, /^HTTP\/1\.1 413 /);
    assert.match(r.text, /PAYLOAD_TOO_LARGE/);
    assert.ok(r.firstByteMs !== undefined && r.firstByteMs < 1_000, `answered in ${r.firstByteMs} ms`);
    // Lengths uWS's parser cannot take (not a number, or 10 digits and more) are dropped by uWS at once: no hang either.
    for (const length of ['12abc', '1000000000']) {
      const started = Date.now();
      const bad = await rawHttp(
        h.gateway.port,
        `POST /v1/assessments/hh-alice/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{`,
      );
      assert.ok(bad.text === '' || /^HTTP\/1\.1 (400|413) /.test(bad.text), bad.text);
      assert.ok(Date.now() - started < 1_000, `${length}: settled in ${Date.now() - started} ms`);
    }
  });

  test('a body that is not JSON is refused 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const headers = { authorization: `Bearer ${await token('alice')}`, 'idempotency-key': 'k-415' };
    const order = JSON.stringify({ op: 'flatten' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await fetch(`${base}/v1/assessments/hh-alice/orders`, {
        method: 'POST',
        headers: { ...headers, 'content-type': type },
        body: order,
      });
      assert.equal(res.status, 415, type);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    }
    const ok = await fetch(`${base}/v1/assessments/hh-alice/orders`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
      body: order,
    });
    assert.equal(ok.status, 202);
  });

  test('HTTP 401s are counted as auth failures and 404 probes of others\u2019 assessments as forbidden', async () => {
    const auth = () => metric(/gateway_auth_failures_total\{reason="TOKEN_INVALID"\} (\d+)/);
    const missing = () => metric(/gateway_auth_failures_total\{reason="AUTH_REQUIRED"\} (\d+)/);
    const forbidden = () => metric(/gateway_forbidden_assessment_total (\d+)/);
    const [a0, m0, f0] = [await auth(), await missing(), await forbidden()];
    assert.equal((await fetch(`${base}/v1/assessments/hh-alice`, { headers: { authorization: 'Bearer not-a-token' } })).status, 401);
    assert.equal((await fetch(`${base}/v1/assessments/hh-alice`)).status, 401);
    const alice = { authorization: `Bearer ${await token('alice')}` };
    assert.equal((await fetch(`${base}/v1/assessments/hh-bob`, { headers: alice })).status, 404);
    assert.equal((await fetch(`${base}/v1/assessments/no-such-one/violations`, { headers: alice })).status, 404);
    assert.deepEqual([await auth(), await missing(), await forbidden()], [a0 + 1, m0 + 1, f0 + 2]);
  });
});
