/**
 * The environment `npm run serve` reads: every variable a process of any
 * role (engine node, gateway, both) knows, with its default. Deploy manifests
 * are checked against this schema, so a variable they set that is not here
 * is a mistake.
 */
import { z } from 'zod';

export const ServeEnv = z.object({
  NATS_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  DATA_DIR: z.string().default('./data'),
  ENGINE_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('default'),
  NATS_NAMESPACE: z
    .string()
    .regex(/^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$/, 'dot-separated plain tokens')
    .default(''),
  MARKET_STREAM: z.string().default('MARKET'),
  EVENT_STREAM: z.string().default('EVENTS'),
  ENGINE_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  CLOCK_BEAT: z.enum(['on', 'off']).optional(),
  /** Which parts this process runs: node and gateway together, the engine node only, or a stateless gateway. */
  ENGINE_ROLE: z.enum(['all', 'engine', 'gateway']).default('all'),
  /** This node's stable name in the cluster (the StatefulSet pod name); unset: a solo node that owns every shard. */
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only (1..63)')
    .optional(),
  /** A member that has not renewed its lease for this long is gone and its shards are taken over, ms. */
  CLUSTER_LEASE_TTL_MS: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
  /** Most shards one allocation round moves. */
  CLUSTER_MAX_MOVES: z.coerce.number().int().min(1).max(1_024).default(128),
  /** Port of /livez, /readyz, /metrics and /v1/operator/shards when no gateway runs in the process. */
  OPS_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65_535)]).default(9464),
  /** How long a gateway keeps retrying a command whose shard is moving before it answers UNAVAILABLE, ms. */
  COMMAND_DEADLINE_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** A few human lines on stderr once the node is up (where it listens, what to run next): `auto` when stderr is a terminal. */
  SERVE_BANNER: z.enum(['auto', 'on', 'off']).default('auto'),
  GATEWAY_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65_535)]).default(8080),
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  GATEWAY_JWT_PUBLIC_KEY: z.string().optional(),
  GATEWAY_JWKS_URL: z.string().url().optional(),
  GATEWAY_JWT_ALG: z.enum(['HS256', 'RS256', 'ES256']).optional(),
  GATEWAY_JWT_ISSUER: z.string().default('vatic'),
  GATEWAY_JWT_AUDIENCE: z.string().default('vatic-gateway'),
  GATEWAY_ALLOW_FALLBACK: z.enum(['0', '1']).default('0'),
  STRIPE_SECRET_KEY: z.string().optional(),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_API_BASE: z.string().url().optional(),
  PUBLIC_URL: z.string().url().optional(),
  SIM_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  RAY_SERVE_URL: z.string().url().optional(),
  SIM_ESTIMATE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
});

/** The parsed environment. */
export type ServeEnvironment = z.infer<typeof ServeEnv>;
