/**
 * What `httpApi` (http-api.ts) takes: the engine side it answers from, the
 * verifier, the stores behind its routes and its request budget.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Tier } from '../../actors/index.js';
import type { IdempotencyPrecheck, Leaderboard, RateLimiter } from '../../persistence/index.js';
import type { HistoryApi, SimulationService } from '../../sim/index.js';
import type { Purchases } from '../payments/index.js';
import type { GatewayEngine } from './gateway-options.js';
import type { StaticAssets } from './static-assets.js';
import type { TokenVerifier } from './token-verifier.js';
import type { TraderIndex } from './trader-index.js';

/** Dependencies of the HTTP API. */
export interface HttpApiOptions {
  readonly engine: GatewayEngine;
  readonly verifier: TokenVerifier;
  readonly registry: Registry;
  readonly tiers: readonly Tier[];
  readonly owners: TraderIndex;
  /** Where the leaderboard is read (only its best entries are). */
  readonly leaderboard: Pick<Leaderboard, 'top'>;
  readonly idempotency: IdempotencyPrecheck;
  readonly log: Logger;
  /** Shard figures for operators. */
  readonly shards: () => unknown;
  /** The cluster's ownership map (members, each shard's owner and epoch, moves), when an engine node runs in this process. @default none */
  readonly ownership?: () => Promise<unknown>;
  /** Purchases, when payments are configured. @default none (the routes answer 503) */
  readonly purchases?: Purchases;
  /** The browser console's files. @default none */
  readonly assets?: StaticAssets;
  /** Largest request body, bytes. @default 65_536 */
  readonly maxBodyBytes?: number;
  /** Orders per trader shared across gateway processes. @default no shared limit */
  readonly orderLimiter?: RateLimiter;
  /** Monte Carlo jobs. @default none (the routes answer 503) */
  readonly simulations?: SimulationService;
  /** Largest `POST /v1/simulations` body (uploaded trades), bytes. @default 8_388_608 */
  readonly maxSimulationBodyBytes?: number;
  /**
   * Where requests are counted per remote address (every route but health, readiness and metrics),
   * shared by the gateways (Redis) when given. @default in-process, `addressRequestsPerMinute` a minute
   */
  readonly requestLimiter?: RateLimiter;
  /** Requests one address may make per minute, when no `requestLimiter` is given. @default 600 */
  readonly addressRequestsPerMinute?: number;
  /** Longest wait for the request limiter; past it, or when it fails, the request goes through (logged). @default 1_000 */
  readonly limiterTimeoutMs?: number;
  /** History and reports. @default none (the routes answer 503) */
  readonly history?: HistoryApi;
}
