/**
 * The HTTP routes of buying an assessment: starting a Stripe Checkout and
 * Stripe's webhook. Without payments configured they answer 503.
 */
import { HttpError } from './errors.js';
import type { HttpApiOptions } from './http-api-options.js';
import { parseJson, type HttpRouter } from './http-router.js';

/** Registers the purchase routes on the router. */
export function purchaseRoutes(r: HttpRouter, o: HttpApiOptions, maxBody: number): void {
  r.route('startPurchase', async (ctx) => {
    const p = await r.principal(ctx);
    if (o.purchases === undefined) throw new HttpError(503, 'PAYMENTS_DISABLED', 'payments are not configured (STRIPE_SECRET_KEY)');
    const body = (parseJson(ctx.body) ?? {}) as { tierId?: unknown; email?: unknown };
    if (typeof body !== 'object' || typeof body.tierId !== 'string' || typeof body.email !== 'string')
      throw new HttpError(400, 'INVALID_PURCHASE_REQUEST', 'send { tierId, email }');
    return o.purchases.startCheckout({ userId: p.traderId, email: body.email, tierId: body.tierId });
  });
  r.route(
    'stripeWebhook',
    async (ctx) => {
      if (o.purchases === undefined) throw new HttpError(503, 'PAYMENTS_DISABLED', 'payments are not configured');
      const result = await o.purchases.handleWebhook(ctx.body, ctx.headers_in['stripe-signature']);
      return { received: true, status: result.status };
    },
    maxBody,
    false,
  ); // the signed bytes are checked as they came, whatever their declared type
}
