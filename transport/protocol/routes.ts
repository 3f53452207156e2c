/**
 * The HTTP API's routes: one table the server registers and answers from
 * (transport/server/http-api.ts) and the docs tests read, so openapi.json,
 * the server and the tests name the same routes, statuses, codes and auth.
 * Paths are uWebSockets.js templates (`:id`); openapi.json writes them
 * `{id}` ({@link openApiPath}).
 *
 * To add a route: add it here with every error code it can answer, register
 * its handler under the same name in its area's *-routes.ts beside
 * http-api.ts (the server refuses to start
 * with a route left unregistered, and answers 500 INTERNAL, logged, in place
 * of a code its route did not declare), and document it in openapi.json.
 */

/** Who may call a route: anyone, a trader with a bearer token, or a token with the operator role. */
export type HttpRouteAuth = 'none' | 'trader' | 'operator';

/** One route: its method, path template, successful status, auth and the error codes it may answer. */
export interface HttpRoute {
  readonly method: 'get' | 'post';
  /** uWebSockets.js path template; `:name` is a path parameter. */
  readonly path: string;
  /** Status of a successful answer. */
  readonly status: 200 | 201 | 202;
  /** Who may call it (a bearer token is asked for unless `none`). */
  readonly auth: HttpRouteAuth;
  /**
   * Every error status the route can answer, with the `error.code`s it may carry under it (an empty list: a
   * status with a body of its own, such as `/readyz`'s 503 while draining).
   */
  readonly errors: { readonly [status: number]: readonly string[] };
}

