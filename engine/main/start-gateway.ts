/**
 * Starts the traders' gateway on a backend (an engine node in this process,
 * or a cluster's routing plane): token verification from configuration (or a
 * development secret), purchases when Stripe is configured, the console,
 * simulations and reports, the shared limits, the HTTP API and the WebSocket.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Logger } from 'pino';
import { presetTiers } from '../../actors/index.js';
import { PgPurchaseStore, PgSimulationStore } from '../../persistence/index.js';
import {
  HistoryApi,
  LiveEstimator,
  RaySimulator,
  ReportService,
  replaySource,
  SimPool,
  SimulationService,
  type Simulator,
} from '../../sim/index.js';
import type { Purchases as PurchasesService } from '../../transport/payments/index.js';
import {
  Gateway,
  GatewayMetrics,
  httpApi,
  PortInUseError,
  TokenVerifier,
  type GatewayOptions,
  type StaticAssets,
} from '../../transport/server/index.js';
import type { ComposedGateway, GatewayBackend, GatewayConfig } from './gateway-config.js';

/** Default prices of the preset tiers, in cents. */
const PRICES: Record<string, { amountCents: number; currency: string }> = {
  'two-step-100k': { amountCents: 54_900, currency: 'usd' },
  'one-step-50k': { amountCents: 29_900, currency: 'usd' },
  'intraday-trail-50k': { amountCents: 24_900, currency: 'usd' },
  'prediction-10k': { amountCents: 9_900, currency: 'usd' },
};

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
