/**
 * `npm run serve`: one engine node as a long-running process. Reads its
 * configuration from the environment (NATS_URL, DATABASE_URL, REDIS_URL,
 * DATA_DIR, ENGINE_GROUP, ...; each unset one falls back to its embedded
 * default), logs what it runs on, serves intake over NATS when NATS is
 * configured, and stops gracefully on SIGTERM/SIGINT (checkpoint, then close).
 * A node that is fenced or loses its market log exits with code 3 so that
 * its supervisor restarts it.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { composeNode, type NodeConfig } from './compose-node.js';

const Env = z.object({
  NATS_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  DATA_DIR: z.string().default('./data'),
  ENGINE_GROUP: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only').default('default'),
  NATS_NAMESPACE: z.string().regex(/^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$/, 'dot-separated plain tokens').default(''),
  MARKET_STREAM: z.string().default('MARKET'),
  EVENT_STREAM: z.string().default('EVENTS'),
  ENGINE_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  CLOCK_BEAT: z.enum(['on', 'off']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  for (const issue of parsed.error.issues) process.stderr.write(`serve: ${issue.path.join('.')}: ${issue.message}\n`);
  process.exit(2);
}
const env = parsed.data;
const log = pino({ level: env.LOG_LEVEL, redact: { paths: ['config.databaseUrl', 'config.natsUrl', 'config.redisUrl', '*.password'], censor: '[redacted]' } });
const config: NodeConfig = {
  ...(env.NATS_URL ? { natsUrl: env.NATS_URL } : {}),
  ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
  ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
  dataDir: env.DATA_DIR, group: env.ENGINE_GROUP, namespace: env.NATS_NAMESPACE, marketStream: env.MARKET_STREAM, eventStream: env.EVENT_STREAM,
  workers: env.ENGINE_WORKERS, checkpointIntervalMs: env.CHECKPOINT_INTERVAL_MS,
  ...(env.CLOCK_BEAT === undefined ? {} : { clockBeat: env.CLOCK_BEAT === 'on' }),
};

let composed: Awaited<ReturnType<typeof composeNode>>;
try {
  composed = await composeNode(config, log);
} catch (err) {
  log.fatal({ err }, 'engine node failed to start');
  process.exit(1);
}
const { node, backends } = composed;
log.info({ ...backends, group: config.group, epoch: node.epoch, pid: process.pid }, 'engine node started');
void node.ready.then(() => log.info({ lastSeq: node.lastSeq, journalPos: node.journalPos }, 'engine node ready'));

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping: intake closed, checkpointing');
  const guard = setTimeout(() => {
    log.error('stop took longer than 30 s; exiting');
    process.exit(1);
  }, 30_000);
  try {
    await composed.close();
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