/** Every route of the gateway's HTTP API, by the name its handler is registered under. */
export const HTTP_ROUTES = {
  healthz: { method: 'get', path: '/healthz', status: 200, auth: 'none', errors: {} },
  readyz: { method: 'get', path: '/readyz', status: 200, auth: 'none', errors: { 503: [] } },
  metrics: { method: 'get', path: '/metrics', status: 200, auth: 'none', errors: { 500: ['INTERNAL'] } },
  tiers: { method: 'get', path: '/v1/tiers', status: 200, auth: 'none', errors: { 429: ['REQUEST_RATE_LIMITED'], 500: ['INTERNAL'] } },
  assessments: {
    method: 'get',
    path: '/v1/assessments',
    status: 200,
    auth: 'trader',
    errors: { 401: ['AUTH_FAILED', 'AUTH_REQUIRED'], 429: ['REQUEST_RATE_LIMITED'], 500: ['INTERNAL'], 503: ['UNAVAILABLE'] },
  },
  assessment: {
    method: 'get',
    path: '/v1/assessments/:id',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['UNAVAILABLE'],
    },
  },
  violations: {
    method: 'get',
    path: '/v1/assessments/:id/violations',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['UNAVAILABLE'],
    },
  },
  placeOrder: {
    method: 'post',
    path: '/v1/assessments/:id/orders',
    status: 202,
    auth: 'trader',
    errors: {
      400: [
        'DUPLICATE_ASSESSMENT',
        'IDEMPOTENCY_KEY_REQUIRED',
        'INVALID_COMMAND',
        'INVALID_ORDER',
        'MALFORMED_JSON',
        'MALFORMED_PATH',
        'MALFORMED_REQUEST',
        'UNKNOWN_ASSESSMENT',
        'UNKNOWN_TIER',
      ],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      409: ['DUPLICATE_CLIENT_ORDER_ID', 'DUPLICATE_REQUEST'],
      413: ['PAYLOAD_TOO_LARGE'],
      415: ['UNSUPPORTED_MEDIA_TYPE'],
      429: ['RATE_LIMITED', 'REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['JOURNAL_UNAVAILABLE', 'NOT_OWNER', 'NOT_READY', 'STOPPING', 'UNAVAILABLE'],
    },
  },
  leaderboard: {
    method: 'get',
    path: '/v1/leaderboard',
    status: 200,
    auth: 'none',
    errors: { 429: ['REQUEST_RATE_LIMITED'], 500: ['INTERNAL'] },
  },
  operatorShards: {
    method: 'get',
    path: '/v1/operator/shards',
    status: 200,
    auth: 'operator',
    errors: { 401: ['AUTH_FAILED', 'AUTH_REQUIRED'], 403: ['FORBIDDEN'], 429: ['REQUEST_RATE_LIMITED'], 500: ['INTERNAL'] },
  },
  startPurchase: {
    method: 'post',
    path: '/v1/purchases',
    status: 201,
    auth: 'trader',
    errors: {
      400: ['INVALID_PURCHASE_REQUEST', 'MALFORMED_JSON', 'PRICE_NOT_CONFIGURED', 'UNKNOWN_TIER'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      409: ['EMAIL_IN_USE'],
      413: ['PAYLOAD_TOO_LARGE'],
      415: ['UNSUPPORTED_MEDIA_TYPE'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      502: ['CHECKOUT_PROVIDER_FAILED'],
      503: ['PAYMENTS_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  stripeWebhook: {
    method: 'post',
    path: '/v1/stripe/webhook',
    status: 200,
    auth: 'none',
    errors: {
      400: ['WEBHOOK_PAYLOAD_INVALID', 'WEBHOOK_SIGNATURE_INVALID'],
      413: ['PAYLOAD_TOO_LARGE'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['PAYMENTS_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  startSimulation: {
    method: 'post',
    path: '/v1/simulations',
    status: 202,
    auth: 'trader',
    errors: {
      400: ['INVALID_HISTORY', 'INVALID_SIMULATION_REQUEST', 'MALFORMED_JSON', 'UNKNOWN_TIER'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      409: ['ASSESSMENT_NOT_ACTIVE'],
      413: ['PAYLOAD_TOO_LARGE'],
      415: ['UNSUPPORTED_MEDIA_TYPE'],
      422: ['NOT_ENOUGH_HISTORY'],
      429: ['REQUEST_RATE_LIMITED', 'TOO_MANY_SIMULATIONS'],
      500: ['INTERNAL'],
      503: ['PG_UNAVAILABLE', 'SIMULATIONS_DISABLED', 'UNAVAILABLE'],
    },
  },
  simulations: {
    method: 'get',
    path: '/v1/simulations',
    status: 200,
    auth: 'trader',
    errors: {
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['PG_UNAVAILABLE', 'SIMULATIONS_DISABLED'],
    },
  },
  simulation: {
    method: 'get',
    path: '/v1/simulations/:id',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['UNKNOWN_SIMULATION'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['PG_UNAVAILABLE', 'SIMULATIONS_DISABLED'],
    },
  },
  trades: {
    method: 'get',
    path: '/v1/assessments/:id/trades',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['INVALID_QUERY', 'MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  tradesCsv: {
    method: 'get',
    path: '/v1/assessments/:id/trades.csv',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['INVALID_QUERY', 'MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  fills: {
    method: 'get',
    path: '/v1/assessments/:id/fills',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['INVALID_QUERY', 'MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  days: {
    method: 'get',
    path: '/v1/assessments/:id/days',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['INVALID_QUERY', 'MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  equity: {
    method: 'get',
    path: '/v1/assessments/:id/equity',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['INVALID_QUERY', 'MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  events: {
    method: 'get',
    path: '/v1/assessments/:id/events',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['INVALID_QUERY', 'MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  report: {
    method: 'get',
    path: '/v1/assessments/:id/report',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT', 'NO_REPORT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  reportHtml: {
    method: 'get',
    path: '/v1/assessments/:id/report.html',
    status: 200,
    auth: 'trader',
    errors: {
      400: ['MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT', 'NO_REPORT'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  requestReport: {
    method: 'post',
    path: '/v1/assessments/:id/report',
    status: 201,
    auth: 'trader',
    errors: {
      400: ['MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      404: ['FORBIDDEN_ASSESSMENT'],
      413: ['PAYLOAD_TOO_LARGE'],
      415: ['UNSUPPORTED_MEDIA_TYPE'],
      429: ['REPORT_IN_PROGRESS', 'REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  operatorReports: {
    method: 'get',
    path: '/v1/operator/reports',
    status: 200,
    auth: 'operator',
    errors: {
      400: ['INVALID_QUERY'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      403: ['FORBIDDEN'],
      429: ['REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
  regenerateReport: {
    method: 'post',
    path: '/v1/operator/reports/:id/regenerate',
    status: 201,
    auth: 'operator',
    errors: {
      400: ['MALFORMED_PATH'],
      401: ['AUTH_FAILED', 'AUTH_REQUIRED'],
      403: ['FORBIDDEN'],
      404: ['FORBIDDEN_ASSESSMENT'],
      413: ['PAYLOAD_TOO_LARGE'],
      415: ['UNSUPPORTED_MEDIA_TYPE'],
      429: ['REPORT_IN_PROGRESS', 'REQUEST_RATE_LIMITED'],
      500: ['INTERNAL'],
      503: ['HISTORY_DISABLED', 'PG_UNAVAILABLE'],
    },
  },
} as const satisfies Record<string, HttpRoute>;

/** The name of a route of {@link HTTP_ROUTES}. */
export type HttpRouteName = keyof typeof HTTP_ROUTES;

/** A path template as OpenAPI writes it: `/v1/assessments/:id` becomes `/v1/assessments/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([a-zA-Z]+)/g, '{$1}');
}

/** The `Idempotency-Key` header an order is sent with (it becomes the client order id). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/** Largest request body, bytes: of every route, and of `POST /v1/simulations` (uploaded trades). */
export const BODY_LIMITS = { default: 65_536, simulations: 8 * 1024 * 1024 } as const;

/** The leaderboard's `n`: rounded down, then clamped to `min..max`; `default` when absent or not a number. */
export const LEADERBOARD_N = { name: 'n', min: 1, max: 100, default: 20 } as const;

/** Whether `route` declares `code` under `status` (the server answers nothing else). */
export function declares(route: HttpRoute, status: number, code: string): boolean {
  return route.errors[status]?.includes(code) === true;
}

/** The gateway's answer to a path no route matches. */
export const UNROUTED = { status: 404, code: 'NOT_FOUND' } as const;
