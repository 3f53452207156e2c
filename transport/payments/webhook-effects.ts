/**
 * What one verified Stripe event does to the purchases, through the ledger
 * of the transaction that also records the event id. Nothing here talks to
 * the outside world: the issuer and the publisher run after commit.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { AssessmentRow, PurchaseLedger, PurchaseRow } from './purchase-store.js';

/** The outcome of applying one event. */
export type Effect =
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'paid'; readonly purchase: PurchaseRow; readonly assessment: AssessmentRow }
  | { readonly kind: 'failed'; readonly purchase: PurchaseRow; readonly reason: string }
  | { readonly kind: 'refunded'; readonly purchase: PurchaseRow };

/**
 * The assessment id of a purchase: a pure function of the purchase id, so a
 * retried issue after a crash names the same assessment and the engine's
 * idempotent create applies it once.
 */
export function assessmentIdFor(purchaseId: string): string {
  return `asm_${createHash('sha256').update(`purchase-assessment:${purchaseId}`).digest('hex').slice(0, 32)}`;
}

/** Apply a verified event whose id has just been recorded in this transaction. */
export async function applyEvent(ledger: PurchaseLedger, event: Stripe.Event): Promise<Effect> {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = event.data.object;
      // `unpaid` on completion means a delayed method (bank debit): wait for async_payment_succeeded.
      if (session.payment_status !== 'paid') return { kind: 'ignored', reason: `payment_status is '${session.payment_status}'` };
      return markPaid(ledger, session);
    }
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired':
      return markFailed(ledger, event.data.object, event.type === 'checkout.session.expired' ? 'expired' : 'async_payment_failed');
    case 'charge.refunded':
      return markRefunded(ledger, event.data.object);
    default:
      return { kind: 'ignored', reason: `event type '${event.type}' is not handled` };
  }
}

function purchaseIdOf(session: Stripe.Checkout.Session): string | undefined {
  return session.client_reference_id ?? session.metadata?.['purchaseId'] ?? undefined;
}

async function markPaid(ledger: PurchaseLedger, session: Stripe.Checkout.Session): Promise<Effect> {
  const purchaseId = purchaseIdOf(session);
  if (purchaseId === undefined) return { kind: 'ignored', reason: `session ${session.id} names no purchase` };
  const purchase = await ledger.lockPurchase(purchaseId);
  if (purchase === undefined) return { kind: 'ignored', reason: `no purchase ${purchaseId}` };
  if (purchase.externalRef !== null && purchase.externalRef !== session.id) {
    return { kind: 'ignored', reason: `session ${session.id} is not purchase ${purchaseId}'s (${purchase.externalRef})` };
  }
  // 'failed' may be our own verdict (the session create timed out yet reached Stripe); money received wins.
  if (purchase.status !== 'pending' && purchase.status !== 'failed')
    return { kind: 'ignored', reason: `purchase ${purchaseId} is already ${purchase.status}` };
  const paid = await ledger.setPaid(purchaseId, idOf(session.payment_intent), session.id);
  const assessmentId = assessmentIdFor(purchaseId);
  // The phase comes from the stored tier version the purchase was priced at, not today's config.
  const phase = await ledger.createAssessment({
    id: assessmentId,
    traderId: paid.userId,
    tierId: paid.tierId,
    tierVersion: paid.tierVersion,
    purchaseId,
  });
  return {
    kind: 'paid',
    purchase: paid,
    assessment: { id: assessmentId, traderId: paid.userId, tierId: paid.tierId, tierVersion: paid.tierVersion, purchaseId, phase },
  };
}

async function markFailed(ledger: PurchaseLedger, session: Stripe.Checkout.Session, reason: string): Promise<Effect> {
  const purchaseId = purchaseIdOf(session);
  if (purchaseId === undefined) return { kind: 'ignored', reason: `session ${session.id} names no purchase` };
  const purchase = await ledger.lockPurchase(purchaseId);
  if (purchase === undefined) return { kind: 'ignored', reason: `no purchase ${purchaseId}` };
  if (purchase.status !== 'pending') return { kind: 'ignored', reason: `purchase ${purchaseId} is already ${purchase.status}` };
  return { kind: 'failed', purchase: await ledger.setStatus(purchaseId, 'failed'), reason };
}

async function markRefunded(ledger: PurchaseLedger, charge: Stripe.Charge): Promise<Effect> {
  // charge.refunded also fires for partial refunds; `refunded` is true only once the whole amount is back.
  if (!charge.refunded) return { kind: 'ignored', reason: `partial refund (${charge.amount_refunded} of ${charge.amount})` };
  const paymentIntent = idOf(charge.payment_intent);
  let purchase: PurchaseRow | undefined;
  if (paymentIntent !== null) purchase = await ledger.lockPurchaseByPaymentIntent(paymentIntent);
  // A refund that overtakes its completion event: the checkout copies our metadata onto the payment intent.
  const fromMetadata = charge.metadata['purchaseId'];
  if (purchase === undefined && fromMetadata !== undefined) purchase = await ledger.lockPurchase(fromMetadata);
  if (purchase === undefined) return { kind: 'ignored', reason: `no purchase for payment intent ${paymentIntent ?? '(none)'}` };
  if (purchase.status === 'refunded') return { kind: 'ignored', reason: `purchase ${purchase.id} is already refunded` };
  return { kind: 'refunded', purchase: await ledger.setStatus(purchase.id, 'refunded') };
}

function idOf(ref: string | { id: string } | null): string | null {
  return ref === null ? null : typeof ref === 'string' ? ref : ref.id;
}
