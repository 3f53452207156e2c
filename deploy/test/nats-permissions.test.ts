/**
 * The NATS users of k8s/nats/values-prod.yaml on a real nats-server of their
 * own (started here on a free port, when the binary is installed): what each
 * role may publish and subscribe to is what the server lets through.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse } from 'yaml';
import { until } from '../../engine/testing/index.js';
import { natsServer } from '../../transport/nats/index.js';
import { ROOT } from './rendered-manifests.js';

const missing = spawnSync('nats-server', ['--version']).status !== 0 && 'nats-server is not installed';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe("the NATS users' permissions in prod", { skip: missing }, () => {
  let dir: string;
  let server: ChildProcess;
  let port: number;
  const open: NatsConnection[] = [];
  const as = async (user: string): Promise<NatsConnection> => {
    const nc = await connect({ ...natsServer(`nats://${user}:pw-${user}@127.0.0.1:${port}`), name: user });
    open.push(nc);
    return nc;
  };

  before(async () => {
    const values = parse(readFileSync(`${ROOT}deploy/k8s/nats/values-prod.yaml`, 'utf8'));
    const auth = values.config.merge.authorization as { users: Array<{ user: string; password: string }> };
    // The chart renders `<< $VAR >>` as the server's variable $VAR, which the pod's env fills: here a test password.
    for (const u of auth.users) {
      assert.match(u.password, /^<< \$NATS_[A-Z_]+_PASSWORD >>$/, `${u.user}'s password comes from the Secret`);
      u.password = `pw-${u.user}`;
    }
    dir = mkdtempSync(join(tmpdir(), 'vatic-nats-perms-'));
    port = await freePort();
    // The server's config format takes JSON.
    writeFileSync(join(dir, 'nats.conf'), `port: ${port}\nhost: "127.0.0.1"\nauthorization: ${JSON.stringify(auth)}\n`);
    const check = spawnSync('nats-server', ['-t', '-c', join(dir, 'nats.conf')], { encoding: 'utf8' });
    assert.equal(check.status, 0, `the server takes the config: ${check.stderr}${check.stdout}`);
    server = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
    await until(
      async () => {
        try {
          await (await as('admin')).close();
          return true;
        } catch {
          return false;
        }
      },
      { what: 'the scratch nats-server to listen', deadlineMs: 10_000 },
    );
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    server?.kill();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** Whether a publish by `from` on `subject` reaches a subscriber of the admin's. */
  const delivered = async (from: NatsConnection, subject: string): Promise<boolean> => {
    const admin = await as('admin');
    let got = false;
    const sub = admin.subscribe(subject, { callback: () => void (got = true) });
    await admin.flush();
    from.publish(subject, new Uint8Array([1]));
    // A flush is answered after the server handled the publish before it: then the admin's own round trip brings what was routed.
    await from.flush().catch(() => undefined);
    await admin.flush();
    sub.unsubscribe();
    return got;
  };

  /** Whether a subscription of `to` on `subject` gets what the admin publishes there. */
  const receives = async (to: NatsConnection, subject: string): Promise<boolean> => {
    const admin = await as('admin');
    let got = false;
    const sub = to.subscribe(subject, { callback: (err) => void (got ||= err === null) });
    await to.flush().catch(() => undefined);
    admin.publish(subject, new Uint8Array([1]));
    await admin.flush();
    await to.flush().catch(() => undefined);
    sub.unsubscribe();
    return got;
  };

  test('an engine node publishes stream frames, announcements and events, and serves the shard subjects', async () => {
    const engine = await as('engine');
    for (const s of ['engine.stream.a-1', 'engine.shard.7.owner', 'assessment.created', 'trading.order-filled', 'clock.beat'])
      assert.equal(await delivered(engine, s), true, `engine publishes ${s}`);
    for (const s of ['engine.shard.7.intake', 'engine.shard.7.state', 'engine.shard.7.watch', 'engine.leaderboard'])
      assert.equal(await receives(engine, s), true, `engine subscribes to ${s}`);
  });

  test('an engine node may not send intake requests, market data or payments', async () => {
    const engine = await as('engine');
    for (const s of ['engine.shard.7.intake', 'ticks.coinbase.BTC-USD', 'payment.purchase-completed'])
      assert.equal(await delivered(engine, s), false, `engine may not publish ${s}`);
  });

  test('a gateway sends requests to owners and reads their streams, but may not forge a frame or serve a shard', async () => {
    const gateway = await as('gateway');
    for (const s of ['engine.shard.7.intake', 'engine.shard.7.watch', 'engine.leaderboard', 'payment.purchase-completed'])
      assert.equal(await delivered(gateway, s), true, `gateway publishes ${s}`);
    for (const s of ['engine.stream.a-1', 'engine.shard.7.owner'])
      assert.equal(await receives(gateway, s), true, `gateway subscribes to ${s}`);
    for (const s of ['engine.stream.a-1', 'engine.shard.7.owner', 'assessment.created', 'ticks.coinbase.BTC-USD'])
      assert.equal(await delivered(gateway, s), false, `gateway may not publish ${s}`);
    assert.equal(await receives(gateway, 'engine.shard.7.intake'), false, 'gateway may not take intake requests');
  });

  test("a gateway's request reaches the engine and the engine's answer comes back", async () => {
    const engine = await as('engine');
    const gateway = await as('gateway');
    engine.subscribe('engine.shard.7.intake', { callback: (err, m) => void (err === null && m.respond(new Uint8Array([42]))) });
    await engine.flush();
    const reply = await gateway.request('engine.shard.7.intake', new Uint8Array([1]), { timeout: 5_000 });
    assert.deepEqual([...reply.data], [42]);
  });

  test('market data publishes ticks and nothing of the engine', async () => {
    const feed = await as('market-data');
    assert.equal(await delivered(feed, 'ticks.coinbase.BTC-USD'), true);
    assert.equal(await delivered(feed, 'engine.stream.a-1'), false);
  });
});
