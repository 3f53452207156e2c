/**
 * transport/payments: buying assessments with Stripe Checkout, framework
 * agnostic (the HTTP layer passes request fields, raw webhook bodies and
 * headers), plus a local Stripe fake for tests and offline runs. Storage is
 * the {@link PurchaseStore} port (persistence/postgres `PgPurchaseStore`).
 */
export {
  Purchases,
  type AssessmentIssuer,
  type CheckoutRequest,
  type CheckoutStarted,
  type PaymentSubject,
  type PublishFn,
  type PurchasesDeps,
  type ReissueOptions,
  type ReissueResult,
  type TierPrice,
  type TierPrices,
  type WebhookApplied,
  type WebhookResult,
} from './purchases.js';
export { assessmentIdFor } from './webhook-effects.js';
export type {
  AssessmentRow,
  PendingPurchase,
  PurchaseLedger,
  PurchaseRow,
  PurchaseStatus,
  PurchaseStore,
} from './purchase-store.js';
export * from './errors.js';
export { createStripe, type CreateStripeOptions } from './stripe-client.js';
export {
  signedWebhook,
  startStripeFake,
  type FakeSession,
  type RecordedRequest,
  type SignedWebhookOptions,
  type StripeFake,
  type StripeFakeOptions,
} from './stripe-fake.js';
