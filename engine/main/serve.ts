/**
 * `npm run serve`: one engine node as a long-running process. Reads its
 * configuration from the environment (NATS_URL, DATABASE_URL, REDIS_URL,
 * DATA_DIR, ENGINE_GROUP, NODE_ID, ...; each unset one falls back to its
 * embedded default), logs what it runs on, serves intake over NATS when NATS
 * is configured, and stops gracefully on SIGTERM/SIGINT: every shard handed
 * over (checkpointed at an input boundary, released), the cluster left, exit 0.
 * Without NODE_ID the node is solo and serves every virtual shard; with it,
 * a cluster member that serves its share. ENGINE_ROLE=engine runs no gateway
 * and serves /livez, /readyz, /metrics and /v1/operator/shards on OPS_PORT.
 * A node that loses its market log, is replaced under its name, or (solo) is
 * fenced exits with code 3 so that its supervisor restarts it.
 */
import { pino } from 'pino';
import { composeGateway, LateOutput, type ComposedGateway } from './compose-gateway.js';
import { PortInUseError } from '../../transport/server/index.js';
import { OpsPortInUseError, OpsServer, operatorShards } from '../index.js';
import { composeNode, type NodeConfig } from './compose-node.js';
import { confineServerFlagsToMainThread, missingServerFlags } from './server-flags.js';
import { ServeEnv } from './serve-env.js';
import { composeOwner, type ComposedOwner } from './compose-owner.js';
import { composeRemoteGateway } from './compose-remote-gateway.js';
import { bannerLines, bannerWanted } from './serve-banner.js';
import { gatewayConfigFromEnv, remoteGatewayConfigFromEnv, serveGateway } from './serve-gateway.js';

/** The connection string without its password, to print. */
function redactPassword(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}

const parsed = ServeEnv.safeParse(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues) process.stderr.write(`serve: ${issue.path.join('.')}: ${issue.message}\n`);
  process.exit(2);
}
const env = parsed.data;
const log = pino({
  level: env.LOG_LEVEL,
  redact: { paths: ['config.databaseUrl', 'config.natsUrl', 'config.redisUrl', '*.password'], censor: '[redacted]' },
});
if (env.ENGINE_ROLE === 'gateway') await serveGateway(env, log); // a stateless gateway: it runs until a signal ends the process
const config: NodeConfig = {
  ...(env.NATS_URL ? { natsUrl: env.NATS_URL } : {}),
  ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
  ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
  dataDir: env.DATA_DIR,
  group: env.ENGINE_GROUP,
  namespace: env.NATS_NAMESPACE,
  marketStream: env.MARKET_STREAM,
  eventStream: env.EVENT_STREAM,
  workers: env.ENGINE_WORKERS,
  checkpointIntervalMs: env.CHECKPOINT_INTERVAL_MS,
  ...(env.CLOCK_BEAT === undefined ? {} : { clockBeat: env.CLOCK_BEAT === 'on' }),
  ...(env.NODE_ID === undefined ? {} : { nodeId: env.NODE_ID }),
  leaseTtlMs: env.CLUSTER_LEASE_TTL_MS,
  maxMoves: env.CLUSTER_MAX_MOVES,
};
if (env.NODE_ID !== undefined && (!env.NATS_URL || !env.DATABASE_URL)) {
  process.stderr.write(
    `serve: NODE_ID is set (cluster mode): NATS_URL and DATABASE_URL are required, so that every node reads one market log and one database\n`,
  );
  process.exit(2);
}

const missing = missingServerFlags();
if (missing.length > 0)
  log.warn({ missing }, 'started without the server V8 flags (npm run serve passes them): expect full-GC pauses of the fan-out under load');
confineServerFlagsToMainThread();

