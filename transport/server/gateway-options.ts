/**
 * What `Gateway.start` (gateway.ts) takes: the engine side it serves, and its
 * limits (defaults in gateway.ts, documented in asyncapi-ws.json's
 * `x-session-defaults`).
 */
import type { Logger } from 'pino';
import type { TemplatedApp } from 'uWebSockets.js';
import type { AssessmentState } from '../../actors/index.js';
import type { IntakeRefusal, IntakeRequest } from '../../engine/index.js';
import type { RateLimiter } from '../../persistence/index.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { StreamHub } from './stream-hub.js';
import type { TokenVerifier } from './token-verifier.js';

/**
 * The defaults of {@link GatewayOptions} the documents state (asyncapi-ws.json's session and stream limits), and the
 * fixed thresholds beside them: a lagging subscriber is resynced once less than `resyncBelowBytes` waits on its socket;
 * uWS itself drops frames over `uwsFrameMultiple` × `maxFrameBytes` before the gateway sees them.
 */
export const GATEWAY_DEFAULTS = {
  maxFrameBytes: 16_384,
  messagesPerSecond: 50,
  maxSubscriptions: 16,
  authTimeoutMs: 5_000,
  idleTimeoutSec: 60,
  maxProtocolErrors: 10,
  resyncBelowBytes: 64 * 1024,
  uwsFrameMultiple: 4,
} as const;

/** What HTTP routes see of the running gateway (`Gateway`, gateway.ts). */
export interface GatewayView {
  readonly metrics: GatewayMetrics;
  /** Whether the gateway is draining (readiness answers 503). */
  readonly draining: boolean;
  /** Open WebSocket connections. */
  readonly connections: number;
}

/**
 * The answer to an order: an engine node's (`IntakeResult`), or `UNAVAILABLE` from a gateway
 * that routes to the owner of the assessment's shard and heard from none
 * within its deadline (transport/nats/shard-router.ts).
 */
export type OfferResult =
  | { readonly ok: true; readonly position: number }
  | { readonly ok: false; readonly code: IntakeRefusal | 'UNAVAILABLE'; readonly message: string; readonly position?: number };

/**
 * What the gateway needs of the engine side. A routing engine's `state` may
 * reject with an error whose `code` is `'UNAVAILABLE'` (no owner answered in time).
 */
export interface GatewayEngine {
  state(assessmentId: string): Promise<AssessmentState | undefined>;
  offer(req: IntakeRequest): Promise<OfferResult>;
}

/** A subscriber's snapshot: the state, and the stream position (epoch, seq) its live frames continue from. */
export interface StreamSnapshot {
  readonly state: AssessmentState | undefined;
  readonly epoch: number;
  readonly seq: number;
}

/** Options of `Gateway.start` (gateway.ts). */
export interface GatewayOptions {
  readonly engine: GatewayEngine;
  readonly verifier: TokenVerifier;
  readonly hub: StreamHub;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /**
   * Where a subscriber's snapshot comes from, for streams numbered elsewhere
   * (transport/nats/remote-streams.ts). @default the engine's state, at the hub's position
   */
  readonly snapshots?: (assessmentId: string) => Promise<StreamSnapshot>;
  /** Registers HTTP routes on the app (http-api.ts). */
  readonly routes?: (app: TemplatedApp, gateway: GatewayView) => void;
  /** @default 8080 (0 picks a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Largest client frame answered with an error; 4× this is closed by uWS unread. @default 16_384 */
  readonly maxFrameBytes?: number;
  /** Frames per second per connection. @default 50 */
  readonly messagesPerSecond?: number;
  /** Frames per second per trader, all connections. @default 100 */
  readonly traderMessagesPerSecond?: number;
  /** @default 16 */
  readonly maxSubscriptions?: number;
  /** @default 8 */
  readonly maxConnectionsPerTrader?: number;
  /** Time to send a valid auth frame, ms. @default 5_000 */
  readonly authTimeoutMs?: number;
  /** Seconds without traffic before a socket is closed (uWS pings at half of it). @default 60 */
  readonly idleTimeoutSec?: number;
  /** Malformed frames tolerated before a close. @default 10 */
  readonly maxProtocolErrors?: number;
  /** Run on the uWS JavaScript fallback if the native binary does not load. @default false */
  readonly allowFallback?: boolean;
  /** Orders per trader shared across gateway processes (Redis, or in-process). @default no shared limit */
  readonly orderLimiter?: RateLimiter;
  /**
   * Where the per-trader frame budget (`traderMessagesPerSecond`, over every connection and reconnect) is counted:
   * a limiter of that many per 1 s window shared by the gateways (Redis). @default in-process
   */
  readonly frameLimiter?: RateLimiter;
  /** Where new connections are counted, per trader and per address (limiters per `connectionWindowMs`). @default in-process */
  readonly connectionLimiters?: { readonly trader: RateLimiter; readonly address: RateLimiter };
  /** New connections per trader per window. @default 30 */
  readonly traderConnectionsPerWindow?: number;
  /** New connections per remote address per window. @default 300 */
  readonly addressConnectionsPerWindow?: number;
  /** @default 60_000 */
  readonly connectionWindowMs?: number;
  /** Subscriptions of one trader over all its connections. @default 64 */
  readonly maxTraderSubscriptions?: number;
}
