/**
 * Buying an assessment with Stripe Checkout, independent of any HTTP
 * framework: the HTTP layer hands over the request fields, or the webhook's
 * raw body and `Stripe-Signature` header, and maps the errors' `code`s.
 *
 * A webhook is verified before anything else; then one transaction records
 * the event id (Stripe delivers at least once, and may deliver concurrently)
 * together with its effect, so an event applies exactly once. Issuing the
 * assessment to the engine and publishing happen after commit; the engine's
 * create is idempotent on the assessment id, and {@link Purchases.reissuePending}
 * finishes any issue a crash or an outage interrupted.
 */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { presetTiers, type Tier } from '../../actors/index.js';
import {
  CheckoutProviderError,
  EmailInUseError,
  PaymentsConfigError,
  PriceNotConfiguredError,
  PurchaseRequestError,
  UnknownTierError,
  WebhookPayloadError,
  WebhookSignatureError,
  type WebhookSignatureReason,
} from './errors.js';
import type { AssessmentRow, PurchaseStore } from './purchase-store.js';
import { applyEvent, type Effect } from './webhook-effects.js';

/** The engine's assessment create, as the purchase flow needs it. */
export interface AssessmentIssuer {
  /** Create the assessment in the engine. Must be idempotent on `assessmentId`: it may be called again after a crash. */
  issue(a: { assessmentId: string; traderId: string; tierId: string; purchaseId: string }): Promise<void>;
}

/** Subjects {@link Purchases} publishes to. */
export type PaymentSubject = 'payment.purchase-completed' | 'payment.purchase-failed' | 'assessment.created';

/** Publishes one event; called after the change it reports has committed. */
export type PublishFn = (subject: PaymentSubject, payload: object) => Promise<void>;

/** What a tier costs. */
export interface TierPrice {
  /** Smallest currency unit (cents), a positive integer. */
  readonly amountCents: number;
  /** ISO 4217 code, any case (`'usd'`, `'USD'`). */
  readonly currency: string;
}

/** Prices by tier id; a tier without one is not for sale. */
export type TierPrices = Readonly<Record<string, TierPrice>>;

/** Dependencies and options of {@link Purchases}. */
export interface PurchasesDeps {
  /** Where purchases are stored (persistence/postgres `PgPurchaseStore`). */
  readonly store: PurchaseStore;
  readonly stripe: Stripe;
  readonly issuer: AssessmentIssuer;
  readonly publish: PublishFn;
  readonly prices: TierPrices;
  /** Where Stripe sends the buyer after paying; may contain `{CHECKOUT_SESSION_ID}`. */
  readonly successUrl: string;
  /** Where Stripe sends a buyer who backs out. */
  readonly cancelUrl: string;
  /** The webhook endpoint's signing secret, `whsec_…`. */
  readonly webhookSecret: string;
  /** Tiers for sale (each also needs a price). @default presetTiers() */
  readonly tiers?: readonly Tier[];
  /** Now, ms since the epoch; the webhook's receive time in the replay check. @default Date.now */
  readonly clock?: () => number;
  /** A new purchase id. @default () => `pur_<32 hex>` (random UUID) */
  readonly newId?: () => string;
  /** Oldest acceptable signature timestamp, seconds before {@link PurchasesDeps.clock}; must be > 0. @default 300 */
  readonly toleranceSeconds?: number;
}

/** A checkout request; `userId` and `email` come from the authenticated caller, not the body. */
export interface CheckoutRequest {
  readonly userId: string;
  readonly email: string;
  readonly tierId: string;
}

/** A started checkout: send the buyer to `checkoutUrl`. */
export interface CheckoutStarted {
  readonly purchaseId: string;
  readonly checkoutUrl: string;
  readonly sessionId: string;
}

/** What {@link Purchases.handleWebhook} did with an event. */
export type WebhookResult =
  | { readonly status: 'duplicate'; readonly eventId: string; readonly eventType: string }
  | { readonly status: 'ignored'; readonly eventId: string; readonly eventType: string; readonly reason: string }
  | WebhookApplied;

/** An event that changed a purchase. */
export interface WebhookApplied {
  readonly status: 'applied';
  readonly eventId: string;
  readonly eventType: string;
  readonly purchaseId: string;
  readonly purchaseStatus: 'paid' | 'failed' | 'refunded';
  /** The assessment a payment created; set when `purchaseStatus` is 'paid'. */
  readonly assessmentId?: string;
  /** Whether the engine confirmed that assessment; false leaves it to {@link Purchases.reissuePending}. */
  readonly issued?: boolean;
  /** Failures after commit (issue, publish). The event's effect is durable regardless. */
  readonly errors: readonly Error[];
}

/** What {@link Purchases.reissuePending} did. */
export interface ReissueResult {
  readonly issued: readonly string[];
  readonly failed: readonly { readonly assessmentId: string; readonly error: Error }[];
}

