/**
 * The AsyncAPI document of the NATS interface (transport/nats/asyncapi.json)
 * checked against the code: the subjects it lists, the engine event types and
 * refusal codes it names, the enums it spells out, its internal references,
 * and the payloads the real publishers and the real actor produce. Domain
 * subjects that do not carry engine events are checked against their
 * producer: the purchase flow's payloads against the object literals it
 * publishes (transport/payments/purchases.ts), the Monte Carlo completion
 * against the payload a real simulation service publishes
 * (sim/montecarlo/simulation-service.ts).
 *
 * Payloads are validated with a small JSON Schema checker below that knows
 * exactly the keywords the document uses and fails on any other, so it can
 * never pass a schema by ignoring part of it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { parseTier, presetTiers } from '../../actors/index.js';
import {
  DeltaEncoder,
  shardOf,
  runInputs,
  readTape,
  type IntakeRequest,
  type IntakeResult,
  type NodeInspection,
} from '../../engine/index.js';
import { DAY, Harness, T0 } from '../../actors/test/harness.js';
import { DEFAULT_EVENTS_STREAM, JetStreamEventPublisher } from '../nats/event-publisher.js';
import { IntakeService, intakeSubjects, type IntakeTarget } from '../nats/intake-service.js';
import type { ShardHost } from '../nats/shard-host.js';
import { ShardService } from '../nats/shard-service.js';
import { leaderboardSubject, shardSubjects, streamSubject } from '../nats/shard-subjects.js';
import { MemoryLeaderboard, PgHistoryReader, PgHistoryStore, PgReportStore, type HistoryEvent } from '../../persistence/index.js';
import { DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_MARKET_STREAM, TickPublisher } from '../nats/market-stream.js';
import {
  CLOCK_SUBJECT,
  DOMAIN_EVENT_SUBJECTS,
  INSTRUMENTS_PREFIX,
  RESOLUTIONS_PREFIX,
  TICKS_PREFIX,
  domainEventSubjects,
  eventSubject,
  marketSubjects,
} from '../nats/subjects.js';
import { assessmentIdFor } from '../payments/webhook-effects.js';
import {
  SimPool,
  SimulationService,
  Method,
  OUTCOMES,
  SimulationResult,
  MemorySimulationStore,
  replaySource,
  ReportService,
  type SimulationRecord,
  type ReportReady,
} from '../../sim/index.js';
import { createTestDatabase, serviceGate } from '../../engine/testing/index.js';
import { isObject, schemaChecker, type Json, type JsonObject } from './json-schema-check.js';
import { until } from '../../engine/testing/index.js';

// -- the document ----------------------------------------------------------------------

const source = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const text = source('transport/nats/asyncapi.json');
const doc = JSON.parse(text) as JsonObject;

const object = (v: Json | undefined, what: string): JsonObject => {
  assert.ok(isObject(v), `${what} is an object`);
  return v;
};

const { pointer, deref, declared, check } = schemaChecker(doc);

const channels = object(doc['channels'], 'channels');
const operations = object(doc['operations'], 'operations');
const components = object(doc['components'], 'components');
const schemas = object(components['schemas'], 'components.schemas');

/** Channels by address (reply channels, whose address is null, left out). */
const byAddress = new Map(
  Object.values(channels)
    .filter(isObject)
    .filter((c) => typeof c['address'] === 'string')
    .map((c) => [c['address'] as string, c]),
);

/** The component messages of a channel, resolved. */
const channelMessages = (channel: JsonObject): JsonObject[] =>
  Object.values(object(channel['messages'], 'channel messages')).map((m) => object(deref(m), 'message'));

/** `ticks.{venue}.{symbol}` → a regex matching one concrete subject of that channel. */
const addressPattern = (address: string): RegExp =>
  new RegExp(
    `^${address
      .split(/\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
      .join('[^.]+')}$`,
  );

/** The channel whose address matches a concrete subject (after the namespace, if any). */
function channelOf(subject: string, namespace = ''): JsonObject {
  const bare = namespace === '' ? subject : subject.slice(namespace.length + 1);
  if (namespace !== '') assert.ok(subject.startsWith(`${namespace}.`), `${subject} is under the namespace ${namespace}`);
  const hits = [...byAddress.entries()].filter(([address]) => addressPattern(address).test(bare));
  assert.equal(hits.length, 1, `exactly one channel address matches ${bare}`);
  return hits[0]![1];
}

/** Asserts that a message as it went out fits its channel: one message there accepts its headers and payload. */
function assertFits(channel: JsonObject, payload: unknown, msgId: string | undefined, what: string): JsonObject {
  const candidates = channelMessages(channel).filter((m) => check(m['payload'], payload, true).length === 0);
  if (candidates.length !== 1) {
    const why = channelMessages(channel)
      .map((m) => `${String(m['name'])}: ${check(m['payload'], payload, true).join('; ')}`)
      .join('\n');
    assert.fail(`${what}: ${candidates.length} messages of ${String(channel['address'])} accept ${JSON.stringify(payload)}\n${why}`);
  }
  const message = candidates[0]!;
  if (msgId !== undefined) {
    assert.ok(message['headers'] !== undefined, `${what}: the message documents the Nats-Msg-Id header`);
    assert.deepEqual(check(message['headers'], { 'Nats-Msg-Id': msgId }, true), [], `${what}: msg id ${msgId}`);
  }
  return message;
}

/** Literals of `export type <name> = 'a' | 'b' ...;` in a TypeScript source. */
function literalsOf(ts: string, name: string): string[] {
  const m = new RegExp(`export type ${name}\\s*=([^;]+);`).exec(ts);
  assert.ok(m, `type ${name} is found in the source`);
  return [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!);
}

/** Whether a message documents an engine OutputEvent (it names the engine event type) rather than another producer's payload. */
const isEngineMessage = (message: JsonObject): boolean => message['x-engine-event-type'] !== undefined;

/** The messages of the domain-event channels, each with its subject. */
const domainMessages = (): { subject: string; message: JsonObject }[] =>
  DOMAIN_EVENT_SUBJECTS.flatMap((subject) => channelMessages(byAddress.get(subject)!).map((message) => ({ subject, message })));

/** Where the purchase flow publishes from; messages it produces name it in `x-producer`. */
const PURCHASES = 'transport/payments/purchases.ts';

