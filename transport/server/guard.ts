/**
 * Keeps a client's request from reaching the process: every HTTP handler
 * registered through {@link guardApp} runs inside a guard that turns a throw
 * (sync) or a rejection (async) into a JSON answer with a code, so one
 * malformed request can never exit the gateway.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { BadRequestError } from './errors.js';

/** `decodeURIComponent` that answers 400 MALFORMED_PATH instead of throwing a URIError. */
export function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequestError('MALFORMED_PATH', 'a path segment holds a malformed percent-escape');
  }
}

/** What a guard reports about a handler that failed. */
export type OnHandlerError = (err: unknown, where: string, answered: { status: number; code: string }) => void;

/** The status and code a failed handler's error is answered with. */
export function answerFor(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof BadRequestError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof URIError) return { status: 400, code: 'MALFORMED_PATH', message: 'a path segment holds a malformed percent-escape' };
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

type Handler = (res: HttpResponse, req: HttpRequest) => void | Promise<void>;
const METHODS = ['get', 'post', 'put', 'del', 'patch', 'options', 'head', 'connect', 'trace', 'any'] as const;

/** Answer `err` on `res` unless the response is already gone (aborted or ended: uWS throws then, and that is fine). */
function answer(res: HttpResponse, err: unknown, where: string, onError: OnHandlerError): void {
  const a = answerFor(err);
  onError(err, where, a);
  try {
    res.cork(() => {
      res
        .writeStatus(`${a.status} ${a.status === 400 ? 'Bad Request' : 'Internal Server Error'}`)
        .writeHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { code: a.code, message: a.message } }));
    });
  } catch {
    /* already answered or aborted */
  }
}

/**
 * The app with its route methods wrapped: a handler that throws or rejects
 * is answered (400 with the code of a {@link BadRequestError}, 400 MALFORMED_PATH for a URIError, or 500 INTERNAL) and reported.
 */
export function guardApp(app: TemplatedApp, onError: OnHandlerError): TemplatedApp {
  const wrapped = new Map<string, unknown>();
  const guarded: TemplatedApp = new Proxy(app, {
    get(target, key) {
      const own = typeof key === 'string' ? wrapped.get(key) : undefined;
      if (own !== undefined) return own;
      const v = Reflect.get(target, key) as unknown;
      // Native methods need the app itself as `this`.
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  for (const m of METHODS) {
    const original = (app[m] as (pattern: string, h: Handler) => TemplatedApp).bind(app);
    wrapped.set(m, (pattern: string, handler: Handler): TemplatedApp => {
      original(pattern, (res, req) => {
        const where = `${m} ${pattern}`;
        try {
          const out = handler(res, req);
          if (out !== undefined && typeof (out as Promise<void>).then === 'function')
            (out as Promise<void>).catch((err: unknown) => answer(res, err, where, onError));
        } catch (err) {
          answer(res, err, where, onError);
        }
      });
      return guarded;
    });
  }
  return guarded;
}
