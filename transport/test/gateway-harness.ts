/**
 * A running gateway over the engine node production runs, composed as
 * `npm start` composes it (engine/main/compose-node.ts: a solo cluster node,
 * its journal and checkpoints in a scratch Postgres database, the in-process
 * market log the test publishes ticks to), the stream hub on its output as
 * compose-gateway.ts puts it there, and HS256 tokens signed with the test
 * secret.
 */
import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import type { ClusterNode } from '../../engine/index.js';
import { composeNode, type ComposedNode } from '../../engine/main/compose-node.js';
import { LateOutput } from '../../engine/main/late-output.js';
import { createTestDatabase, type TestDatabase } from '../../engine/testing/index.js';
import { Gateway, type GatewayOptions } from '../server/gateway.js';
import { GatewayMetrics } from '../server/gateway-metrics.js';
import { StreamHub, type StreamHubOptions } from '../server/stream-hub.js';
import { TokenVerifier } from '../server/token-verifier.js';
import { VaticClient, type SocketConstructor } from '../client/vatic-client.js';
import type { MemoryMarketLog } from '../memory/memory-market-log.js';
import { countedWatch } from '../nats/index.js';
import { until } from '../../engine/testing/index.js';

export const SECRET = 'test-secret-of-at-least-thirty-two-characters';
export const T0 = Date.UTC(2026, 0, 5, 9, 0);

/** Sign a token; `claims` override the defaults (sub, roles, iss, aud, iat, exp). */
export async function token(
  sub: string,
  o: { roles?: string[]; secret?: string; audience?: string; issuer?: string; expiresIn?: string | number; alg?: string } = {},
): Promise<string> {
  return new SignJWT({ roles: o.roles ?? ['trader'] })
    .setProtectedHeader({ alg: o.alg ?? 'HS256' })
    .setSubject(sub)
    .setIssuer(o.issuer ?? 'vatic')
    .setAudience(o.audience ?? 'vatic-gateway')
    .setIssuedAt()
    .setExpirationTime(o.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(o.secret ?? SECRET));
}

export interface Harness {
  readonly db: TestDatabase;
  /** The composed node and what it runs on. */
  readonly composed: ComposedNode;
  readonly market: MemoryMarketLog;
  readonly node: ClusterNode;
  readonly hub: StreamHub;
  readonly gateway: Gateway;
  readonly registry: Registry;
  readonly url: string;
  /** Publish one BTC tick at `price` and wait until the node applied it. */
  tick(price: number): Promise<void>;
  connect(sub: string, o?: { protocol?: 'vatic.v1.msgpack' | 'vatic.v1.json'; roles?: string[] }): Promise<VaticClient>;
  stop(): Promise<void>;
}

/** Start everything; creates one assessment per `owners` entry ([assessmentId, traderId]). */
export async function startHarness(
  owners: Array<[string, string]>,
  o: {
    hub?: Partial<StreamHubOptions>;
    gateway?: Partial<GatewayOptions>;
    /** HTTP routes built once the node exists. */
    routes?: (c: {
      node: ClusterNode;
      registry: Registry;
      db: TestDatabase;
      verifier: TokenVerifier;
    }) => GatewayOptions['routes'] | Promise<GatewayOptions['routes']>;
  } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const log = pino({ level: 'silent' });
  // The hub joins the node's output once both exist, as compose-gateway.ts has it.
  const late = new LateOutput();
  let composed: ComposedNode;
  try {
    composed = await composeNode({ databaseUrl: db.url, workers: 2, flushIntervalMs: 20, checkpointIntervalMs: 0, clockBeat: false }, log, [
      late,
    ]);
  } catch (err) {
    await db.drop();
    throw err;
  }
  const node = composed.node;
  const market = composed.memoryMarket!;
  let now = T0;
  market.publish({ type: 'clock', time: now });
  market.publish({ type: 'tick', symbol: 'BTC-USD', ts: now, bid: 60_000, ask: 60_010 });
  await until(() => node.lastSeq >= market.lastSeq, { what: 'the node to apply the first tick', intervalMs: 2 });
  const hub = new StreamHub({ epoch: node.epoch, watch: countedWatch((ids, on) => node.engine.watch(ids, on)), ...o.hub });
  late.targets.push(hub);
  for (const [assessmentId, traderId] of owners) {
    const r = await node.offer({ kind: 'create', assessmentId, traderId, tierId: 'one-step-50k' });
    if (!r.ok) throw new Error(`create ${assessmentId}: ${r.code} ${r.message}`);
  }
  const registry = new Registry();
  const verifier = await TokenVerifier.create({ secret: SECRET });
  const routes = o.routes === undefined ? undefined : await o.routes({ node, registry, db, verifier });
  const gateway = await Gateway.start({
    engine: node,
    verifier,
    hub,
    metrics: new GatewayMetrics(registry, hub),
    log,
    port: 0,
    authTimeoutMs: 1_000,
    ...(routes === undefined ? {} : { routes }),
    ...o.gateway,
  });
  const url = `ws://127.0.0.1:${gateway.port}/v1/ws`;
  return {
    db,
    composed,
    market,
    node,
    hub,
    gateway,
    registry,
    url,
    async tick(price) {
      now += 1_000;
      const seq = market.publish({ type: 'tick', symbol: 'BTC-USD', ts: now, bid: price, ask: price + 10 });
      await until(() => node.lastSeq >= seq, { what: `the node to apply tick ${seq}`, intervalMs: 2 });
    },
    async connect(sub, c = {}) {
      return VaticClient.connect(url, await token(sub, { roles: c.roles ?? ['trader'] }), {
        WebSocket: WebSocket as unknown as SocketConstructor,
        protocol: c.protocol ?? 'vatic.v1.msgpack',
      });
    },
    async stop() {
      await gateway.drain();
      await node.stop({ handOver: false }); // as the test left it: no last checkpoint of every shard
      await composed.close();
      await db.drop();
    },
  };
}

/** Send raw bytes on a fresh TCP connection; resolves with what came back within `ms` (and how long the first byte took). */
export function rawHttp(port: number, bytes: string | Buffer, ms = 3_000): Promise<{ text: string; firstByteMs: number | undefined }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let text = '';
    let firstByteMs: number | undefined;
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, firstByteMs });
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d) => {
      firstByteMs ??= Date.now() - started;
      text += d.toString('latin1');
      if (/\r\n\r\n/.test(text) && /content-length: (\d+)/i.test(text)) {
        const len = Number(/content-length: (\d+)/i.exec(text)![1]);
        if (text.length - text.indexOf('\r\n\r\n') - 4 >= len) done();
      }
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}
