/**
 * `npm run cluster` end to end in child processes: it says which service is
 * missing; it starts a small cluster in a namespace, database and ports of
 * its own, takes `status`, `kill` and `add` from another process, and stops
 * every process on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import postgres from 'postgres';
import { serviceGate } from '../testing/service-gate.js';
import { testServerUrl } from '../testing/pg-test-db.js';
import { until } from '../testing/until.js';

const CWD = new URL('../../', import.meta.url);
const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

function cluster(args: readonly string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'engine/main/cluster.ts', ...args], {
    cwd: CWD,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, out: () => out, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

test('with no NATS at the given address, the cluster does not start and says how to start it', async () => {
  const c = cluster(['--nats', 'nats://127.0.0.1:1', '--nodes', '1', '--gateways', '0']);
  assert.equal(await c.exited, 1);
  assert.match(c.out(), /NATS is not running at 127\.0\.0\.1:1: start it with JetStream \(nats-server -js\)/);
});

describe('a local cluster', { skip }, () => {
  const id = randomBytes(3).toString('hex');
  const namespace = `clitest-${id}`;
  const dbName = `vatic_clitest_${id}`;
  const url = new URL(testServerUrl());
  url.pathname = `/${dbName}`;
  const common = ['--namespace', namespace, '--database-url', url.toString()];
  after(async () => {
    const admin = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end();
    const nc = await connect({ servers: '127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc);
    for (const s of ['MARKET', 'EVENTS']) await jsm.streams.delete(`${namespace.toUpperCase()}_${s}`).catch(() => undefined);
    await nc.close();
    rmSync(new URL(`.data/cluster-${namespace}`, CWD), { recursive: true, force: true });
  });

  test('it makes its database, starts two nodes and a gateway, prints the shards each owns, answers status, kill, add and drain from another terminal, and stops them all on SIGTERM', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const c = cluster([
      ...common,
      '--nodes',
      '2',
      '--gateways',
      '1',
      '--gateway-port',
      String(port),
      '--ops-port',
      String(port + 1_000),
      '--assessments',
      '5',
      '--no-feed',
    ]);
    try {
      await until(() => /ownership: n1 512 · n2 512 · unowned 0/.test(c.out()), {
        what: 'the shards shared by the two nodes',
        deadlineMs: 120_000,
        detail: c.out,
      });
      await until(() => /demo assessments: 5 created/.test(c.out()), { what: 'the demo assessments', deadlineMs: 120_000, detail: c.out });
      await until(() => /g1: gateway started/.test(c.out()), { what: 'the gateway', deadlineMs: 120_000, detail: c.out });
      assert.match(c.out(), new RegExp(`created database ${dbName}`));
      const send = async (...args: string[]): Promise<{ code: number | null; out: string }> => {
        const s = cluster([...args, ...common]);
        return { code: await s.exited, out: s.out() };
      };
      const status = await send('status');
      assert.equal(status.code, 0, status.out);
      assert.match(status.out, /n1 +engine +running/);
      assert.match(status.out, /g1 +gateway +running/);
      assert.match(status.out, /members: n1 live, n2 live/);
      assert.match(status.out, /ownership: n1 512 · n2 512 · unowned 0/);
      const killed = await send('kill', 'g1');
      assert.match(killed.out, /g1 killed \(SIGKILL\)/);
      const added = await send('add', 'g1');
      assert.match(added.out, /started gateway g1/);
      const unknown = await send('drain', 'n9');
      assert.equal(unknown.code, 1);
      assert.match(unknown.out, /no running process 'n9'/);
      await until(() => (c.out().match(/g1: gateway started/g) ?? []).length === 2, {
        what: 'the gateway again',
        deadlineMs: 120_000,
        detail: c.out,
      });
      const again = cluster([...common, '--nodes', '1', '--gateways', '0', '--no-feed']);
      assert.equal(await again.exited, 1, 'a second cluster in the namespace is refused');
      assert.match(again.out(), /a cluster is already running in namespace/);
      const drained = await send('drain', 'n2');
      assert.equal(drained.code, 0, drained.out);
      assert.match(drained.out, /n2 drained: exit 0/);
      await until(() => /ownership: n1 1024 · unowned 0/.test(c.out()), {
        what: 'n1 to own every shard',
        deadlineMs: 120_000,
        detail: c.out,
      });
    } finally {
      c.child.kill('SIGTERM');
    }
    assert.equal(await c.exited, 0, c.out());
    assert.match(c.out(), /n1 exited \(code 0\)/);
    assert.match(c.out(), /n2 exited \(code 0\)/);
    assert.match(c.out(), /g1 exited \(code 0\)/);
  });
});
