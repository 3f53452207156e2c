/**
 * The traders' gateway documents, transport/protocol/openapi.json (the HTTP
 * API) and transport/protocol/asyncapi-ws.json (WebSocket protocol v1),
 * checked against the code: the routes, statuses, error codes, auth and
 * limits read from the source of http-api.ts, protocol.ts,
 * stream-hub.ts and token-verifier.ts (and, for the simulation routes,
 * sim/montecarlo/simulation-service.ts); the client frames against zod's own
 * JSON Schema of ClientFrameSchema, the simulation request against zod's own
 * JSON Schema of SimulationRequest; the server frames, states, deltas, events
 * and simulation records against their TypeScript types; and, on a live
 * gateway over a fake engine (a real actor kernel, no Postgres; a real
 * simulation service on a worker pool), the frames and HTTP answers the code
 * really sends, validated against the documented schemas.
 *
 * Payloads are validated with a small JSON Schema checker (the approach of
 * asyncapi.test.ts) that knows exactly the keywords the documents use and
 * fails on any other, so it can never pass a schema by ignoring part of it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { z } from 'zod';
import { CommandSchema, parseTier, presetTiers, TierSchema, type Command } from '../../actors/index.js';
import { Harness } from '../../actors/test/harness.js';
import { runInputs, readTape, type IntakeRefusal, type IntakeResult, type OutputEvent } from '../../engine/index.js';
import {
  MemoryIdempotencyPrecheck,
  MemoryLeaderboard,
  MemoryRateLimiter,
  PgHistoryReader,
  PgHistoryStore,
  PgReportStore,
  type HistoryEvent,
} from '../../persistence/index.js';
import { Gateway, GATEWAY_DEFAULTS, type GatewayEngine } from '../server/gateway.js';
import { INITIAL_BURST_FRAMES } from '../server/session.js';
import { TRADER_LIMIT_DEFAULTS } from '../server/trader-limits.js';
import { GatewayMetrics } from '../server/gateway-metrics.js';
import { httpApi, SIMULATION_CHARTS, TraderIndex } from '../server/http-api.js';
import { closeWording, ERROR_CLOSES } from '../protocol/error-closes.js';
import { CLOSE, ClientFrameSchema, GATEWAY_REJECT_CODES, PROTOCOLS, pickProtocol, WS_PATH } from '../protocol/protocol.js';
import {
  BODY_LIMITS,
  HTTP_ROUTES,
  IDEMPOTENCY_KEY,
  LEADERBOARD_N,
  openApiPath,
  UNROUTED,
  type HttpRoute,
  type HttpRouteAuth,
} from '../protocol/routes.js';
import type { Purchases } from '../payments/purchases.js';
import {
  SimPool,
  SimulationRequest,
  SimulationService,
  Distribution,
  Estimate,
  Histogram,
  OUTCOMES,
  SimulationResult,
  MemorySimulationStore,
  replaySource,
  HistoryApi,
  ReportService,
  SIMULATION_DEFAULTS,
  SIMULATION_LIST_LIMIT,
} from '../../sim/index.js';
import { STREAM_HUB_DEFAULTS, StreamHub, type StreamHubOptions } from '../server/stream-hub.js';
import { TOKEN_RULES, TokenVerifier } from '../server/token-verifier.js';
import { createTestDatabase, serviceGate } from '../../engine/testing/index.js';
import { eventSubject } from '../nats/subjects.js';
import { isObject, schemaChecker, type Json, type JsonObject, type SchemaChecker } from './json-schema-check.js';
import { until } from '../../engine/testing/index.js';
import { TypeFacts } from './type-facts.js';

// -- the documents and the sources --------------------------------------------------------

const source = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const openapiText = source('transport/protocol/openapi.json');
const asyncapiText = source('transport/protocol/asyncapi-ws.json');
const openapi = JSON.parse(openapiText) as JsonObject;
const asyncapi = JSON.parse(asyncapiText) as JsonObject;

// Where the types the documents describe are declared (types have no runtime value: read through the compiler's syntax tree).
const PROTOCOL = 'transport/protocol/protocol.ts';
const INTAKE_TYPES = 'engine/node/intake.ts';
const TYPES = 'actors/types.ts';
const INPUTS = 'engine/inputs.ts';
const SIM_STORE = 'sim/montecarlo/simulation-store.ts';
const facts = new TypeFacts();

const object = (v: Json | undefined, what: string): JsonObject => {
  assert.ok(isObject(v), `${what} is an object`);
  return v;
};
const array = (v: Json | undefined, what: string): Json[] => {
  assert.ok(Array.isArray(v), `${what} is an array`);
  return v;
};
const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** The string literals of `type <name> = 'a' | 'b' ...` in a file. */
const literalsOf = (path: string, name: string): string[] => facts.literals(path, name);

/** Fields of an interface or object type in a file: optional when marked `?` or typed `| undefined` (the engine omits those). */
const interfaceFields = (path: string, name: string): { all: string[]; required: string[] } => facts.fields(path, name);

const oa = schemaChecker(openapi);
const aa = schemaChecker(asyncapi);
const oaSchemas = object(object(openapi['components'], 'components')['schemas'], 'openapi schemas');
const aaComponents = object(asyncapi['components'], 'asyncapi components');
const aaSchemas = object(aaComponents['schemas'], 'asyncapi schemas');
const aaMessages = object(aaComponents['messages'], 'asyncapi messages');
const paths = object(openapi['paths'], 'paths');

/** The const of a schema's `t` (or `type`, `op`) property, through `$ref` and `allOf`. */
function constOf(c: SchemaChecker, schema: Json | undefined, key: string): string {
  const s = object(c.deref(schema), `schema with ${key}`);
  if (Array.isArray(s['allOf'])) {
    const found = s['allOf']
      .map((sub) => object(c.deref(sub), 'allOf branch'))
      .filter(
        (sub) =>
          isObject(sub['properties']) &&
          isObject(c.deref(sub['properties'][key])) &&
          typeof object(c.deref(sub['properties'][key]), key)['const'] === 'string',
      );
    assert.equal(found.length, 1, `one branch of allOf makes ${key} a const`);
    return constOf(c, found[0], key);
  }
  const prop = object(c.deref(object(s['properties'], 'properties')[key]), `${key} property`);
  assert.equal(typeof prop['const'], 'string', `${key} is a const`);
  return prop['const'] as string;
}

/** zod's own JSON Schema of ClientFrameSchema (what the gateway validates every client frame with). */
const zodClientFrames = (): JsonObject => {
  const s = JSON.parse(JSON.stringify(z.toJSONSchema(ClientFrameSchema))) as JsonObject;
  delete s['$schema'];
  return s;
};

// -- what the route table says each route does ------------------------------------------

/** A route of the table the server registers and answers from, with its path in OpenAPI form. */
interface RouteFacts {
  readonly name: string;
  readonly method: 'get' | 'post';
  /** In OpenAPI form: `:id` → `{id}`. */
  readonly path: string;
  readonly status: number;
  readonly auth: HttpRouteAuth;
  /** Error codes the route may answer, by status (the server answers 500 INTERNAL in place of any other). */
  readonly errors: Map<number, Set<string>>;
}

const routes: RouteFacts[] = Object.entries(HTTP_ROUTES).map(([name, r]: [string, HttpRoute]) => ({
  name,
  method: r.method,
  path: openApiPath(r.path),
  status: r.status,
  auth: r.auth,
  errors: new Map(Object.entries(r.errors).map(([status, codes]) => [Number(status), new Set(codes)])),
}));

/** The documented operation of a route. */
function operation(method: string, path: string): JsonObject {
  return object(object(paths[path], `path ${path}`)[method], `${method.toUpperCase()} ${path}`);
}

/** The documented error codes of an operation's response. */
const errorCodesOf = (response: JsonObject): string[] => (response['x-error-codes'] as string[] | undefined) ?? [];

// -- tests: both documents -----------------------------------------------------------------

describe('the gateway documents, read against the source', () => {
  test('both documents parse as JSON and declare OpenAPI 3.1 and AsyncAPI 3.x', () => {
    assert.match(String(openapi['openapi']), /^3\.1\.\d+$/);
    assert.match(String(asyncapi['asyncapi']), /^3\.\d+\.\d+$/);
    for (const doc of [openapi, asyncapi]) {
      const info = object(doc['info'], 'info');
      assert.equal(typeof info['title'], 'string');
      assert.equal(typeof info['version'], 'string');
    }
  });

  test('every $ref in both documents resolves, and every example in them validates against its schema', () => {
    for (const [name, text, c] of [
      ['openapi', openapiText, oa],
      ['asyncapi', asyncapiText, aa],
    ] as const) {
      const dangling = [...text.matchAll(/"\$ref": "([^"]+)"/g)].map((m) => m[1]!).filter((r) => c.pointer(r) === undefined);
      assert.deepEqual(dangling, [], `every $ref of ${name} resolves`);
    }
    let examples = 0;
    for (const [name, raw] of Object.entries(aaMessages)) {
      const message = object(raw, name);
      for (const ex of array(message['examples'], `examples of ${name}`)) {
        assert.deepEqual(
          aa.check(message['payload'], object(ex, 'example')['payload'], true),
          [],
          `example ${String(object(ex, 'example')['name'])} of ${name}`,
        );
        examples++;
      }
    }
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(object(item, path))) {
        const o = object(op, `${method} ${path}`);
        const media = [
          ...Object.values(object(o['responses'], 'responses')).map((r) => object(r, 'response')['content']),
          isObject(o['requestBody']) ? o['requestBody']['content'] : undefined,
        ]
          .filter(isObject)
          .flatMap((c) => Object.values(c))
          .filter(isObject);
        for (const m of media)
          if (m['example'] !== undefined) {
            assert.deepEqual(oa.check(m['schema'], m['example'], true), [], `example of ${method} ${path}`);
            examples++;
          }
      }
    }
    for (const [name, schema] of Object.entries(oaSchemas))
      for (const ex of (object(schema, name)['examples'] as Json[] | undefined) ?? []) {
        assert.deepEqual(oa.check(schema, ex, true), [], `example of schema ${name}`);
        examples++;
      }
    assert.ok(examples >= 20, `the examples are found (${examples})`);
  });

  test('the engine vocabulary is documented the same in both documents', () => {
    for (const name of [
      'AssessmentState',
      'Order',
      'Position',
      'PositionEvidence',
      'Violation',
      'Cause',
      'RuleState',
      'RuleId',
      'AssessmentStatus',
      'OrderOp',
    ]) {
      assert.deepEqual(oa.normalize(oaSchemas[name]), aa.normalize(aaSchemas[name]), name);
    }
    const jwt = object(object(object(openapi['components'], 'components')['securitySchemes'], 'schemes')['bearerAuth'], 'bearerAuth')[
      'x-jwt'
    ];
    assert.deepEqual(jwt, object(aaMessages['Auth'], 'Auth')['x-jwt'], 'the token rules');
  });

  test('the schemas of states, deltas, positions, orders and violations have exactly the fields of their TypeScript types, optional where the engine may omit them', () => {
    const cases: Array<[string, string, string]> = [
      ['AssessmentState', TYPES, 'AssessmentState'],
      ['Order', TYPES, 'Order'],
      ['Position', TYPES, 'Position'],
      ['PositionEvidence', TYPES, 'PositionEvidence'],
      ['Violation', TYPES, 'Violation'],
      ['RuleState', TYPES, 'RuleState'],
      ['StateDelta', INPUTS, 'StateDelta'],
    ];
    for (const [schema, ts, name] of cases) {
      const fields = interfaceFields(ts, name);
      const s = object(aa.deref(aaSchemas[schema]), schema);
      assert.deepEqual(sorted(aa.declared(s)), fields.all, `${schema}: the fields of ${name}`);
      assert.deepEqual(sorted(s['required'] as string[]), fields.required, `${schema}: the required fields of ${name}`);
    }
    for (const name of [
      'Side',
      'OrderType',
      'TimeInForce',
      'OrderStatus',
      'OrderRole',
      'PhaseName',
      'RuleId',
      'AssessmentStatus',
      'RejectReason',
      'CancelReason',
    ]) {
      assert.deepEqual(object(aaSchemas[name], name)['enum'], literalsOf(TYPES, name), name);
    }
    assert.deepEqual(object(aaSchemas['InputRejectReason'], 'InputRejectReason')['enum'], literalsOf(INPUTS, 'InputRejectReason'));
  });
});

