/**
 * Fuzz: generated HTTP requests at a running gateway, each on its own TCP
 * connection: methods, paths with every kind of escape (valid, malformed,
 * truncated, overlong UTF-8, NUL, dot segments), headers (tokens good, bad
 * and expired; content types; idempotency keys), bodies (orders, mutated
 * JSON, random bytes, empty, over the limit) and declared lengths (true, or
 * over the limit). Every answer must carry a status (and error code) the
 * OpenAPI document gives for the operation; the gateway stays up, and its
 * memory bounded.
 *
 * CI runs a few thousand (seeded); the long form: `npm run fuzz:http -- --requests 100000`
 * (or HTTP_FUZZ_REQUESTS=100000).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { presetTiers } from '../../actors/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { createSharedState, type SharedState } from '../../persistence/index.js';
import { Random } from '../../sim/index.js';
import { httpApi, TraderIndex } from '../server/http-api.js';
import { rawHttp, startHarness, token, type Harness } from './gateway-harness.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);
const flag = process.argv.indexOf('--requests');
const REQUESTS = Number(flag >= 0 ? process.argv[flag + 1] : (process.env['HTTP_FUZZ_REQUESTS'] ?? 3_000));
const PARALLEL = 8;
const MAX_BODY = 4_096;

type Responses = Record<string, { 'x-error-codes'?: string[] }>;
const openapi = JSON.parse(readFileSync(new URL('../protocol/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { responses: Responses }>>;
  components: { responses: { NotFound: { 'x-error-codes': string[] } } };
};

/** The documented operation a request reaches: uWS routes by method and by path segments, as http-api.ts registers them. */
function operationOf(method: string, path: string): { template: string; responses: Responses } | undefined {
  const segments = path.split('?')[0]!.split('/');
  for (const [template, ops] of Object.entries(openapi.paths)) {
    const t = template.split('/');
    if (t.length !== segments.length || !t.every((s, i) => (s.startsWith('{') ? segments[i] !== '' : s === segments[i]))) continue;
    const op = ops[method.toLowerCase()];
    if (op !== undefined) return { template, responses: op.responses };
  }
  return undefined;
}

const ESCAPES = [
  '%ZZ',
  '%',
  '%4',
  '%C3%28',
  '%E0%A4%A',
  '%C0%AF',
  '%00',
  '%2F',
  '%2e%2e',
  '%F0%9F%92%A9',
  '%FF%FE',
  '%25',
  '..',
  '.',
  '',
  'a%20b',
  '%u0041',
  'ü',
  '\u202e',
  'x'.repeat(300),
];
const IDS = ['hf-alice', 'hf-bob', 'nope', 'sim-1'];
const TEMPLATES = [
  '/v1/assessments/{id}',
  '/v1/assessments/{id}/violations',
  '/v1/assessments/{id}/orders',
  '/v1/simulations/{id}',
  '/v1/simulations',
  '/v1/assessments',
  '/v1/tiers',
  '/v1/leaderboard',
  '/v1/operator/shards',
  '/v1/purchases',
  '/v1/stripe/webhook',
  '/healthz',
  '/readyz',
  '/metrics',
  '/nowhere',
  '/v1/ws',
  '/',
  '//v1//assessments',
];
const METHODS = ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const OPERATIONS: Array<[string, string]> = Object.entries(openapi.paths).flatMap(([p, ops]) =>
  Object.keys(ops)
    .filter((m) => m !== 'parameters')
    .map((m): [string, string] => [m.toUpperCase(), p]),
);
const TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  'APPLICATION/JSON',
  'application/jsonx',
  'text/csv',
];

interface Generated {
  readonly method: string;
  readonly path: string;
  readonly bytes: Buffer;
  /** uWS drops it without an answer (framing it cannot parse). */
  readonly mayDrop: boolean;
}

