/**
 * The gateway's Prometheus figures, on the process's registry. Base-unit
 * names, no per-assessment or per-trader labels.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StreamHub } from './stream-hub.js';

export class GatewayMetrics {
  readonly connections: Gauge;
  readonly refusals: Counter<'code'>;
  readonly authFailures: Counter<'reason'>;
  readonly forbidden: Counter;
  readonly orders: Counter<'result'>;
  readonly resumes: Counter<'outcome'>;
  readonly handlerErrors: Counter<'where'>;
  readonly httpErrors: Counter<'code'>;

  /** @param hub its counters are read at scrape time */
  constructor(registry: Registry, hub: StreamHub) {
    const registers = [registry];
    this.connections = new Gauge({ name: 'gateway_connections', help: 'WebSocket connections open.', registers });
    this.refusals = new Counter({
      name: 'gateway_protocol_errors_total',
      help: 'Protocol error frames sent, by code.',
      labelNames: ['code'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'gateway_auth_failures_total',
      help: 'Refused auth frames, by reason (TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_CLAIMS).',
      labelNames: ['reason'],
      registers,
    });
    this.forbidden = new Counter({
      name: 'gateway_forbidden_assessment_total',
      help: 'Attempts to read or trade an assessment the token does not own.',
      registers,
    });
    this.orders = new Counter({
      name: 'gateway_orders_total',
      help: 'Orders over the socket, by result (acknowledged or a refusal code).',
      labelNames: ['result'],
      registers,
    });
    this.resumes = new Counter({
      name: 'gateway_resumes_total',
      help: 'Resume requests, by outcome (replayed from the ring, or snapshot).',
      labelNames: ['outcome'],
      registers,
    });
    this.handlerErrors = new Counter({
      name: 'gateway_handler_errors_total',
      help: 'Handlers that threw or rejected (answered with a code, the process kept serving), by where (http, ws.message, ws.open, …).',
      labelNames: ['where'],
      registers,
    });
    this.httpErrors = new Counter({
      name: 'gateway_http_errors_total',
      help: 'HTTP error answers (4xx, 5xx), by error code.',
      labelNames: ['code'],
      registers,
    });
    const c = hub.counters;
    new Counter({
      name: 'gateway_frames_sent_total',
      help: 'Live frames (delta, event) sent.',
      registers,
      collect() {
        this.reset();
        this.inc(c.framesSent);
      },
    });
    new Counter({
      name: 'gateway_deltas_dropped_total',
      help: 'Deltas skipped for subscribers over the soft buffer limit.',
      registers,
      collect() {
        this.reset();
        this.inc(c.deltasDropped);
      },
    });
    new Counter({
      name: 'gateway_slow_consumers_closed_total',
      help: 'Connections closed over the hard buffer limit.',
      registers,
      collect() {
        this.reset();
        this.inc(c.slowClosed);
      },
    });
    new Gauge({
      name: 'gateway_streams',
      help: 'Assessment streams alive (subscribed or lingering for resume).',
      registers,
      collect() {
        this.set(hub.streams);
      },
    });
  }
}
