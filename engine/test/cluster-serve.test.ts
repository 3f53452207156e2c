import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import { createTestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { until } from '../testing/until.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

test('a cluster member run by serve joins, takes every shard alone, reports on its ops port, and on SIGTERM hands everything over, leaves and exits 0', {
  skip,
  timeout: 180_000,
}, async () => {
  const db = await createTestDatabase();
  const id = randomBytes(4).toString('hex');
  const env = {
    ...process.env,
    NATS_URL: 'nats://127.0.0.1:4222',
    DATABASE_URL: db.url,
    NODE_ID: `serve-${id}`,
    ENGINE_ROLE: 'engine',
    OPS_PORT: '0',
    NATS_NAMESPACE: `cserve-${id}`,
    MARKET_STREAM: `CSERVE_MKT_${id}`,
    EVENT_STREAM: `CSERVE_EV_${id}`,
    CLOCK_BEAT: 'off',
    LOG_LEVEL: 'info',
    CLUSTER_LEASE_TTL_MS: '3000',
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', 'engine/main/serve.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  let port: number | undefined;
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    const m = /"ops":"port (\d+)"/.exec(l);
    if (m !== null) port = Number(m[1]);
  });
  proc.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
  try {
    await until(() => port !== undefined || proc.exitCode !== null, { what: 'the ops port to be logged', deadlineMs: 90_000 });
    assert.ok(port !== undefined, `serve did not start:\n${lines.join('\n')}`);
    const get = async (path: string) =>
      fetch(`http://127.0.0.1:${port}${path}`).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        () => ({ status: 0, body: '' }),
      );
    await until(async () => (await get('/readyz')).status === 200, { what: 'the member to be ready', deadlineMs: 90_000 });
    const map = JSON.parse((await get('/v1/operator/shards')).body) as { served: number; members: Array<{ nodeId: string }> };
    assert.equal(map.served, 1024);
    assert.deepEqual(
      map.members.map((m) => m.nodeId),
      [`serve-${id}`],
    );
    assert.match((await get('/metrics')).body, /^cluster_shards_owned 1024$/m);
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, `exit code of a graceful stop:\n${lines.slice(-5).join('\n')}`);
    const [row] = await db.sql<{ released: number; members: number }[]>`select
      (select count(*) from shard_owners where released)::int as released, (select count(*) from cluster_members)::int as members`;
    assert.deepEqual(row, { released: 1024, members: 0 });
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    const nc = await connect({ servers: '127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(env.MARKET_STREAM).catch(() => undefined);
    await jsm.streams.delete(env.EVENT_STREAM).catch(() => undefined);
    await nc.close();
    await db.drop();
  }
});

test('a cluster member with its gateway in one process (ENGINE_ROLE=all, NODE_ID) takes every shard, shows the ownership map to operators on the gateway, and exits 0 on SIGTERM', {
  skip,
  timeout: 180_000,
}, async () => {
  const db = await createTestDatabase();
  const id = randomBytes(4).toString('hex');
  const secret = randomBytes(32).toString('hex');
  const env = {
    ...process.env,
    NATS_URL: 'nats://127.0.0.1:4222',
    DATABASE_URL: db.url,
    NODE_ID: `all-${id}`,
    ENGINE_ROLE: 'all',
    GATEWAY_PORT: '0',
    OPS_PORT: 'off',
    GATEWAY_JWT_SECRET: secret,
    NATS_NAMESPACE: `call-${id}`,
    MARKET_STREAM: `CALL_MKT_${id}`,
    EVENT_STREAM: `CALL_EV_${id}`,
    CLOCK_BEAT: 'off',
    LOG_LEVEL: 'info',
    CLUSTER_LEASE_TTL_MS: '3000',
    SIM_ESTIMATE_INTERVAL_MS: '0',
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', 'engine/main/serve.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  let port: number | undefined;
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    const m = /"gateway":"[^"]* on port (\d+)"/.exec(l);
    if (m !== null) port = Number(m[1]);
  });
  proc.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
  try {
    await until(() => port !== undefined || proc.exitCode !== null, { what: 'the gateway port to be logged', deadlineMs: 90_000 });
    assert.ok(port !== undefined, `serve did not start:\n${lines.join('\n')}`);
    const operator = await new SignJWT({ roles: ['operator'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops')
      .setIssuer('vatic')
      .setAudience('vatic-gateway')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const get = async (path: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${operator}` } }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        () => ({ status: 0, body: '' }),
      );
    await until(async () => (await get('/readyz')).status === 200, { what: 'the node to be ready', deadlineMs: 90_000 });
    type Map = { ownership?: { served: number; members: Array<{ nodeId: string }>; shards: Array<{ owner: string | null }> } };
    let map: Map = {};
    await until(async () => (map = JSON.parse((await get('/v1/operator/shards')).body) as Map).ownership?.served === 1024, {
      what: 'every shard to be served',
      deadlineMs: 90_000,
    });
    assert.deepEqual(
      map.ownership!.members.map((m) => m.nodeId),
      [`all-${id}`],
    );
    assert.ok(
      map.ownership!.shards.every((s) => s.owner === `all-${id}`),
      'every shard owned by this node, as the gateway shows it',
    );
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, `exit code of a graceful stop:\n${lines.slice(-5).join('\n')}`);
    const [row] = await db.sql<{ released: number; members: number }[]>`select
      (select count(*) from shard_owners where released)::int as released, (select count(*) from cluster_members)::int as members`;
    assert.deepEqual(row, { released: 1024, members: 0 });
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    const nc = await connect({ servers: '127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(env.MARKET_STREAM).catch(() => undefined);
    await jsm.streams.delete(env.EVENT_STREAM).catch(() => undefined);
    await nc.close();
    await db.drop();
  }
});

test('serve refuses cluster mode without NATS_URL and DATABASE_URL, saying so', () => {
  const env = { ...process.env, NODE_ID: 'lonely', NATS_URL: '', DATABASE_URL: '', GATEWAY_PORT: 'off' };
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'engine/main/serve.ts'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /NODE_ID is set \(cluster mode\): NATS_URL and DATABASE_URL are required/);
});
