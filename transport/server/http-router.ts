/**
 * How a route of the table (transport/protocol/routes.ts) is served: counted
 * against its address's budget before its handler runs, its body refused from
 * the headers when too large or not JSON, its answer held to the codes its
 * table entry declares, and every failure mapped to a documented code.
 */
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { RateLimiter, RateLimitResult } from '../../persistence/index.js';
import { declares, HTTP_ROUTES, type HttpRouteName } from '../protocol/index.js';
import { HttpError } from './errors.js';
import type { GatewayView } from './gateway-options.js';
import { decodePathParam } from './guard.js';
import { json, raw, RawAnswer } from './http-json.js';
import type { Principal, TokenVerifier } from './token-verifier.js';

/** One request, read up front: uWS's request object is valid only inside the handler. */
export interface HttpContext {
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

/** A route's handler: its answer (JSON, or a {@link RawAnswer}), or a throw mapped to a code. */
export type RouteHandler = (ctx: HttpContext) => Promise<unknown>;

/** What the router needs of the HTTP API's options. */
export interface HttpRouterOptions {
  readonly verifier: TokenVerifier;
  readonly log: Logger;
  /** Where requests are counted per remote address. */
  readonly requests: RateLimiter;
  /** Longest wait for the request limiter; past it, or when it fails, the request goes through (logged). */
  readonly limiterTimeoutMs: number;
  /** Largest request body, bytes, unless a route says otherwise. */
  readonly maxBodyBytes: number;
}

/** Thrown past the handler of a request aborted while the limiter was asked (never answered: the rejection path checks `aborted` first). */
const ABORTED = new Error('request aborted');

/** Registers the table's routes on one app, and knows which it registered. */
export class HttpRouter {
  readonly #o: HttpRouterOptions;
  readonly #app: TemplatedApp;
  readonly #gateway: GatewayView;
  readonly #registered = new Set<HttpRouteName>(['healthz', 'readyz', 'metrics']);

  constructor(o: HttpRouterOptions, app: TemplatedApp, gateway: GatewayView) {
    this.#o = o;
    this.#app = app;
    this.#gateway = gateway;
  }

  /** The table's routes with no handler registered. */
  unregistered(): string[] {
    return Object.keys(HTTP_ROUTES).filter((n) => !this.#registered.has(n as HttpRouteName));
  }

  /** The bearer token's principal; 401 AUTH_REQUIRED or AUTH_FAILED otherwise. */
  async principal(ctx: HttpContext): Promise<Principal> {
    const h = ctx.headers_in['authorization'] ?? '';
    if (!h.startsWith('Bearer ')) throw new HttpError(401, 'AUTH_REQUIRED', 'send Authorization: Bearer <token>');
    try {
      return await this.#o.verifier.verify(h.slice(7));
    } catch (err) {
      throw new HttpError(401, 'AUTH_FAILED', `${(err as { code?: string }).code ?? 'TOKEN_INVALID'}: ${(err as Error).message}`);
    }
  }

  /** An error answer, counted; a 413 also closes the connection (the rest of the body is not read), as `close` asks. */
  #refuse(
    res: HttpResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
    close = status === 413,
  ): void {
    const m = this.#gateway.metrics;
    m.httpErrors.inc({ code });
    if (status === 401) m.authFailures.inc({ reason: /^(TOKEN_[A-Z]+)/.exec(message)?.[1] ?? code });
    if (code === 'FORBIDDEN_ASSESSMENT') m.forbidden.inc();
    json(res, status, { error: { code, message } }, headers, close);
  }

  /** The address's budget, or undefined (let through) when the limiter fails or is slower than its deadline: a Redis outage must not close the API. */
  #admit(address: string, path: string): Promise<RateLimitResult | undefined> {
    const { log, limiterTimeoutMs, requests } = this.#o;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>(
      (resolve) =>
        (timer = setTimeout(() => {
          log.warn({ address, path, timeoutMs: limiterTimeoutMs }, 'request limiter too slow; request let through');
          resolve(undefined);
        }, limiterTimeoutMs)),
    );
    const taken = Promise.resolve()
      .then(() => requests.take(`http:address:${address}`))
      .catch((err: unknown) => {
        log.warn({ err, address, path }, 'request limiter failed; request let through');
        return undefined;
      });
    return Promise.race([taken, late]).finally(() => clearTimeout(timer));
  }

  /** Registers the table's route `name` (transport/protocol/routes.ts): its method, path and success status come from there. */
  route(name: HttpRouteName, handler: RouteHandler, bodyLimit = this.#o.maxBodyBytes, bodyIsJson = true): void {
    const { log } = this.#o;
    const m = this.#gateway.metrics;
    const refuse = this.#refuse.bind(this);
    const table = HTTP_ROUTES[name];
    const { method, path, status } = table;
    this.#registered.add(name);
    /** Whether the route may answer `code` under `status`; an undeclared one is a bug, logged and answered 500 INTERNAL (the documents promise the table's codes only). */
    const allowed = (answer: number, code: string): boolean => {
      if (declares(table, answer, code)) return true;
      log.error({ path, status: answer, code }, 'route answered a code its route table entry does not declare');
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
    this.#app[method](path, (res, req) => {
      const ctx = context(res, req, path);
      res.onAborted(() => (ctx.aborted = true));
      // Counted first, so the refusals below (413, 415) spend the address's budget too.
      const admitted = this.#admit(ctx.address, path);
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
            log.error({ err, path }, 'request failed');
            m.handlerErrors.inc({ where: 'http' });
            fail(res, 500, 'INTERNAL', 'internal error');
          },
        );
    });
  }
}

/** Who asks, as the simulation and history services take it. */
export function asker(p: Principal): { traderId: string; operator: boolean } {
  return { traderId: p.traderId, operator: p.roles.has('operator') };
}

/** A JSON body, or 400 MALFORMED_JSON. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'MALFORMED_JSON', `body is not JSON: ${(err as Error).message}`);
  }
}

/** Everything read from the request up front: uWS's request object is valid only inside the handler. */
function context(res: HttpResponse, req: HttpRequest, path: string): HttpContext {
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
