/**
 * A `stripe` client whose API base URL is configurable, so local runs and
 * tests can point it at the fake in `stripe-fake.ts`.
 */
import Stripe from 'stripe';

/** Options of {@link createStripe}. */
export interface CreateStripeOptions {
  /**
   * Automatic retries of failed requests (each retry reuses the request's idempotency key).
   * @default 2 (stripe-node's default)
   */
  readonly maxNetworkRetries?: number;
  /** Request timeout, ms. @default 80000 (stripe-node's default) */
  readonly timeoutMs?: number;
}

/**
 * A Stripe client for `apiKey`. With a base URL (`baseUrl`, else the
 * STRIPE_API_BASE environment variable, read at call time) every request goes
 * to that host, port and protocol instead of https://api.stripe.com.
 *
 * @param baseUrl e.g. `http://127.0.0.1:12111`. @default process.env.STRIPE_API_BASE, else Stripe's API
 * @example
 * const fake = await startStripeFake();
 * const stripe = createStripe('sk_test_123', fake.url, { maxNetworkRetries: 0 });
 */
export function createStripe(apiKey: string, baseUrl?: string, options: CreateStripeOptions = {}): Stripe {
  const base = baseUrl ?? process.env['STRIPE_API_BASE'];
  const config: ConstructorParameters<typeof Stripe>[1] = {};
  if (options.maxNetworkRetries !== undefined) config.maxNetworkRetries = options.maxNetworkRetries;
  if (options.timeoutMs !== undefined) config.timeout = options.timeoutMs;
  if (base !== undefined && base !== '') {
    const url = new URL(base);
    const protocol = url.protocol.replace(/:$/, '');
    if (protocol !== 'http' && protocol !== 'https') throw new TypeError(`Stripe API base must be http(s): ${base}`);
    config.protocol = protocol;
    // URL keeps IPv6 brackets in hostname; http.request wants the bare address.
    config.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    config.port = url.port !== '' ? Number(url.port) : protocol === 'http' ? 80 : 443;
  }
  return new Stripe(apiKey, config);
}
