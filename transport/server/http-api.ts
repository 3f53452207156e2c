/**
 * The HTTP API on the gateway's uWS app (documented in openapi.json):
 * health and readiness, Prometheus metrics, and the routes of the table in
 * transport/protocol/routes.ts, registered by area (trading-routes.ts,
 * purchase-routes.ts, simulation-routes.ts, history-routes.ts) through the
 * {@link HttpRouter}. Errors are JSON `{ error: { code, message } }`.
 *
 * Every route but `/healthz`, `/readyz` and `/metrics` (probes and scrapes of
 * the operator's own infrastructure, constant or bounded work) is counted per
 * remote address, the TCP peer's (a proxy in front shows as one address: raise
 * the budget there), before its handler runs.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { MemoryRateLimiter } from '../../persistence/index.js';
import { BODY_LIMITS, HTTP_ROUTES } from '../protocol/index.js';
import type { GatewayView } from './gateway-options.js';
import type { HttpApiOptions } from './http-api-options.js';
import { json } from './http-json.js';
import { HttpRouter } from './http-router.js';
import { historyRoutes } from './history-routes.js';
import { purchaseRoutes } from './purchase-routes.js';
import { simulationRoutes } from './simulation-routes.js';
import { tradingRoutes } from './trading-routes.js';

export type { HttpApiOptions } from './http-api-options.js';
export { SIMULATION_CHARTS } from './simulation-routes.js';
export { TraderIndex } from './trader-index.js';

/** Register the routes. */
export function httpApi(o: HttpApiOptions): (app: TemplatedApp, gateway: GatewayView) => void {
  const maxBody = o.maxBodyBytes ?? BODY_LIMITS.default;
  const requests = o.requestLimiter ?? new MemoryRateLimiter({ limit: o.addressRequestsPerMinute ?? 600, windowMs: 60_000 });
  const limiterTimeoutMs = o.limiterTimeoutMs ?? 1_000;
  return (app, gateway) => {
    const router = new HttpRouter({ verifier: o.verifier, log: o.log, requests, limiterTimeoutMs, maxBodyBytes: maxBody }, app, gateway);
    app.get(HTTP_ROUTES.healthz.path, (res) => json(res, 200, { status: 'ok' }));
    app.get(HTTP_ROUTES.readyz.path, (res) =>
      gateway.draining ? json(res, 503, { status: 'draining' }) : json(res, 200, { status: 'ready' }),
    );
    app.get(HTTP_ROUTES.metrics.path, (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      void o.registry.metrics().then(
        (text) => {
          if (!aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', o.registry.contentType).end(text));
        },
        (err: unknown) => {
          // A collector that fails is a bug to log, not a reason for the process to stop.
          o.log.error({ err }, 'metrics collection failed');
          gateway.metrics.handlerErrors.inc({ where: 'http' });
          if (!aborted) json(res, 500, { error: { code: 'INTERNAL', message: 'metrics collection failed' } });
        },
      );
    });
    tradingRoutes(router, o, gateway);
    purchaseRoutes(router, o, maxBody);
    simulationRoutes(router, o);
    historyRoutes(router, o);
    const missing = router.unregistered();
    if (missing.length > 0) throw new Error(`http-api registers no handler for ${missing.join(', ')} of the route table`);
    if (o.assets !== undefined) o.assets.register(app);
  };
}
