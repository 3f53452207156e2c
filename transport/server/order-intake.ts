/**
 * The gateway's order path: ownership, the trader's shared order budget, then
 * the engine's offer, answered `ack` or `reject`.
 */
import type { ClientFrame, GatewayRejectCode } from '../protocol/index.js';
import type { AssessmentAccess } from './assessment-access.js';
import type { GatewayContext } from './gateway-context.js';
import type { OfferResult } from './gateway-options.js';
import { toCommand } from './http-json.js';
import type { Session } from './session.js';

/** Hands a session's `order` frames to the engine. */
export class OrderIntake {
  readonly #ctx: GatewayContext;
  readonly #access: AssessmentAccess;

  constructor(ctx: GatewayContext, access: AssessmentAccess) {
    this.#ctx = ctx;
    this.#access = access;
  }

  /** A `reject` with a code of the gateway's own (every other reject code is the engine's refusal). */
  #reject(s: Session, id: string | number, code: GatewayRejectCode, message: string): void {
    this.#ctx.writer.send(s, { t: 'reject', id, code, message });
  }

  /** Offer the order to the engine and answer it. */
  async offer(s: Session, f: Extract<ClientFrame, { t: 'order' }>): Promise<void> {
    const { o, writer } = this.#ctx;
    let result: OfferResult;
    try {
      if (s.owned?.has(f.assessmentId) !== true && (await this.#access.read(s, f.assessmentId)) === undefined) {
        return writer.refuse(s, 'FORBIDDEN_ASSESSMENT', `assessment '${f.assessmentId}' does not exist or is not yours`, { id: f.id });
      }
      const limited = await o.orderLimiter?.take(`orders:${s.principal!.traderId}`);
      if (limited !== undefined && !limited.allowed) {
        o.metrics.orders.inc({ result: 'RATE_LIMITED' });
        return this.#reject(s, f.id, 'RATE_LIMITED', `order rate limit reached for this trader; retry in ${limited.resetMs} ms`);
      }
      result = await o.engine.offer({ kind: 'command', assessmentId: f.assessmentId, command: toCommand(f.order) });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'UNAVAILABLE') throw err;
      result = { ok: false, code: 'UNAVAILABLE', message: (err as Error).message };
    }
    o.metrics.orders.inc({ result: result.ok ? 'acknowledged' : result.code });
    if (s.closed) return;
    // No owner of the assessment's shard answered in time (a routing gateway): the order may or may not be taken.
    if (!result.ok && result.code === 'UNAVAILABLE') return this.#reject(s, f.id, 'UNAVAILABLE', result.message);
    // The engine's refusal is passed through as it is.
    writer.send(
      s,
      result.ok ? { t: 'ack', id: f.id, position: result.position } : { t: 'reject', id: f.id, code: result.code, message: result.message },
    );
  }
}
