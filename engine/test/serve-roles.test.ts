/**
 * `npm run serve` by role, end to end in child processes: an engine node
 * (`ENGINE_ROLE=engine`) serving its shards over NATS, and a stateless
 * gateway (`ENGINE_ROLE=gateway`) in front of it that takes a trader's
 * order to the shard's owner and lists a trader's assessments from the
 * events stream; a gateway without NATS_URL refuses to start.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { encode, decode } from '@msgpack/msgpack';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { VaticClient, type SocketConstructor } from '../../transport/client/index.js';
import { shardSubjects } from '../../transport/nats/index.js';
import { shardOf } from '../shard.js';
import { createTestDatabase, type TestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { until } from '../testing/until.js';

const CWD = new URL('../../', import.meta.url);
const SECRET = 'serve-roles-secret-of-at-least-32-characters';
const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

interface Proc {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function serve(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'engine/main/serve.ts'], {
    cwd: CWD,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { child, lines: [], stderr: '', exited: new Promise((r) => child.on('exit', (code) => r(code))) };
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        p.lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (p.stderr += d));
  return p;
}

async function line(p: Proc, msg: string, ms = 90_000): Promise<Record<string, unknown>> {
  const output = (): string =>
    `exit ${p.child.exitCode}; stderr:\n${p.stderr}\nstdout:\n${p.lines.map((l) => JSON.stringify(l)).join('\n')}`;
  return until(
    () => {
      const found = p.lines.find((l) => l['msg'] === msg);
      if (found === undefined && p.child.exitCode !== null) throw new Error(`no "${msg}" line before the process exited (${output()})`);
      return found;
    },
    { what: `a "${msg}" line`, deadlineMs: ms, intervalMs: 50, detail: output },
  );
}

test('a gateway without NATS_URL and DATABASE_URL refuses to start and says what it needs', async () => {
  const p = serve({ ENGINE_ROLE: 'gateway', NATS_URL: '', DATABASE_URL: '' });
  assert.equal(await p.exited, 2);
  assert.match(p.stderr, /ENGINE_ROLE=gateway: a gateway in front of a cluster needs NATS_URL and DATABASE_URL/);
});

describe('an engine node and a stateless gateway in separate processes', { skip }, () => {
  const id = randomBytes(4).toString('hex');
  const procs: Proc[] = [];
  let db: TestDatabase | undefined;
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    const nc = await connect({ servers: '127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc);
    for (const s of [`ROLE_M_${id}`, `ROLE_E_${id}`]) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
    await db?.drop();
  });

  test('an order placed at the gateway is taken by the node that serves its shard, and both stop cleanly on SIGTERM', async () => {
    db = await createTestDatabase();
    const common = {
      NATS_URL: 'nats://127.0.0.1:4222',
      DATABASE_URL: db.url,
      NATS_NAMESPACE: `roles-${id}`,
      MARKET_STREAM: `ROLE_M_${id}`,
      EVENT_STREAM: `ROLE_E_${id}`,
      GATEWAY_JWT_SECRET: SECRET,
      ENGINE_WORKERS: '1',
      COMMAND_DEADLINE_MS: '30000',
    };
    const node = serve({ ...common, ENGINE_ROLE: 'engine', DATA_DIR: `/tmp/roles-${id}`, OPS_PORT: 'off' });
    procs.push(node);
    await line(node, 'engine node ready');
    await line(node, 'serving shards over NATS');
    const gw = serve({ ...common, ENGINE_ROLE: 'gateway', GATEWAY_PORT: '0' });
    procs.push(gw);
    const started = await line(gw, 'gateway started');
    const port = Number(/port (\d+)/.exec(String(started['gateway']))?.[1]);
    assert.ok(port > 0, JSON.stringify(started));
    assert.equal(
      node.lines.some((l) => /gateway listening/.test(String(l['msg']))),
      false,
      'the engine role runs no gateway',
    );

    // The assessment is created through its shard's owner, as a purchase would: retried while the node
    // says NOT_READY (before the market's first clock beat it cannot date an assessment).
    const nc = await connect({ servers: '127.0.0.1:4222' });
    const assessmentId = `role-${id}`;
    let created: { ok: boolean; code?: string } = { ok: false };
    await until(
      async () => {
        created = decode(
          (
            await nc.request(
              shardSubjects(shardOf(assessmentId), `roles-${id}`).intake,
              encode({ kind: 'create', assessmentId, traderId: 'alice', tierId: 'one-step-50k' }),
              { timeout: 10_000 },
            )
          ).data,
        ) as { ok: boolean; code?: string };
        return created.ok || created.code !== 'NOT_READY';
      },
      { what: 'the node to take the create', deadlineMs: 20_000, intervalMs: 100 },
    );
    assert.equal(created.ok, true, JSON.stringify(created));
    await nc.close();
    const token = await new SignJWT({ roles: ['trader'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('vatic')
      .setAudience('vatic-gateway')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const alice = await VaticClient.connect(`ws://127.0.0.1:${port}/v1/ws`, token, {
      WebSocket: WebSocket as unknown as SocketConstructor,
      timeoutMs: 30_000,
    });
    const at = await alice.subscribe(assessmentId);
    assert.ok(at.epoch >= 1, "the stream carries the owner's epoch");
    const position = await alice.order(assessmentId, {
      op: 'place',
      clientOrderId: 'r1',
      symbol: 'BTC-USD',
      side: 'buy',
      type: 'limit',
      qty: 0.1,
      limitPrice: 1_000,
      stopLoss: 900,
    });
    const [row] = await db.sql<{ position: string }[]>`select position from journal where client_order_id = 'r1'`;
    assert.equal(position, Number(row!.position));
    alice.close();
    // Which assessments alice holds is read from assessment.created on the events stream.
    let listed: { assessments?: Array<{ id: string }> } = {};
    await until(
      async () => {
        listed = (await (
          await fetch(`http://127.0.0.1:${port}/v1/assessments`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as typeof listed;
        return (listed.assessments ?? []).some((a) => a.id === assessmentId);
      },
      { what: "alice's assessment in her list", deadlineMs: 30_000, intervalMs: 100 },
    ).catch(() => undefined); // the list is asserted below
    assert.deepEqual(
      listed.assessments?.map((a) => a.id),
      [assessmentId],
    );
    gw.child.kill('SIGTERM');
    node.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0, gw.stderr);
    assert.equal(await node.exited, 0, node.stderr);
  });
});
