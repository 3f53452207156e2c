/** Errors raised by the purchase flow. Each carries a stable `code` the HTTP layer can map to a status. */

/** The checkout request itself is malformed (empty user id, bad email). */
export class PurchaseRequestError extends Error {
  readonly code = 'INVALID_PURCHASE_REQUEST';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`invalid purchase request: ${field}: ${message}`);
    this.name = 'PurchaseRequestError';
    this.field = field;
  }
}

/** The requested tier id names no tier this service sells. */
export class UnknownTierError extends Error {
  readonly code = 'UNKNOWN_TIER';
  readonly tierId: string;
  constructor(tierId: string) {
    super(`unknown tier '${tierId}'`);
    this.name = 'UnknownTierError';
    this.tierId = tierId;
  }
}

/** The tier exists but has no price configured, so it is not for sale. */
export class PriceNotConfiguredError extends Error {
  readonly code = 'PRICE_NOT_CONFIGURED';
  readonly tierId: string;
  constructor(tierId: string) {
    super(`tier '${tierId}' has no price configured`);
    this.name = 'PriceNotConfiguredError';
    this.tierId = tierId;
  }
}

/** The {@link Purchases} configuration is unusable (bad price, blank webhook secret, tolerance ≤ 0). */
export class PaymentsConfigError extends Error {
  readonly code = 'PAYMENTS_CONFIG_INVALID';
  constructor(message: string) {
    super(`payments configuration: ${message}`);
    this.name = 'PaymentsConfigError';
  }
}

/** Another user already holds this email address (users.email is unique). */
export class EmailInUseError extends Error {
  readonly code = 'EMAIL_IN_USE';
  constructor(email: string, options?: ErrorOptions) {
    super(`email '${email}' belongs to another user`, options);
    this.name = 'EmailInUseError';
  }
}

/** Stripe refused or failed to create the Checkout Session; `cause` holds the Stripe error. */
export class CheckoutProviderError extends Error {
  readonly code = 'CHECKOUT_PROVIDER_FAILED';
  readonly purchaseId: string;
  constructor(purchaseId: string, message: string, options?: ErrorOptions) {
    super(`checkout for purchase ${purchaseId} failed at the provider: ${message}`, options);
    this.name = 'CheckoutProviderError';
    this.purchaseId = purchaseId;
  }
}

/** Why a webhook signature was refused. */
export type WebhookSignatureReason =
  | 'missing-header'
  | 'malformed-header'
  | 'signature-mismatch'
  | 'timestamp-outside-tolerance'
  | 'empty-body'
  | 'invalid';

/** The webhook's `Stripe-Signature` does not prove it came from Stripe recently; nothing was done. */
export class WebhookSignatureError extends Error {
  readonly code = 'WEBHOOK_SIGNATURE_INVALID';
  readonly reason: WebhookSignatureReason;
  constructor(reason: WebhookSignatureReason, detail: string, options?: ErrorOptions) {
    super(`webhook signature refused (${reason}): ${detail}`, options);
    this.name = 'WebhookSignatureError';
    this.reason = reason;
  }
}

/** The signature was valid but the body is not a snapshot event this handler can read; nothing was done. */
export class WebhookPayloadError extends Error {
  readonly code = 'WEBHOOK_PAYLOAD_INVALID';
  constructor(message: string, options?: ErrorOptions) {
    super(`webhook payload refused: ${message}`, options);
    this.name = 'WebhookPayloadError';
  }
}