describe('the OpenAPI document of the HTTP API, read against the route table the server answers from', () => {
  test('every route of the table is a documented path with that method, and no other is documented', () => {
    const registered = routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    assert.ok(registered.length >= 12, `the routes are found (${registered.length})`);
    assert.ok(registered.includes('POST /v1/assessments/{id}/orders'), ':id becomes {id}');
    const documented = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(object(item, path))
        .filter((k) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'].includes(k))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    assert.deepEqual(sorted(documented), sorted(registered));
    for (const r of routes)
      for (const p of r.path.matchAll(/\{(\w+)\}/g)) {
        const params = array(operation(r.method, r.path)['parameters'], `parameters of ${r.path}`).map((x) =>
          object(oa.deref(x), 'parameter'),
        );
        assert.ok(
          params.some((x) => x['in'] === 'path' && x['name'] === p[1] && x['required'] === true),
          `${r.path} documents its path parameter ${p[1]}`,
        );
        assert.ok(r.errors.get(400)?.has('MALFORMED_PATH'), `${r.path} declares that a path parameter may not decode`);
      }
  });

  test('an operation asks for a bearer token exactly where its route asks for a trader, and for the operator role where it asks for one', () => {
    const scheme = object(
      object(object(openapi['components'], 'components')['securitySchemes'], 'securitySchemes')['bearerAuth'],
      'bearerAuth',
    );
    assert.deepEqual([scheme['type'], scheme['scheme'], scheme['bearerFormat']], ['http', 'bearer', 'JWT']);
    for (const r of routes) {
      const op = operation(r.method, r.path);
      assert.deepEqual(op['security'], r.auth === 'none' ? [] : [{ bearerAuth: [] }], `security of ${r.method} ${r.path}`);
      assert.equal(op['x-required-role'], r.auth === 'operator' ? 'operator' : undefined, `role of ${r.method} ${r.path}`);
      // A route behind a token answers the token's refusals; an operator's route, a trader's token too.
      if (r.auth !== 'none') assert.deepEqual(sorted(r.errors.get(401) ?? []), ['AUTH_FAILED', 'AUTH_REQUIRED'], `401 of ${r.path}`);
      assert.equal(r.errors.get(403)?.has('FORBIDDEN') === true, r.auth === 'operator', `403 of ${r.path}`);
    }
    assert.ok(
      routes.filter((r) => r.auth !== 'none').length >= 5 && routes.some((r) => r.auth === 'operator'),
      'the authenticated routes are found',
    );
  });

  test("every error code a route may answer, and the gateway's answer to an unrouted path, is in the documented ErrorCode enum, and no other", () => {
    const codes = new Set(routes.flatMap((r) => [...r.errors.values()].flatMap((c) => [...c])));
    codes.add(UNROUTED.code);
    for (const expected of [
      'AUTH_REQUIRED',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'MALFORMED_PATH',
      'WEBHOOK_SIGNATURE_INVALID',
      'DUPLICATE_REQUEST',
      'INTERNAL',
      'JOURNAL_UNAVAILABLE',
      'NOT_FOUND',
      'SIMULATIONS_DISABLED',
      'TOO_MANY_SIMULATIONS',
      'INVALID_HISTORY',
    ])
      assert.ok(codes.has(expected), `${expected} is in the route table`);
    const documented = object(oaSchemas['ErrorCode'], 'ErrorCode');
    assert.deepEqual(sorted(documented['enum'] as string[]), sorted(codes));
    assert.deepEqual(
      sorted(Object.keys(object(documented['x-enum-descriptions'], 'descriptions'))),
      sorted(codes),
      'each code is described',
    );
    const error = object(oa.deref(oaSchemas['Error']), 'Error');
    assert.deepEqual(
      object(
        oa.deref(object(object(oa.deref(object(error['properties'], 'p')['error']), 'error body')['properties'], 'p')['code']),
        'code',
      )['enum'],
      documented['enum'],
      "the error body's code is an ErrorCode",
    );
    const notFoundResponse = object(object(object(openapi['components'], 'components')['responses'], 'responses')['NotFound'], 'NotFound');
    assert.deepEqual(errorCodesOf(notFoundResponse), [UNROUTED.code]);
  });

  test('each operation documents exactly the statuses and error codes its route declares, errors as Error bodies, Retry-After with a 429', () => {
    for (const r of routes) {
      const op = operation(r.method, r.path);
      const responses = object(op['responses'], `responses of ${r.path}`);
      assert.deepEqual(
        sorted(Object.keys(responses)),
        sorted([String(r.status), ...[...r.errors.keys()].map(String)]),
        `statuses of ${r.method} ${r.path}`,
      );
      assert.deepEqual(errorCodesOf(object(responses[r.status], `${r.status}`)), [], `${r.status} of ${r.path} is a success`);
      for (const [status, codes] of r.errors) {
        const response = object(responses[status], `${status} of ${r.path}`);
        assert.deepEqual(
          sorted(errorCodesOf(response)),
          sorted(codes),
          `${r.method} ${r.path} documents exactly the codes it declares under ${status}`,
        );
        if (codes.size === 0) continue;
        const content = object(response['content'], `content of ${status} ${r.path}`);
        assert.deepEqual(
          object(content['application/json'], 'json')['schema'],
          { $ref: '#/components/schemas/Error' },
          `${status} of ${r.path} is an error body`,
        );
        if (status === 429) {
          const headers = Object.keys(object(response['headers'], `headers of 429 ${r.path}`)).map((h) => h.toLowerCase());
          assert.ok(headers.includes('retry-after'), `${r.method} ${r.path} documents the retry-after header of 429`);
        }
      }
    }
  });

  test("the Idempotency-Key rule, the body limits and the leaderboard's and listing's bounds are the ones the handlers use", () => {
    const header = object(
      oa.deref(
        array(operation('post', '/v1/assessments/{id}/orders')['parameters'], 'parameters').find(
          (p) => object(oa.deref(p), 'p')['in'] === 'header',
        ),
      ),
      'Idempotency-Key',
    );
    assert.equal(header['name'], 'Idempotency-Key');
    assert.equal(header['required'], true);
    assert.equal(object(header['schema'], 'schema')['pattern'], IDEMPOTENCY_KEY.source);
    assert.equal(openapi['x-max-body-bytes'], BODY_LIMITS.default);
    assert.equal(operation('post', '/v1/simulations')['x-max-body-bytes'], BODY_LIMITS.simulations);
    for (const [path, op] of Object.entries(paths).flatMap(([p, item]) =>
      Object.entries(object(item, p)).map(([m, o]) => [`${m} ${p}`, object(o, m)] as const),
    )) {
      if (path !== 'post /v1/simulations') assert.equal(op['x-max-body-bytes'], undefined, `${path} reads bodies with the default limit`);
    }
    const webhook = array(operation('post', '/v1/stripe/webhook')['parameters'], 'webhook parameters').map((p) => object(p, 'p'));
    assert.ok(webhook.some((p) => p['in'] === 'header' && p['name'] === 'Stripe-Signature'));
    for (const [path, bound] of [
      ['/v1/leaderboard', LEADERBOARD_N],
      ['/v1/simulations', SIMULATION_LIST_LIMIT],
    ] as const) {
      const param = object(
        array(operation('get', path)['parameters'], 'parameters')
          .map((p) => object(p, 'p'))
          .find((p) => p['in'] === 'query'),
        `query of ${path}`,
      );
      assert.equal(param['name'], bound.name);
      assert.match(String(param['description']), /rounded down|floor/i, `the document says that ${bound.name} is rounded down`);
      assert.deepEqual(param['schema'], { type: 'integer', minimum: bound.min, maximum: bound.max, default: bound.default });
    }
  });

  test("the simulation request is SimulationRequest as zod emits it for input (with the gateway's path limit, and its refinement as anyOf); records, results and their parts have exactly the fields of their TypeScript types and zod schemas", () => {
    const maxPaths = SIMULATION_DEFAULTS.maxPaths;
    const zodRequest = JSON.parse(JSON.stringify(z.toJSONSchema(SimulationRequest, { io: 'input' }))) as JsonObject;
    delete zodRequest['$schema'];
    object(object(zodRequest['properties'], 'properties')['paths'], 'paths')['maximum'] = maxPaths;
    const { anyOf, ...documented } = object(oa.normalize(oaSchemas['SimulationRequest']), 'SimulationRequest');
    assert.deepEqual(documented, oa.normalize(zodRequest));
    assert.ok(Array.isArray(anyOf), 'the refinement is documented as anyOf');
    // zod's refinement (assessmentId, or tierId with trades or a parametric method) cannot be emitted: the document accepts and refuses what zod does, and the path limit.
    const trades: Json[] = [
      { closedAt: '2026-09-01T13:42:10Z', pnl: -2_400 },
      { closedAt: 1_788_270_535_000, pnl: 1_900, balance: 97_600 },
    ];
    const model = { mu: 0.08, sigma: 0.55, exposure: 2, holdDays: 0.5 };
    const bodies: JsonObject[] = [
      {},
      { tierId: 'two-step-100k' },
      { tierId: 'two-step-100k', trades },
      { assessmentId: 'a1' },
      { assessmentId: 'a1', trades, paths: 100 },
      { trades },
      { tierId: 'two-step-100k', method: 'parametric', model },
      { tierId: 'two-step-100k', method: 'block', model },
      { method: 'parametric', model },
      { tierId: 'two-step-100k', trades, paths: 99 },
      { tierId: 'two-step-100k', trades, paths: maxPaths },
      { tierId: 'two-step-100k', trades, paths: maxPaths + 1 },
      { tierId: 'two-step-100k', trades, other: 1 },
      { tierId: 'two-step-100k', trades: [{ closedAt: 'x', pnl: 1, side: 'buy' }] },
      { assessmentId: '' },
    ];
    for (const b of bodies) {
      const accepted = SimulationRequest.safeParse(b).success && Number(b['paths'] ?? 0) <= maxPaths;
      assert.equal(
        oa.check(oaSchemas['SimulationRequest'], b, true).length === 0,
        accepted,
        `${JSON.stringify(b)} is ${accepted ? 'accepted' : 'refused'}`,
      );
    }

    const record = interfaceFields(SIM_STORE, 'SimulationRecord');
    for (const name of ['SimulationRecord', 'SimulationRecordSummary']) {
      const s = object(oa.deref(oaSchemas[name]), name);
      assert.deepEqual(sorted(oa.declared(s)), record.all, `${name}: the fields of SimulationRecord`);
      assert.deepEqual(sorted(s['required'] as string[]), record.required, `${name}: the required fields of SimulationRecord`);
      assert.deepEqual(
        object(object(s['properties'], 'properties')['status'], 'status')['enum'],
        literalsOf(SIM_STORE, 'SimulationStatus'),
        `${name}: the statuses`,
      );
    }
    // The result is zod's SimulationResult; a listing's is the same without the fields withoutCharts drops.
    const charts: readonly string[] = SIMULATION_CHARTS;
    const resultFields = Object.keys(SimulationResult.shape);
    assert.deepEqual(sorted(oa.declared(oaSchemas['SimulationResult'])), sorted(resultFields), "SimulationResult: the fields of zod's");
    const figures = object(oaSchemas['SimulationFigures'], 'SimulationFigures');
    assert.deepEqual(
      sorted(oa.declared(figures)),
      sorted(resultFields.filter((f) => !charts.includes(f))),
      'SimulationFigures: without the charts',
    );
    assert.deepEqual(sorted(figures['required'] as string[]), sorted(oa.declared(figures)), 'every figure is present (null where none)');
    const recordResult = (name: string) => object(object(oaSchemas[name], name)['properties'], 'properties')['result'];
    assert.deepEqual(recordResult('SimulationRecord'), {
      oneOf: [{ $ref: '#/components/schemas/SimulationResult' }, { type: 'null' }],
      description: object(recordResult('SimulationRecord'), 'result')['description'],
    });
    assert.deepEqual(object(recordResult('SimulationRecordSummary'), 'result')['oneOf'], [
      { $ref: '#/components/schemas/SimulationFigures' },
      { type: 'null' },
    ]);
    for (const [name, shape] of [
      ['Estimate', Estimate.shape],
      ['Distribution', Distribution.shape],
      ['Histogram', Histogram.shape],
      ['Fan', SimulationResult.shape.fan.shape],
    ] as const) {
      const s = object(oaSchemas[name], name);
      assert.deepEqual(sorted(oa.declared(s)), sorted(Object.keys(shape)), `${name}: the fields of zod's`);
      assert.deepEqual(sorted(s['required'] as string[]), sorted(Object.keys(shape)), `${name}: every field is required`);
    }
    const bands = object(object(object(oaSchemas['Fan'], 'Fan')['properties'], 'p')['bands'], 'bands');
    assert.deepEqual(
      sorted(Object.keys(object(bands['properties'], 'bands'))),
      sorted(Object.keys(SimulationResult.shape.fan.shape.bands.shape)),
    );
    for (const key of ['outcomes', 'breakdown']) {
      const s = object(object(figures['properties'], 'properties')[key], key);
      assert.deepEqual(Object.keys(object(s['properties'], key)), [...OUTCOMES], `${key}: one field per outcome`);
      assert.deepEqual(s['required'], [...OUTCOMES]);
    }
    assert.deepEqual(object(object(figures['properties'], 'p')['engine'], 'engine')['enum'], SimulationResult.shape.engine.options);
    assert.deepEqual(object(object(figures['properties'], 'p')['method'], 'method')['enum'], SimulationResult.shape.method.options);
    // The figures the document states in prose are the service's defaults.
    const post = operation('post', '/v1/simulations');
    const responses = object(post['responses'], 'responses');
    assert.match(
      String(object(responses['429'], '429')['description']),
      new RegExp(`\\b${SIMULATION_DEFAULTS.maxRunningPerTrader} simulations running`),
    );
    assert.match(
      String(object(responses['422'], '422')['description']),
      new RegExp(`^Fewer than ${SIMULATION_DEFAULTS.minHistory} returns`),
    );
    assert.match(String(post['description']), new RegExp(`after ${SIMULATION_DEFAULTS.maxRuntimeMs / 60_000} minutes is cancelled`));
  });

  test("the documented token rules are TokenVerifier's: pinned algorithms, issuer, audience, required claims, roles, limits and failure codes", () => {
    const jwt = object(
      object(object(object(openapi['components'], 'components')['securitySchemes'], 's')['bearerAuth'], 'b')['x-jwt'],
      'x-jwt',
    );
    for (const key of [
      'algorithms',
      'issuer',
      'audience',
      'requiredClaims',
      'roles',
      'maxTokenLength',
      'maxTokenAge',
      'clockToleranceSec',
      'failureCodes',
    ] as const)
      assert.deepEqual(jwt[key], TOKEN_RULES[key], `x-jwt.${key} is the verifier's`);
    assert.deepEqual(
      sorted(Object.keys(object(jwt['claims'], 'claims'))),
      sorted(['roles', ...(jwt['requiredClaims'] as string[]), 'iss', 'aud']),
    );
    const auth = object(aa.normalize(aaSchemas['AuthFrame']), 'AuthFrame');
    assert.equal(
      object(object(auth['properties'], 'p')['token'], 'token')['maxLength'],
      jwt['maxTokenLength'],
      'the auth frame takes the longest token the verifier does',
    );
  });

  test("the order body is the socket's order op as zod emits it, and a tier is TierSchema as zod emits it for output", () => {
    const orderBranch = array(zodClientFrames()['oneOf'], 'frames')
      .map((b) => object(b, 'branch'))
      .find((b) => object(object(b['properties'], 'p')['t'], 't')['const'] === 'order');
    const zodOrderOp = object(object(orderBranch, 'order frame')['properties'], 'p')['order'];
    const body = object(
      object(object(operation('post', '/v1/assessments/{id}/orders')['requestBody'], 'body')['content'], 'content')['application/json'],
      'json',
    );
    assert.deepEqual(oa.normalize(body['schema']), oa.normalize(zodOrderOp));
    const tier = JSON.parse(JSON.stringify(z.toJSONSchema(TierSchema, { io: 'output' }))) as JsonObject;
    delete tier['$schema'];
    assert.deepEqual(oa.normalize(oaSchemas['Tier']), oa.normalize(tier));
    for (const t of presetTiers())
      assert.deepEqual(oa.check(oaSchemas['Tier'], JSON.parse(JSON.stringify(t)), true), [], `preset tier ${t.id}`);
  });
});

describe("the AsyncAPI document of WebSocket protocol v1, read against the gateway's source", () => {
  const channel = object(object(asyncapi['channels'], 'channels')['gateway'], 'gateway channel');
  const operations = Object.entries(object(asyncapi['operations'], 'operations')).map(([k, v]) => [k, object(v, k)] as const);
  const messageRefs = (refs: Json | undefined): string[] => array(refs, 'message refs').map((r) => String(object(r, 'ref')['$ref']));
  const payloadOf = (ref: string): JsonObject => object(aa.deref(object(aa.deref({ $ref: ref }), ref)['payload']), `payload of ${ref}`);

  test("the channel is the /v1/ws route, over ws, with both subprotocols in the server's preference order", () => {
    assert.equal(channel['address'], WS_PATH);
    const servers = Object.values(object(asyncapi['servers'], 'servers')).map((s) => object(s, 'server'));
    assert.ok(
      servers.some((s) => s['protocol'] === 'ws'),
      'a ws server',
    );
    assert.deepEqual(asyncapi['x-subprotocols'], [...PROTOCOLS]);
    assert.equal(pickProtocol([...PROTOCOLS].reverse()), PROTOCOLS[0], "the server picks by its own order, not the client's");
    assert.equal(asyncapi['defaultContentType'], 'application/msgpack');
  });

  test('the close codes are exactly CLOSE', () => {
    const codes = array(asyncapi['x-close-codes'], 'x-close-codes').map((c) => object(c, 'close code'));
    assert.deepEqual(Object.fromEntries(codes.map((c) => [c['name'], c['code']])), { ...CLOSE });
    for (const c of codes) assert.equal(typeof c['description'], 'string');
  });

  test('the documented client frames are exactly ClientFrameSchema as zod emits it, and the gateway receives each of them', () => {
    const zs = zodClientFrames();
    assert.deepEqual(aa.normalize(aaSchemas['ClientFrame']), aa.normalize(zs));
    const branches = messageRefs(object(aaSchemas['ClientFrame'], 'ClientFrame')['oneOf'] as Json);
    const received = operations.filter(([, op]) => op['action'] === 'receive').flatMap(([, op]) => messageRefs(op['messages']));
    assert.deepEqual(
      sorted(received.map((r) => String(object(object(aa.deref({ $ref: r }), r)['payload'], 'payload')['$ref']))),
      sorted(branches),
      'one receive operation per client frame',
    );
    const ts = array(zs['oneOf'], 'zod frames').map((b) => String(object(object(object(b, 'b')['properties'], 'p')['t'], 't')['const']));
    assert.deepEqual(sorted(received.map((r) => constOf(aa, payloadOf(r), 't'))), sorted(ts));
    const ops = array(object(object(aa.deref({ $ref: '#/components/schemas/OrderOp' }), 'OrderOp'), 'OrderOp')['oneOf'], 'ops').map((o) =>
      constOf(aa, o, 'op'),
    );
    assert.deepEqual(sorted(ops), sorted(literalsOfOrderOps()), 'the order ops');
  });

  test('every server frame type of ServerFrame is documented with exactly its fields, and every one is sent by an operation', () => {
    const members = facts
      .members(PROTOCOL, 'ServerFrame')
      .map((m) => ({ t: m.literals.get('t')!, fields: m.fields }))
      .filter((m) => m.t !== undefined);
    assert.ok(members.length >= 11, `the server frames are read (${members.length})`);
    const branches = array(object(aaSchemas['ServerFrame'], 'ServerFrame')['oneOf'], 'ServerFrame');
    assert.deepEqual(sorted(branches.map((b) => constOf(aa, b, 't'))), sorted(members.map((m) => m.t)));
    for (const m of members) {
      const schema = object(aa.deref(branches.find((b) => constOf(aa, b, 't') === m.t)), m.t);
      assert.deepEqual(sorted(aa.declared(schema)), sorted(m.fields.map((f) => f.name)), `fields of ${m.t}`);
      assert.deepEqual(
        sorted(schema['required'] as string[]),
        sorted(m.fields.filter((f) => !f.optional).map((f) => f.name)),
        `required fields of ${m.t}`,
      );
    }
    const sent = operations.flatMap(([, op]) => [
      ...(op['action'] === 'send' ? messageRefs(op['messages']) : []),
      ...(isObject(op['reply']) ? messageRefs(op['reply']['messages']) : []),
    ]);
    assert.deepEqual(
      sorted(new Set(sent.map((r) => constOf(aa, payloadOf(r), 't')))),
      sorted(members.map((m) => m.t)),
      'every server frame is sent or replied by an operation',
    );
    const inChannel = Object.values(object(channel['messages'], 'channel messages')).map((m) => String(object(m, 'm')['$ref']));
    assert.deepEqual(
      sorted(inChannel),
      sorted(Object.keys(aaMessages).map((k) => `#/components/messages/${k}`)),
      'the channel carries every message',
    );
    for (const [name, op] of operations) {
      assert.deepEqual(op['channel'], { $ref: '#/channels/gateway' }, `${name} is on the channel`);
      for (const r of [...messageRefs(op['messages']), ...(isObject(op['reply']) ? messageRefs(op['reply']['messages']) : [])])
        assert.match(r, /^#\/channels\/gateway\/messages\/\w+$/, `${name} references a channel message`);
    }
    const limits = interfaceFields(PROTOCOL, 'SessionLimits');
    assert.deepEqual(sorted(aa.declared(aaSchemas['SessionLimits'])), limits.all, 'ready.limits has the fields of SessionLimits');
  });

  test("every ErrorCode is documented, with the close the gateway's table gives it; reject codes are the engine's refusals and the gateway's own", () => {
    const codes = literalsOf(PROTOCOL, 'ErrorCode');
    const doc = object(aaSchemas['ErrorCode'], 'ErrorCode');
    assert.deepEqual(doc['enum'], codes);
    assert.deepEqual(sorted(Object.keys(object(doc['x-enum-descriptions'], 'descriptions'))), sorted(codes));
    assert.deepEqual(sorted(Object.keys(ERROR_CLOSES)), sorted(codes), 'the table has every code');
    const documented = Object.fromEntries(Object.entries(ERROR_CLOSES).map(([code, c]) => [code, closeWording(c)]));
    assert.deepEqual(object(doc['x-close'], 'x-close'), documented, "x-close is the gateway's table");
    // A reject carries the engine's refusal as it is, or a code the gateway puts there itself.
    const rejectCode = object(object(aa.deref(aaSchemas['RejectFrame']), 'RejectFrame')['properties'], 'p')['code'];
    const expected = [...literalsOf(INTAKE_TYPES, 'IntakeRefusal'), ...GATEWAY_REJECT_CODES];
    for (const code of expected) assert.equal(aa.check(rejectCode, code).length, 0, `reject code ${code} is documented`);
    const rejects = array(object(aa.deref(rejectCode), 'RejectCode')['anyOf'], 'RejectCode').flatMap(
      (b) => object(aa.deref(b), 'branch')['enum'] as string[],
    );
    assert.deepEqual(sorted(rejects), sorted(expected), 'and no other');
  });

  test("the documented session and stream defaults are the gateway's and the hub's", () => {
    const d = object(asyncapi['x-session-defaults'], 'x-session-defaults');
    const { uwsFrameMultiple, ...gatewayDefaults } = GATEWAY_DEFAULTS;
    const expected: Record<string, number> = {
      ...gatewayDefaults,
      ...TRADER_LIMIT_DEFAULTS,
      ...STREAM_HUB_DEFAULTS,
      initialBurstFrames: INITIAL_BURST_FRAMES,
    };
    assert.deepEqual(d, expected);
    assert.match(
      asyncapiText,
      new RegExp(`over ${uwsFrameMultiple}× that, uWS drops the connection`),
      'frames over the multiple uWS is given are left to it, as documented',
    );
  });

  test('every engine event type an event frame can carry is documented, once, with its type as a const', () => {
    const types = [...facts.members(TYPES, 'AssessmentEvent'), ...facts.members(INPUTS, 'KernelEvent')].flatMap(
      (m) => m.literals.get('type') ?? [],
    );
    assert.ok(types.length >= 28, `the event types are read (${types.length})`);
    const documented = array(object(aaSchemas['Event'], 'Event')['oneOf'], 'Event').map((b) => constOf(aa, b, 'type'));
    assert.deepEqual(sorted(documented), sorted(types));
    assert.equal(new Set(documented).size, documented.length);
    const envelope = sorted(aa.declared(aaSchemas['EventEnvelope']));
    assert.deepEqual(envelope, sorted(['type', 'assessmentId', 'at', 'input', 'n']), 'OutputEvent = event & { input, n }');
  });
});

/** The `op`s of OrderOp, from zod's own JSON Schema of the client frames (only order ops have an `op`). */
function literalsOfOrderOps(): string[] {
  const out: string[] = [];
  const walk = (v: Json | undefined): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) {
      const op = isObject(v['properties']) ? v['properties']['op'] : undefined;
      if (isObject(op) && typeof op['const'] === 'string') out.push(op['const']);
      Object.values(v).forEach(walk);
    }
  };
  walk(zodClientFrames());
  assert.ok(out.length >= 3, `the order ops are found (${out.length})`);
  return out;
}

