/**
 * The HTTP API's routes: one table the server registers from
 * (transport/server/http-api.ts) and the docs tests read, so openapi.json,
 * the server and the tests name the same routes. Paths are uWebSockets.js
 * templates (`:id`); openapi.json writes them `{id}` ({@link openApiPath}).
 * To add a route: add it here, register its handler under the same name in
 * http-api.ts (the server refuses to start with a route left unregistered),
 * and document it in openapi.json.
 */

/** One route: its method, path template and the status of a successful answer. */
export interface HttpRoute {
  readonly method: 'get' | 'post';
  /** uWebSockets.js path template; `:name` is a path parameter. */
  readonly path: string;
  /** Status of a successful answer. */
  readonly status: 200 | 201 | 202;
}

/** Every route of the gateway's HTTP API, by the name its handler is registered under. */
export const HTTP_ROUTES = {
  healthz: { method: 'get', path: '/healthz', status: 200 },
  readyz: { method: 'get', path: '/readyz', status: 200 },
  metrics: { method: 'get', path: '/metrics', status: 200 },
  tiers: { method: 'get', path: '/v1/tiers', status: 200 },
  assessments: { method: 'get', path: '/v1/assessments', status: 200 },
  assessment: { method: 'get', path: '/v1/assessments/:id', status: 200 },
  violations: { method: 'get', path: '/v1/assessments/:id/violations', status: 200 },
  placeOrder: { method: 'post', path: '/v1/assessments/:id/orders', status: 200 },
  leaderboard: { method: 'get', path: '/v1/leaderboard', status: 200 },
  operatorShards: { method: 'get', path: '/v1/operator/shards', status: 200 },
  startPurchase: { method: 'post', path: '/v1/purchases', status: 200 },
  stripeWebhook: { method: 'post', path: '/v1/stripe/webhook', status: 200 },
  startSimulation: { method: 'post', path: '/v1/simulations', status: 202 },
  simulations: { method: 'get', path: '/v1/simulations', status: 200 },
  simulation: { method: 'get', path: '/v1/simulations/:id', status: 200 },
  trades: { method: 'get', path: '/v1/assessments/:id/trades', status: 200 },
  tradesCsv: { method: 'get', path: '/v1/assessments/:id/trades.csv', status: 200 },
  fills: { method: 'get', path: '/v1/assessments/:id/fills', status: 200 },
  days: { method: 'get', path: '/v1/assessments/:id/days', status: 200 },
  equity: { method: 'get', path: '/v1/assessments/:id/equity', status: 200 },
  events: { method: 'get', path: '/v1/assessments/:id/events', status: 200 },
  report: { method: 'get', path: '/v1/assessments/:id/report', status: 200 },
  reportHtml: { method: 'get', path: '/v1/assessments/:id/report.html', status: 200 },
  requestReport: { method: 'post', path: '/v1/assessments/:id/report', status: 201 },
  operatorReports: { method: 'get', path: '/v1/operator/reports', status: 200 },
  regenerateReport: { method: 'post', path: '/v1/operator/reports/:id/regenerate', status: 201 },
} as const satisfies Record<string, HttpRoute>;

/** The name of a route of {@link HTTP_ROUTES}. */
export type HttpRouteName = keyof typeof HTTP_ROUTES;

/** A path template as OpenAPI writes it: `/v1/assessments/:id` becomes `/v1/assessments/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([a-zA-Z]+)/g, '{$1}');
}
