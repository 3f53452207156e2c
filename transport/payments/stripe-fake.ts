/**
 * A local stand-in for the Stripe API over node:http, for tests and local
 * runs without network access. It implements what the purchase flow calls
 * (`POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/:id`), checks the
 * request the way Stripe does (test secret key, form-encoded parameters,
 * required fields, idempotency keys), and records every request.
 *
 * Point a client at it with {@link createStripe}; sign webhook bodies for the
 * handler under test with {@link signedWebhook}.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';

export { createStripe, type CreateStripeOptions } from './stripe-client.js';

/** One request the fake received, refused ones included. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The form body decoded to flat bracketed keys, e.g. `line_items[0][price_data][currency]`. */
  readonly form: Readonly<Record<string, string>>;
}

/** A session as the fake stores and returns it (a subset of Stripe's Checkout Session). */
export type FakeSession = Record<string, unknown> & {
  id: string;
  url: string;
  client_reference_id: string | null;
  metadata: Record<string, string>;
};

/** A running fake. */
export interface StripeFake {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Sessions created, by id. */
  readonly sessions: ReadonlyMap<string, FakeSession>;
  /** Answer the next `count` API requests with `status` and a Stripe `api_error`. */
  failNext(count: number, status?: number): void;
  /** The session as Stripe shows it once paid: `complete`, `paid`, with a payment intent. */
  completeSession(id: string, paymentStatus?: 'paid' | 'unpaid'): FakeSession;
  /** The session as Stripe shows it once expired. */
  expireSession(id: string): FakeSession;
  stop(): Promise<void>;
}

/** Options of {@link startStripeFake}. */
export interface StripeFakeOptions {
  /** Port to listen on. @default 0 (any free port) */
  readonly port?: number;
}

/** Top-level parameters Checkout Session create accepts (API 2026-10-28); any other is refused as Stripe does. */
const SESSION_PARAMS = new Set([
  'adaptive_pricing',
  'after_expiration',
  'allow_promotion_codes',
  'allowed_payment_method_types',
  'automatic_tax',
  'billing_address_collection',
  'branding_settings',
  'cancel_url',
  'client_reference_id',
  'consent_collection',
  'currency',
  'custom_fields',
  'custom_text',
  'customer',
  'customer_account',
  'customer_creation',
  'customer_email',
  'customer_update',
  'discounts',
  'excluded_payment_method_types',
  'expand',
  'expires_at',
  'integration_identifier',
  'invoice_creation',
  'line_items',
  'locale',
  'managed_payments',
  'metadata',
  'mode',
  'name_collection',
  'optional_items',
  'origin_context',
  'payment_intent_data',
  'payment_method_collection',
  'payment_method_configuration',
  'payment_method_data',
  'payment_method_options',
  'permissions',
  'phone_number_collection',
  'redirect_on_completion',
  'return_url',
  'saved_payment_method_options',
  'setup_intent_data',
  'shipping_address_collection',
  'shipping_options',
  'submit_type',
  'subscription_data',
  'success_url',
  'tax_id_collection',
  'ui_mode',
  'wallet_options',
]);

class ApiError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body['message']));
    this.status = status;
    this.body = body;
  }
}

const invalid = (message: string, param?: string, code?: string) =>
  new ApiError(400, { type: 'invalid_request_error', message, ...(param && { param }), ...(code && { code }) });