/** Postgres holds the history a report is made from. */
const pgSkip = await serviceGate('postgres', '127.0.0.1', 5432);

/** Where report announcements are published from; its message names it in `x-producer`. */
const REPORTS = 'sim/reports/report-service.ts';

/** Where Monte Carlo completions are published from; its message names it in `x-producer`. */
const SIMULATIONS = 'sim/montecarlo/simulation-service.ts';

/**
 * The payloads a TypeScript source publishes: each `publish('<subject>', { ... })`
 * call with a literal subject and an object literal, as subject → its key names.
 * Fails on a call it cannot read (a nested object, a spread, a computed key),
 * so a change in the source's shape cannot slip past.
 */
function publishedLiterals(ts: string): Map<string, string[][]> {
  const calls = [...ts.matchAll(/\bpublish\(\s*'([^']+)'\s*,/g)];
  const literals = [...ts.matchAll(/\bpublish\(\s*'([^']+)'\s*,\s*\{([^{}]*)\}\s*\)/g)];
  assert.equal(literals.length, calls.length, 'every publish call with a literal subject passes a flat object literal');
  const out = new Map<string, string[][]>();
  for (const [, subject, body] of literals) {
    const keys = body!
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => part.split(':')[0]!.trim());
    for (const k of keys) assert.match(k, /^[A-Za-z_$][\w$]*$/, `key ${k} of the ${subject} literal is a plain name`);
    out.set(subject!, [...(out.get(subject!) ?? []), keys]);
  }
  return out;
}

/** Every .ts file of the repository outside node_modules, as a path from its root. */
function sourceFiles(dir = ''): string[] {
  return readdirSync(new URL(`../../${dir}`, import.meta.url), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') ? [] : sourceFiles(`${path}/`);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

// -- fakes of the NATS clients the real publishers and service talk to -------------------

interface Sent {
  readonly subject: string;
  readonly payload: unknown;
  readonly msgId: string | undefined;
}

function fakeJetStream(): { js: JetStreamClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const decoder = new Decoder();
  const js = {
    publish: async (subject: string, data: Uint8Array, opts?: { msgID?: string }): Promise<PubAck> => {
      sent.push({ subject, payload: decoder.decode(data), msgId: opts?.msgID });
      return { stream: 'FAKE', seq: sent.length, duplicate: false } as PubAck;
    },
  };
  return { js: js as unknown as JetStreamClient, sent };
}

type Callback = (err: Error | null, msg: Msg) => void;

function fakeNats(): { nc: NatsConnection; subs: Map<string, { queue: string | undefined; callback: Callback }>; published: Sent[] } {
  const subs = new Map<string, { queue: string | undefined; callback: Callback }>();
  const published: Sent[] = [];
  const decoder = new Decoder();
  const nc = {
    subscribe: (subject: string, opts: { queue?: string; callback: Callback }) => {
      subs.set(subject, { queue: opts.queue, callback: opts.callback });
      return { unsubscribe: () => subs.delete(subject), drain: async () => void subs.delete(subject) };
    },
    publish: (subject: string, data: Uint8Array) => void published.push({ subject, payload: decoder.decode(data), msgId: undefined }),
    flush: async () => {},
  };
  return { nc: nc as unknown as NatsConnection, subs, published };
}

/** Sends a request to a fake subscription and resolves with the decoded reply. */
function request(subs: ReturnType<typeof fakeNats>['subs'], subject: string, data: Uint8Array): Promise<unknown> {
  const sub = subs.get(subject);
  assert.ok(sub, `something subscribes to ${subject}`);
  return new Promise((resolve) => {
    const msg = {
      data,
      reply: '_INBOX.test',
      respond: (reply: Uint8Array) => {
        resolve(new Decoder().decode(reply));
        return true;
      },
    };
    sub.callback(null, msg as unknown as Msg);
  });
}

// -- the tests -------------------------------------------------------------------------

describe('AsyncAPI document of the NATS interface', () => {
  test('the document parses as JSON and declares AsyncAPI 3.x with msgpack content and a local NATS server', () => {
    assert.match(String(doc['asyncapi']), /^3\.\d+\.\d+$/);
    assert.equal(doc['defaultContentType'], 'application/msgpack');
    const servers = Object.values(object(doc['servers'], 'servers')).filter(isObject);
    assert.ok(
      servers.some((s) => s['protocol'] === 'nats' && s['host'] === '127.0.0.1:4222'),
      'a nats server at 127.0.0.1:4222',
    );
  });

  test("every domain-event subject, both market subjects, the clock beat, the intake subjects and the routing plane's are channel addresses", () => {
    const expected = [
      ...DOMAIN_EVENT_SUBJECTS,
      `${TICKS_PREFIX}.{venue}.{symbol}`,
      `${RESOLUTIONS_PREFIX}.{venue}.{market}`,
      `${INSTRUMENTS_PREFIX}.{venue}.{symbol}`,
      CLOCK_SUBJECT,
      ...Object.values(intakeSubjects('{group}')),
      // The routing plane of a cluster (shard-subjects.ts).
      ...Object.values(shardSubjects(0)).map((subject) => subject.replace('.0.', '.{shard}.')),
      streamSubject('X').replace(/X$/, '{assessment}'),
      leaderboardSubject(),
    ];
    for (const subject of expected) assert.ok(byAddress.has(subject), `channel ${subject} is documented`);
    assert.deepEqual([...byAddress.keys()].sort(), [...expected].sort(), 'no channel documents a subject the code does not use');
  });

  test('every channel parameter is declared and defined, and every declared parameter appears in its address', () => {
    for (const [address, channel] of byAddress) {
      const inAddress = [...address.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const declared = isObject(channel['parameters']) ? channel['parameters'] : {};
      assert.deepEqual(Object.keys(declared).sort(), [...inAddress].sort(), `parameters of ${address}`);
      for (const p of Object.values(declared)) assert.ok(isObject(deref(p)), `parameter of ${address} resolves`);
    }
    for (const name of ['venue', 'symbol', 'market', 'group'])
      assert.ok(isObject(object(components['parameters'], 'parameters')[name]), `parameter ${name}`);
  });

  test('the stream settings match the code: names, captured subjects, file storage and the duplicate window', () => {
    const streams = object(doc['x-jetstream-streams'], 'x-jetstream-streams');
    const market = object(streams[DEFAULT_MARKET_STREAM], DEFAULT_MARKET_STREAM);
    const events = object(streams[DEFAULT_EVENTS_STREAM], DEFAULT_EVENTS_STREAM);
    assert.deepEqual(market['subjects'], marketSubjects());
    assert.deepEqual(events['subjects'], domainEventSubjects());
    for (const s of [market, events]) {
      assert.equal(s['storage'], 'file');
      assert.equal(s['duplicateWindowMs'], DEFAULT_DUPLICATE_WINDOW_MS);
    }
    for (const [address, channel] of byAddress) {
      const stream = channel['x-jetstream-stream'];
      const wanted = DOMAIN_EVENT_SUBJECTS.includes(address as never)
        ? DEFAULT_EVENTS_STREAM
        : address.startsWith('engine.')
          ? undefined
          : DEFAULT_MARKET_STREAM;
      assert.equal(stream, wanted, `stream of ${address}`);
    }
  });

  test("each channel's messages reference defined components, and each operation references its channel's messages", () => {
    for (const [key, raw] of Object.entries(channels)) {
      const channel = object(raw, `channel ${key}`);
      const messages = object(channel['messages'], `messages of ${key}`);
      assert.ok(Object.keys(messages).length > 0, `channel ${key} has messages`);
      for (const [name, m] of Object.entries(messages)) {
        const r = object(m, `${key}.${name}`)['$ref'];
        assert.match(String(r), /^#\/components\/messages\/[^/]+$/, `${key}.${name} references a component message`);
        const message = object(pointer(String(r)), `${String(r)}`);
        assert.ok(message['payload'] !== undefined, `${String(r)} has a payload`);
      }
    }
    for (const [key, raw] of Object.entries(operations)) {
      const op = object(raw, `operation ${key}`);
      assert.ok(op['action'] === 'send' || op['action'] === 'receive', `${key} sends or receives`);
      const channelRef = String(object(op['channel'], `${key}.channel`)['$ref']);
      assert.ok(isObject(pointer(channelRef)), `${key} channel ${channelRef} exists`);
      for (const m of op['messages'] as Json[])
        assert.ok(
          String(object(m, 'ref')['$ref']).startsWith(`${channelRef}/messages/`) && isObject(pointer(String(object(m, 'ref')['$ref']))),
          `${key} message belongs to its channel`,
        );
      if (op['reply'] !== undefined) {
        const reply = object(op['reply'], `${key}.reply`);
        const replyChannel = String(object(reply['channel'], 'reply channel')['$ref']);
        assert.ok(isObject(pointer(replyChannel)), `${key} reply channel exists`);
        for (const m of reply['messages'] as Json[])
          assert.ok(
            String(object(m, 'ref')['$ref']).startsWith(`${replyChannel}/messages/`) && isObject(pointer(String(object(m, 'ref')['$ref']))),
            `${key} reply message belongs to its channel`,
          );
      }
    }
    const dangling = [...text.matchAll(/"\$ref": "([^"]+)"/g)].map((m) => m[1]!).filter((r) => pointer(r) === undefined);
    assert.deepEqual(dangling, [], 'every $ref in the document resolves');
  });

  test('every engine event type with a domain subject is documented on that subject, and no other engine event type is', () => {
    // Every `type: '...'` literal of the engine's events (and, harmlessly, of its inputs).
    const candidates = new Set(
      [...`${source('actors/types.ts')}\n${source('engine/inputs.ts')}`.matchAll(/\btype: '([^']+)'/g)].map((m) => m[1]!),
    );
    const published = [...candidates].filter((t) => eventSubject(t) !== undefined);
    assert.ok(published.length >= 13, 'the event types are found in the sources');
    const documented = new Map<string, string>();
    for (const { subject, message } of domainMessages()) {
      // A domain message documents either an engine event type or another producer, never both.
      assert.notEqual(
        isEngineMessage(message),
        typeof message['x-producer'] === 'string',
        `${String(message['name'])} names an engine event type or a producer`,
      );
      if (!isEngineMessage(message)) continue;
      const type = String(message['x-engine-event-type']);
      const payload = object(deref(message['payload']), `payload of ${type}`);
      const own = object((payload['allOf'] as Json[])[1], `own fields of ${type}`);
      assert.deepEqual(object(object(own['properties'], 'properties')['type'], 'type'), { const: type }, `payload type of ${type}`);
      assert.equal(eventSubject(type), subject, `${type} is published on ${subject}`);
      documented.set(type, subject);
    }
    assert.deepEqual([...documented.keys()].sort(), published.sort());
    for (const t of candidates) if (!documented.has(t)) assert.equal(eventSubject(t), undefined, `${t} is not published`);
    // The subjects no engine event maps to (so, by the loop above, carrying no engine message): the payment and Monte Carlo ones.
    const engineSubjects = new Set(published.map((t) => eventSubject(t)!));
    assert.deepEqual(
      DOMAIN_EVENT_SUBJECTS.filter((s) => !engineSubjects.has(s)).sort(),
      ['montecarlo.simulation-completed', 'payment.purchase-completed', 'payment.purchase-failed', 'report.ready'],
      'the subjects without engine events',
    );
  });

  test("every refusal code of IntakeRefusal appears in the intake result schema's enum, and no other", () => {
    const codes = literalsOf(source('engine/node/intake.ts'), 'IntakeRefusal');
    assert.ok(codes.includes('MALFORMED_REQUEST'));
    const result = object(deref(object(components['messages'], 'messages')['IntakeResult']), 'IntakeResult');
    const refused = (object(deref(result['payload']), 'payload')['oneOf'] as Json[])
      .map((b) => object(b, 'branch'))
      .find((b) => object(b['properties'], 'p')['code'] !== undefined);
    const code = object(deref(object(refused?.['properties'], 'refused properties')['code']), 'code');
    assert.deepEqual([...(code['enum'] as string[])].sort(), [...codes].sort());
  });

  test('the enums of the payload schemas list exactly the literals of their TypeScript types', () => {
    const types = source('actors/types.ts');
    for (const name of ['Side', 'OrderType', 'TimeInForce', 'OrderStatus', 'OrderRole', 'PhaseName', 'RuleId']) {
      assert.deepEqual(object(schemas[name], name)['enum'], literalsOf(types, name), name);
    }
  });

  test("every example in the document validates against its message's payload and headers", () => {
    for (const [name, raw] of Object.entries(object(components['messages'], 'messages'))) {
      const message = object(raw, name);
      for (const ex of (message['examples'] as Json[] | undefined) ?? []) {
        const e = object(ex, `example of ${name}`);
        assert.deepEqual(check(message['payload'], e['payload'], true), [], `payload example ${String(e['name'])} of ${name}`);
        if (e['headers'] !== undefined)
          assert.deepEqual(check(message['headers'], e['headers'], true), [], `headers example ${String(e['name'])} of ${name}`);
      }
    }
  });

  test("the purchase flow's payloads are documented field for field from the object literals purchases.ts publishes, and fit their channel alone, without a msg id", () => {
    const ts = source(PURCHASES);
    const literals = publishedLiterals(ts);
    const subjects = literalsOf(ts, 'PaymentSubject');
    assert.deepEqual(
      [...literals.keys()].sort(),
      [...subjects].sort(),
      'purchases.ts publishes an object literal on each of its PaymentSubjects',
    );
    const produced = domainMessages().filter(({ message }) => message['x-producer'] === PURCHASES);
    assert.deepEqual(
      produced.map(({ subject }) => subject).sort(),
      [...subjects].sort(),
      'one documented message per subject the purchase flow publishes',
    );
    const encoder = new Encoder({ ignoreUndefined: true }); // as ComposedNode.publish encodes
    const decoder = new Decoder();
    for (const { subject, message } of produced) {
      const [keys, ...others] = literals.get(subject)!;
      for (const o of others) assert.deepEqual([...o].sort(), [...keys!].sort(), `every ${subject} literal has the same fields`);
      const fields = [...keys!].sort();
      const schema = object(deref(message['payload']), `payload of ${subject}`);
      assert.deepEqual([...declared(schema)].sort(), fields, `${subject}: the documented fields are the published ones`);
      // None of the values is ever undefined (paymentIntent may be null, which msgpack keeps), so every field is present.
      assert.deepEqual([...(schema['required'] as string[])].sort(), fields, `${subject}: every published field is required`);
      assert.equal(message['headers'], undefined, `${subject}: published without a Nats-Msg-Id`);
      const examples = (message['examples'] as Json[] | undefined) ?? [];
      assert.ok(examples.length > 0, `${subject} has an example`);
      for (const ex of examples) {
        const payload = object(object(ex, `example of ${subject}`)['payload'], `example payload of ${subject}`);
        assert.deepEqual(Object.keys(payload).sort(), fields, `${subject}: the example has exactly the published fields`);
        const sent = decoder.decode(encoder.encode(payload));
        for (const namespace of ['', 'ns']) {
          const fit = assertFits(
            channelOf(namespace === '' ? subject : `${namespace}.${subject}`, namespace),
            sent,
            undefined,
            `${subject} example`,
          );
          assert.equal(fit, message, `${subject}: only the purchase flow's message accepts its payload`);
        }
      }
    }

    // Values the code produces that the examples do not show.
    const byName = object(components['messages'], 'messages');
    const completed = object(deref(byName['PurchaseCompleted']), 'PurchaseCompleted');
    const example = object(object((completed['examples'] as Json[])[0], 'example')['payload'], 'payload');
    assert.deepEqual(check(completed['payload'], { ...example, paymentIntent: null }, true), [], 'a session without a payment intent');
    assert.notDeepEqual(check(completed['payload'], { ...example, currency: 'usd' }, true), [], 'currency is stored upper case');
    assert.match(ts, /price\.currency\.toUpperCase\(\)/, 'purchases.ts stores the currency upper case');
    const created = object(deref(byName['PurchaseAssessmentCreated']), 'PurchaseAssessmentCreated');
    const assessmentId = object(
      object(object(deref(created['payload']), 'payload')['properties'], 'properties')['assessmentId'],
      'assessmentId',
    );
    assert.deepEqual(
      check(assessmentId, assessmentIdFor('pur_0123456789abcdef0123456789abcdef'), true),
      [],
      'assessmentIdFor fits the documented id',
    );
    // The two producers of assessment.created are told apart by their payloads: the engine's (with type, no purchaseId) fits only its own message.
    const engineCreated = object(deref(byName['AssessmentCreated']), 'AssessmentCreated');
    const engineExample = {
      type: 'assessment.created',
      assessmentId: 'a1',
      at: T0,
      input: 3,
      n: 0,
      traderId: 't1',
      tierId: 'plain',
      tierVersion: 1,
      phase: 'challenge',
      balance: 100_000,
    };
    assert.equal(assertFits(byAddress.get('assessment.created')!, engineExample, 'a1:3:0', 'engine assessment.created'), engineCreated);
  });

  test('montecarlo.simulation-completed is documented field for field from the payload a real SimulationService publishes when a job completes, and fits its channel alone, without a msg id', async () => {
    const subject = 'montecarlo.simulation-completed';
    const channel = byAddress.get(subject)!;
    const [message, ...more] = channelMessages(channel);
    assert.equal(more.length, 0, 'one message on the subject');
    for (const [what, v] of [
      ['channel', channel],
      ['message', message!],
    ] as const)
      assert.equal(v['x-status'], undefined, `the ${what} is not marked planned: the subject is published`);
    assert.equal(message!['x-producer'], SIMULATIONS);
    assert.equal(message!['headers'], undefined, 'published without a Nats-Msg-Id');
    const publishes = sourceFiles().filter(
      (f) => !f.includes('/test/') && new RegExp(`\\bpublish\\(\\s*'${subject.replace(/\./g, '\\.')}'`).test(source(f)),
    );
    assert.deepEqual(publishes, [SIMULATIONS], 'the documented producer is the one source that publishes the subject');
    const key = Object.entries(channels).find(([, c]) => c === channel)![0];
    const senders = Object.entries(operations)
      .map(([name, op]) => [name, object(op, name)] as const)
      .filter(([, op]) => object(op['channel'], 'channel')['$ref'] === `#/channels/${key}`);
    assert.deepEqual(
      senders.map(([, op]) => op['action']),
      ['send'],
      'one operation sends it',
    );

    // A real job: a SimulationService on a one-worker pool, as compose-gateway.ts wires it, with a publish that captures what it is handed.
    const pool = new SimPool({ workers: 1 });
    const published: { subject: string; payload: object }[] = [];
    const twoStep = presetTiers().find((t) => t.id === 'two-step-100k')!;
    const live = new Harness(twoStep); // a1, active, of trader-a1
    const now = T0 + 40 * DAY;
    const service = new SimulationService({
      simulator: pool,
      store: new MemorySimulationStore(),
      tiers: () => presetTiers(),
      clock: () => now,
      assessment: async (id) => (id === 'a1' ? live.state('a1') : undefined),
      publish: async (s, payload) => void published.push({ subject: s, payload }),
    });
    const trades = Array.from({ length: 30 }, (_, i) => ({
      closedAt: new Date(T0 + Math.floor(i / 2) * DAY + (i % 2) * 3_600_000).toISOString(),
      pnl: i % 3 === 0 ? -1_650 : 1_380,
    }));
    const records: SimulationRecord[] = [];
    try {
      for (const [asker, body] of [
        [
          { traderId: 'trader-mc', operator: false },
          { tierId: 'two-step-100k', trades, paths: 1_000, seed: 'asyncapi' },
        ],
        [
          { traderId: 'trader-a1', operator: false },
          { assessmentId: 'a1', trades, paths: 1_000, method: 'iid' },
        ],
      ] as const) {
        const started = await service.start(asker, body);
        await until(() => published.some((p) => (p.payload as { simulationId?: string }).simulationId === started.id), {
          what: `the completion of ${started.id}`,
          deadlineMs: 30_000,
        });
        records.push(await service.get(asker, started.id));
      }
      // A cancelled job publishes nothing.
      const cancelled = await service.start(
        { traderId: 'trader-mc', operator: false },
        { tierId: 'two-step-100k', trades, paths: 1_000_000, horizonDays: 365 },
      );
      service.close();
      await until(async () => (await service.get({ traderId: 'trader-mc', operator: false }, cancelled.id)).status !== 'running', {
        what: 'the cancellation',
        deadlineMs: 30_000,
      });
      assert.equal((await service.get({ traderId: 'trader-mc', operator: false }, cancelled.id)).status, 'cancelled');
    } finally {
      service.close();
      await pool.close();
    }
    assert.deepEqual(
      published.map((p) => p.subject),
      [subject, subject],
      'one event per completed job, none for the cancelled one',
    );

    const schema = object(deref(message!['payload']), `payload of ${subject}`);
    const props = object(schema['properties'], 'properties');
    const encoder = new Encoder({ ignoreUndefined: true }); // as ComposedNode.publish encodes
    const decoder = new Decoder();
    for (const [i, { payload }] of published.entries()) {
      const record = records[i]!;
      assert.equal(record.status, 'completed');
      const fields = Object.keys(payload).sort();
      assert.deepEqual([...declared(schema)].sort(), fields, 'the documented fields are the published ones');
      // No value is ever undefined (assessmentId is null without an assessment, which msgpack keeps), so every field is present.
      assert.deepEqual([...(schema['required'] as string[])].sort(), fields, 'every published field is required');
      const sent = decoder.decode(encoder.encode(payload)) as Record<string, unknown>;
      assert.deepEqual(sent, payload, 'msgpack keeps the payload as it is');
      for (const namespace of ['', 'ns']) {
        const fit = assertFits(
          channelOf(namespace === '' ? subject : `${namespace}.${subject}`, namespace),
          sent,
          undefined,
          `${subject} of ${record.id}`,
        );
        assert.equal(fit, message, `${subject}: only the simulation service's message accepts its payload`);
      }
      // The payload is the job's record and result, as documented.
      assert.deepEqual(sent, {
        simulationId: record.id,
        traderId: record.traderId,
        assessmentId: record.assessmentId,
        tierId: record.tierId,
        paths: record.result!.paths,
        method: record.result!.method,
        seed: record.result!.seed,
        pass: record.result!.pass,
        breakdown: Object.fromEntries(OUTCOMES.map((o) => [o, record.result!.breakdown[o].p])),
        engine: record.result!.engine,
        completedAt: record.completedAt,
      });
    }
    assert.deepEqual(
      published.map(({ payload }) => (payload as { assessmentId: unknown }).assessmentId),
      [null, 'a1'],
      'both forms of assessmentId were validated',
    );

    // The enums are the code's, and values the code cannot produce are refused.
    assert.deepEqual(Object.keys(object(object(props['breakdown'], 'breakdown')['properties'], 'breakdown properties')), [...OUTCOMES]);
    assert.deepEqual(object(props['method'], 'method')['enum'], Method.options);
    assert.deepEqual(object(props['engine'], 'engine')['enum'], SimulationResult.shape.engine.options);
    const real = decoder.decode(encoder.encode(published[0]!.payload)) as Record<string, Json>;
    const breakdown = object(real['breakdown'], 'breakdown');
    const { assessmentId: _a, ...noAssessment } = real;
    for (const bad of [
      noAssessment,
      { ...real, breakdown: { ...breakdown, expired: 0 } },
      { ...real, pass: { ...object(real['pass'], 'pass'), p: 1.2 } },
      { ...real, method: 'mcmc' },
      { ...real, engine: 'gpu' },
      { ...real, paths: 1.5 },
      { ...real, assessmentId: 7 },
    ]) {
      assert.notDeepEqual(check(schema, bad, true), [], `${JSON.stringify(bad).slice(0, 120)} is refused`);
    }
  });

  test('report.ready is documented field for field from what a real ReportService publishes when it stores a report, and fits its channel alone, without a msg id', {
    skip: pgSkip,
  }, async () => {
    const subject = 'report.ready';
    const channel = byAddress.get(subject)!;
    const [message, ...more] = channelMessages(channel);
    assert.equal(more.length, 0, 'one message on the subject');
    assert.equal(message!['x-producer'], REPORTS);
    assert.equal(message!['headers'], undefined, 'published without a Nats-Msg-Id');
    const publishes = sourceFiles().filter(
      (f) => !f.includes('/test/') && new RegExp(`\\bpublish\\(\\s*'${subject.replace(/\./g, '\\.')}'`).test(source(f)),
    );
    assert.deepEqual(publishes, [REPORTS], 'the documented producer is the one source that publishes the subject');
    const db = await createTestDatabase();
    const published: ReportReady[] = [];
    try {
      const tape = readTape(new URL('../../tapes/overnight-daily-breach.jsonl', import.meta.url).pathname);
      const { events, engine } = await runInputs(
        tape.map((x) => x.input),
        { workers: 1, tiers: presetTiers() },
      );
      await engine.stop();
      await new PgHistoryStore(db.sql).ingest(events.filter((e) => eventSubject(e.type) !== undefined) as unknown as HistoryEvent[]);
      const tiers = [...presetTiers(), ...tape.flatMap((x) => (x.input.type === 'tier' ? [parseTier(x.input.tier)] : []))];
      const service = new ReportService({
        reader: new PgHistoryReader(db.sql),
        store: new PgReportStore(db.sql),
        tiers: () => tiers,
        replay: (id) => replaySource(id, undefined, true),
        publish: async (_s, payload) => void published.push(payload),
      });
      service.onIngested(events.filter((e) => e.type === 'assessment.failed') as unknown as HistoryEvent[]);
      await service.idle();
      await service.generate('acc-overnight', 'request', 'request');
    } finally {
      await db.drop();
    }
    assert.deepEqual(
      published.map((p) => [p.assessmentId, p.kind, p.trigger]),
      [
        ['acc-overnight', 'final', 'assessment.failed'],
        ['acc-overnight', 'request', 'request'],
      ],
    );
    const schema = object(deref(message!['payload']), `payload of ${subject}`);
    const encoder = new Encoder({ ignoreUndefined: true }); // as ComposedNode.publish encodes
    const decoder = new Decoder();
    for (const payload of published) {
      const fields = Object.keys(payload).sort();
      assert.deepEqual([...declared(schema)].sort(), fields, 'the documented fields are the published ones');
      assert.deepEqual([...(schema['required'] as string[])].sort(), fields, 'every published field is required');
      const sent = decoder.decode(encoder.encode(payload)) as Record<string, unknown>;
      for (const namespace of ['', 'ns']) {
        const fit = assertFits(
          channelOf(namespace === '' ? subject : `${namespace}.${subject}`, namespace),
          sent,
          undefined,
          `${subject} of report ${payload.reportId}`,
        );
        assert.equal(fit, message, `${subject}: only the report service's message accepts its payload`);
      }
    }
    assert.notDeepEqual(check(schema, { ...published[0]!, kind: 'weekly' }, true), [], 'an unknown kind is refused');
  });

  test('ticks, resolutions and clock beats as TickPublisher sends them fit their channel, msg id and payload schema, with or without a namespace', async () => {
    for (const namespace of ['', 'test-3f9a.eu']) {
      const { js, sent } = fakeJetStream();
      const publisher = new TickPublisher(js, { namespace });
      await publisher.publishTick({
        venue: 'coinbase',
        symbol: 'BTC-USD',
        ts: T0,
        bid: 40_000,
        ask: 40_001,
        bidSize: 0.5,
        askSize: 2,
        venueSeq: 981,
      });
      await publisher.publishTick({ venue: 'polymarket', symbol: 'PM:FED-DEC-CUT:YES', ts: T0 + 1, bid: 0.41, ask: 0.43 });
      await publisher.publishResolution({ venue: 'polymarket', market: 'PM:FED-DEC-CUT', outcome: 'YES', ts: T0 + 2 });
      await publisher.publishClock(T0 + 1_000);
      const kinds = sent.map((s) => {
        const channel = channelOf(s.subject, namespace);
        assertFits(channel, s.payload, s.msgId, s.subject);
        return channel['address'];
      });
      assert.deepEqual(kinds, ['ticks.{venue}.{symbol}', 'ticks.{venue}.{symbol}', 'resolutions.{venue}.{market}', 'clock.beat']);
    }
  });

  test('the events the actors really emit, as JetStreamEventPublisher publishes them, fit their channel, msg id and payload schema', async () => {
    const { js, sent } = fakeJetStream();
    const publisher = new JetStreamEventPublisher(js, { namespace: 'ns' });
    const at = (h: Harness): void => publisher.onEvents(h.log.splice(0), 0);

    // Two phases, brackets and a partial fill: placed, filled, opened, closed, phase passed, started, passed.
    const twoStep = new Harness(
      parseTier({
        id: 'two-step',
        version: 2,
        name: 'Two step',
        timezone: 'UTC',
        kinds: ['linear'],
        leverage: 10,
        fees: { linear: 0.0001, binary: 0 },
        phases: [
          { name: 'challenge', startingBalance: 100_000, rules: { profitTarget: { target: { amount: 1_000 } } } },
          {
            name: 'verification',
            startingBalance: 50_000,
            rules: { profitTarget: { target: { amount: 500 } }, dailyLoss: { limit: { pct: 5 } }, maxLoss: { limit: { pct: 10 } } },
          },
        ],
      }),
    );
    twoStep.tick('ETH-USD', 2_000, 2_000, { bidSize: 100, askSize: 4 });
    twoStep.buy('ETH-USD', 10, { stopLoss: 1_900, takeProfit: 2_150 });
    twoStep.tick('ETH-USD', 2_000, 2_000, { bidSize: 100, askSize: 100 });
    twoStep.tick('ETH-USD', 2_200, 2_200);
    twoStep.tick('ETH-USD', 2_000, 2_000);
    twoStep.buy('ETH-USD', 10);
    twoStep.tick('ETH-USD', 2_100, 2_100);
    twoStep.sell('ETH-USD', 10);
    at(twoStep);

    // A hard breach (violation, liquidation, failure), a pause and an abandonment.
    const risky = new Harness(
      parseTier({
        id: 'risky',
        version: 1,
        name: 'Risky',
        timezone: 'UTC',
        kinds: ['linear'],
        leverage: 10,
        fees: { linear: 0, binary: 0 },
        phases: [{ name: 'challenge', startingBalance: 100_000, rules: { maxLoss: { limit: { amount: 5_000 } } } }],
      }),
      { assessments: ['b1', 'b2', 'b3'] },
    );
    risky.tick('BTC-USD', 40_000, 40_000);
    risky.buy('BTC-USD', 1, {}, 'b1');
    risky.tick('BTC-USD', 34_000, 34_000);
    risky.command({ kind: 'pause' }, 'b2');
    risky.command({ kind: 'resume' }, 'b2');
    risky.command({ kind: 'abandon' }, 'b3');
    risky.place({ clientOrderId: 'tiny', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.00000001 }, 'b2'); // refused: below the minimum
    risky.place({ clientOrderId: 'day', symbol: 'BTC-USD', side: 'buy', type: 'limit', qty: 0.1, limitPrice: 20_000, tif: 'day' }, 'b2');
    risky.clock(T0 + DAY); // the day order expires at the reset
    at(risky);

    // A soft daily breach locks trading; a met target waits for the minimum trading days; a binary position settles.
    const soft = new Harness(
      parseTier({
        id: 'soft',
        version: 1,
        name: 'Soft',
        timezone: 'UTC',
        kinds: ['linear', 'binary'],
        leverage: 10,
        fees: { linear: 0, binary: 0 },
        phases: [
          {
            name: 'challenge',
            startingBalance: 100_000,
            rules: {
              profitTarget: { target: { amount: 1_000 } },
              minTradingDays: { days: 3 },
              dailyLoss: { limit: { amount: 2_000 }, severity: 'soft' },
            },
          },
        ],
      }),
      { assessments: ['d1', 'd2', 'd3'] },
    );
    soft.tick('BTC-USD', 40_000, 40_000);
    soft.buy('BTC-USD', 1, {}, 'd1');
    soft.tick('BTC-USD', 37_000, 37_000);
    soft.buy('BTC-USD', 1, {}, 'd2');
    soft.tick('BTC-USD', 39_000, 39_000);
    soft.sell('BTC-USD', 1, {}, 'd2');
    soft.tick('PM:FED-DEC-CUT:YES', 0.4, 0.41);
    soft.buy('PM:FED-DEC-CUT:YES', 100, {}, 'd3');
    soft.resolve('PM:FED-DEC-CUT', 'YES');
    at(soft);

    // Time running out: an expiry, published on assessment.failed.
    const idle = new Harness(
      parseTier({
        id: 'idle',
        version: 1,
        name: 'Idle',
        timezone: 'UTC',
        kinds: ['linear'],
        leverage: 10,
        fees: { linear: 0, binary: 0 },
        phases: [{ name: 'challenge', startingBalance: 100_000, rules: { inactivity: { days: 3 } } }],
      }),
      { assessments: ['c1'] },
    );
    idle.clock(T0 + 3 * DAY);
    at(idle);

    await publisher.flush();
    assert.equal(publisher.failed, 0);
    const seen = new Set<string>();
    for (const s of sent) {
      const channel = channelOf(s.subject, 'ns');
      const message = assertFits(channel, s.payload, s.msgId, s.subject);
      assert.equal(
        message['x-engine-event-type'],
        (s.payload as { type: string }).type,
        `${s.subject} carries the engine type it documents`,
      );
      seen.add(String(message['x-engine-event-type']));
    }
    const documented = domainMessages()
      .filter(({ message }) => isEngineMessage(message))
      .map(({ message }) => String(message['x-engine-event-type']));
    assert.deepEqual([...seen].sort(), [...documented].sort(), 'the scenarios exercise every documented event message');
    assert.ok(
      sent.some((s) => (s.payload as { dailyFloor?: number }).dailyFloor === -Infinity),
      'a -Infinity floor survives msgpack and fits the schema',
    );
  });

  test("the intake service's replies and the requests it passes on fit the intake and inspect schemas", async () => {
    const { nc, subs } = fakeNats();
    const offered: IntakeRequest[] = [];
    const h = new Harness(
      parseTier({
        id: 'plain',
        version: 1,
        name: 'Plain',
        timezone: 'UTC',
        kinds: ['linear'],
        leverage: 10,
        fees: { linear: 0, binary: 0 },
        phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
      }),
    );
    const target: IntakeTarget = {
      ready: Promise.resolve(),
      offer: async (req): Promise<IntakeResult> => {
        offered.push(req);
        return req.kind === 'create'
          ? { ok: true, position: 1, input: 7, watermark: 3 }
          : { ok: false, code: 'UNKNOWN_ASSESSMENT', message: 'no assessment' };
      },
      inspect: async () =>
        ({ tickSeq: 3, journalPos: 1, inputPos: 7, snapshot: { kernel: { actors: [{ state: h.state() }] } } }) as unknown as NodeInspection,
    };
    const service = new IntakeService(nc, target, { group: 'g1', namespace: 'ns' });
    const subjects = intakeSubjects('g1', 'ns');
    assert.equal(channelOf(subjects.intake, 'ns')['address'], 'engine.{group}.intake');
    assert.equal(channelOf(subjects.inspect, 'ns')['address'], 'engine.{group}.inspect');
    assert.equal(subs.get(subjects.intake)?.queue, subjects.intake, 'intake is served in a queue group named like the subject');

    const intake = byAddress.get('engine.{group}.intake')!;
    const resultSchema = object(deref(object(components['messages'], 'messages')['IntakeResult']), 'IntakeResult')['payload'];
    const encoder = new Encoder();
    const requests: unknown[] = [
      { kind: 'create', assessmentId: 'a9', traderId: 't9', tierId: 'plain' },
      {
        kind: 'command',
        assessmentId: 'a9',
        command: { kind: 'place', clientOrderId: 'c1', symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_999.5 },
      },
      { kind: 'delete', assessmentId: 'a9' },
      [1, 2, 3],
    ];
    const replies: unknown[] = [];
    for (const r of requests) replies.push(await request(subs, subjects.intake, encoder.encode(r)));
    replies.push(await request(subs, subjects.intake, new Uint8Array(20_000)));
    for (const reply of replies) assert.deepEqual(check(resultSchema, reply, true), [], `reply ${JSON.stringify(reply)}`);
    assert.deepEqual(
      replies.slice(2).map((r) => (r as { code: string }).code),
      ['MALFORMED_REQUEST', 'MALFORMED_REQUEST', 'MALFORMED_REQUEST'],
    );
    for (const req of offered) assertFits(intake, req, undefined, `request ${req.kind}`);
    for (const bad of requests.slice(2))
      assert.notDeepEqual(check(channelMessages(intake)[0]!['payload'], bad), [], `${JSON.stringify(bad)} is refused by the schema too`);

    const inspect = await request(subs, subjects.inspect, new Uint8Array(0));
    const inspectSchema = object(deref(object(components['messages'], 'messages')['InspectReply']), 'InspectReply')['payload'];
    assert.deepEqual(check(inspectSchema, inspect, true), []);
    await service.stop();
  });

  test("the routing plane's replies, owner announcements, leaderboard answers and live frames, as ShardService sends them, fit their channels and schemas", async () => {
    const { nc, subs, published } = fakeNats();
    const shard = 42;
    const inShard = Array.from({ length: 5_000 }, (_, i) => `a${i}`)
      .filter((id) => shardOf(id) === shard)
      .slice(0, 2);
    const elsewhere = Array.from({ length: 50 }, (_, i) => `b${i}`).find((id) => shardOf(id) !== shard)!;
    const [id, unknown] = inShard as [string, string];
    const h = new Harness(
      parseTier({
        id: 'plain',
        version: 1,
        name: 'Plain',
        timezone: 'UTC',
        kinds: ['linear'],
        leverage: 10,
        fees: { linear: 0, binary: 0 },
        phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
      }),
      { assessments: [id] },
    );
    const board = new MemoryLeaderboard();
    await board.update([
      { assessmentId: id, returnPct: 1.5 },
      { assessmentId: elsewhere, returnPct: 9 },
    ]);
    const host: ShardHost = {
      nodeId: 'n1',
      serves: (v) => (v === shard ? 3 : undefined),
      served: () => [[shard, 3]],
      onShardChange: () => () => {},
      watch: () => {},
      offer: async (req): Promise<IntakeResult> =>
        req.kind === 'create'
          ? { ok: true, position: 1, input: 7, watermark: 3 }
          : { ok: false, code: 'UNKNOWN_ASSESSMENT', message: 'no assessment' },
      state: async (a) => (a === id ? h.state(id) : undefined),
    };
    const service = new ShardService(nc, host, { namespace: 'ns', leaderboard: board });
    await service.start();
    const subjects = shardSubjects(shard, 'ns');
    const schemaOf = (name: string) => object(deref(object(components['messages'], 'messages')[name]), name)['payload'];
    const replyFits = (name: string, reply: unknown, what: string) =>
      assert.deepEqual(check(schemaOf(name), reply, true), [], `${what}: ${JSON.stringify(reply)}`);
    for (const [subject, address] of [
      [subjects.intake, 'engine.shard.{shard}.intake'],
      [subjects.state, 'engine.shard.{shard}.state'],
      [subjects.watch, 'engine.shard.{shard}.watch'],
      [leaderboardSubject('ns'), 'engine.leaderboard'],
    ] as const) {
      assert.equal(channelOf(subject, 'ns')['address'], address);
      assert.equal(subs.get(subject)?.queue, undefined, `${address} is served without a queue group`);
    }
    const encoder = new Encoder();
    const ask = (subject: string, body: unknown) => request(subs, subject, body instanceof Uint8Array ? body : encoder.encode(body));

    const intake: Array<[unknown, string]> = [
      [{ kind: 'create', assessmentId: unknown, traderId: 't9', tierId: 'plain' }, 'accepted'],
      [{ kind: 'command', assessmentId: id, command: { kind: 'flatten' } }, 'UNKNOWN_ASSESSMENT'],
      [{ kind: 'create', assessmentId: elsewhere, traderId: 't9', tierId: 'plain' }, 'MALFORMED_REQUEST'],
      [new Uint8Array([0xc1]), 'MALFORMED_REQUEST'],
      [new Uint8Array(20_000), 'MALFORMED_REQUEST'],
    ];
    for (const [body, expected] of intake) {
      const reply = (await ask(subjects.intake, body)) as { ok: boolean; code?: string };
      replyFits('RoutedIntakeResult', reply, 'intake reply');
      assert.equal(reply.ok ? 'accepted' : reply.code, expected);
    }
    const snapshot = (await ask(subjects.state, { assessmentId: id, gateway: 'gw-1' })) as { ok: boolean; state: { id: string } };
    replyFits('StateReply', snapshot, 'snapshot');
    assert.equal(snapshot.state.id, id);
    replyFits('StateReply', await ask(subjects.state, { assessmentId: unknown }), 'state of an unknown assessment');
    replyFits('StateReply', await ask(subjects.state, { assessmentId: id, gateway: 'no spaces allowed' }), 'a bad gateway id');
    const watch = await ask(subjects.watch, { gateway: 'gw-1', assessmentIds: [id] });
    replyFits('WatchReply', watch, 'watch');
    replyFits('WatchReply', await ask(subjects.watch, { gateway: 'gw-1', assessmentIds: [elsewhere] }), 'a watch of another shard');
    const leaders = (await ask(leaderboardSubject('ns'), { n: 5 })) as { entries: Array<{ assessmentId: string }> };
    replyFits('LeaderboardReply', leaders, 'leaderboard');
    assert.deepEqual(
      leaders.entries.map((e) => e.assessmentId),
      [id],
      'only the assessments of the shards served here',
    );
    replyFits('LeaderboardReply', await ask(leaderboardSubject('ns'), { n: 0 }), 'a bad n');

    // Real events of the watched assessment, and a delta as the shards encode it, published as live frames.
    h.tick('BTC-USD', 40_000, 40_010);
    h.buy('BTC-USD', 1, {}, id);
    h.tick('BTC-USD', 40_100, 40_110);
    service.publisher.onEvents(h.log.splice(0));
    const delta = {
      assessmentId: id,
      status: 'active',
      phase: 'challenge',
      startingBalance: 100_000,
      balance: 100_000,
      equity: 100_090,
      dailyFloor: -Infinity,
      maxLossFloor: -Infinity,
      positions: [],
      workingOrders: 0,
      input: 9,
      at: 1_767_000_000_000,
    };
    service.publisher.onEncodedDeltas(new DeltaEncoder().encode([delta]));
    const frames = published.filter((p) => p.subject === streamSubject(id, 'ns'));
    assert.ok(frames.length >= 3, 'the events and the delta were published');
    for (const f of frames) assertFits(channelOf(f.subject, 'ns'), f.payload, undefined, 'live frame');
    assert.deepEqual(
      frames.map((f) => (f.payload as { seq: number }).seq),
      frames.map((_, i) => i + 1),
      'numbered from 1, one by one',
    );
    const announcements = published.filter((p) => p.subject === subjects.owner);
    assert.equal(announcements.length, 1, 'the shard is announced once served');
    for (const a of announcements) assertFits(channelOf(a.subject, 'ns'), a.payload, undefined, 'announcement');
    await service.stop();
    const gone = published.filter((p) => p.subject === subjects.owner).at(-1)!.payload as { serving: boolean };
    assert.equal(gone.serving, false, 'and said to be let go when the service stops');
    assert.equal(subs.size, 0, 'every subscription is drained');
  });
});