/** Options of {@link Purchases.reissuePending}. */
export interface ReissueOptions {
  /** Skip assessments younger than this, ms: their webhook may still be issuing them. @default 60000 */
  readonly minAgeMs?: number;
  /** Most assessments per call. @default 100 */
  readonly limit?: number;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Stripe Checkout purchases of assessment tiers. Stateless between calls; safe to run in several processes. */
export class Purchases {
  readonly #store: PurchaseStore;
  readonly #stripe: Stripe;
  readonly #issuer: AssessmentIssuer;
  readonly #publish: PublishFn;
  readonly #prices: TierPrices;
  readonly #tiers: ReadonlyMap<string, Tier>;
  readonly #successUrl: string;
  readonly #cancelUrl: string;
  readonly #secret: string;
  readonly #clock: () => number;
  readonly #newId: () => string;
  readonly #tolerance: number;

  /** @throws PaymentsConfigError for an unusable price, secret, tolerance or URL */
  constructor(deps: PurchasesDeps) {
    this.#store = deps.store;
    this.#stripe = deps.stripe;
    this.#issuer = deps.issuer;
    this.#publish = deps.publish;
    this.#tiers = new Map((deps.tiers ?? presetTiers()).map((t) => [t.id, t]));
    this.#clock = deps.clock ?? Date.now;
    this.#newId = deps.newId ?? (() => `pur_${randomUUID().replaceAll('-', '')}`);
    this.#tolerance = deps.toleranceSeconds ?? 300;
    // stripe v23: a tolerance of 0 turns the timestamp check off; never let config do that.
    if (!Number.isFinite(this.#tolerance) || this.#tolerance <= 0)
      throw new PaymentsConfigError(`toleranceSeconds must be > 0, got ${this.#tolerance}`);
    if (deps.webhookSecret.trim() === '') throw new PaymentsConfigError('webhookSecret is blank');
    this.#secret = deps.webhookSecret;
    for (const [name, url] of [
      ['successUrl', deps.successUrl],
      ['cancelUrl', deps.cancelUrl],
    ] as const) {
      if (!URL.canParse(url)) throw new PaymentsConfigError(`${name} is not an absolute URL: '${url}'`);
    }
    this.#successUrl = deps.successUrl;
    this.#cancelUrl = deps.cancelUrl;
    for (const [tierId, p] of Object.entries(deps.prices)) {
      if (!Number.isSafeInteger(p.amountCents) || p.amountCents <= 0)
        throw new PaymentsConfigError(`price of '${tierId}': amountCents must be a positive integer, got ${p.amountCents}`);
      if (!/^[a-z]{3}$/i.test(p.currency))
        throw new PaymentsConfigError(`price of '${tierId}': currency must be an ISO 4217 code, got '${p.currency}'`);
    }
    this.#prices = deps.prices;
  }

  /**
   * Record a pending purchase and open a Stripe Checkout Session for it.
   * @throws PurchaseRequestError, UnknownTierError, PriceNotConfiguredError, EmailInUseError,
   *   CheckoutProviderError (the purchase is then marked failed), PgUnavailableError
   */
  async startCheckout(req: CheckoutRequest): Promise<CheckoutStarted> {
    if (typeof req.userId !== 'string' || req.userId.trim() === '' || req.userId.length > 200)
      throw new PurchaseRequestError('userId', 'must be 1-200 characters');
    if (typeof req.email !== 'string' || !EMAIL.test(req.email) || req.email.length > 320)
      throw new PurchaseRequestError('email', 'must be an email address');
    const tier = this.#tiers.get(req.tierId);
    if (tier === undefined) throw new UnknownTierError(req.tierId);
    const price = Object.hasOwn(this.#prices, req.tierId) ? this.#prices[req.tierId] : undefined;
    if (price === undefined) throw new PriceNotConfiguredError(req.tierId);
    const purchaseId = this.#newId();

    const recorded = await this.#store.recordPending({
      purchaseId,
      userId: req.userId,
      email: req.email,
      tier,
      amountCents: price.amountCents,
      currency: price.currency.toUpperCase(),
    });
    if (recorded === 'email-in-use') throw new EmailInUseError(req.email);

    const metadata = { purchaseId, userId: req.userId, tierId: tier.id };
    let session: Stripe.Checkout.Session;
    try {
      session = await this.#stripe.checkout.sessions.create(
        {
          mode: 'payment',
          line_items: [
            {
              quantity: 1,
              price_data: { currency: price.currency.toLowerCase(), unit_amount: price.amountCents, product_data: { name: tier.name } },
            },
          ],
          success_url: this.#successUrl,
          cancel_url: this.#cancelUrl,
          client_reference_id: purchaseId,
          customer_email: req.email,
          metadata,
          // Copied onto the charge, so a refund can be matched even before the completion event.
          payment_intent_data: { metadata },
        },
        { idempotencyKey: purchaseId },
      );
      if (session.url === null) throw new Error(`session ${session.id} has no url (ui_mode ${String(session.ui_mode)})`);
    } catch (err) {
      // No session reached the buyer; a late completion would still win (see webhook-effects markPaid).
      await this.#store.markCheckoutFailed(purchaseId);
      throw new CheckoutProviderError(purchaseId, err instanceof Error ? err.message : String(err), { cause: err });
    }
    await this.#store.attachCheckoutSession(purchaseId, session.id);
    return { purchaseId, checkoutUrl: session.url, sessionId: session.id };
  }