// -- against a live gateway over a fake engine ---------------------------------------------

const SECRET = 'docs-test-secret-of-at-least-thirty-two-characters';
const signToken = (sub: string, o: { roles?: string[]; secret?: string } = {}): Promise<string> =>
  new SignJWT({ roles: o.roles ?? ['trader'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer('vatic')
    .setAudience('vatic-gateway')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(o.secret ?? SECRET));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Conn {
  readonly ws: WebSocket;
  readonly frames: JsonObject[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** The first frame that satisfies `ok`, waiting for it. */
  until(what: string, ok: (f: JsonObject) => boolean): Promise<JsonObject>;
}

async function connect(url: string, protocol: string): Promise<Conn> {
  const ws = new WebSocket(url, protocol);
  const frames: JsonObject[] = [];
  ws.on('message', (d, isBinary) => frames.push((isBinary ? decode(d as Buffer) : JSON.parse(String(d))) as JsonObject));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on('close', (code, reason) => r({ code, reason: String(reason) })),
  );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  assert.equal(ws.protocol, protocol);
  const binary = protocol === 'vatic.v1.msgpack';
  return {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(binary ? encode(frame) : JSON.stringify(frame)),
    until: (what, ok) =>
      until(() => frames.find(ok), {
        what,
        deadlineMs: 5_000,
        intervalMs: 5,
        detail: () => `got ${JSON.stringify(frames.map((f) => f['t']))}`,
      }),
  };
}

/** A kernel with real actors behind a GatewayEngine, as an engine node would answer (no journal). */
class FakeEngine implements GatewayEngine {
  readonly h: Harness;
  readonly hubs: StreamHub[] = [];
  readonly owners = new TraderIndex();
  refuseNext: IntakeRefusal | undefined;
  #position = 0;

  constructor() {
    this.h = new Harness(
      parseTier({
        id: 'docs',
        version: 1,
        name: 'Docs',
        timezone: 'UTC',
        kinds: ['linear'],
        leverage: 10,
        fees: { linear: 0.0001, binary: 0 },
        phases: [
          {
            name: 'challenge',
            startingBalance: 100_000,
            rules: { maxLoss: { limit: { amount: 5_000 } }, profitTarget: { target: { pct: 10 } } },
          },
        ],
      }),
      { assessments: ['a1', 'a2', 'a3'] },
    );
    this.owners.onEvents(this.h.log);
  }

  /** Hand what the kernel did to every hub, as the node's output would. */
  publish(events: readonly OutputEvent[]): void {
    this.owners.onEvents(events);
    const deltas = this.h.kernel.takeDeltas();
    for (const hub of this.hubs) {
      hub.onEvents(events);
      hub.onDeltas(deltas);
    }
  }

  hubOptions(extra: Partial<StreamHubOptions> = {}): StreamHubOptions {
    return { epoch: 7, watch: (ids, on) => this.h.kernel.watch(ids, on), ...extra };
  }

  async state(assessmentId: string) {
    return this.h.kernel.state(assessmentId);
  }

  async offer(req: Parameters<GatewayEngine['offer']>[0]): Promise<IntakeResult> {
    if (this.refuseNext !== undefined) {
      const code = this.refuseNext;
      this.refuseNext = undefined;
      return { ok: false, code, message: `refused: ${code}` };
    }
    if (req.kind !== 'command') return { ok: false, code: 'MALFORMED_REQUEST', message: 'commands only' };
    const parsed = CommandSchema.safeParse(req.command);
    if (!parsed.success) return { ok: false, code: 'INVALID_COMMAND', message: parsed.error.message };
    const command = parsed.data as Command;
    const state = this.h.kernel.state(req.assessmentId);
    if (state === undefined) return { ok: false, code: 'UNKNOWN_ASSESSMENT', message: 'no such assessment' };
    if ('clientOrderId' in command && command.clientOrderId in state.clientOrderIds)
      return { ok: false, code: 'DUPLICATE_CLIENT_ORDER_ID', message: `client order id '${command.clientOrderId}' was used` };
    this.publish(this.h.command(command, req.assessmentId));
    const position = ++this.#position;
    return { ok: true, position, input: position, watermark: 0 };
  }
}

const serverFrame = aaSchemas['ServerFrame'];

/** Asserts that a frame the gateway sent fits exactly one documented server frame, the one of its `t`, field for field. */
function assertServerFrame(frame: JsonObject, what: string): void {
  const problems = aa.check(serverFrame, frame, true);
  if (problems.length > 0) {
    const branch = array(object(serverFrame, 'ServerFrame')['oneOf'], 'oneOf').find((b) => constOf(aa, b, 't') === frame['t']);
    assert.fail(
      `${what}: ${JSON.stringify(frame).slice(0, 400)}\n${problems.join('\n')}\n${branch === undefined ? 'no such t' : aa.check(branch, frame, true).join('\n')}`,
    );
  }
}

/** The documented close code of a name of CLOSE. */
const closeCode = (name: string): number =>
  Number(
    object(
      array(asyncapi['x-close-codes'], 'x-close-codes').find((c) => object(c, 'c')['name'] === name),
      name,
    )['code'],
  );
const closeOfError = (code: string): string => String(object(object(aaSchemas['ErrorCode'], 'ErrorCode')['x-close'], 'x-close')[code]);

/**
 * Checks a real HTTP answer against the document: its status, that the
 * operation documents it, the media type, the body against the schema, and,
 * for an error, its code among that response's `x-error-codes`. Returns the
 * body (JSON, or the text of any other media type).
 */
async function assertDocumentedAnswer(
  what: string,
  method: 'get' | 'post',
  template: string,
  res: Response,
  status: number,
  code?: string,
): Promise<Json> {
  const text = await res.text();
  assert.equal(res.status, status, `${what}: ${text.slice(0, 300)}`);
  const response = object(
    object(operation(method, template)['responses'], 'responses')[String(res.status)],
    `${what}: the status is documented`,
  );
  const content = object(response['content'], `${what}: content`);
  const media = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const documented = object(content[media], `${what}: media type ${media} is documented`);
  if (media !== 'application/json') return text;
  const body = JSON.parse(text) as Json;
  assert.deepEqual(oa.check(documented['schema'], body, true), [], `${what}: ${text.slice(0, 300)}`);
  if (res.status >= 400) {
    const answered = String(object(object(body, 'error body')['error'], 'error')['code']);
    assert.equal(answered, code, what);
    assert.ok(errorCodesOf(response).includes(answered), `${what}: ${answered} is among the response's x-error-codes`);
  } else assert.equal(code, undefined, `${what}: a success carries no code`);
  return body;
}

describe('the gateway documents, against a live gateway over a fake engine', () => {
  let engine: FakeEngine;
  let gateway: Gateway;
  let hub: StreamHub;
  let url: string;
  let base: string;
  const registry = new Registry();
  const leaderboard = new MemoryLeaderboard();

  before(async () => {
    engine = new FakeEngine();
    engine.publish(engine.h.tick('BTC-USD', 40_000, 40_001));
    hub = new StreamHub(engine.hubOptions());
    engine.hubs.push(hub);
    await leaderboard.update([
      { assessmentId: 'a1', returnPct: 1.25 },
      { assessmentId: 'a2', returnPct: -0.5 },
    ]);
    gateway = await Gateway.start({
      engine,
      verifier: await TokenVerifier.create({ secret: SECRET }),
      hub,
      metrics: new GatewayMetrics(registry, hub),
      log: pino({ level: 'silent' }),
      port: 0,
      allowFallback: true,
      authTimeoutMs: 300,
      messagesPerSecond: 10_000,
      traderMessagesPerSecond: 10_000,
      routes: httpApi({
        engine,
        verifier: await TokenVerifier.create({ secret: SECRET }),
        registry,
        tiers: presetTiers(),
        owners: engine.owners,
        leaderboard,
        idempotency: new MemoryIdempotencyPrecheck(),
        log: pino({ level: 'silent' }),
        shards: () => [
          { shard: 0, stats: { ...engine.h.kernel.stats }, busyMs: 3.5, pendingInputs: 0 },
          { shard: 1, stats: undefined, busyMs: 0, pendingInputs: 2 },
        ],
      }),
    });
    url = `ws://127.0.0.1:${gateway.port}/v1/ws`;
    base = `http://127.0.0.1:${gateway.port}`;
  });
  after(async () => {
    await gateway?.drain();
  });

  test("a real session's frames (ready, snapshots, events and deltas of a real actor, acks, a reject, pong, resumed, unsubscribed, errors) fit the documented server frames", async () => {
    const s = await connect(url, 'vatic.v1.msgpack');
    s.send({ t: 'auth', token: await signToken('trader-a1') });
    const ready = await s.until('ready', (f) => f['t'] === 'ready');
    s.send({ t: 'sub', id: 1, assessmentId: 'a1' });
    const snapshot = await s.until('snapshot', (f) => f['t'] === 'snapshot' && f['id'] === 1);
    assert.equal(
      object(object(snapshot['state'], 'state')['rules'], 'rules')['dailyFloor'],
      -Infinity,
      'msgpack carries the -Infinity floor',
    );
    const place = (id: number, clientOrderId: string, extra: object = {}) =>
      s.send({
        t: 'order',
        id,
        assessmentId: 'a1',
        order: { op: 'place', clientOrderId, symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.5, ...extra },
      });
    place(2, 'w1', { stopLoss: 39_000, takeProfit: 50_000 });
    await s.until('ack 2', (f) => f['id'] === 2);
    place(3, 'w2', { type: 'limit', qty: 0.1, limitPrice: 30_000, tif: 'day' });
    await s.until('ack 3', (f) => f['id'] === 3);
    const working = Object.values(engine.h.state('a1').orders).find((o) => o.clientOrderId === 'w2')!;
    s.send({ t: 'order', id: 4, assessmentId: 'a1', order: { op: 'modify', orderId: working.id, limitPrice: 31_000 } });
    await s.until('ack 4', (f) => f['id'] === 4);
    place(5, 'w1');
    const reject = await s.until('reject 5', (f) => f['id'] === 5);
    assert.equal(reject['t'], 'reject');
    engine.publish(engine.h.tick('BTC-USD', 40_100, 40_101));
    place(6, 'w3', { qty: 1 });
    await s.until('ack 6', (f) => f['id'] === 6);
    engine.publish(engine.h.tick('BTC-USD', 34_000, 34_001)); // stop-loss, then a hard breach: violation, liquidation, failure
    await s.until('the failure', (f) => f['t'] === 'event' && object(f['event'], 'event')['type'] === 'assessment.failed');
    s.send({ t: 'ping', ts: 12.5 });
    await s.until('pong', (f) => f['t'] === 'pong');
    s.send({ t: 'sub', id: 'foreign', assessmentId: 'a2' });
    await s.until('forbidden', (f) => f['id'] === 'foreign');
    s.send({ t: 'sub', id: 7, assessmentId: 'a1', resume: { epoch: snapshot['epoch'], seq: Number(snapshot['seq']) + 2 } });
    const resumed = await s.until('resumed', (f) => f['t'] === 'resumed' && f['id'] === 7);
    s.send({ t: 'sub', id: 8, assessmentId: 'a1', resume: { epoch: Number(snapshot['epoch']) + 1, seq: 1 } });
    await s.until('a fresh snapshot for another epoch', (f) => f['t'] === 'snapshot' && f['id'] === 8);
    s.send({ t: 'unsub', id: 9, assessmentId: 'a1' });
    await s.until('unsubscribed', (f) => f['t'] === 'unsubscribed');
    s.send({ t: 'unsub', id: 10, assessmentId: 'a1' });
    await s.until('not subscribed', (f) => f['id'] === 10);
    s.send({ t: 'auth', token: await signToken('trader-a1') });
    const reauthenticated = await s.until('reauthenticated', (f) => f['t'] === 'reauthenticated');
    assert.ok(Number(reauthenticated['expiresAt']) >= Number(ready['expiresAt']), 'a re-auth moves the expiry');
    s.send({ t: 'auth', token: await signToken('trader-a2') });
    await s.until('a re-auth of another trader refused', (f) => f['code'] === 'AUTH_FAILED' && /same trader/.test(String(f['message'])));
    // Two at once: the second is refused ALREADY_AUTHENTICATED if it arrives while the first is checked, else taken too.
    const before = s.frames.length;
    const [t1, t2] = [await signToken('trader-a1'), await signToken('trader-a1')];
    s.send({ t: 'auth', token: t1 });
    s.send({ t: 'auth', token: t2 });
    await s.until(
      'two answers',
      () => s.frames.slice(before).filter((f) => f['t'] === 'reauthenticated' || f['code'] === 'ALREADY_AUTHENTICATED').length >= 2,
    );
    s.send({ t: 'sub', id: 12, assessmentId: 'a1' });
    s.send({ t: 'sub', id: 13, assessmentId: 'a1' });
    await s.until('already subscribed', (f) => f['code'] === 'ALREADY_SUBSCRIBED');
    s.ws.send(encode({ t: 'sub', id: 11 }));
    await s.until('malformed', (f) => f['code'] === 'MALFORMED_FRAME');
    s.ws.send(new Uint8Array(GATEWAY_DEFAULTS.maxFrameBytes + 1));
    await s.until('too large', (f) => f['code'] === 'FRAME_TOO_LARGE');
    s.ws.close();

    for (const [i, f] of s.frames.entries()) assertServerFrame(f, `msgpack frame ${i}`);
    const seen = new Set(s.frames.map((f) => String(f['t'])));
    assert.deepEqual(
      sorted(seen),
      sorted(['ready', 'reauthenticated', 'snapshot', 'delta', 'event', 'resumed', 'unsubscribed', 'ack', 'reject', 'pong', 'error']),
    );
    const events = new Set(s.frames.filter((f) => f['t'] === 'event').map((f) => String(object(f['event'], 'event')['type'])));
    for (const t of [
      'order.accepted',
      'order.modified',
      'order.filled',
      'order.triggered',
      'order.cancelled',
      'position.opened',
      'position.closed',
      'rules.violation-detected',
      'assessment.failed',
    ])
      assert.ok(events.has(t), `an ${t} event was seen`);
    assert.deepEqual(object(ready['limits'], 'limits'), {
      maxFrameBytes: GATEWAY_DEFAULTS.maxFrameBytes,
      messagesPerSecond: 10_000,
      maxSubscriptions: GATEWAY_DEFAULTS.maxSubscriptions,
    });

    // The stream numbering the document describes: seq + 1, + 2, … after the snapshot; the replay after a resume, then `resumed` from..to.
    const seqs = (from: number, to: number) =>
      s.frames
        .slice(from, to)
        .filter((f) => f['t'] === 'delta' || f['t'] === 'event')
        .map((f) => Number(f['seq']));
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
    const forbidden = s.frames.findIndex((f) => f['t'] === 'error' && f['id'] === 'foreign');
    const live = seqs(s.frames.indexOf(snapshot) + 1, forbidden);
    assert.ok(live.length >= 10, 'live frames arrived');
    assert.deepEqual(
      live,
      range(Number(snapshot['seq']) + 1, Number(snapshot['seq']) + live.length),
      'live frames are numbered seq + 1, seq + 2, … after the snapshot',
    );
    assert.deepEqual([resumed['from'], resumed['to']], [Number(snapshot['seq']) + 3, live.at(-1)], 'resumed names the replayed range');
    assert.deepEqual(
      seqs(forbidden + 1, s.frames.indexOf(resumed)),
      range(Number(resumed['from']), Number(resumed['to'])),
      'the replay is from..to, before `resumed`',
    );
  });

  test("the JSON subprotocol sends the same frames, with an absent rule's -Infinity floor as null, and the server prefers msgpack when both are offered", async () => {
    const s = await connect(url, 'vatic.v1.json');
    s.send({ t: 'auth', token: await signToken('trader-a3') });
    await s.until('ready', (f) => f['t'] === 'ready');
    s.send({ t: 'sub', id: 'one', assessmentId: 'a3' });
    const snapshot = await s.until('snapshot', (f) => f['t'] === 'snapshot');
    assert.equal(object(object(snapshot['state'], 'state')['rules'], 'rules')['dailyFloor'], null);
    s.send({
      t: 'order',
      id: 'two',
      assessmentId: 'a3',
      order: { op: 'place', clientOrderId: 'j1', symbol: 'BTC-USD', side: 'sell', type: 'market', qty: 0.2 },
    });
    await s.until('ack', (f) => f['t'] === 'ack');
    s.send({ t: 'order', id: 'three', assessmentId: 'a3', order: { op: 'flatten' } });
    await s.until('ack of flatten', (f) => f['id'] === 'three');
    await s.until('a delta', (f) => f['t'] === 'delta');
    s.send({ t: 'ping' });
    const pong = await s.until('pong', (f) => f['t'] === 'pong');
    assert.equal('ts' in pong, false, 'a ping without ts is answered without one');
    s.ws.close();
    for (const [i, f] of s.frames.entries()) assertServerFrame(f, `JSON frame ${i}`);
    const delta = object(s.frames.find((f) => f['t'] === 'delta')!['delta'], 'delta');
    assert.equal(delta['dailyFloor'], null);

    const both = new WebSocket(url, ['vatic.v1.json', 'vatic.v1.msgpack']);
    await new Promise((r, j) => {
      both.once('open', r);
      both.once('error', j);
    });
    assert.equal(both.protocol, (asyncapi['x-subprotocols'] as string[])[0]);
    both.close();
  });

  test('refusals end the session as documented: a frame before ready, a second auth while the token is checked, a bad token and a silent socket with POLICY, a slow consumer with SLOW_CONSUMER, a drain with GOING_AWAY', async () => {
    const eager = await connect(url, 'vatic.v1.msgpack');
    eager.send({ t: 'auth', token: await signToken('trader-a1') });
    eager.send({ t: 'sub', id: 1, assessmentId: 'a1' }); // before `ready`
    const eagerClose = await eager.closed;
    assert.equal(eager.frames[0]?.['code'], 'AUTH_REQUIRED');

    const twice = await connect(url, 'vatic.v1.json');
    const token = await signToken('trader-a1');
    twice.send({ t: 'auth', token });
    twice.send({ t: 'auth', token }); // while the first is being checked
    const twiceClose = await Promise.race([
      twice.closed,
      sleep(5_000).then(() =>
        assert.fail(`a second auth while the first is checked closes the session; got ${JSON.stringify(twice.frames.map((f) => f['t']))}`),
      ),
    ]);
    assert.equal(twice.frames[0]?.['code'], 'AUTH_REQUIRED');
    assert.deepEqual(
      twice.frames.filter((f) => f['t'] === 'ready'),
      [],
      'a second auth while the first is checked gets no ready',
    );

    const forged = await connect(url, 'vatic.v1.msgpack');
    forged.send({ t: 'auth', token: await signToken('trader-a1', { secret: 'another-secret-of-at-least-thirty-two-chars' }) });
    const forgedClose = await forged.closed;
    assert.equal(forged.frames[0]?.['code'], 'AUTH_FAILED');
    assert.match(String(forged.frames[0]?.['message']), /^TOKEN_INVALID: /);

    const quiet = await connect(url, 'vatic.v1.json');
    const quietClose = await quiet.closed;
    assert.equal(quiet.frames[0]?.['code'], 'AUTH_TIMEOUT');
    for (const [c, closed] of [
      [eager, eagerClose],
      [twice, twiceClose],
      [forged, forgedClose],
      [quiet, quietClose],
    ] as const) {
      assert.equal(closed.code, closeCode('POLICY'));
      assert.equal(closed.reason, c.frames[0]?.['code'], 'the close reason is the error code');
      assert.equal(closeOfError(String(c.frames[0]?.['code'])), `closes ${closed.code}`);
      for (const f of c.frames) assertServerFrame(f, 'refusal');
    }

    const bare = new WebSocket(url);
    const refusal = await new Promise<number>((resolve) => {
      bare.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      bare.on('open', () => resolve(101));
      bare.on('error', () => undefined);
    });
    bare.terminate();
    assert.equal(refusal, 400, 'an upgrade offering neither subprotocol is refused');

    // A second gateway whose hub finds every buffer over its hard limit: the first event closes the subscriber.
    const slowHub = new StreamHub(engine.hubOptions({ hardLimitBytes: -1 }));
    engine.hubs.push(slowHub);
    const slowGateway = await Gateway.start({
      engine,
      verifier: await TokenVerifier.create({ secret: SECRET }),
      hub: slowHub,
      metrics: new GatewayMetrics(new Registry(), slowHub),
      log: pino({ level: 'silent' }),
      port: 0,
      allowFallback: true,
    });
    let drained = false;
    try {
      const slowUrl = `ws://127.0.0.1:${slowGateway.port}/v1/ws`;
      const slow = await connect(slowUrl, 'vatic.v1.msgpack');
      slow.send({ t: 'auth', token: await signToken('trader-a2') });
      await slow.until('ready', (f) => f['t'] === 'ready');
      slow.send({ t: 'sub', id: 1, assessmentId: 'a2' });
      await slow.until('snapshot', (f) => f['t'] === 'snapshot');
      const other = await connect(slowUrl, 'vatic.v1.json');
      other.send({ t: 'auth', token: await signToken('ops', { roles: ['operator'] }) });
      await other.until('ready', (f) => f['t'] === 'ready');
      engine.publish(engine.h.place({ symbol: 'BTC-USD', side: 'buy', type: 'limit', qty: 0.1, limitPrice: 20_000 }, 'a2'));
      const slowClose = await slow.closed;
      assert.equal(slowClose.code, closeCode('SLOW_CONSUMER'));
      const error = slow.frames.at(-1)!;
      assert.equal(error['code'], 'SLOW_CONSUMER');
      assert.equal(closeOfError('SLOW_CONSUMER'), `closes ${slowClose.code}`);
      for (const f of slow.frames) assertServerFrame(f, 'slow consumer');
      await slowGateway.drain();
      drained = true;
      assert.equal((await other.closed).code, closeCode('GOING_AWAY'));
    } finally {
      if (!drained) await slowGateway.drain();
      engine.hubs.splice(engine.hubs.indexOf(slowHub), 1);
    }
  });

  test('real HTTP answers fit the documented operation, status, media type, schema and error codes', async () => {
    const alice = await signToken('trader-a1');
    const ops = await signToken('ops', { roles: ['operator'] });
    const calls: Array<{
      method: 'get' | 'post';
      path: string;
      template: string;
      headers?: Record<string, string>;
      body?: string;
      status: number;
      code?: string;
      refuse?: IntakeRefusal;
    }> = [
      { method: 'get', path: '/healthz', template: '/healthz', status: 200 },
      { method: 'get', path: '/readyz', template: '/readyz', status: 200 },
      { method: 'get', path: '/metrics', template: '/metrics', status: 200 },
      { method: 'get', path: '/v1/tiers', template: '/v1/tiers', status: 200 },
      { method: 'get', path: '/v1/assessments', template: '/v1/assessments', headers: { authorization: `Bearer ${alice}` }, status: 200 },
      { method: 'get', path: '/v1/assessments', template: '/v1/assessments', status: 401, code: 'AUTH_REQUIRED' },
      {
        method: 'get',
        path: '/v1/assessments/a1',
        template: '/v1/assessments/{id}',
        headers: { authorization: `Bearer ${alice}` },
        status: 200,
      },
      {
        method: 'get',
        path: '/v1/assessments/a1',
        template: '/v1/assessments/{id}',
        headers: { authorization: `Bearer ${await signToken('trader-a1', { secret: 'another-secret-of-at-least-thirty-two-chars' })}` },
        status: 401,
        code: 'AUTH_FAILED',
      },
      {
        method: 'get',
        path: '/v1/assessments/a3',
        template: '/v1/assessments/{id}',
        headers: { authorization: `Bearer ${ops}` },
        status: 200,
      },
      {
        method: 'get',
        path: '/v1/assessments/a2',
        template: '/v1/assessments/{id}',
        headers: { authorization: `Bearer ${alice}` },
        status: 404,
        code: 'FORBIDDEN_ASSESSMENT',
      },
      {
        method: 'get',
        path: '/v1/assessments/a1/violations',
        template: '/v1/assessments/{id}/violations',
        headers: { authorization: `Bearer ${alice}` },
        status: 200,
      },
      // place and close-position: the key becomes the client order id, deduplicated by the journal only (no pre-check), so a refused attempt is retried with the same key.
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-1' },
        body: JSON.stringify({ op: 'place', clientOrderId: 'x', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1 }),
        status: 202,
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-1' },
        body: JSON.stringify({ op: 'place', clientOrderId: 'x', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1 }),
        status: 409,
        code: 'DUPLICATE_CLIENT_ORDER_ID',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'j1' },
        body: JSON.stringify({ op: 'close-position', symbol: 'BTC-USD', clientOrderId: 'x' }),
        status: 409,
        code: 'DUPLICATE_CLIENT_ORDER_ID',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-7' },
        body: JSON.stringify({ op: 'place', clientOrderId: 'x', symbol: 'BTC-USD', side: 'sell', type: 'market', qty: 0.1 }),
        status: 503,
        code: 'NOT_READY',
        refuse: 'NOT_READY',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-7' },
        body: JSON.stringify({ op: 'place', clientOrderId: 'x', symbol: 'BTC-USD', side: 'sell', type: 'market', qty: 0.1 }),
        status: 202,
      },
      // modify, cancel and flatten: the 24 h pre-check claims the key, whatever the body, and keeps it through a refusal; place ignores the claim.
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-2' },
        body: JSON.stringify({ op: 'flatten' }),
        status: 202,
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-2' },
        body: JSON.stringify({ op: 'cancel', orderId: 'o1' }),
        status: 409,
        code: 'DUPLICATE_REQUEST',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-2' },
        body: JSON.stringify({
          op: 'place',
          clientOrderId: 'x',
          symbol: 'BTC-USD',
          side: 'buy',
          type: 'limit',
          qty: 0.1,
          limitPrice: 30_000,
        }),
        status: 202,
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-3' },
        body: JSON.stringify({ op: 'cancel', orderId: 'o1' }),
        status: 400,
        code: 'UNKNOWN_ASSESSMENT',
        refuse: 'UNKNOWN_ASSESSMENT',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-3' },
        body: JSON.stringify({ op: 'cancel', orderId: 'o1' }),
        status: 409,
        code: 'DUPLICATE_REQUEST',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-8' },
        body: JSON.stringify({ op: 'flatten' }),
        status: 503,
        code: 'NOT_READY',
        refuse: 'NOT_READY',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}` },
        body: '{}',
        status: 400,
        code: 'IDEMPOTENCY_KEY_REQUIRED',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-4' },
        body: JSON.stringify({ op: 'place', qty: -1 }),
        status: 400,
        code: 'INVALID_ORDER',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-5' },
        body: '{not json',
        status: 400,
        code: 'MALFORMED_JSON',
      },
      {
        method: 'post',
        path: '/v1/assessments/a3/orders',
        template: '/v1/assessments/{id}/orders',
        headers: { authorization: `Bearer ${ops}`, 'idempotency-key': 'k-6' },
        body: 'x'.repeat(Number(openapi['x-max-body-bytes']) + 1),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      { method: 'get', path: '/v1/leaderboard?n=1', template: '/v1/leaderboard', status: 200 },
      { method: 'get', path: '/v1/leaderboard?n=1.5', template: '/v1/leaderboard', status: 200 },
      {
        method: 'get',
        path: '/v1/operator/shards',
        template: '/v1/operator/shards',
        headers: { authorization: `Bearer ${alice}` },
        status: 403,
        code: 'FORBIDDEN',
      },
      {
        method: 'get',
        path: '/v1/operator/shards',
        template: '/v1/operator/shards',
        headers: { authorization: `Bearer ${ops}` },
        status: 200,
      },
      {
        method: 'post',
        path: '/v1/purchases',
        template: '/v1/purchases',
        headers: { authorization: `Bearer ${alice}` },
        body: JSON.stringify({ tierId: 'one-step-50k', email: 'a@example.com' }),
        status: 503,
        code: 'PAYMENTS_DISABLED',
      },
      {
        method: 'post',
        path: '/v1/stripe/webhook',
        template: '/v1/stripe/webhook',
        headers: { 'stripe-signature': 't=1,v1=00' },
        body: '{}',
        status: 503,
        code: 'PAYMENTS_DISABLED',
      },
      {
        method: 'post',
        path: '/v1/simulations',
        template: '/v1/simulations',
        headers: { authorization: `Bearer ${alice}` },
        body: JSON.stringify({ tierId: 'two-step-100k', method: 'parametric' }),
        status: 503,
        code: 'SIMULATIONS_DISABLED',
      },
      { method: 'post', path: '/v1/simulations', template: '/v1/simulations', body: '{}', status: 401, code: 'AUTH_REQUIRED' },
      {
        method: 'get',
        path: '/v1/simulations',
        template: '/v1/simulations',
        headers: { authorization: `Bearer ${alice}` },
        status: 503,
        code: 'SIMULATIONS_DISABLED',
      },
      {
        method: 'get',
        path: '/v1/simulations/s1',
        template: '/v1/simulations/{id}',
        headers: { authorization: `Bearer ${alice}` },
        status: 503,
        code: 'SIMULATIONS_DISABLED',
      },
      ...['trades', 'trades.csv', 'fills', 'days', 'equity', 'events', 'report', 'report.html'].map((r) => ({
        method: 'get' as const,
        path: `/v1/assessments/a1/${r}`,
        template: `/v1/assessments/{id}/${r}`,
        headers: { authorization: `Bearer ${alice}` },
        status: 503,
        code: 'HISTORY_DISABLED',
      })),
      { method: 'get', path: '/v1/assessments/a1/trades', template: '/v1/assessments/{id}/trades', status: 401, code: 'AUTH_REQUIRED' },
      {
        method: 'post',
        path: '/v1/assessments/a1/report',
        template: '/v1/assessments/{id}/report',
        headers: { authorization: `Bearer ${alice}` },
        status: 503,
        code: 'HISTORY_DISABLED',
      },
      {
        method: 'get',
        path: '/v1/operator/reports',
        template: '/v1/operator/reports',
        headers: { authorization: `Bearer ${alice}` },
        status: 403,
        code: 'FORBIDDEN',
      },
      {
        method: 'get',
        path: '/v1/operator/reports',
        template: '/v1/operator/reports',
        headers: { authorization: `Bearer ${ops}` },
        status: 503,
        code: 'HISTORY_DISABLED',
      },
      {
        method: 'post',
        path: '/v1/operator/reports/a1/regenerate',
        template: '/v1/operator/reports/{id}/regenerate',
        headers: { authorization: `Bearer ${ops}` },
        status: 503,
        code: 'HISTORY_DISABLED',
      },
    ];
    const statuses = new Set<string>();
    for (const c of calls) {
      const what = `${c.method.toUpperCase()} ${c.path} (${c.status}${c.code === undefined ? '' : ` ${c.code}`})`;
      engine.refuseNext = c.refuse;
      const res = await fetch(`${base}${c.path}`, {
        method: c.method.toUpperCase(),
        headers: { ...c.headers, ...(c.body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(c.body === undefined ? {} : { body: c.body }),
      });
      const body = await assertDocumentedAnswer(what, c.method, c.template, res, c.status, c.code);
      if (typeof body === 'string') assert.match(body, /^# HELP /m, 'metrics are Prometheus text');
      statuses.add(`${c.method} ${c.template} ${res.status}`);
    }
    const assessment = JSON.parse(
      await (await fetch(`${base}/v1/assessments/a1`, { headers: { authorization: `Bearer ${alice}` } })).text(),
    ) as JsonObject;
    assert.equal(
      object(object(assessment['assessment'], 'a')['rules'], 'rules')['dailyFloor'],
      null,
      'JSON writes the -Infinity floor as null',
    );
    const violations = object(
      JSON.parse(
        await (await fetch(`${base}/v1/assessments/a1/violations`, { headers: { authorization: `Bearer ${alice}` } })).text(),
      ) as Json,
      'v',
    );
    assert.ok(array(violations['violations'], 'violations').length > 0, 'a real violation was validated');

    const missing = await fetch(`${base}/v1/nope`);
    assert.equal(missing.status, 404);
    const notFound = object(object(object(openapi['components'], 'components')['responses'], 'responses')['NotFound'], 'NotFound');
    const missingBody = (await missing.json()) as Json;
    assert.deepEqual(oa.check(object(object(notFound['content'], 'c')['application/json'], 'j')['schema'], missingBody, true), []);
    assert.ok(errorCodesOf(notFound).includes(String(object(object(missingBody, 'b')['error'], 'e')['code'])));
    assert.ok(statuses.size >= 20);

    // n as documented: rounded down, then clamped to minimum..maximum; absent, not a number or rounding down to 0, the default.
    const n = object(
      object(
        array(operation('get', '/v1/leaderboard')['parameters'], 'parameters')
          .map((p) => object(p, 'p'))
          .find((p) => p['in'] === 'query'),
        'n',
      )['schema'],
      'schema of n',
    );
    const [min, max, def] = [Number(n['minimum']), Number(n['maximum']), Number(n['default'])];
    await leaderboard.update(
      Array.from({ length: max + 20 }, (_, i) => ({ assessmentId: `lb-${String(i).padStart(3, '0')}`, returnPct: i / 100 })),
    );
    const top = async (query: string) =>
      array(
        object(
          await assertDocumentedAnswer(
            `GET /v1/leaderboard${query}`,
            'get',
            '/v1/leaderboard',
            await fetch(`${base}/v1/leaderboard${query}`),
            200,
          ),
          'answer',
        )['leaderboard'],
        'leaderboard',
      ).length;
    const asked = ['?n=1.9', '?n=2.9', '?n=-3', '?n=-0.5', `?n=${max * 5}`, '?n=0.5', '?n=0', '?n=abc', ''];
    const got: number[] = [];
    for (const q of asked) got.push(await top(q));
    assert.deepEqual(got, [1, 2, min, min, max, def, def, def, def], `leaderboard sizes for ${asked.join(' ')}`);
  });

  test('a code its route does not declare is never answered: an engine refusal the order route does not list is answered 500 INTERNAL and counted', async () => {
    const alice = await signToken('trader-a1');
    const undeclared = 'NOT_IN_THE_ROUTE_TABLE' as IntakeRefusal;
    assert.ok(!Object.values(HTTP_ROUTES.placeOrder.errors).some((codes) => (codes as readonly string[]).includes(undeclared)));
    const before =
      (await registry.getSingleMetric('gateway_handler_errors_total')?.get())?.values.find((v) => v.labels['where'] === 'http')?.value ?? 0;
    engine.refuseNext = undeclared;
    const res = await fetch(`${base}/v1/assessments/a1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'idempotency-key': 'undeclared-1', 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'place', clientOrderId: 'x', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1 }),
    });
    await assertDocumentedAnswer(
      'POST /v1/assessments/a1/orders refused with an undeclared code',
      'post',
      '/v1/assessments/{id}/orders',
      res,
      500,
      'INTERNAL',
    );
    const afterwards =
      (await registry.getSingleMetric('gateway_handler_errors_total')?.get())?.values.find((v) => v.labels['where'] === 'http')?.value ?? 0;
    assert.equal(afterwards, before + 1, 'the undeclared answer is counted as a handler error');
  });

  test("with payments configured, the purchase flow's errors are answered with the documented statuses and codes, and a body that is not an object is refused as documented", async () => {
    // The codes the purchase flow's errors carry (what the route answers before or around it is not the flow's).
    const around = new Set([
      'AUTH_FAILED',
      'AUTH_REQUIRED',
      'PAYMENTS_DISABLED',
      'MALFORMED_JSON',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'REQUEST_RATE_LIMITED',
      'INTERNAL',
    ]);
    const payments = routes
      .filter((r) => r.name === 'startPurchase' || r.name === 'stripeWebhook')
      .map((r) => ({
        ...r,
        flow: [...r.errors].flatMap(([status, codes]) => [...codes].filter((c) => !around.has(c)).map((c) => [c, status] as const)),
      }));
    // Purchases over Postgres and Stripe, stood in for: each of its methods answers, or throws an error with the code it is told to.
    let fail: string | undefined;
    const requests: unknown[] = [];
    const started = {
      purchaseId: `pur_${'0'.repeat(32)}`,
      checkoutUrl: 'https://checkout.stripe.com/c/pay/cs_test_docs',
      sessionId: 'cs_test_docs',
    };
    const failing = (): void => {
      if (fail !== undefined) throw Object.assign(new Error(`failed with ${fail}`), { code: fail });
    };
    const purchases = {
      startCheckout: async (req: unknown) => {
        requests.push(req);
        failing();
        return started;
      },
      handleWebhook: async () => {
        failing();
        return { status: 'applied' };
      },
    } as unknown as Purchases;
    const payHub = new StreamHub(engine.hubOptions());
    const verifier = await TokenVerifier.create({ secret: SECRET });
    const payGateway = await Gateway.start({
      engine,
      verifier,
      hub: payHub,
      metrics: new GatewayMetrics(new Registry(), payHub),
      log: pino({ level: 'silent' }),
      port: 0,
      allowFallback: true,
      routes: httpApi({
        engine,
        verifier,
        registry: new Registry(),
        tiers: presetTiers(),
        owners: engine.owners,
        leaderboard,
        idempotency: new MemoryIdempotencyPrecheck(),
        log: pino({ level: 'silent' }),
        shards: () => [],
        purchases,
      }),
    });
    try {
      const payBase = `http://127.0.0.1:${payGateway.port}`;
      const headers = {
        authorization: `Bearer ${await signToken('trader-a1')}`,
        'content-type': 'application/json',
        'stripe-signature': 't=1,v1=00',
      };
      const post = (path: string, body: string) => fetch(`${payBase}${path}`, { method: 'POST', headers, body });
      const purchase = JSON.stringify({ tierId: 'one-step-50k', email: 'a@example.com' });

      await assertDocumentedAnswer('POST /v1/purchases', 'post', '/v1/purchases', await post('/v1/purchases', purchase), 201);
      assert.deepEqual(requests, [{ userId: 'trader-a1', email: 'a@example.com', tierId: 'one-step-50k' }], "the buyer is the token's sub");
      await assertDocumentedAnswer('POST /v1/stripe/webhook', 'post', '/v1/stripe/webhook', await post('/v1/stripe/webhook', '{}'), 200);
      for (const body of [
        'null',
        '[]',
        '5',
        '"x"',
        'false',
        JSON.stringify({ tierId: 'one-step-50k' }),
        JSON.stringify({ tierId: 1, email: 'a@example.com' }),
      ]) {
        await assertDocumentedAnswer(
          `POST /v1/purchases ${body}`,
          'post',
          '/v1/purchases',
          await post('/v1/purchases', body),
          400,
          'INVALID_PURCHASE_REQUEST',
        );
      }
      assert.equal(requests.length, 1, 'a refused body never reaches the purchase flow');
      let answered = 0;
      for (const r of payments)
        for (const [code, status] of r.flow) {
          fail = code;
          await assertDocumentedAnswer(
            `${r.method.toUpperCase()} ${r.path} failing with ${code}`,
            r.method,
            r.path,
            await post(r.path, r.path === '/v1/purchases' ? purchase : '{}'),
            status,
            code,
          );
          answered++;
        }
      assert.ok(answered >= 9, `each error the purchase flow declares was answered (${answered})`);
      for (const [code, status] of [
        ['EMAIL_IN_USE', 409],
        ['CHECKOUT_PROVIDER_FAILED', 502],
        ['PG_UNAVAILABLE', 503],
      ] as const) {
        assert.ok(
          payments[0]!.flow.some(([c, s]) => c === code && s === status),
          `${code} is answered ${status}`,
        );
      }
    } finally {
      fail = undefined;
      await payGateway.drain();
    }
  });

  test('an address over its request budget is answered 429 REQUEST_RATE_LIMITED with Retry-After on every operation that counts it, as documented; health, readiness and metrics are answered', async () => {
    const limitedHub = new StreamHub(engine.hubOptions());
    const verifier = await TokenVerifier.create({ secret: SECRET });
    const limited = await Gateway.start({
      engine,
      verifier,
      hub: limitedHub,
      metrics: new GatewayMetrics(new Registry(), limitedHub),
      log: pino({ level: 'silent' }),
      port: 0,
      allowFallback: true,
      routes: httpApi({
        engine,
        verifier,
        registry: new Registry(),
        tiers: presetTiers(),
        owners: engine.owners,
        leaderboard,
        idempotency: new MemoryIdempotencyPrecheck(),
        log: pino({ level: 'silent' }),
        shards: () => [],
        requestLimiter: new MemoryRateLimiter({ limit: 1, windowMs: 60_000, clock: () => Date.UTC(2026, 0, 5, 9, 0, 45) }),
      }),
    });
    try {
      const at = `http://127.0.0.1:${limited.port}`;
      assert.equal((await fetch(`${at}/v1/tiers`)).status, 200, 'the budget of one is spent');
      const exempt = ['/healthz', '/readyz', '/metrics'];
      let counted = 0;
      for (const [template, item] of Object.entries(paths)) {
        for (const method of Object.keys(object(item, template)).filter((m): m is 'get' | 'post' => m === 'get' || m === 'post')) {
          const res = await fetch(`${at}${template.replace(/\{[a-z]+\}/gi, 'a1')}`, {
            method: method.toUpperCase(),
            ...(method === 'post' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
          });
          if (exempt.includes(template)) {
            await assertDocumentedAnswer(`${method.toUpperCase()} ${template} over the budget`, method, template, res, 200);
            continue;
          }
          assert.equal(res.headers.get('retry-after'), '15', `${method.toUpperCase()} ${template} says when the window ends`);
          await assertDocumentedAnswer(
            `${method.toUpperCase()} ${template} over the budget`,
            method,
            template,
            res,
            429,
            'REQUEST_RATE_LIMITED',
          );
          const headers = object(
            object(object(operation(method, template)['responses'], 'responses')['429'], '429')['headers'],
            `headers of 429 ${template}`,
          );
          assert.ok('Retry-After' in headers, `${method.toUpperCase()} ${template} documents Retry-After`);
          counted++;
        }
      }
      assert.ok(counted >= 12, `every counted operation was asked (${counted})`);
    } finally {
      await limited.drain();
    }
  });

  test("with simulations configured, a real job's records, result and listing fit the documented schemas, and every refusal is answered with its documented status and code", async () => {
    const pool = new SimPool({ workers: 1 });
    const live = engine.h.kernel.state('a2')!; // an assessment on the docs tier, which the simulation service does not know
    const service = new SimulationService({
      simulator: pool,
      store: new MemorySimulationStore(),
      tiers: () => presetTiers(),
      clock: () => Date.now(),
      maxRunningPerTrader: 1,
      assessment: async (id) =>
        id === 'a-moving'
          ? Promise.reject(Object.assign(new Error("no owner of the assessment's shard answered in time"), { code: 'UNAVAILABLE' }))
          : id === 'a-live'
            ? { ...live, id, traderId: 'trader-a1', status: 'active' }
            : id === 'a-done'
              ? { ...live, id, traderId: 'trader-a1', status: 'passed' }
              : engine.state(id),
    });
    const hub = new StreamHub(engine.hubOptions());
    const verifier = await TokenVerifier.create({ secret: SECRET });
    const simGateway = await Gateway.start({
      engine,
      verifier,
      hub,
      metrics: new GatewayMetrics(new Registry(), hub),
      log: pino({ level: 'silent' }),
      port: 0,
      allowFallback: true,
      routes: httpApi({
        engine,
        verifier,
        registry: new Registry(),
        tiers: presetTiers(),
        owners: engine.owners,
        leaderboard,
        idempotency: new MemoryIdempotencyPrecheck(),
        log: pino({ level: 'silent' }),
        shards: () => [],
        simulations: service,
      }),
    });
    try {
      const simBase = `http://127.0.0.1:${simGateway.port}`;
      const auth = async (sub: string, roles?: string[]) => ({
        authorization: `Bearer ${await signToken(sub, roles === undefined ? {} : { roles })}`,
      });
      const [alice, bob, ops, busy] = [
        await auth('trader-a1'),
        await auth('trader-a2'),
        await auth('ops', ['operator']),
        await auth('trader-busy'),
      ];
      const answered = new Set<string>();
      const call = async (
        method: 'get' | 'post',
        path: string,
        headers: Record<string, string>,
        body: string | undefined,
        status: number,
        code?: string,
      ): Promise<JsonObject> => {
        const template = path.startsWith('/v1/simulations/') ? '/v1/simulations/{id}' : '/v1/simulations';
        const res = await fetch(`${simBase}${path}`, {
          method: method.toUpperCase(),
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          ...(body === undefined ? {} : { body }),
        });
        const answer = object(
          await assertDocumentedAnswer(
            `${method.toUpperCase()} ${path} (${status}${code === undefined ? '' : ` ${code}`})`,
            method,
            template,
            res,
            status,
            code,
          ),
          'answer',
        );
        if (code !== undefined) answered.add(`${method} ${template} ${code}`);
        return answer;
      };
      const post = (headers: Record<string, string>, body: unknown, status: number, code?: string) =>
        call('post', '/v1/simulations', headers, typeof body === 'string' ? body : JSON.stringify(body), status, code);
      const trades = Array.from({ length: 12 }, (_, i) => ({
        closedAt: new Date(Date.UTC(2026, 8, 1 + Math.floor(i / 2), 13, 5 * i)).toISOString(),
        pnl: [-2_400, 1_900, 1_350, -3_100, 2_600, -1_800][i % 6]!,
      }));

      // A job: accepted running, read until completed (the whole result), listed without its charts.
      const started = object(
        (await post(alice, { tierId: 'two-step-100k', trades, paths: 1_000, seed: 'docs', horizonDays: 90 }, 202))['simulation'],
        'simulation',
      );
      assert.equal(started['status'], 'running');
      assert.deepEqual(
        started['request'],
        { tierId: 'two-step-100k', trades: trades.length, paths: 1_000, method: 'block', sizing: 'fixed', seed: 'docs', horizonDays: 90 },
        'the request as accepted',
      );
      const id = String(started['id']);
      let done = started;
      await until(
        async () => {
          done = object((await call('get', `/v1/simulations/${id}`, alice, undefined, 200))['simulation'], 'simulation');
          return done['status'] !== 'running';
        },
        { what: `simulation ${id} to finish`, deadlineMs: 30_000, intervalMs: 20 },
      );
      assert.equal(done['status'], 'completed');
      const result = object(done['result'], 'result');
      assert.ok(isObject(result['fan']) && isObject(result['drawdownHistogram']), "a job's record carries its charts");
      assert.equal(array(object(result['drawdownHistogram'], 'h')['counts'], 'counts').length, 40);
      await call('get', `/v1/simulations/${id}`, ops, undefined, 200);
      await call('get', `/v1/simulations/${id}`, bob, undefined, 404, 'UNKNOWN_SIMULATION');
      await call('get', '/v1/simulations/no-such-simulation', alice, undefined, 404, 'UNKNOWN_SIMULATION');
      await call('get', `/v1/simulations/${id}`, {}, undefined, 401, 'AUTH_REQUIRED');
      await call('get', '/v1/simulations', {}, undefined, 401, 'AUTH_REQUIRED');
      const listed = array((await call('get', '/v1/simulations', alice, undefined, 200))['simulations'], 'simulations').map((r) =>
        object(r, 'listed'),
      );
      assert.deepEqual(
        listed.map((r) => r['id']),
        [id],
      );
      const figures = object(listed[0]!['result'], 'listed result');
      assert.ok(!('fan' in figures) && !('drawdownHistogram' in figures), 'a listing leaves the charts out');
      assert.deepEqual(figures['pass'], result['pass']);
      assert.equal(array((await call('get', '/v1/simulations?limit=0.5', ops, undefined, 200))['simulations'], 'simulations').length, 1);
      assert.deepEqual(
        array((await call('get', '/v1/simulations', bob, undefined, 200))['simulations'], 'simulations'),
        [],
        'another trader lists none of them',
      );

      // Refusals, in the order the operation documents its checks.
      await post(alice, 'x'.repeat(Number(operation('post', '/v1/simulations')['x-max-body-bytes']) + 1), 413, 'PAYLOAD_TOO_LARGE');
      await call('get', '/v1/simulations/%ZZ', alice, undefined, 400, 'MALFORMED_PATH');
      await post({ ...alice, 'content-type': 'text/csv' }, 'closedAt,pnl\n', 415, 'UNSUPPORTED_MEDIA_TYPE');
      await post({}, { tierId: 'two-step-100k', trades }, 401, 'AUTH_REQUIRED');
      await post(alice, '{not json', 400, 'MALFORMED_JSON');
      await post(alice, {}, 400, 'INVALID_SIMULATION_REQUEST');
      await post(alice, { tierId: 'two-step-100k', trades, paths: SIMULATION_DEFAULTS.maxPaths + 1 }, 400, 'INVALID_SIMULATION_REQUEST');
      await post(alice, { assessmentId: 'a2' }, 404, 'FORBIDDEN_ASSESSMENT');
      await post(alice, { assessmentId: 'a-done' }, 409, 'ASSESSMENT_NOT_ACTIVE');
      await post(alice, { assessmentId: 'a-moving' }, 503, 'UNAVAILABLE');
      await post(alice, { assessmentId: 'a-live' }, 400, 'UNKNOWN_TIER');
      await post(alice, { tierId: 'no-such-tier', trades }, 400, 'UNKNOWN_TIER');
      await post(
        alice,
        { tierId: 'two-step-100k', trades: trades.map((t, i) => (i === 3 ? { ...t, closedAt: 'yesterday' } : t)) },
        400,
        'INVALID_HISTORY',
      );
      await post(alice, { tierId: 'two-step-100k', trades: trades.slice(0, 3) }, 422, 'NOT_ENOUGH_HISTORY');
      await post(alice, { tierId: 'two-step-100k', method: 'parametric' }, 400, 'INVALID_SIMULATION_REQUEST');
      // One job at a time for this service: a long one, then a second while it runs; the long one is cancelled at shutdown, with an error.
      const long = object(
        (await post(busy, { tierId: 'two-step-100k', trades, paths: 1_000_000, horizonDays: 365 }, 202))['simulation'],
        'long',
      );
      await post(busy, { tierId: 'two-step-100k', trades, paths: 1_000 }, 429, 'TOO_MANY_SIMULATIONS');
      service.close();
      let cancelled = long;
      await until(
        async () => {
          cancelled = object(
            (await call('get', `/v1/simulations/${String(long['id'])}`, busy, undefined, 200))['simulation'],
            'simulation',
          );
          return cancelled['status'] !== 'running';
        },
        { what: 'the long simulation to be cancelled', deadlineMs: 30_000, intervalMs: 20 },
      );
      assert.equal(cancelled['status'], 'cancelled');
      assert.equal(object(cancelled['error'], 'error')['code'], 'CANCELLED');
      assert.equal(cancelled['result'], null);

      // Every code the simulation operations document was answered, but those no fake can bring about here (a bad token, the database, a failure, the service missing).
      const documented = ['get /v1/simulations', 'post /v1/simulations', 'get /v1/simulations/{id}'].flatMap((key) => {
        const [method, template] = key.split(' ') as [string, string];
        return Object.values(object(operation(method, template)['responses'], 'responses')).flatMap((r) =>
          errorCodesOf(object(r, 'response')).map((c) => `${key} ${c}`),
        );
      });
      // (REQUEST_RATE_LIMITED is answered on every operation by the test of the address's request budget.)
      const elsewhere = new Set(['AUTH_FAILED', 'PG_UNAVAILABLE', 'INTERNAL', 'SIMULATIONS_DISABLED', 'REQUEST_RATE_LIMITED']);
      assert.deepEqual(sorted(answered), sorted(documented.filter((d) => !elsewhere.has(d.split(' ')[2]!))));
    } finally {
      service.close();
      await simGateway.drain();
      await pool.close();
    }
  });
});