/** Start the fake on 127.0.0.1. */
export async function startStripeFake(options: StripeFakeOptions = {}): Promise<StripeFake> {
  const requests: RecordedRequest[] = [];
  const sessions = new Map<string, FakeSession>();
  const byIdempotencyKey = new Map<string, { body: string; session: FakeSession }>();
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let base = '';

  const createSession = (req: RecordedRequest): { session: FakeSession; replayed: boolean } => {
    const key = req.headers['idempotency-key'];
    if (key === undefined || key === '')
      throw invalid('The fake requires an Idempotency-Key header on POST.', undefined, 'idempotency_key_missing');
    if (key.length > 255) throw invalid('Idempotency keys may be at most 255 characters.');
    const prior = byIdempotencyKey.get(key);
    if (prior !== undefined) {
      if (prior.body !== req.body) {
        throw new ApiError(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      return { session: prior.session, replayed: true };
    }
    const session = validateSession(req.form, base);
    sessions.set(session.id, session);
    byIdempotencyKey.set(key, { body: req.body, session });
    return { session, replayed: false };
  };

  const handle = (req: RecordedRequest, res: ServerResponse) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': `req_${randomBytes(7).toString('hex')}`,
        ...(req.headers['stripe-version'] && { 'stripe-version': req.headers['stripe-version'] }),
        ...(req.headers['idempotency-key'] && { 'idempotency-key': req.headers['idempotency-key'] }),
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    try {
      const auth = /^Bearer (sk_test_\w+)$/.exec(req.headers['authorization'] ?? '');
      if (auth === null)
        throw new ApiError(401, {
          type: 'invalid_request_error',
          message: 'Invalid API Key provided; the fake accepts only secret test keys (Bearer sk_test_…).',
        });
      if (failures.count > 0) {
        failures.count -= 1;
        throw new ApiError(failures.status, { type: 'api_error', message: 'Simulated failure (failNext).' });
      }
      const sessionPath = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(req.path);
      if (req.method === 'POST' && req.path === '/v1/checkout/sessions') {
        if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
          throw invalid('Request body must be application/x-www-form-urlencoded.');
        const { session, replayed } = createSession(req);
        send(200, session, replayed ? { 'idempotent-replayed': 'true' } : {});
      } else if (req.method === 'GET' && sessionPath !== null) {
        const session = sessions.get(decodeURIComponent(sessionPath[1]!));
        if (session === undefined)
          throw new ApiError(404, {
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'session',
            message: `No such checkout.session: '${sessionPath[1]}'`,
          });
        send(200, session);
      } else {
        throw new ApiError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.path}).` });
      }
    } catch (err) {
      if (err instanceof ApiError) send(err.status, { error: err.body }, { 'stripe-should-retry': err.status >= 500 ? 'true' : 'false' });
      else send(500, { error: { type: 'api_error', message: String(err) } });
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const url = new URL(req.url ?? '/', base);
      const form = Object.fromEntries(new URLSearchParams(req.method === 'GET' ? url.search : body));
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, headers, body, form };
      requests.push(recorded);
      handle(recorded, res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  const update = (id: string, patch: Record<string, unknown>): FakeSession => {
    const session = sessions.get(id);
    if (session === undefined) throw new Error(`stripe fake: no session ${id}`);
    Object.assign(session, patch);
    return structuredClone(session);
  };

  return {
    url: base,
    host: '127.0.0.1',
    port,
    requests,
    sessions,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    completeSession(id, paymentStatus = 'paid') {
      return update(id, {
        status: 'complete',
        payment_status: paymentStatus,
        payment_intent: `pi_test_${randomBytes(12).toString('hex')}`,
      });
    },
    expireSession(id) {
      return update(id, { status: 'expired', url: null });
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // stripe-node keeps connections alive
      }),
  };
}

/** Check a Checkout Session create the way Stripe does and build the session it would return. */
function validateSession(form: Readonly<Record<string, string>>, base: string): FakeSession {
  for (const key of Object.keys(form)) {
    const top = key.split('[', 1)[0]!;
    if (!SESSION_PARAMS.has(top)) throw invalid(`Received unknown parameter: ${top}`, top, 'parameter_unknown');
  }
  const required = (param: string): string => {
    const v = form[param];
    if (v === undefined || v === '') throw invalid(`Missing required param: ${param}.`, param, 'parameter_missing');
    return v;
  };
  const positiveInt = (param: string, allowZero = false): number => {
    const raw = required(param);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || (!allowZero && n === 0))
      throw invalid(`Invalid integer: ${raw}`, param, 'parameter_invalid_integer');
    return n;
  };
  const mode = required('mode');
  if (mode !== 'payment') throw invalid(`The fake implements mode 'payment' only, not '${mode}'.`, 'mode');
  const successUrl = required('success_url');
  if (!URL.canParse(successUrl)) throw invalid('Not a valid URL', 'success_url', 'url_invalid');
  const cancelUrl = form['cancel_url'];
  if (cancelUrl !== undefined && !URL.canParse(cancelUrl)) throw invalid('Not a valid URL', 'cancel_url', 'url_invalid');
  const ref = form['client_reference_id'];
  if (ref !== undefined && (ref.length === 0 || ref.length > 200))
    throw invalid('client_reference_id must be 1-200 characters.', 'client_reference_id');
  const email = form['customer_email'];
  if (email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    throw invalid(`Invalid email address: ${email}`, 'customer_email', 'email_invalid');

  required('line_items[0][quantity]');
  let amountTotal = 0;
  let currency: string | undefined;
  for (let i = 0; form[`line_items[${i}][quantity]`] !== undefined || form[`line_items[${i}][price_data][currency]`] !== undefined; i++) {
    const p = `line_items[${i}]`;
    const quantity = positiveInt(`${p}[quantity]`);
    if (form[`${p}[price]`] !== undefined) throw invalid('The fake supports price_data line items only.', `${p}[price]`);
    const cur = required(`${p}[price_data][currency]`);
    if (!/^[a-z]{3}$/.test(cur))
      throw invalid(
        `Invalid currency: ${cur}. Stripe currencies are three-letter ISO codes in lowercase.`,
        `${p}[price_data][currency]`,
        'parameter_invalid',
      );
    if (currency !== undefined && cur !== currency) throw invalid('All line items must share one currency.', `${p}[price_data][currency]`);
    currency = cur;
    const unitAmount = positiveInt(`${p}[price_data][unit_amount]`, true);
    if (form[`${p}[price_data][product]`] === undefined) required(`${p}[price_data][product_data][name]`);
    amountTotal += unitAmount * quantity;
  }

  const metadata = bracketed(form, 'metadata');
  const keys = Object.keys(metadata);
  if (keys.length > 50 || keys.some((k) => k.length > 40) || Object.values(metadata).some((v) => v.length > 500)) {
    throw invalid('Metadata allows up to 50 keys of at most 40 characters, with values of at most 500 characters.', 'metadata');
  }
  const id = `cs_test_${randomBytes(24).toString('base64url')}`;
  const created = Math.floor(Date.now() / 1000);
  return {
    id,
    object: 'checkout.session',
    livemode: false,
    created,
    expires_at: created + 24 * 3600,
    mode,
    status: 'open',
    payment_status: 'unpaid',
    ui_mode: 'hosted_page',
    amount_subtotal: amountTotal,
    amount_total: amountTotal,
    currency: currency ?? null,
    client_reference_id: ref ?? null,
    customer_email: email ?? null,
    metadata,
    payment_intent: null,
    success_url: successUrl,
    cancel_url: cancelUrl ?? null,
    url: `${base}/c/pay/${id}`,
  };
}

/** `metadata[key]=value` pairs of a form as `{ key: value }`. */
function bracketed(form: Readonly<Record<string, string>>, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) {
    const m = new RegExp(`^${name}\\[([^\\]]+)\\]$`).exec(k);
    if (m !== null) out[m[1]!] = v;
  }
  return out;
}

/** Options of {@link signedWebhook}. */
export interface SignedWebhookOptions {
  /** Event id. @default `evt_test_<random>` */
  readonly id?: string;
  /** Signature timestamp, seconds since the epoch. @default now */
  readonly timestamp?: number;
}

/** A webhook delivery as Stripe would send it: the JSON body of a snapshot event and its `Stripe-Signature` header. */
export function signedWebhook(
  stripe: Stripe,
  secret: string,
  type: string,
  object: object,
  options: SignedWebhookOptions = {},
): { readonly body: string; readonly header: string; readonly eventId: string } {
  const eventId = options.id ?? `evt_test_${randomBytes(12).toString('hex')}`;
  const body = JSON.stringify(
    {
      id: eventId,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    },
    null,
    2,
  );
  const header = stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    ...(options.timestamp !== undefined && { timestamp: options.timestamp }),
  });
  return { body, header, eventId };
}