function generate(r: Random, tokens: { alice: string; bob: string; ops: string; expired: string }): Generated {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.uniform() * xs.length)]!;
  // Mostly an operation the API has (so the request gets past routing), else anything.
  const documented = r.uniform() < 0.75 ? pick(OPERATIONS) : undefined;
  const method = documented?.[0] ?? pick(METHODS);
  let path = documented?.[1] ?? pick(TEMPLATES);
  const id = r.uniform() < 0.4 ? pick(IDS) : `${pick(IDS)}${pick(ESCAPES)}${r.uniform() < 0.3 ? pick(ESCAPES) : ''}`;
  path = path.replace(
    '{id}',
    id.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)),
  );
  if (r.uniform() < 0.2) path += `?${pick(['n=5', 'n=%ZZ', 'limit=-1', 'n=1e309', 'a=%', '&&&', 'limit=0.5'])}`;
  const headers: string[] = [`Host: fuzz`, 'Connection: close'];
  const auth = r.uniform();
  if (auth < 0.35) headers.push(`Authorization: Bearer ${tokens.alice}`);
  else if (auth < 0.45) headers.push(`Authorization: Bearer ${tokens.bob}`);
  else if (auth < 0.5) headers.push(`Authorization: Bearer ${tokens.ops}`);
  else if (auth < 0.58) headers.push(`Authorization: Bearer ${tokens.expired}`);
  else if (auth < 0.68)
    headers.push(`Authorization: ${pick(['Bearer ', 'Bearer x.y.z', 'Basic YTpi', 'bearer abc', 'Bearer eyJhbGciOiJub25lIn0.e30.'])}`);
  if (r.uniform() < 0.6)
    headers.push(`Idempotency-Key: ${pick(['k1', `k${Math.floor(r.uniform() * 1e9)}`, '', 'bad key!', 'x'.repeat(80)])}`);
  let body = Buffer.alloc(0);
  const kind = r.uniform();
  if (kind < 0.25)
    body = Buffer.from(
      JSON.stringify(
        pick([
          { op: 'flatten' },
          { op: 'cancel', orderId: 'o1' },
          { op: 'place', clientOrderId: 'c1', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1 },
          { tierId: 'one-step-50k', email: 'a@b.c' },
          { tierId: 'two-step-100k', method: 'parametric' },
        ]),
      ),
    );
  else if (kind < 0.45)
    body = Buffer.from(pick(['{', '[]', 'null', '"x"', '{"op":"place","qty":-1}', '{"op":1e999}', '{"__proto__":{"x":1}}', '\u0000']));
  else if (kind < 0.6) body = Buffer.from(Array.from({ length: Math.floor(r.uniform() * 200) }, () => Math.floor(r.uniform() * 256)));
  else if (kind < 0.65) body = Buffer.alloc(MAX_BODY + 1 + Math.floor(r.uniform() * 1_000), 0x61);
  const typeRoll = r.uniform();
  if (typeRoll < 0.8) {
    const type = pick(TYPES);
    if (type !== '') headers.push(`Content-Type: ${type}`);
  }
  let mayDrop = false;
  const lengthRoll = r.uniform();
  // Over every route's limit (POST /v1/simulations takes 8 MiB), the body short: answered 413 from the header, not waited for.
  if (lengthRoll < 0.05) headers.push(`Content-Length: ${8 * 2 ** 20 + 1 + Math.floor(r.uniform() * 9e8)}`);
  else if (lengthRoll < 0.07) {
    headers.push(`Content-Length: ${pick(['12abc', '-1', '1000000000000', ' 5', '0x10'])}`);
    mayDrop = true;
  } else if (body.length > 0 || method === 'POST') headers.push(`Content-Length: ${body.length}`);
  if (r.uniform() < 0.03) headers.push(`X-Junk: ${'y'.repeat(Math.floor(r.uniform() * 8_000))}`);
  const head = `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  return { method, path, bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]), mayDrop };
}

describe('HTTP fuzz', { skip }, () => {
  let h: Harness;
  let shared: SharedState;

  before(async () => {
    shared = await createSharedState();
    const owners = new TraderIndex();
    owners.add('alice', 'hf-alice');
    h = await startHarness(
      [
        ['hf-alice', 'alice'],
        ['hf-bob', 'bob'],
      ],
      {
        gateway: { traderConnectionsPerWindow: 1e9, addressConnectionsPerWindow: 1e9 },
        routes: ({ node, registry, verifier }) =>
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
            maxBodyBytes: MAX_BODY,
            // The fuzz comes from one address: its request budget is set past what it sends (429 REQUEST_RATE_LIMITED is documented on every route).
            addressRequestsPerMinute: 1e9,
          }),
      },
    );
  });
  after(async () => {
    await h?.stop();
    await shared?.close();
  });

  test(`${REQUESTS.toLocaleString('en-US')} generated requests each get a documented status and code; the gateway stays up and its memory bounded`, {
    timeout: 3_600_000,
  }, async (t) => {
    const r = new Random('http-fuzz');
    const tokens = {
      alice: await token('alice', { expiresIn: '2h' }),
      bob: await token('bob', { expiresIn: '2h' }),
      ops: await token('ops', { roles: ['operator'], expiresIn: '2h' }),
      expired: await token('alice', { expiresIn: -60 }),
    };
    const started = Date.now();
    const rssStart = process.memoryUsage().rss;
    let rssPeak = rssStart;
    const statuses = new Map<string, number>();
    const undocumented: string[] = [];
    let sent = 0,
      dropped = 0;
    const worker = async (): Promise<void> => {
      while (sent < REQUESTS) {
        sent++;
        const g = generate(r, tokens);
        const answer = await rawHttp(h.gateway.port, g.bytes, 5_000);
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer.text)?.[1];
        if (status === undefined) {
          dropped++;
          if (!g.mayDrop) undocumented.push(`${g.method} ${g.path.slice(0, 80)}: no answer`);
          continue;
        }
        const body = answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4);
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          /* not JSON: a success of a text route (metrics), or an upgrade refusal */
        }
        statuses.set(
          `${status}${code === undefined ? '' : ` ${code}`}`,
          (statuses.get(`${status}${code === undefined ? '' : ` ${code}`}`) ?? 0) + 1,
        );
        const op = g.path.startsWith('/v1/ws') ? undefined : operationOf(g.method, g.path);
        const documented = op === undefined ? { '404': openapi.components.responses.NotFound } : op.responses;
        // The upgrade path answers a plain GET without WebSocket headers 400 (documented in the AsyncAPI document).
        const wsRefusal = g.path.split('?')[0] === '/v1/ws' && g.method === 'GET' && status === '400';
        const response = documented[status];
        if (
          !wsRefusal &&
          (response === undefined ||
            (code !== undefined && !(response['x-error-codes'] ?? []).includes(code)) ||
            (Number(status) >= 400 && code === undefined))
        ) {
          undocumented.push(`${g.method} ${g.path.slice(0, 80)} → ${status} ${code ?? '(no code)'} (${op?.template ?? 'unrouted'})`);
        }
        if ((sent & 1023) === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const rssEnd = process.memoryUsage().rss;
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`requests ${sent} in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s), dropped by uWS ${dropped}`);
    t.diagnostic(
      `status histogram: ${[...statuses]
        .sort((a, b) => b[1] - a[1])
        .map(([s, k]) => `${s} ×${k}`)
        .join(', ')}`,
    );
    t.diagnostic(
      `RSS start ${(rssStart / 2 ** 20).toFixed(0)} MiB, peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB, end ${(rssEnd / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.deepEqual(undocumented.slice(0, 20), [], `${undocumented.length} answers not documented`);
    assert.equal((await fetch(`http://127.0.0.1:${h.gateway.port}/healthz`)).status, 200, 'the gateway still answers');
    assert.ok((rssEnd - rssStart) / 2 ** 20 < 200, `RSS grew ${((rssEnd - rssStart) / 2 ** 20).toFixed(1)} MiB`);
  });
});