describe('the history routes, against a live history in Postgres', { skip: await serviceGate('postgres', '127.0.0.1', 5432) }, () => {
  const ROWS = 'persistence/history/history-rows.ts';
  test('fills, trades, days, equity points and report headers are documented with exactly the fields of their TypeScript types', () => {
    const cases: Array<[string, string, string]> = [
      ['HistoryFill', ROWS, 'FillRow'],
      ['HistoryTrade', ROWS, 'TradeRow'],
      ['HistoryDay', ROWS, 'DayRow'],
      ['EquityPoint', 'persistence/history/equity-series.ts', 'EquityPoint'],
      ['ReportHeader', 'persistence/history/pg-report-store.ts', 'ReportHeader'],
    ];
    for (const [schema, ts, name] of cases) {
      const fields = interfaceFields(ts, name);
      const s = object(oa.deref(oaSchemas[schema]), schema);
      assert.deepEqual(sorted(oa.declared(s)), fields.all, `${schema}: the fields of ${name}`);
      assert.deepEqual(sorted(s['required'] as string[]), fields.all, `${schema}: every field is always there (null where none)`);
    }
  });

  test('real answers of every history route, for the owner and an operator, fit the documented operation, status, media type and schema', async () => {
    const db = await createTestDatabase();
    const { events, engine } = await runInputs(
      readTape(new URL('../../tapes/overnight-daily-breach.jsonl', import.meta.url).pathname).map((x) => x.input),
      { workers: 1, tiers: presetTiers() },
    );
    await engine.stop();
    const tierLine = readTape(new URL('../../tapes/overnight-daily-breach.jsonl', import.meta.url).pathname).find(
      (x) => x.input.type === 'tier',
    )!.input as { tier: unknown };
    const tiers = [...presetTiers(), parseTier(tierLine.tier)];
    await new PgHistoryStore(db.sql).ingest(events.filter((e) => eventSubject(e.type) !== undefined) as unknown as HistoryEvent[]);
    const reader = new PgHistoryReader(db.sql);
    const store = new PgReportStore(db.sql);
    const reports = new ReportService({
      reader,
      store,
      tiers: () => tiers,
      replay: (id) => replaySource(id, 'tapes/overnight-daily-breach.jsonl', false),
    });
    const fake = new FakeEngine();
    const gw = await Gateway.start({
      engine: fake,
      verifier: await TokenVerifier.create({ secret: SECRET }),
      hub: new StreamHub(fake.hubOptions()),
      metrics: new GatewayMetrics(new Registry(), new StreamHub(fake.hubOptions())),
      log: pino({ level: 'silent' }),
      port: 0,
      allowFallback: true,
      routes: httpApi({
        engine: fake,
        verifier: await TokenVerifier.create({ secret: SECRET }),
        registry: new Registry(),
        tiers: presetTiers(),
        owners: fake.owners,
        leaderboard: new MemoryLeaderboard(),
        idempotency: new MemoryIdempotencyPrecheck(),
        log: pino({ level: 'silent' }),
        shards: () => [],
        history: new HistoryApi({ reader, store, reports }),
      }),
    });
    try {
      const url = `http://127.0.0.1:${gw.port}`;
      const owner = await signToken('trader-1');
      const ops = await signToken('ops', { roles: ['operator'] });
      const call = async (
        method: 'get' | 'post',
        path: string,
        template: string,
        auth: string,
        status: number,
        code?: string,
      ): Promise<Json> =>
        assertDocumentedAnswer(
          `${method.toUpperCase()} ${path}`,
          method,
          template,
          await fetch(`${url}${path}`, { method: method.toUpperCase(), headers: { authorization: `Bearer ${auth}` } }),
          status,
          code,
        );
      await call('get', '/v1/assessments/acc-overnight/report', '/v1/assessments/{id}/report', owner, 404, 'NO_REPORT');
      await call('post', '/v1/assessments/acc-overnight/report', '/v1/assessments/{id}/report', owner, 201);
      for (const auth of [owner, ops]) {
        for (const r of ['trades', 'fills', 'days', 'equity', 'events', 'report']) {
          const body = await call('get', `/v1/assessments/acc-overnight/${r}`, `/v1/assessments/{id}/${r}`, auth, 200);
          assert.ok(JSON.stringify(body).length > 50, `${r} has content`);
        }
        for (const r of ['trades.csv', 'report.html'])
          assert.match(
            String(await call('get', `/v1/assessments/acc-overnight/${r}`, `/v1/assessments/{id}/${r}`, auth, 200)),
            r.endsWith('csv') ? /^no,/ : /^<!DOCTYPE html>/,
          );
      }
      await call('get', '/v1/assessments/acc-overnight/fills?limit=1', '/v1/assessments/{id}/fills', owner, 200);
      await call('get', '/v1/assessments/acc-overnight/days?after=0.0', '/v1/assessments/{id}/days', owner, 200);
      await call('get', '/v1/assessments/acc-overnight/trades?limit=0', '/v1/assessments/{id}/trades', owner, 400, 'INVALID_QUERY');
      await call(
        'get',
        '/v1/assessments/acc-overnight/trades',
        '/v1/assessments/{id}/trades',
        await signToken('trader-2'),
        404,
        'FORBIDDEN_ASSESSMENT',
      );
      await call('get', '/v1/operator/reports', '/v1/operator/reports', ops, 200);
      await call('get', '/v1/operator/reports?limit=201', '/v1/operator/reports', ops, 400, 'INVALID_QUERY');
      await call('post', '/v1/operator/reports/acc-overnight/regenerate', '/v1/operator/reports/{id}/regenerate', ops, 201);
      await call(
        'post',
        '/v1/operator/reports/nobody/regenerate',
        '/v1/operator/reports/{id}/regenerate',
        ops,
        404,
        'FORBIDDEN_ASSESSMENT',
      );
    } finally {
      await gw.drain();
      await db.drop();
    }
  });
});
