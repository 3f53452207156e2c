/**
 * The purchase flow's port to storage: what {@link Purchases} and the webhook
 * effects ask of the purchase tables, without SQL. persistence/postgres
 * implements it (`PgPurchaseStore`) over the tables of migration 0003.
 */
import type { Tier } from '../../actors/index.js';

/** Status of a stored purchase. */
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

/** A purchase about to open a checkout, with its buyer and the tier version it is priced at. */
export interface PendingPurchase {
  readonly purchaseId: string;
  readonly userId: string;
  readonly email: string;
  /** Stored once per (id, version): tier versions are immutable. */
  readonly tier: Tier;
  /** Smallest currency unit (cents). */
  readonly amountCents: number;
  /** ISO 4217, upper case. */
  readonly currency: string;
}

/** The purchase tables inside one webhook's transaction; reads lock the row they return. */
export interface PurchaseLedger {
  /** The purchase, locked for this transaction; undefined when there is none. */
  lockPurchase(purchaseId: string): Promise<PurchaseRow | undefined>;
  /** The purchase paid with this payment intent, locked; undefined when there is none. */
  lockPurchaseByPaymentIntent(paymentIntent: string): Promise<PurchaseRow | undefined>;
  /** Mark the purchase paid with this payment intent and checkout session. */
  setPaid(purchaseId: string, paymentIntent: string | null, sessionId: string): Promise<PurchaseRow>;
  /** Set the purchase's status to failed or refunded. */
  setStatus(purchaseId: string, status: 'failed' | 'refunded'): Promise<PurchaseRow>;
  /**
   * Create the purchase's assessment at the first phase of the stored tier
   * version it was priced at, unless it exists; returns the stored phase.
   */
  createAssessment(a: {
    readonly id: string;
    readonly traderId: string;
    readonly tierId: string;
    readonly tierVersion: number;
    readonly purchaseId: string;
  }): Promise<string>;
}

/** Storage of purchases. Every method may throw the store's unavailable error (persistence/postgres `PgUnavailableError`). */
export interface PurchaseStore {
  /** Store the buyer, the tier version and a pending purchase in one transaction; `'email-in-use'` when another user holds the email. */
  recordPending(p: PendingPurchase): Promise<'recorded' | 'email-in-use'>;
  /** Mark a still-pending purchase failed (no checkout reached the buyer). */
  markCheckoutFailed(purchaseId: string): Promise<void>;
  /** Remember the checkout session opened for the purchase. */
  attachCheckoutSession(purchaseId: string, sessionId: string): Promise<void>;
  /**
   * Record the event id and run `apply` in the same transaction, once per id:
   * `'duplicate'` (and `apply` not run) when the id was recorded before.
   * A concurrent delivery of the same id waits for the first to commit.
   */
  oncePerEvent<T>(eventId: string, eventType: string, apply: (ledger: PurchaseLedger) => Promise<T>): Promise<T | 'duplicate'>;
  /** Paid purchases' assessments the engine has not confirmed, oldest first, at least `minAgeSeconds` old. */
  unissuedAssessments(minAgeSeconds: number, limit: number): Promise<readonly AssessmentRow[]>;
  /** Note that the engine confirmed the assessment. */
  markIssued(assessmentId: string): Promise<void>;
}
