/** JSON answers of the gateway's HTTP side, and the order shape the socket and HTTP share. */
import type { HttpResponse } from 'uWebSockets.js';
import type { OrderOp } from '../protocol/index.js';

/** Socket order → engine command. */
export function toCommand(o: OrderOp): unknown {
  const { op, ...rest } = o;
  return { kind: op, ...rest };
}

/** Write a JSON response (corked). */
export function json(
  res: HttpResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  closeConnection = false,
): void {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS[status] ?? ''}`.trim()).writeHeader('content-type', 'application/json');
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(JSON.stringify(body), closeConnection);
  });
}

/** A route's answer that is not JSON (a CSV export, an HTML page): its media type and text. */
export class RawAnswer {
  readonly contentType: string;
  readonly body: string;
  constructor(contentType: string, body: string) {
    this.contentType = contentType;
    this.body = body;
  }
}

/** Write a {@link RawAnswer} (corked). */
export function raw(res: HttpResponse, status: number, answer: RawAnswer, headers: Record<string, string> = {}): void {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS[status] ?? ''}`.trim()).writeHeader('content-type', answer.contentType);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(answer.body);
  });
}

const STATUS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};
