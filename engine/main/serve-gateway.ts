/**
 * The gateway parts of `npm run serve`: the gateway's configuration read
 * from the environment, and `ENGINE_ROLE=gateway`, a stateless gateway in
 * front of the cluster (compose-remote-gateway.ts) that runs until SIGTERM
 * or SIGINT, then stops taking connections, closes the sockets with 1001 and
 * exits 0.
 */
import type { Logger } from 'pino';
import { PortInUseError } from '../../transport/server/index.js';
import { gatewayLimitsFromEnv, type GatewayConfig } from './compose-gateway.js';
import { composeRemoteGateway, type RemoteGatewayConfig } from './compose-remote-gateway.js';
import type { ServeEnvironment } from './serve-env.js';

/** The gateway's configuration from the environment (GATEWAY_*, STRIPE_*, PUBLIC_URL, SIM_*, RAY_SERVE_URL). */
export function gatewayConfigFromEnv(
  env: ServeEnvironment,
  raw: Readonly<Record<string, string | undefined>> = process.env,
): GatewayConfig {
  const keys = env.GATEWAY_JWT_SECRET ?? env.GATEWAY_JWT_PUBLIC_KEY ?? env.GATEWAY_JWKS_URL;
  return {
    port: env.GATEWAY_PORT === 'off' ? 8080 : env.GATEWAY_PORT,
    host: env.GATEWAY_HOST,
    allowFallback: env.GATEWAY_ALLOW_FALLBACK === '1',
    ...(keys === undefined
      ? {}
      : {
          tokens: {
            ...(env.GATEWAY_JWT_SECRET
              ? { secret: env.GATEWAY_JWT_SECRET }
              : env.GATEWAY_JWT_PUBLIC_KEY
                ? { publicKeyPem: env.GATEWAY_JWT_PUBLIC_KEY }
                : { jwksUrl: env.GATEWAY_JWKS_URL! }),
            ...(env.GATEWAY_JWT_ALG ? { algorithm: env.GATEWAY_JWT_ALG } : {}),
            issuer: env.GATEWAY_JWT_ISSUER,
            audience: env.GATEWAY_JWT_AUDIENCE,
          },
        }),
    ...(env.STRIPE_SECRET_KEY ? { stripeSecretKey: env.STRIPE_SECRET_KEY } : {}),
    ...(env.STRIPE_WEBHOOK_SECRET ? { stripeWebhookSecret: env.STRIPE_WEBHOOK_SECRET } : {}),
    ...(env.STRIPE_API_BASE ? { stripeApiBase: env.STRIPE_API_BASE } : {}),
    ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
    limits: gatewayLimitsFromEnv(raw),
    simulations: {
      workers: env.SIM_WORKERS,
      estimateIntervalMs: env.SIM_ESTIMATE_INTERVAL_MS,
      ...(env.RAY_SERVE_URL ? { rayServeUrl: env.RAY_SERVE_URL } : {}),
    },
  };
}

/** Raised when the environment lacks what a role needs. */
export class RoleConfigError extends Error {
  readonly code = 'ROLE_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'RoleConfigError';
  }
}

/** A remote gateway's configuration from the environment; throws {@link RoleConfigError} without NATS_URL or DATABASE_URL. */
export function remoteGatewayConfigFromEnv(
  env: ServeEnvironment,
  raw: Readonly<Record<string, string | undefined>> = process.env,
): RemoteGatewayConfig {
  const missing = [...(env.NATS_URL ? [] : ['NATS_URL']), ...(env.DATABASE_URL ? [] : ['DATABASE_URL'])];
  if (missing.length > 0)
    throw new RoleConfigError(
      `a gateway in front of a cluster needs ${missing.join(' and ')} (it reaches the engine nodes over NATS and keeps purchases and simulations in Postgres)`,
    );
  return {
    ...gatewayConfigFromEnv(env, raw),
    natsUrl: env.NATS_URL!,
    databaseUrl: env.DATABASE_URL!,
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    namespace: env.NATS_NAMESPACE,
    eventStream: env.EVENT_STREAM,
    commandDeadlineMs: env.COMMAND_DEADLINE_MS,
  };
}

/**
 * `ENGINE_ROLE=gateway`: start, log, and serve until a signal; never resolves
 * (the process exits from here: 0 after a graceful stop, 1 when it cannot start, 2 on a configuration error).
 */
export async function serveGateway(env: ServeEnvironment, log: Logger): Promise<never> {
  let config: RemoteGatewayConfig;
  try {
    config = remoteGatewayConfigFromEnv(env);
  } catch (err) {
    process.stderr.write(`serve: ENGINE_ROLE=gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (env.GATEWAY_PORT === 'off') {
    process.stderr.write('serve: ENGINE_ROLE=gateway needs a GATEWAY_PORT (it is the gateway)\n');
    process.exit(2);
  }
  let gateway: Awaited<ReturnType<typeof composeRemoteGateway>>;
  try {
    gateway = await composeRemoteGateway(config, log);
  } catch (err) {
    log.fatal({ err }, 'gateway failed to start');
    if (err instanceof PortInUseError) process.stderr.write(`serve: ${err.message} (GATEWAY_PORT)\n`);
    process.exit(1);
  }
  log.info(
    { role: 'gateway', gateway: `${gateway.gateway.uws.implementation} on port ${gateway.gateway.port}`, pid: process.pid },
    'gateway started',
  );
  if (config.tokens === undefined)
    log.warn(
      { token: await gateway.devToken('trader-000001') },
      'no GATEWAY_JWT_* keys: a development secret signs tokens; here is one for trader-000001',
    );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: readiness off, sockets closed');
    const guard = setTimeout(() => {
      log.error('stop took longer than 30 s; exiting');
      process.exit(1);
    }, 30_000);
    void gateway.close().then(
      () => {
        clearTimeout(guard);
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<never>(() => {});
}
