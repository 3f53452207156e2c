/**
 * What a composed gateway takes and gives: its configuration (limits from
 * the environment among it), the backend it is put in front of, and the
 * running gateway.
 */
import type postgres from 'postgres';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Leaderboard, SharedState } from '../../persistence/index.js';
import type {
  Gateway,
  GatewayEngine,
  GatewayOptions,
  PortInUseError,
  StreamHub,
  TokenVerifierOptions,
  TraderIndex,
} from '../../transport/server/index.js';
import type { ComposedHistory } from './node-config.js';

/** Gateway configuration; every field has a default. */
export interface GatewayConfig {
  /** @default 8080 */
  readonly port?: number;
  /** When `port` is taken, listen on a free port instead of failing with {@link PortInUseError}. @default false */
  readonly freePortWhenTaken?: boolean;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Token keys; none given: a random development secret (tokens from {@link ComposedGateway.devToken}). */
  readonly tokens?: TokenVerifierOptions;
  /** Run on the uWS JavaScript fallback. @default false */
  readonly allowFallback?: boolean;
  /** Stripe secret key; unset: purchases answer 503. */
  readonly stripeSecretKey?: string;
  readonly stripeWebhookSecret?: string;
  /** Stripe API base (a local fake in tests). @default api.stripe.com */
  readonly stripeApiBase?: string;
  /** Where Checkout returns. @default http://127.0.0.1:<port>/ */
  readonly publicUrl?: string;
  /** Serve the browser console. @default true */
  readonly console?: boolean;
  /** Monte Carlo jobs and live pass-probability estimates. */
  readonly simulations?: SimulationConfig;
  /** Per-principal limits, counted where every gateway sees them (Redis when configured). */
  readonly limits?: GatewayLimits;
}

/**
 * Per-principal limits of the gateways. Raise the per-address one behind a
 * proxy or NAT that shows many traders as one address.
 */
export interface GatewayLimits {
  /** Frames a trader may send per second over all its connections. @default 100 */
  readonly traderFramesPerSecond?: number;
  /** New connections a trader may open per minute. @default 30 */
  readonly traderConnectionsPerMinute?: number;
  /** New connections one address may open per minute. @default 300 */
  readonly addressConnectionsPerMinute?: number;
  /** HTTP requests one address may make per minute (every route but /healthz, /readyz, /metrics). @default 600 */
  readonly addressRequestsPerMinute?: number;
}

const LimitsEnv = z.object({
  GATEWAY_TRADER_FRAMES_PER_SECOND: z.coerce.number().int().min(1).optional(),
  GATEWAY_TRADER_CONNECTIONS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
  GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
  GATEWAY_ADDRESS_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
});

/**
 * {@link GatewayLimits} from `GATEWAY_TRADER_FRAMES_PER_SECOND`,
 * `GATEWAY_TRADER_CONNECTIONS_PER_MINUTE`, `GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE` and `GATEWAY_ADDRESS_REQUESTS_PER_MINUTE`
 * (unset: the defaults). Throws a readable error naming the variable on a bad value.
 */
export function gatewayLimitsFromEnv(env: Readonly<Record<string, string | undefined>>): GatewayLimits {
  const r = LimitsEnv.safeParse(env);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const e = r.data;
  return {
    ...(e.GATEWAY_TRADER_FRAMES_PER_SECOND === undefined ? {} : { traderFramesPerSecond: e.GATEWAY_TRADER_FRAMES_PER_SECOND }),
    ...(e.GATEWAY_TRADER_CONNECTIONS_PER_MINUTE === undefined
      ? {}
      : { traderConnectionsPerMinute: e.GATEWAY_TRADER_CONNECTIONS_PER_MINUTE }),
    ...(e.GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE === undefined
      ? {}
      : { addressConnectionsPerMinute: e.GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE }),
    ...(e.GATEWAY_ADDRESS_REQUESTS_PER_MINUTE === undefined ? {} : { addressRequestsPerMinute: e.GATEWAY_ADDRESS_REQUESTS_PER_MINUTE }),
  };
}

/** Where simulations run. */
export interface SimulationConfig {
  /** Worker threads of the local pool. @default 1 (the shards keep the other cores) */
  readonly workers?: number;
  /** Ray Serve application to send jobs to, the local pool behind it. @default none */
  readonly rayServeUrl?: string;
  /** Re-estimate watched assessments this often; 0 turns live estimates off. @default 60_000 */
  readonly estimateIntervalMs?: number;
}

/** A running gateway. */
export interface ComposedGateway {
  readonly gateway: Gateway;
  /** Signs a token with the development secret; undefined when real keys are configured. */
  devToken(traderId: string, roles?: string[]): Promise<string> | undefined;
  close(): Promise<void>;
}

/**
 * What a gateway is put in front of: an engine node in this process
 * ({@link composeGateway}), or the routing plane of a cluster
 * (compose-remote-gateway.ts).
 */
export interface GatewayBackend {
  /** Orders and state reads. */
  readonly engine: GatewayEngine;
  /** The live streams. */
  readonly hub: StreamHub;
  /** Where a subscriber's snapshot comes from, when the streams are numbered elsewhere. @default the engine's state */
  readonly snapshots?: GatewayOptions['snapshots'];
  /** Which assessments each trader holds. */
  readonly owners: TraderIndex;
  readonly registry: Registry;
  /** Limiters and the idempotency pre-check. */
  readonly shared: SharedState;
  readonly leaderboard: Pick<Leaderboard, 'top'>;
  /** Postgres of purchases and simulations. */
  readonly sql: postgres.Sql;
  /** Publish a platform event (payments, simulations). */
  publish(subject: string, payload: object): Promise<void>;
  /** What operators see of the shards. */
  shards(): unknown;
  /** The ownership map, when an engine node runs in this process. @default none */
  ownership?(): Promise<unknown>;
  /** The history read model and stored reports. @default none: no history routes */
  readonly history?: ComposedHistory | undefined;
}
