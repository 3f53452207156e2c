/**
 * What one verified Stripe event does to the purchase tables, inside the
 * transaction that also records the event id. Nothing here talks to the
 * outside world: the issuer and the publisher run after commit.
 */
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type Stripe from 'stripe';

/** Status of a row in `purchases`. */
export type PurchaseStatus = 'pending' | 'paid' | 'failed' | 'refunded';

/** A purchase as the effects read it. */
export interface PurchaseRow {
  readonly id: string;
  readonly userId: string;
  readonly tierId: string;
  readonly tierVersion: number;
  readonly amountCents: number;
  readonly currency: string;
  readonly status: PurchaseStatus;
  readonly externalRef: string | null;
  readonly paymentIntent: string | null;
}

/** The assessment a paid purchase created (or had already created). */
export interface AssessmentRow {
  readonly id: string;
  readonly traderId: string;
  readonly tierId: string;
  readonly tierVersion: number;
  readonly purchaseId: string;
  readonly phase: string;
}

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

type Tx = postgres.TransactionSql;

/** Apply a verified event whose id has just been recorded in this transaction. */
export async function applyEvent(tx: Tx, event: Stripe.Event): Promise<Effect> {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = event.data.object;
      // `unpaid` on completion means a delayed method (bank debit): wait for async_payment_succeeded.
      if (session.payment_status !== 'paid') return { kind: 'ignored', reason: `payment_status is '${session.payment_status}'` };
      return markPaid(tx, session);
    }
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired':
      return markFailed(tx, event.data.object, event.type === 'checkout.session.expired' ? 'expired' : 'async_payment_failed');
    case 'charge.refunded':
      return markRefunded(tx, event.data.object);
    default:
      return { kind: 'ignored', reason: `event type '${event.type}' is not handled` };
  }
}

function purchaseIdOf(session: Stripe.Checkout.Session): string | undefined {
  return session.client_reference_id ?? session.metadata?.['purchaseId'] ?? undefined;
}

async function markPaid(tx: Tx, session: Stripe.Checkout.Session): Promise<Effect> {
  const purchaseId = purchaseIdOf(session);
  if (purchaseId === undefined) return { kind: 'ignored', reason: `session ${session.id} names no purchase` };
  const purchase = await lockPurchase(tx, purchaseId);
  if (purchase === undefined) return { kind: 'ignored', reason: `no purchase ${purchaseId}` };
  if (purchase.externalRef !== null && purchase.externalRef !== session.id) {
    return { kind: 'ignored', reason: `session ${session.id} is not purchase ${purchaseId}'s (${purchase.externalRef})` };
  }
  // 'failed' may be our own verdict (the session create timed out yet reached Stripe); money received wins.
  if (purchase.status !== 'pending' && purchase.status !== 'failed') return { kind: 'ignored', reason: `purchase ${purchaseId} is already ${purchase.status}` };
  const paymentIntent = idOf(session.payment_intent);
  const [row] = await tx<PurchaseDbRow[]>`
    update purchases set status = 'paid', payment_intent = ${paymentIntent}, external_ref = ${session.id}, updated_at = now()
    where id = ${purchaseId} returning ${tx(PURCHASE_COLUMNS)}`;
  const paid = toPurchase(row!);
  const assessmentId = assessmentIdFor(purchaseId);
  // The phase comes from the stored tier version the purchase was priced at, not today's config.
  await tx`
    insert into assessments (id, trader_id, tier_id, tier_version, purchase_id, status, phase)
    select ${assessmentId}, ${paid.userId}, t.id, t.version, ${purchaseId}, 'created', t.definition -> 'phases' -> 0 ->> 'name'
    from tiers t where t.id = ${paid.tierId} and t.version = ${paid.tierVersion}
    on conflict (id) do nothing`;
  const [a] = await tx<{ phase: string }[]>`select phase from assessments where id = ${assessmentId}`;
  return {
    kind: 'paid', purchase: paid,
    assessment: { id: assessmentId, traderId: paid.userId, tierId: paid.tierId, tierVersion: paid.tierVersion, purchaseId, phase: a!.phase },
  };
}

async function markFailed(tx: Tx, session: Stripe.Checkout.Session, reason: string): Promise<Effect> {
  const purchaseId = purchaseIdOf(session);
  if (purchaseId === undefined) return { kind: 'ignored', reason: `session ${session.id} names no purchase` };
  const purchase = await lockPurchase(tx, purchaseId);
  if (purchase === undefined) return { kind: 'ignored', reason: `no purchase ${purchaseId}` };
  if (purchase.status !== 'pending') return { kind: 'ignored', reason: `purchase ${purchaseId} is already ${purchase.status}` };
  const [row] = await tx<PurchaseDbRow[]>`
    update purchases set status = 'failed', updated_at = now() where id = ${purchaseId} returning ${tx(PURCHASE_COLUMNS)}`;
  return { kind: 'failed', purchase: toPurchase(row!), reason };
}

async function markRefunded(tx: Tx, charge: Stripe.Charge): Promise<Effect> {
  // charge.refunded also fires for partial refunds; `refunded` is true only once the whole amount is back.
  if (!charge.refunded) return { kind: 'ignored', reason: `partial refund (${charge.amount_refunded} of ${charge.amount})` };
  const paymentIntent = idOf(charge.payment_intent);
  let purchase: PurchaseRow | undefined;
  if (paymentIntent !== null) {
    const [row] = await tx<PurchaseDbRow[]>`select ${tx(PURCHASE_COLUMNS)} from purchases where payment_intent = ${paymentIntent} for update`;
    purchase = row && toPurchase(row);
  }
  // A refund that overtakes its completion event: the checkout copies our metadata onto the payment intent.
  const fromMetadata = charge.metadata['purchaseId'];
  if (purchase === undefined && fromMetadata !== undefined) purchase = await lockPurchase(tx, fromMetadata);
  if (purchase === undefined) return { kind: 'ignored', reason: `no purchase for payment intent ${paymentIntent ?? '(none)'}` };
  if (purchase.status === 'refunded') return { kind: 'ignored', reason: `purchase ${purchase.id} is already refunded` };
  const [row] = await tx<PurchaseDbRow[]>`
    update purchases set status = 'refunded', updated_at = now() where id = ${purchase.id} returning ${tx(PURCHASE_COLUMNS)}`;
  return { kind: 'refunded', purchase: toPurchase(row!) };
}

const PURCHASE_COLUMNS = ['id', 'user_id', 'tier_id', 'tier_version', 'amount_cents', 'currency', 'status', 'external_ref', 'payment_intent'];

interface PurchaseDbRow {
  id: string; user_id: string; tier_id: string; tier_version: number; amount_cents: string | number;
  currency: string; status: PurchaseStatus; external_ref: string | null; payment_intent: string | null;
}

async function lockPurchase(tx: Tx, id: string): Promise<PurchaseRow | undefined> {
  const [row] = await tx<PurchaseDbRow[]>`select ${tx(PURCHASE_COLUMNS)} from purchases where id = ${id} for update`;
  return row && toPurchase(row);
}

function toPurchase(r: PurchaseDbRow): PurchaseRow {
  return {
    // amount_cents is bigint: postgres.js hands it over as a string.
    id: r.id, userId: r.user_id, tierId: r.tier_id, tierVersion: r.tier_version, amountCents: Number(r.amount_cents),
    currency: r.currency, status: r.status, externalRef: r.external_ref, paymentIntent: r.payment_intent,
  };
}

function idOf(ref: string | { id: string } | null): string | null {
  return ref === null ? null : typeof ref === 'string' ? ref : ref.id;
}
