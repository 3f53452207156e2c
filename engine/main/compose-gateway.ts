/**
 * Puts the traders' gateway in front of a composed engine node: the stream
 * hub on the node's output, the trader index, token verification from
 * configuration (or a development secret), purchases when Stripe is
 * configured, and the HTTP API on the same uWS app.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type postgres from 'postgres';
import { z } from 'zod';
import { presetTiers } from '../../actors/index.js';
import {
  Gateway,
  PortInUseError,
  GatewayMetrics,
  httpApi,
  TraderIndex,
  StreamHub,
  TokenVerifier,
  type GatewayEngine,
  type GatewayOptions,
  type StaticAssets,
  type TokenVerifierOptions,
} from '../../transport/server/index.js';
import type { Purchases as PurchasesService } from '../../transport/payments/index.js';
import {
  forwardEncodedDeltas,
  operatorShards,
  type EncodedDeltas,
  type EngineOutput,
  type OutputEvent,
  type StateDelta,
} from '../index.js';
import type { ComposedHistory, ComposedNode } from './compose-node.js';
import { PgPurchaseStore, PgSimulationStore, type SharedState, type Leaderboard } from '../../persistence/index.js';
import { countedWatch } from '../../transport/nats/index.js';
import {
  RaySimulator,
  SimPool,
  SimulationService,
  LiveEstimator,
  replaySource,
  HistoryApi,
  ReportService,
  type Simulator,
} from '../../sim/index.js';

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

/** An output whose target is set once the gateway exists (the node starts first). */
export class LateOutput implements EngineOutput {
  targets: EngineOutput[] = [];
  onEvents(events: readonly OutputEvent[], shard: number): void {
    for (const t of this.targets) t.onEvents(events, shard);
  }
  onDeltas(deltas: readonly StateDelta[], shard: number): void {
    for (const t of this.targets) t.onDeltas?.(deltas, shard);
  }
  // Declared, so the shards encode deltas for the gateway; a target that takes objects gets them decoded.
  onEncodedDeltas(batch: EncodedDeltas, shard: number): void {
    forwardEncodedDeltas(this.targets, batch, shard);
  }
}

/** Default prices of the preset tiers, in cents. */
const PRICES: Record<string, { amountCents: number; currency: string }> = {
  'two-step-100k': { amountCents: 54_900, currency: 'usd' },
  'one-step-50k': { amountCents: 29_900, currency: 'usd' },
  'intraday-trail-50k': { amountCents: 24_900, currency: 'usd' },
  'prediction-10k': { amountCents: 9_900, currency: 'usd' },
};

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

/**
 * A gateway in front of an engine node in this process. `watch` is the
 * engine's, when other watchers share it (the stream publisher of
 * compose-owner.ts): counted, see `countedWatch`.
 */
export async function composeGateway(
  composed: ComposedNode,
  late: LateOutput,
  config: GatewayConfig,
  log: Logger,
  watch?: (ids: readonly string[], on: boolean) => void,
): Promise<ComposedGateway> {
  const node = composed.node;
  watch ??= countedWatch((ids, on) => node.engine.watch(ids, on));
  const hub = new StreamHub({ epoch: node.epoch, watch });
  const owners = new TraderIndex();
  for (const a of (await node.inspect()).snapshot.kernel.actors) owners.add(a.state.traderId, a.state.id);
  const ownersOutput: EngineOutput = { onEvents: (e) => owners.onEvents(e) };
  late.targets.push(hub, ownersOutput);

  new Gauge({
    name: 'engine_shard_actors',
    help: 'Actors per shard worker.',
    labelNames: ['shard'],
    registers: [composed.registry],
    collect() {
      for (const s of node.engine.shards()) this.set({ shard: String(s.shard) }, s.stats?.actors ?? 0);
    },
  });
  new Gauge({
    name: 'engine_shard_pending_inputs',
    help: 'Inputs sent to a shard worker and not yet applied.',
    labelNames: ['shard'],
    registers: [composed.registry],
    collect() {
      for (const s of node.engine.shards()) this.set({ shard: String(s.shard) }, s.pendingInputs);
    },
  });
  try {
    return await startGateway(
      {
        engine: node,
        hub,
        owners,
        registry: composed.registry,
        shared: composed.shared,
        leaderboard: composed.shared.leaderboard,
        sql: composed.sql,
        publish: (subject, payload) => composed.publish(subject, payload),
        shards: () => node.engine.shards(),
        history: composed.history,
        ownership: () => operatorShards(node, composed.store, composed.marketTail),
      },
      config,
      log,
    );
  } catch (err) {
    // Nothing of this gateway outlives the failure: the caller may go on without one, or exit.
    late.targets = late.targets.filter((t) => t !== hub && t !== ownersOutput);
    throw err;
  }
}

