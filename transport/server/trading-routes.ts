/**
 * The HTTP routes of trading: tiers, a trader's assessments, their state and
 * violations, order submission with an Idempotency-Key, the leaderboard, and
 * the operator's view of shards.
 */
import { ClientFrameSchema, IDEMPOTENCY_KEY, LEADERBOARD_N } from '../protocol/index.js';
import { HttpError } from './errors.js';
import type { HttpApiOptions } from './http-api-options.js';
import type { GatewayView } from './gateway-options.js';
import { toCommand } from './http-json.js';
import { parseJson, type HttpRouter } from './http-router.js';
import type { Principal } from './token-verifier.js';

const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** Registers the trading routes on the router. */
export function tradingRoutes(r: HttpRouter, o: HttpApiOptions, gateway: GatewayView): void {
  /** An assessment's state; a routing gateway whose owner did not answer in time says so (503). */
  const read = (id: string) =>
    o.engine.state(id).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'UNAVAILABLE') throw new HttpError(503, 'UNAVAILABLE', (err as Error).message);
      throw err;
    });
  /** The assessment when the principal's trader owns it or is an operator; unknown and foreign ids are answered alike. */
  const owned = async (p: Principal, id: string) => {
    const state = await read(id);
    if (state === undefined || (state.traderId !== p.traderId && !p.roles.has('operator')))
      throw new HttpError(404, 'FORBIDDEN_ASSESSMENT', `assessment '${id}' does not exist or is not yours`);
    return state;
  };

  r.route('tiers', async () => ({ tiers: o.tiers }));
  r.route('assessments', async (ctx) => {
    const p = await r.principal(ctx);
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
  r.route('assessment', async (ctx) => ({ assessment: await owned(await r.principal(ctx), ctx.params[0]!) }));
  r.route('violations', async (ctx) => ({ violations: (await owned(await r.principal(ctx), ctx.params[0]!)).violations }));
  r.route('placeOrder', async (ctx) => {
    const p = await r.principal(ctx);
    const id = ctx.params[0]!;
    await owned(p, id);
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
    const result = await o.engine.offer({ kind: 'command', assessmentId: id, command: toCommand(command) });
    if (result.ok) {
      return { accepted: true, position: result.position };
    }
    ctx.status =
      result.code === 'DUPLICATE_CLIENT_ORDER_ID'
        ? 409
        : result.code === 'JOURNAL_UNAVAILABLE' ||
            result.code === 'NOT_READY' ||
            result.code === 'NOT_OWNER' ||
            result.code === 'STOPPING' ||
            result.code === 'UNAVAILABLE'
          ? 503
          : 400;
    return { error: { code: result.code, message: result.message } };
  });
  r.route('leaderboard', async (ctx) => {
    const n = Math.min(
      LEADERBOARD_N.max,
      Math.max(LEADERBOARD_N.min, Math.floor(Number(ctx.query.get(LEADERBOARD_N.name) ?? LEADERBOARD_N.default)) || LEADERBOARD_N.default),
    );
    return { leaderboard: await o.leaderboard.top(n) };
  });
  r.route('operatorShards', async (ctx) => {
    const p = await r.principal(ctx);
    if (!p.roles.has('operator')) throw new HttpError(403, 'FORBIDDEN', 'operators only');
    return {
      shards: o.shards(),
      ...(o.ownership === undefined ? {} : { ownership: await o.ownership() }),
      connections: gateway.connections,
    };
  });
}