let composed: Awaited<ReturnType<typeof composeNode>>;
let gateway: ComposedGateway | undefined;
let owner: ComposedOwner | undefined;
let ops: OpsServer | undefined;
let devToken: string | undefined;
const late = new LateOutput();
try {
  composed = await composeNode(config, log, [late]);
  owner = await composeOwner(
    composed,
    late,
    { ...(env.NATS_URL ? { natsUrl: env.NATS_URL } : {}), namespace: env.NATS_NAMESPACE, ...(env.NODE_ID ? { nodeId: env.NODE_ID } : {}) },
    log,
  );
  if (env.ENGINE_ROLE === 'engine') {
    if (env.OPS_PORT !== 'off') {
      const c = composed;
      ops = await OpsServer.start({
        node: c.node,
        registry: c.registry,
        store: c.store,
        marketTail: () => c.marketTail(),
        port: env.OPS_PORT,
      });
    }
  } else if (env.GATEWAY_PORT !== 'off') {
    // In a cluster the gateway routes to every shard's owner, this node among them; alone, it is welded to the node.
    const c = composed;
    gateway =
      env.NODE_ID !== undefined
        ? await composeRemoteGateway(remoteGatewayConfigFromEnv(env), log, () => operatorShards(c.node, c.store, () => c.marketTail()))
        : await composeGateway(composed, late, gatewayConfigFromEnv(env), log, owner?.watch);
    if (env.GATEWAY_JWT_SECRET === undefined && env.GATEWAY_JWT_PUBLIC_KEY === undefined && env.GATEWAY_JWKS_URL === undefined) {
      devToken = await gateway.devToken('trader-000001');
      log.warn({ token: devToken }, 'no GATEWAY_JWT_* keys: a development secret signs tokens; here is one for trader-000001');
    }
  }
} catch (err) {
  log.fatal({ err }, 'engine node failed to start');
  // A second node on a taken port must not pass unseen: said in plain words too, exit 1.
  if (err instanceof PortInUseError) process.stderr.write(`serve: ${err.message} (GATEWAY_PORT)\n`);
  if (err instanceof OpsPortInUseError) process.stderr.write(`serve: ${err.message} (OPS_PORT)\n`);
  if (env.DATABASE_URL && /3D000/.test((err as Error).message)) {
    process.stderr.write(
      `serve: the database of DATABASE_URL does not exist: create it (and its schema) with  npm run migrate -- --url ${redactPassword(env.DATABASE_URL)}\n`,
    );
  }
  process.exit(1);
}
const { node, backends } = composed;
log.info(
  {
    ...backends,
    gateway: gateway === undefined ? 'off' : `${gateway.gateway.uws.implementation} on port ${gateway.gateway.port}`,
    ops: ops === undefined ? 'off' : `port ${ops.port}`,
    role: env.ENGINE_ROLE,
    node: config.nodeId ?? 'solo',
    group: config.group,
    epoch: node.epoch,
    shards: node.servedShards().size,
    pid: process.pid,
  },
  'engine node started',
);
void node.ready.then(() => {
  log.info({ lastSeq: node.lastSeq, journalPos: node.journalPos }, 'engine node ready');
  if (!bannerWanted(env, process.stderr.isTTY === true)) return;
  const lines = bannerLines({ env, gatewayPort: gateway?.gateway.port, opsPort: ops?.port, devToken, shards: node.servedShards().size });
  process.stderr.write(`${lines.join('\n')}\n`);
});

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping: intake closed, handing every shard over');
  const guard = setTimeout(() => {
    log.error('stop took longer than 30 s; exiting');
    process.exit(1);
  }, 30_000);
  try {
    await gateway?.close(); // readiness off, sockets closed with 1001
    await composed.close(); // each shard's subscriptions are drained as it is handed over
    await owner?.close();
    await ops?.close();
    log.info('stopped');
    clearTimeout(guard);
    process.exit(0);
  } catch (err) {
    log.error({ err }, 'stop failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
const watchdog = setInterval(() => {
  if (node.fault !== undefined && !stopping) {
    log.fatal({ err: node.fault }, 'engine node halted; exiting for a restart');
    process.exit(3);
  }
}, 200);
watchdog.unref();
