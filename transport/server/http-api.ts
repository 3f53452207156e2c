/**
 * The HTTP API on the gateway's uWS app (documented in openapi.json):
 * health and readiness, Prometheus metrics, tiers, a trader's assessments,
 * their state and violations, order submission with an Idempotency-Key,
 * the leaderboard, purchases and the Stripe webhook, and the operator's view
 * of shards. Errors are JSON `{ error: { code, message } }`.
 *
 * History and reports (trades, fills, days, equity, events, the report as
 * JSON and HTML, the trades as CSV) answer for the assessment's own trader
 * or an operator, paged within bounds (sim/reports/history-api.ts).
 *
 * Every route but `/healthz`, `/readyz` and `/metrics` (probes and scrapes of
 * the operator's own infrastructure, constant or bounded work) is counted per
 * remote address, the TCP peer's (a proxy in front shows as one address: raise
 * the budget there), before its handler runs.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Tier } from '../../actors/index.js';
import type { OutputEvent } from '../../engine/index.js';
import {
  MemoryRateLimiter,
  type Leaderboard,
  type IdempotencyPrecheck,
  type RateLimiter,
  type RateLimitResult,
} from '../../persistence/index.js';
import type { Purchases } from '../payments/index.js';
import { SIMULATION_LIST_LIMIT, type SimulationRecord, type SimulationService, type HistoryApi } from '../../sim/index.js';
import { json, toCommand, type GatewayEngine } from './gateway.js';
import type { GatewayView } from './gateway-options.js';
import { raw, RawAnswer } from './http-json.js';
import type { StaticAssets } from './static-assets.js';
import { decodePathParam } from './guard.js';
import {
  BODY_LIMITS,
  ClientFrameSchema,
  declares,
  HTTP_ROUTES,
  IDEMPOTENCY_KEY,
  LEADERBOARD_N,
  type HttpRouteName,
} from '../protocol/index.js';
import type { Principal, TokenVerifier } from './token-verifier.js';

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

/** Which assessments each trader holds, kept from `assessment.created` events. */
export class TraderIndex {
  readonly #byTrader = new Map<string, Set<string>>();
  add(traderId: string, assessmentId: string): void {
    let set = this.#byTrader.get(traderId);
    if (set === undefined) this.#byTrader.set(traderId, (set = new Set()));
    set.add(assessmentId);
  }
  of(traderId: string): string[] {
    return [...(this.#byTrader.get(traderId) ?? [])].sort();
  }
  /** Feed engine events. */
  onEvents(events: readonly OutputEvent[]): void {
    for (const e of events) if (e.type === 'assessment.created') this.add(e.traderId, e.assessmentId);
  }
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** Thrown past the handler of a request aborted while the limiter was asked (never answered: the rejection path checks `aborted` first). */
const ABORTED = new Error('request aborted');

/** Register the routes. */
export function httpApi(o: HttpApiOptions): (app: TemplatedApp, gateway: GatewayView) => void {
  const maxBody = o.maxBodyBytes ?? BODY_LIMITS.default;
  const requests = o.requestLimiter ?? new MemoryRateLimiter({ limit: o.addressRequestsPerMinute ?? 600, windowMs: 60_000 });
  const limiterTimeoutMs = o.limiterTimeoutMs ?? 1_000;
  return (app, gateway) => {
    const m = gateway.metrics;
    /** An error answer, counted; a 413 also closes the connection (the rest of the body is not read), as `close` asks. */
    const refuse = (
      res: HttpResponse,
      status: number,
      code: string,
      message: string,
      headers: Record<string, string> = {},
      close = status === 413,
    ): void => {
      m.httpErrors.inc({ code });
      if (status === 401) m.authFailures.inc({ reason: /^(TOKEN_[A-Z]+)/.exec(message)?.[1] ?? code });
      if (code === 'FORBIDDEN_ASSESSMENT') m.forbidden.inc();
      json(res, status, { error: { code, message } }, headers, close);
    };
    /** The address's budget, or undefined (let through) when the limiter fails or is slower than its deadline: a Redis outage must not close the API. */
    const admit = (address: string, path: string): Promise<RateLimitResult | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>(
        (resolve) =>
          (timer = setTimeout(() => {
            o.log.warn({ address, path, timeoutMs: limiterTimeoutMs }, 'request limiter too slow; request let through');
            resolve(undefined);
          }, limiterTimeoutMs)),
      );
      const taken = Promise.resolve()
        .then(() => requests.take(`http:address:${address}`))
        .catch((err: unknown) => {
          o.log.warn({ err, address, path }, 'request limiter failed; request let through');
          return undefined;
        });
      return Promise.race([taken, late]).finally(() => clearTimeout(timer));
    };
    const registered = new Set<HttpRouteName>(['healthz', 'readyz', 'metrics']);
    /** Registers the table's route `name` (transport/protocol/routes.ts): its method, path and success status come from there. */
    const route = (name: HttpRouteName, handler: (ctx: Ctx) => Promise<unknown>, bodyLimit = maxBody, bodyIsJson = true): void => {
      const table = HTTP_ROUTES[name];
      const { method, path, status } = table;
      registered.add(name);
      /** Whether the route may answer `code` under `status`; an undeclared one is a bug, logged and answered 500 INTERNAL (the documents promise the table's codes only). */
      const allowed = (answer: number, code: string): boolean => {
        if (declares(table, answer, code)) return true;
        o.log.error({ path, status: answer, code }, 'route answered a code its route table entry does not declare');
        m.handlerErrors.inc({ where: 'http' });
        return false;
      };
      const fail = (
        res: HttpResponse,
        answer: number,
        code: string,
        message: string,
        headers: Record<string, string> = {},
        close = answer === 413,
      ): void =>
        allowed(answer, code) ? refuse(res, answer, code, message, headers, close) : refuse(res, 500, 'INTERNAL', 'internal error');
      app[method](path, (res, req) => {
        const ctx = context(res, req, path);
        res.onAborted(() => (ctx.aborted = true));
        // Counted first, so the refusals below (413, 415) spend the address's budget too.
        const admitted = admit(ctx.address, path);
        let body: Promise<Buffer>;
        if (method === 'post') {
          // Refused from the headers, before a byte of the body is read.
          const declared = ctx.headers_in['content-length'];
          // (uWS itself drops a request whose Content-Length is not a number of at most 9 digits.)
          if (declared !== undefined && Number(declared) > bodyLimit)
            return fail(res, 413, 'PAYLOAD_TOO_LARGE', `request body of ${declared} bytes is over ${bodyLimit} bytes`);
          const hasBody = (declared !== undefined && declared !== '0') || ctx.headers_in['transfer-encoding'] !== undefined;
          const type = (ctx.headers_in['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (bodyIsJson && hasBody && type !== 'application/json')
            return fail(res, 415, 'UNSUPPORTED_MEDIA_TYPE', `send the body as application/json (got '${type || 'no content type'}')`);
          body = readBody(res, bodyLimit);
        } else body = Promise.resolve(Buffer.alloc(0));
        body.catch(() => undefined); // a body refused (413) while the limiter is asked is answered below, not unhandled
        admitted
          .then((r) => {
            if (ctx.aborted) throw ABORTED; // the client left while its budget was asked: nothing to run or answer
            if (r !== undefined && !r.allowed)
              throw new HttpError(429, 'REQUEST_RATE_LIMITED', `request rate limit reached for this address; retry in ${r.resetMs} ms`, {
                'retry-after': String(Math.ceil(r.resetMs / 1000)),
              });
            return body;
          })
          .then((b) => {
            ctx.body = b;
            return handler(ctx);
          })
          .then(
            (out) => {
              if (ctx.aborted) return;
              if (out instanceof RawAnswer) return raw(res, ctx.status ?? status, out, ctx.headers);
              if ((ctx.status ?? status) >= 400) {
                const code = (out as { error?: { code?: string } }).error?.code ?? 'UNKNOWN';
                if (!allowed(ctx.status!, code)) return refuse(res, 500, 'INTERNAL', 'internal error');
                m.httpErrors.inc({ code });
              }
              json(res, ctx.status ?? status, out, ctx.headers);
            },
            (err: unknown) => {
              if (ctx.aborted) return;
              // A refused POST's body may still be arriving: the connection is closed rather than read to its end.
              if (err instanceof HttpError)
                return fail(
                  res,
                  err.status,
                  err.code,
                  err.message,
                  err.headers,
                  err.status === 413 || (err.status === 429 && method === 'post'),
                );
              const code = (err as { code?: string }).code;
              if (code === 'WEBHOOK_SIGNATURE_INVALID' || code === 'WEBHOOK_PAYLOAD_INVALID')
                return fail(res, 400, code, (err as Error).message);
              if (code === 'UNKNOWN_TIER' || code === 'PRICE_NOT_CONFIGURED' || code === 'INVALID_PURCHASE_REQUEST')
                return fail(res, 400, code, (err as Error).message);
              if (code === 'EMAIL_IN_USE') return fail(res, 409, code, (err as Error).message);
              if (code === 'CHECKOUT_PROVIDER_FAILED') return fail(res, 502, code, (err as Error).message);
              const status = (err as { status?: unknown }).status;
              if ((err as Error).name === 'SimulationRequestError' && typeof status === 'number' && code !== undefined)
                return fail(res, status, code, (err as Error).message);
              if ((err as Error).name === 'HistoryRequestError' && typeof status === 'number' && code !== undefined)
                return fail(res, status, code, (err as Error).message);
              if (code === 'PG_UNAVAILABLE') return fail(res, 503, code, 'the database is unavailable; retry shortly');
              // No owner of the assessment's shard answered in time (it is moving, or its node is slow): a read to retry.
              if (code === 'UNAVAILABLE') return fail(res, 503, code, (err as Error).message);
              o.log.error({ err, path }, 'request failed');
              m.handlerErrors.inc({ where: 'http' });
              fail(res, 500, 'INTERNAL', 'internal error');
            },
          );
      });
    };
    const principal = async (ctx: Ctx): Promise<Principal> => {
      const h = ctx.headers_in['authorization'] ?? '';
      if (!h.startsWith('Bearer ')) throw new HttpError(401, 'AUTH_REQUIRED', 'send Authorization: Bearer <token>');
      try {
        return await o.verifier.verify(h.slice(7));
      } catch (err) {
        throw new HttpError(401, 'AUTH_FAILED', `${(err as { code?: string }).code ?? 'TOKEN_INVALID'}: ${(err as Error).message}`);
      }
    };
    // `ctx` is kept so the docs test can find the handlers that call it (`owned(ctx, ...)`).
    const owned = async (_ctx: Ctx, p: Principal, id: string) => {
      const state = await read(id);
      if (state === undefined || (state.traderId !== p.traderId && !p.roles.has('operator')))
        throw new HttpError(404, 'FORBIDDEN_ASSESSMENT', `assessment '${id}' does not exist or is not yours`);
      return state;
    };
    /** An assessment's state; a routing gateway whose owner did not answer in time says so (503). */
    const read = (id: string) =>
      o.engine.state(id).catch((err: unknown) => {
        if ((err as { code?: unknown }).code === 'UNAVAILABLE') throw new HttpError(503, 'UNAVAILABLE', (err as Error).message);
        throw err;
      });

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
    route('tiers', async () => ({ tiers: o.tiers }));
    route('assessments', async (ctx) => {
      const p = await principal(ctx);
      const ids = o.owners.of(p.traderId);
      const states = await Promise.all(ids.map((id) => o.engine.state(id))).catch((err: unknown) => {
        if ((err as { code?: unknown }).code === 'UNAVAILABLE') throw new HttpError(503, 'UNAVAILABLE', (err as Error).message);
        throw err;
      });
      // `history` tells a client whether the history and report routes answer here (the console asks them only then).
      return {
        assessments: states
          .filter((s) => s !== undefined)
          .map((s) => ({ id: s.id, tierId: s.tierId, status: s.status, phaseIndex: s.phaseIndex, balance: s.balance })),
        history: o.history !== undefined,
      };
    });
    route('assessment', async (ctx) => ({ assessment: await owned(ctx, await principal(ctx), ctx.params[0]!) }));
    route('violations', async (ctx) => ({ violations: (await owned(ctx, await principal(ctx), ctx.params[0]!)).violations }));
    route('placeOrder', async (ctx) => {
      const p = await principal(ctx);
      const id = ctx.params[0]!;
      await owned(ctx, p, id);
      const key = ctx.headers_in['idempotency-key'];
      if (key === undefined || !IDEMPOTENCY_KEY.test(key))
        throw new HttpError(400, 'IDEMPOTENCY_KEY_REQUIRED', 'send an Idempotency-Key header of 1..64 letters, digits, _ or -');
      const parsed = ClientFrameSchema.safeParse({ t: 'order', id: key, assessmentId: id, order: parseJson(ctx.body) });
      if (!parsed.success || parsed.data.t !== 'order')
        throw new HttpError(
          400,
          'INVALID_ORDER',
          parsed.success ? 'not an order' : parsed.error.issues.map((i) => `${i.path.slice(1).join('.')}: ${i.message}`).join('; '),
        );
      const order = parsed.data.order;
      // The key is the client order id, so a retry is refused by the journal even after the pre-check window.
      const command = 'clientOrderId' in order ? { ...order, clientOrderId: key } : order;
      const limited = await o.orderLimiter?.take(`orders:${p.traderId}`);
      if (limited !== undefined && !limited.allowed) {
        ctx.status = 429;
        ctx.headers['retry-after'] = String(Math.ceil(limited.resetMs / 1000));
        return { error: { code: 'RATE_LIMITED', message: `order rate limit reached for this trader; retry in ${limited.resetMs} ms` } };
      }
      // Orders with a client order id are deduplicated durably by the journal; the pre-check guards the others.
      if (!('clientOrderId' in order) && (await o.idempotency.claim(`${p.traderId}:${id}:${key}`, IDEMPOTENCY_TTL_MS)) === 'duplicate') {
        ctx.status = 409;
        return { error: { code: 'DUPLICATE_REQUEST', message: `Idempotency-Key '${key}' was already used for this assessment` } };
      }
      const r = await o.engine.offer({ kind: 'command', assessmentId: id, command: toCommand(command) });
      if (r.ok) {
        return { accepted: true, position: r.position };
      }
      ctx.status =
        r.code === 'DUPLICATE_CLIENT_ORDER_ID'
          ? 409
          : r.code === 'JOURNAL_UNAVAILABLE' ||
              r.code === 'NOT_READY' ||
              r.code === 'NOT_OWNER' ||
              r.code === 'STOPPING' ||
              r.code === 'UNAVAILABLE'
            ? 503
            : 400;
      return { error: { code: r.code, message: r.message } };
    });
    route('leaderboard', async (ctx) => {
      const n = Math.min(
        LEADERBOARD_N.max,
        Math.max(
          LEADERBOARD_N.min,
          Math.floor(Number(ctx.query.get(LEADERBOARD_N.name) ?? LEADERBOARD_N.default)) || LEADERBOARD_N.default,
        ),
      );
      return { leaderboard: await o.leaderboard.top(n) };
    });
    route('operatorShards', async (ctx) => {
      const p = await principal(ctx);
      if (!p.roles.has('operator')) throw new HttpError(403, 'FORBIDDEN', 'operators only');
      return {
        shards: o.shards(),
        ...(o.ownership === undefined ? {} : { ownership: await o.ownership() }),
        connections: gateway.connections,
      };
    });
    route('startPurchase', async (ctx) => {
      const p = await principal(ctx);
      if (o.purchases === undefined) throw new HttpError(503, 'PAYMENTS_DISABLED', 'payments are not configured (STRIPE_SECRET_KEY)');
      const body = (parseJson(ctx.body) ?? {}) as { tierId?: unknown; email?: unknown };
      if (typeof body !== 'object' || typeof body.tierId !== 'string' || typeof body.email !== 'string')
        throw new HttpError(400, 'INVALID_PURCHASE_REQUEST', 'send { tierId, email }');
      return o.purchases.startCheckout({ userId: p.traderId, email: body.email, tierId: body.tierId });
    });
    route(
      'stripeWebhook',
      async (ctx) => {
        if (o.purchases === undefined) throw new HttpError(503, 'PAYMENTS_DISABLED', 'payments are not configured');
        const result = await o.purchases.handleWebhook(ctx.body, ctx.headers_in['stripe-signature']);
        return { received: true, status: result.status };
      },
      maxBody,
      false,
    ); // the signed bytes are checked as they came, whatever their declared type
    const simulations = (): SimulationService => {
      if (o.simulations === undefined) throw new HttpError(503, 'SIMULATIONS_DISABLED', 'simulations are not configured on this gateway');
      return o.simulations;
    };
    const asker = (p: Principal) => ({ traderId: p.traderId, operator: p.roles.has('operator') });
    route(
      'startSimulation',
      async (ctx) => {
        const p = await principal(ctx);
        return { simulation: await simulations().start(asker(p), parseJson(ctx.body)) };
      },
      o.maxSimulationBodyBytes ?? BODY_LIMITS.simulations,
    );
    route('simulations', async (ctx) => {
      const p = await principal(ctx);
      const limit =
        Math.floor(Number(ctx.query.get(SIMULATION_LIST_LIMIT.name) ?? SIMULATION_LIST_LIMIT.default)) || SIMULATION_LIST_LIMIT.default;
      return { simulations: (await simulations().list(asker(p), limit)).map(withoutCharts) };
    });
    route('simulation', async (ctx) => ({ simulation: await simulations().get(asker(await principal(ctx)), ctx.params[0]!) }));
    const history = (): HistoryApi => {
      if (o.history === undefined) throw new HttpError(503, 'HISTORY_DISABLED', 'history and reports are not configured on this gateway');
      return o.history;
    };
    route('trades', async (ctx) => {
      const p = await principal(ctx);
      return history().trades(asker(p), ctx.params[0]!, ctx.query);
    });
    route('tradesCsv', async (ctx) => {
      const p = await principal(ctx);
      return new RawAnswer('text/csv; charset=utf-8', await history().tradesCsv(asker(p), ctx.params[0]!, ctx.query));
    });
    route('fills', async (ctx) => {
      const p = await principal(ctx);
      return history().fills(asker(p), ctx.params[0]!, ctx.query);
    });
    route('days', async (ctx) => {
      const p = await principal(ctx);
      return history().days(asker(p), ctx.params[0]!, ctx.query);
    });
    route('equity', async (ctx) => {
      const p = await principal(ctx);
      return history().equity(asker(p), ctx.params[0]!, ctx.query);
    });
    route('events', async (ctx) => {
      const p = await principal(ctx);
      return history().events(asker(p), ctx.params[0]!, ctx.query);
    });
    route('report', async (ctx) => {
      const p = await principal(ctx);
      return history().report(asker(p), ctx.params[0]!);
    });
    route('reportHtml', async (ctx) => {
      const p = await principal(ctx);
      return new RawAnswer('text/html; charset=utf-8', await history().reportHtml(asker(p), ctx.params[0]!));
    });
    route('requestReport', async (ctx) => {
      const p = await principal(ctx);
      return history().requestReport(asker(p), ctx.params[0]!);
    });
    route('operatorReports', async (ctx) => {
      const p = await principal(ctx);
      if (!p.roles.has('operator')) throw new HttpError(403, 'FORBIDDEN', 'operators only');
      return history().listReports(asker(p), ctx.query);
    });
    route('regenerateReport', async (ctx) => {
      const p = await principal(ctx);
      if (!p.roles.has('operator')) throw new HttpError(403, 'FORBIDDEN', 'operators only');
      return history().regenerate(asker(p), ctx.params[0]!);
    });
    const missing = Object.keys(HTTP_ROUTES).filter((n) => !registered.has(n as HttpRouteName));
    if (missing.length > 0) throw new Error(`http-api registers no handler for ${missing.join(', ')} of the route table`);
    if (o.assets !== undefined) o.assets.register(app);
  };
}

/** A job for listings: its figures without the chart data. */
function withoutCharts(r: SimulationRecord): SimulationRecord {
  if (r.result === null) return r;
  const figures = Object.fromEntries(Object.entries(r.result).filter(([k]) => !(SIMULATION_CHARTS as readonly string[]).includes(k)));
  return { ...r, result: figures as SimulationRecord['result'] };
}

/** The chart data of a simulation's result, left out of listings (`GET /v1/simulations`). */
export const SIMULATION_CHARTS = ['fan', 'drawdownHistogram'] as const satisfies ReadonlyArray<
  keyof NonNullable<SimulationRecord['result']>
>;

interface Ctx {
  aborted: boolean;
  /** The TCP peer's address (never a client header). */
  readonly address: string;
  status: number | undefined;
  headers: Record<string, string>;
  readonly headers_in: Record<string, string>;
  readonly params: string[];
  readonly query: URLSearchParams;
  body: Buffer;
}

/** Everything read from the request up front: uWS's request object is valid only inside the handler. */
function context(res: HttpResponse, req: HttpRequest, path: string): Ctx {
  const headers_in: Record<string, string> = {};
  req.forEach((k, v) => (headers_in[k] = v));
  const params = [...path.matchAll(/:[a-z]+/g)].map((_, i) => decodePathParam(req.getParameter(i) ?? ''));
  const address = Buffer.from(res.getRemoteAddressAsText()).toString();
  return {
    aborted: false,
    address,
    status: undefined,
    headers: {},
    headers_in,
    params,
    query: new URLSearchParams(req.getQuery() ?? ''),
    body: Buffer.alloc(0),
  };
}

function readBody(res: HttpResponse, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size > max) return reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body over ${max} bytes`));
      chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory after the callback
      if (isLast) resolve(Buffer.concat(chunks));
    });
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'MALFORMED_JSON', `body is not JSON: ${(err as Error).message}`);
  }
}
