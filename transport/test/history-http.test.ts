/**
 * History and reports through the gateway, on a real node (NATS JetStream,
 * Postgres): a trader who fails gets a report made by itself, pushed to the
 * socket as `report` and published on the bus as `report.ready`; every
 * history route answers its owner and operators, refuses anyone else with
 * the same 404 as an unknown id, and bounds its pages; the CSV and HTML
 * forms; operators list and make reports again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Decoder } from '@msgpack/msgpack';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import WebSocket from 'ws';
import { composeGateway, LateOutput, type ComposedGateway } from '../../engine/main/compose-gateway.js';
import { composeNode, type ComposedNode } from '../../engine/main/compose-node.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import { VaticClient, type SocketConstructor } from '../client/vatic-client.js';
import type { ServerFrame } from '../protocol/protocol.js';
import { SECRET, token } from './gateway-harness.js';
import { until } from '../../engine/testing/index.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));
const T0 = Date.UTC(2026, 0, 5, 9, 0);

describe('history and reports over the gateway', { skip }, () => {
  const ns = `hh-${randomBytes(4).toString('hex')}`;
  const streams = { marketStream: `MARKET_${ns.replace('-', '_')}`, eventStream: `EVENTS_${ns.replace('-', '_')}` };
  let db: TestDatabase;
  let dir: string;
  let node: ComposedNode;
  let gw: ComposedGateway;
  let nc: NatsConnection;
  let base: string;
  let alice: string;
  let bob: string;
  let ops: string;
  let reportFrame: Extract<ServerFrame, { t: 'report' }> | undefined;
  let client: VaticClient;
  const get = (path: string, auth?: string): Promise<Response> =>
    fetch(`${base}${path}`, auth === undefined ? {} : { headers: { authorization: `Bearer ${auth}` } });

  before(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'vatic-hh-'));
    const late = new LateOutput();
    node = await composeNode(
      {
        natsUrl: 'nats://127.0.0.1:4222',
        databaseUrl: db.url,
        dataDir: dir,
        namespace: ns,
        ...streams,
        group: ns,
        workers: 1,
        clockBeat: false,
      },
      pino({ level: 'silent' }),
      [late],
    );
    gw = await composeGateway(
      node,
      late,
      { port: 0, tokens: { secret: SECRET }, console: false, simulations: { workers: 1, estimateIntervalMs: 0 } },
      pino({ level: 'silent' }),
    );
    base = `http://127.0.0.1:${gw.gateway.port}`;
    [alice, bob, ops] = await Promise.all([token('alice'), token('bob'), token('ops', { roles: ['operator'] })]);
    nc = await natsConnect({ servers: 'nats://127.0.0.1:4222' });
    const pub = node.tickPublisher!;
    const tick = async (ts: number, bid: number): Promise<void> => {
      await pub.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts, bid, ask: bid + 10 });
      const tail = await node.marketTail();
      await until(() => node.node.lastSeq >= tail, { what: `the node to apply the market log to seq ${tail}`, intervalMs: 5 });
    };
    await pub.publishClock(T0);
    await tick(T0, 60_000);
    for (const [id, trader] of [
      ['hx-alice', 'alice'],
      ['hx-bob', 'bob'],
    ] as const)
      assert.ok((await node.node.offer({ kind: 'create', assessmentId: id, traderId: trader, tierId: 'two-step-100k' })).ok);
    client = await VaticClient.connect(`ws://127.0.0.1:${gw.gateway.port}/v1/ws`, alice, {
      WebSocket: WebSocket as unknown as SocketConstructor,
    });
    await client.subscribe('hx-alice', { onReport: (f) => (reportFrame = f) });
    const place = (id: string, clientOrderId: string, side: 'buy' | 'sell', qty: number) =>
      node.node.offer({
        kind: 'command',
        assessmentId: id,
        command: { kind: 'place', clientOrderId, symbol: 'BTC-USD', side, type: 'market', qty },
      });
    for (let k = 0; k < 3; k++) {
      assert.ok((await place('hx-bob', `b${k}`, 'buy', 0.1)).ok);
      await tick(T0 + (k + 1) * 60_000, 60_000 + 50 * (k + 1));
      assert.ok((await place('hx-bob', `s${k}`, 'sell', 0.1)).ok);
    }
    assert.ok((await place('hx-alice', 'a1', 'buy', 20)).ok);
    await tick(T0 + 10 * 60_000, 59_900);
    await tick(T0 + 11 * 60_000, 59_500); // 20 × 510 = 10,200 down: below the 95,000 daily floor
  });
  after(async () => {
    client?.close();
    await gw?.close();
    await node?.close();
    const jsm = nc === undefined ? undefined : await jetstreamManager(nc);
    for (const s of [streams.marketStream, streams.eventStream]) await jsm?.streams.delete(s).catch(() => undefined);
    await nc?.close();
    await db?.drop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a failed assessment gets its report by itself: pushed to its socket, on the bus as report.ready, served as JSON and HTML', async () => {
    await until(() => reportFrame !== undefined, {
      what: "the report frame on the trader's socket",
      deadlineMs: 30_000,
      intervalMs: 50,
    }).catch(() => undefined); // asserted below
    assert.ok(reportFrame, "the report frame reached the trader's socket");
    assert.equal(reportFrame.assessmentId, 'hx-alice');
    assert.equal(reportFrame.trigger, 'assessment.failed');
    assert.equal(reportFrame.status, 'failed');
    const res = await get('/v1/assessments/hx-alice/report', alice);
    assert.equal(res.status, 200);
    const { report } = (await res.json()) as {
      report: {
        id: number;
        body: {
          summary: { status: string; decidingRule: { ruleId: string; evidence: { equity: number } } };
          compliance: { violations: unknown[] };
        };
      };
    };
    assert.equal(report.id, reportFrame.reportId);
    assert.equal(report.body.summary.status, 'failed');
    assert.equal(report.body.summary.decidingRule.ruleId, 'daily-loss');
    assert.ok(report.body.summary.decidingRule.evidence.equity < 95_000);
    assert.equal(report.body.compliance.violations.length, 1);
    const html = await get('/v1/assessments/hx-alice/report.html', alice);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    const page = await html.text();
    assert.match(page, /<svg[^>]*aria-label="Equity over time/);
    assert.doesNotMatch(page, /<script/i);
    // On the bus: report.ready with the same id.
    const jsm = await jetstreamManager(nc);
    const msg = await jsm.streams.getMessage(streams.eventStream, { last_by_subj: `${ns}.report.ready` });
    assert.ok(msg, 'report.ready is on the events stream');
    const ready = new Decoder().decode(msg.data) as { reportId: number; assessmentId: string; kind: string };
    assert.deepEqual([ready.reportId, ready.assessmentId, ready.kind], [reportFrame.reportId, 'hx-alice', 'final']);
  });

  const ROUTES = ['trades', 'trades.csv', 'fills', 'days', 'equity', 'events', 'report', 'report.html'];

  test('every history route answers the owner and operators, and refuses others exactly as an unknown assessment', async () => {
    for (const r of ROUTES) {
      for (const [who, auth] of [
        ['bob', bob],
        ['ops', ops],
      ] as const) {
        const res = await get(`/v1/assessments/hx-bob/${r}`, auth);
        // Bob has no report yet: 404 NO_REPORT is his own answer; an operator gets the same.
        if (r.startsWith('report'))
          assert.deepEqual([res.status, ((await res.json()) as { error: { code: string } }).error.code], [404, 'NO_REPORT'], `${who} ${r}`);
        else assert.equal(res.status, 200, `${who} GET ${r}`);
      }
      for (const path of [`/v1/assessments/hx-bob/${r}`, `/v1/assessments/nobody/${r}`]) {
        const res = await get(path, alice);
        assert.equal(res.status, 404, `alice ${path}`);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'FORBIDDEN_ASSESSMENT', `alice ${path}`);
      }
      assert.equal((await get(`/v1/assessments/hx-bob/${r}`)).status, 401, `no token: ${r}`);
    }
    const post = await fetch(`${base}/v1/assessments/hx-bob/report`, { method: 'POST', headers: { authorization: `Bearer ${alice}` } });
    assert.equal(post.status, 404);
  });

  test('pages are bounded and their cursors walk every row once; the CSV has every trade', async () => {
    const fills: number[] = [];
    let after: string | null = '';
    while (after !== null) {
      const res = await get(`/v1/assessments/hx-bob/fills?limit=2${after === '' ? '' : `&after=${after}`}`, bob);
      const body = (await res.json()) as { fills: Array<{ no: number }>; next: string | null };
      assert.ok(body.fills.length <= 2);
      fills.push(...body.fills.map((f) => f.no));
      after = body.next;
    }
    assert.deepEqual(fills, [1, 2, 3, 4, 5, 6]);
    for (const q of ['limit=0', 'limit=501', 'limit=abc', 'after=-1', 'after=1.5']) {
      const res = await get(`/v1/assessments/hx-bob/trades?${q}`, bob);
      assert.equal(res.status, 400, q);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'INVALID_QUERY', q);
    }
    for (const q of ['points=9', 'points=2001', 'from=10&to=5'])
      assert.equal((await get(`/v1/assessments/hx-bob/equity?${q}`, bob)).status, 400, q);
    assert.equal((await get('/v1/assessments/hx-bob/events?before=x.y', bob)).status, 400);
    const events = (await (await get('/v1/assessments/hx-bob/events?limit=3', bob)).json()) as {
      events: Array<{ input: number; n: number }>;
      next: string;
    };
    assert.equal(events.events.length, 3);
    const older = (await (await get(`/v1/assessments/hx-bob/events?limit=500&before=${events.next}`, bob)).json()) as {
      events: Array<{ input: number; n: number }>;
    };
    assert.ok(
      older.events.every((e) => e.input * 1e6 + e.n < events.events.at(-1)!.input * 1e6 + events.events.at(-1)!.n),
      'older events come before the cursor',
    );
    const csv = await get('/v1/assessments/hx-bob/trades.csv', bob);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    assert.match(lines[0]!, /^no,phase_index,symbol,side,open,opened_at/);
    assert.equal(lines.length, 1 + 3);
    const equity = (await (await get('/v1/assessments/hx-bob/equity?points=10', bob)).json()) as {
      equity: { points: unknown[]; resolutionMs: number };
    };
    assert.ok(equity.equity.points.length > 0 && equity.equity.points.length <= 11);
  });

  test('a trader asks for a report of their own; operators list reports and make one again; traders may not', async () => {
    const made = await fetch(`${base}/v1/assessments/hx-bob/report`, { method: 'POST', headers: { authorization: `Bearer ${bob}` } });
    assert.equal(made.status, 201);
    const header = ((await made.json()) as { report: { id: number; kind: string; trigger: string } }).report;
    assert.deepEqual([header.kind, header.trigger], ['request', 'request']);
    assert.equal((await get('/v1/assessments/hx-bob/report', bob)).status, 200);
    assert.equal((await get('/v1/operator/reports', bob)).status, 403);
    const list = (await (await get('/v1/operator/reports?limit=1', ops)).json()) as { reports: Array<{ id: number }>; next: string | null };
    assert.equal(list.reports.length, 1);
    assert.ok(list.next !== null);
    const rest = (await (await get(`/v1/operator/reports?before=${list.next}`, ops)).json()) as { reports: Array<{ id: number }> };
    assert.ok(rest.reports.every((r) => r.id < list.reports[0]!.id));
    assert.equal(
      (await fetch(`${base}/v1/operator/reports/hx-alice/regenerate`, { method: 'POST', headers: { authorization: `Bearer ${alice}` } }))
        .status,
      403,
    );
    const again = await fetch(`${base}/v1/operator/reports/hx-alice/regenerate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ops}` },
    });
    assert.equal(again.status, 201);
    assert.equal(
      (await fetch(`${base}/v1/operator/reports/nobody/regenerate`, { method: 'POST', headers: { authorization: `Bearer ${ops}` } }))
        .status,
      404,
    );
  });
});
