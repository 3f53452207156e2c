/**
 * The gateway's error classes, each with a stable `code`: what a request
 * or a token is refused with, and why a gateway cannot start.
 */

/** A request the gateway cannot take as sent (a path that does not decode, a header out of range): 400 with `code`. */
export class BadRequestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = 'BadRequestError';
    this.code = code;
    this.status = status;
  }
}

/** An HTTP route's refusal: answered `status` with `{ error: { code, message } }` and `headers`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The gateway could not bind its port: another process (or gateway) holds it. */
export class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
  readonly port: number;
  readonly host: string;
  constructor(host: string, port: number) {
    super(`port ${port} on ${host} is in use (or cannot be bound): another process is listening on it`);
    this.name = 'PortInUseError';
    this.port = port;
    this.host = host;
  }
}

/** The codes a token is refused with (documented in openapi.json and asyncapi-ws.json). */
export const TOKEN_FAILURE_CODES = ['TOKEN_EXPIRED', 'TOKEN_INVALID', 'TOKEN_CLAIMS'] as const;

/** Why a token was refused; `code` is stable, `message` says what was wrong. */
export class TokenRejectedError extends Error {
  readonly code: (typeof TOKEN_FAILURE_CODES)[number];
  constructor(code: TokenRejectedError['code'], message: string) {
    super(message);
    this.name = 'TokenRejectedError';
    this.code = code;
  }
}

/** Raised when only uWS's JavaScript fallback loaded and it was not allowed. */
export class UwsFallbackError extends Error {
  readonly code = 'UWS_NOT_NATIVE';
  constructor() {
    super(
      'uWebSockets.js loaded its JavaScript fallback, not the native binary (Node ABI or glibc mismatch); ' +
        'refusing to start. Set GATEWAY_ALLOW_FALLBACK=1 to run on the fallback anyway (much slower).',
    );
    this.name = 'UwsFallbackError';
  }
}