/** Start a gateway on a backend: purchases, the console, simulations, limits, the HTTP API and the WebSocket. */
export async function startGateway(b: GatewayBackend, config: GatewayConfig, log: Logger): Promise<ComposedGateway> {
  const devSecret = config.tokens === undefined ? randomBytes(32).toString('hex') : undefined;
  const verifier = await TokenVerifier.create(config.tokens ?? { secret: devSecret! });
  const { hub, owners, shared } = b;
  let purchases: PurchasesService | undefined;
  const port = config.port ?? 8080;
  if (config.stripeSecretKey) {
    const { Purchases, createStripe } = await import('../../transport/payments/index.js');
    purchases = new Purchases({
      store: new PgPurchaseStore(b.sql),
      stripe: createStripe(config.stripeSecretKey, config.stripeApiBase),
      prices: PRICES,
      successUrl: `${config.publicUrl ?? `http://127.0.0.1:${port}/`}#purchase=success`,
      cancelUrl: `${config.publicUrl ?? `http://127.0.0.1:${port}/`}#purchase=cancelled`,
      webhookSecret: config.stripeWebhookSecret ?? '',
      issuer: {
        issue: async (a) => {
          const r = await b.engine.offer({ kind: 'create', assessmentId: a.assessmentId, traderId: a.traderId, tierId: a.tierId });
          if (!r.ok && r.code !== 'DUPLICATE_ASSESSMENT') throw new Error(`${r.code}: ${r.message}`);
        },
      },
      publish: async (subject, payload) => b.publish(subject, payload),
    });
  }
  let assets: StaticAssets | undefined;
  if (config.console ?? true) {
    const mod = (await import('../../transport/server/index.js')) as { ConsoleAssets?: { create(): Promise<StaticAssets> } };
    assets = await mod.ConsoleAssets?.create();
  }
  const simLog = log.child({ component: 'simulations' });
  const pool = new SimPool({ workers: config.simulations?.workers ?? 1 });
  const ray = config.simulations?.rayServeUrl;
  const simulator: Simulator =
    ray === undefined || ray === ''
      ? pool
      : new RaySimulator({
          url: ray,
          fallback: pool,
          onFallback: (why) => simLog.warn({ why }, 'Ray Serve unavailable; simulating on the local pool'),
        });
  const simulations = new SimulationService({
    simulator,
    store: new PgSimulationStore(b.sql),
    tiers: () => presetTiers(),
    assessment: (id) => b.engine.state(id),
    clock: () => Date.now(),
    publish: (subject, payload) => b.publish(subject, payload),
    onError: (err, what) => simLog.error({ err }, `could not ${what}`),
  });
  // Reports when an assessment ends or passes a phase (this process's new history events), and on request; ready pushed and published.
  const h = b.history;
  const reports =
    h === undefined
      ? undefined
      : new ReportService({
          reader: h.reader,
          store: h.reports,
          tiers: () => presetTiers(),
          simulator,
          replay: (id) => replaySource(id, undefined, h.durable),
          publish: (subject, payload) => b.publish(subject, payload),
          push: (ready) => void hub.broadcast(ready.assessmentId, { t: 'report', ...ready }),
          onError: (err, what) => log.warn({ err }, `could not ${what}`),
        });
  if (h !== undefined && reports !== undefined) h.listen((fresh) => reports.onIngested(fresh));
  const history = h === undefined || reports === undefined ? undefined : new HistoryApi({ reader: h.reader, store: h.reports, reports });
  const interrupted = await simulations.recover();
  if (interrupted > 0) simLog.warn({ interrupted }, 'simulations left running by a stopped process marked failed');
  // The gateway's own defaults (100 frames/s per trader; 30 and 300 new connections a minute per trader and per address; 600 HTTP requests a minute per address), shared.
  const lim = config.limits ?? {};
  const traderMessagesPerSecond = lim.traderFramesPerSecond ?? 100;
  const frameLimiter = shared.limiter({ limit: traderMessagesPerSecond, windowMs: 1_000 });
  const connectionLimiters = {
    trader: shared.limiter({ limit: lim.traderConnectionsPerMinute ?? 30, windowMs: 60_000 }),
    address: shared.limiter({ limit: lim.addressConnectionsPerMinute ?? 300, windowMs: 60_000 }),
  };
  const requestLimiter = shared.limiter({ limit: lim.addressRequestsPerMinute ?? 600, windowMs: 60_000 });
  const options = (listenOn: number): GatewayOptions => ({
    engine: b.engine,
    verifier,
    hub,
    metrics,
    log: log.child({ component: 'gateway' }),
    ...(b.snapshots === undefined ? {} : { snapshots: b.snapshots }),
    port: listenOn,
    host: config.host ?? '127.0.0.1',
    allowFallback: config.allowFallback ?? false,
    orderLimiter: shared.rateLimiter,
    // Per-trader frames and new connections per trader and address, counted where every gateway sees them (Redis when configured).
    frameLimiter,
    connectionLimiters,
    traderMessagesPerSecond,
    routes: httpApi({
      engine: b.engine,
      verifier,
      registry: b.registry,
      tiers: presetTiers(),
      owners,
      leaderboard: b.leaderboard,
      idempotency: shared.idempotency,
      orderLimiter: shared.rateLimiter,
      log,
      shards: () => b.shards(),
      ...(b.ownership === undefined ? {} : { ownership: () => b.ownership!() }),
      ...(purchases === undefined ? {} : { purchases }),
      requestLimiter,
      ...(assets === undefined ? {} : { assets }),
      simulations,
      ...(history === undefined ? {} : { history }),
    }),
  });
  const metrics = new GatewayMetrics(b.registry, hub);
  let gateway: Gateway;
  try {
    gateway = await Gateway.start(options(port));
  } catch (err) {
    if (err instanceof PortInUseError && config.freePortWhenTaken === true) gateway = await Gateway.start(options(0));
    else {
      simulations.close();
      reports?.close();
      await pool.close();
      throw err;
    }
  }
  // Live pass probability for watched assessments, on the simulation pool's threads (never the shards').
  const interval = config.simulations?.estimateIntervalMs ?? 60_000;
  const estimator =
    interval > 0
      ? new LiveEstimator({
          simulator,
          tiers: () => presetTiers(),
          watched: () => hub.watched(),
          assessment: (id) => b.engine.state(id),
          clock: () => Date.now(),
          intervalMs: interval,
          push: (e) => void hub.broadcast(e.assessmentId, { t: 'estimate', ...e }),
          onError: (err, id) => simLog.warn({ err, assessmentId: id }, 'live estimate failed'),
        })
      : undefined;
  estimator?.start();
  return {
    gateway,
    devToken: (traderId, roles = ['trader']) =>
      devSecret === undefined
        ? undefined
        : new SignJWT({ roles })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject(traderId)
            .setIssuer('vatic')
            .setAudience('vatic-gateway')
            .setIssuedAt()
            .setExpirationTime('12h')
            .sign(new TextEncoder().encode(devSecret)),
    close: async () => {
      estimator?.stop();
      simulations.close();
      reports?.close();
      await gateway.drain();
      await pool.close();
    },
  };
}