  /**
   * Verify and apply one Stripe webhook delivery.
   * @param rawBody the request body exactly as received (not re-serialised JSON)
   * @param signatureHeader the `Stripe-Signature` header
   * @throws WebhookSignatureError, WebhookPayloadError (both before any effect), PgUnavailableError
   */
  async handleWebhook(rawBody: Buffer | string, signatureHeader: string | undefined): Promise<WebhookResult> {
    const event = this.#verify(rawBody, signatureHeader);
    const { id: eventId, type: eventType } = event;
    const outcome = await this.#store.oncePerEvent(eventId, eventType, (ledger) => applyEvent(ledger, event));
    if (outcome === 'duplicate') return { status: 'duplicate', eventId, eventType };
    return this.#afterCommit(eventId, eventType, outcome);
  }

  /**
   * Issue every paid purchase's assessment the engine has not confirmed
   * (`issued_at` is null), and publish `assessment.created` for each. Run it at
   * start-up and periodically; issuing is idempotent, so an overlap with a
   * webhook still issuing is harmless (at worst a second `assessment.created`).
   */
  async reissuePending(options: ReissueOptions = {}): Promise<ReissueResult> {
    const minAgeSeconds = (options.minAgeMs ?? 60_000) / 1000;
    const rows = await this.#store.unissuedAssessments(minAgeSeconds, options.limit ?? 100);
    const issued: string[] = [];
    const failed: { assessmentId: string; error: Error }[] = [];
    for (const r of rows) {
      const error = await this.#issue(r);
      if (error === undefined) issued.push(r.id);
      else failed.push({ assessmentId: r.id, error });
    }
    return { issued, failed };
  }

  #verify(rawBody: Buffer | string, header: string | undefined): Stripe.Event {
    if (header === undefined || header.trim() === '') throw new WebhookSignatureError('missing-header', 'no Stripe-Signature header');
    try {
      return this.#stripe.webhooks.constructEvent(rawBody, header, this.#secret, this.#tolerance, undefined, this.#clock());
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof this.#stripe.errors.StripeSignatureVerificationError)
        throw new WebhookSignatureError(signatureReason(message), message.split('\n')[0]!, { cause: err });
      // Past the signature check: valid signature, unreadable body (not JSON, or a v2 thin event).
      throw new WebhookPayloadError(message, { cause: err });
    }
  }

  async #afterCommit(eventId: string, eventType: string, effect: Effect): Promise<WebhookResult> {
    if (effect.kind === 'ignored') return { status: 'ignored', eventId, eventType, reason: effect.reason };
    const p = effect.purchase;
    const errors: Error[] = [];
    const publish = async (subject: PaymentSubject, payload: object) => {
      try {
        await this.#publish(subject, payload);
      } catch (err) {
        errors.push(asError(err));
      }
    };
    const base = { status: 'applied', eventId, eventType, purchaseId: p.id } as const;
    switch (effect.kind) {
      case 'paid': {
        await publish('payment.purchase-completed', {
          purchaseId: p.id,
          userId: p.userId,
          tierId: p.tierId,
          tierVersion: p.tierVersion,
          amountCents: p.amountCents,
          currency: p.currency,
          paymentIntent: p.paymentIntent,
          eventId,
        });
        const error = await this.#issue(effect.assessment);
        if (error !== undefined) errors.push(error);
        return { ...base, purchaseStatus: 'paid', assessmentId: effect.assessment.id, issued: error === undefined, errors };
      }
      case 'failed':
        await publish('payment.purchase-failed', { purchaseId: p.id, userId: p.userId, tierId: p.tierId, reason: effect.reason, eventId });
        return { ...base, purchaseStatus: 'failed', errors };
      case 'refunded':
        // No subject for refunds yet; the engine is not told to end the assessment.
        return { ...base, purchaseStatus: 'refunded', errors };
    }
  }

  /** Issue, publish, then mark issued: a failure anywhere leaves issued_at null for the next reissue. */
  async #issue(a: AssessmentRow): Promise<Error | undefined> {
    try {
      await this.#issuer.issue({ assessmentId: a.id, traderId: a.traderId, tierId: a.tierId, purchaseId: a.purchaseId });
      await this.#publish('assessment.created', {
        assessmentId: a.id,
        traderId: a.traderId,
        tierId: a.tierId,
        tierVersion: a.tierVersion,
        purchaseId: a.purchaseId,
        phase: a.phase,
      });
      await this.#store.markIssued(a.id);
      return undefined;
    } catch (err) {
      return asError(err);
    }
  }
}

function signatureReason(message: string): WebhookSignatureReason {
  if (message.startsWith('Timestamp outside the tolerance zone')) return 'timestamp-outside-tolerance';
  if (message.startsWith('No signatures found matching')) return 'signature-mismatch';
  if (message.startsWith('Unable to extract timestamp') || message.startsWith('No signatures found with expected scheme'))
    return 'malformed-header';
  if (message.startsWith('No stripe-signature header')) return 'missing-header';
  if (message.startsWith('No webhook payload')) return 'empty-body';
  return 'invalid';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
