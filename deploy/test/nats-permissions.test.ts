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
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse } from 'yaml';
import { until } from '../../engine/testing/index.js';
import { inboxPrefixOf, natsServer } from '../../transport/nats/index.js';
import { natsAuthorization } from '../nats-users.js';
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
    assert.deepEqual(auth, natsAuthorization(''), 'values-prod.yaml holds what `npm run nats-users` prints');
    // The chart renders `<< $VAR >>` as the server's variable $VAR, which the pod's env fills: here a test password.
    for (const u of auth.users) {
      assert.match(u.password, /^<< \$NATS_[A-Z_]+_PASSWORD >>$/, `${u.user}'s password comes from the Secret`);
      u.password = `pw-${u.user}`;
    }
    dir = mkdtempSync(join(tmpdir(), 'vatic-nats-perms-'));
    port = await freePort();
    // The server's config format takes JSON.
    writeFileSync(
      join(dir, 'nats.conf'),
      `port: ${port}\nhost: "127.0.0.1"\njetstream: { store_dir: ${JSON.stringify(join(dir, 'js'))} }\nauthorization: ${JSON.stringify(auth)}\n`,
    );
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

  test("no role reads another's replies: each has its own inbox prefix", async () => {
    const gateway = await as('gateway');
    const feed = await as('market-data');
    assert.equal(natsServer('nats://gateway:pw@nats:4222').inboxPrefix, inboxPrefixOf('gateway'));
    for (const s of ['_INBOX.x', `${inboxPrefixOf('engine')}.x`, `${inboxPrefixOf('market-data')}.x`])
      assert.equal(await receives(gateway, s), false, `gateway may not read ${s}`);
    for (const s of ['_INBOX.x', `${inboxPrefixOf('gateway')}.x`, `${inboxPrefixOf('engine')}.x`])
      assert.equal(await receives(feed, s), false, `market data may not read ${s}`);
    assert.equal(await receives(gateway, `${inboxPrefixOf('gateway')}.x`), true, 'a gateway reads its own inbox');
  });

  test('market data writes ticks to JetStream and an engine node reads them with an ordered consumer, each on its own inbox', async () => {
    const admin = await as('admin');
    await (await jetstreamManager(admin)).streams.add({ name: 'PERMS_TICKS', subjects: ['ticks.>'] });
    const feed = await as('market-data');
    const ack = await jetstream(feed).publish('ticks.coinbase.BTC-USD', new Uint8Array([7]));
    assert.equal(ack.seq, 1);
    const engine = await as('engine');
    const consumer = await jetstream(engine).consumers.get('PERMS_TICKS');
    const m = await consumer.next({ expires: 5_000 });
    assert.deepEqual([...(m?.data ?? [])], [7]);
  });

  test("a namespace's users have every subject under it but the JetStream API and their inboxes", () => {
    const auth = natsAuthorization('acme');
    const subjects = auth.users.flatMap((u) => {
      const p = u['permissions'] as { publish: { allow: string[] }; subscribe: { allow: string[] } } | undefined;
      return p === undefined ? [] : [...p.publish.allow, ...p.subscribe.allow];
    });
    assert.ok(subjects.length > 20);
    for (const s of subjects) assert.match(s, /^(acme\.|\$JS\.|_INBOX_)/, s);
  });
});
