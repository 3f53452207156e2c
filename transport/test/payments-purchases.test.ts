import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type Stripe from 'stripe';
import { PgPurchaseStore } from '../../persistence/index.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import {
  assessmentIdFor,
  CheckoutProviderError,
  createStripe,
  PaymentsConfigError,
  PriceNotConfiguredError,
  Purchases,
  signedWebhook,
  startStripeFake,
  UnknownTierError,
  WebhookSignatureError,
  type AssessmentIssuer,
  type PaymentSubject,
  type PurchasesDeps,
  type StripeFake,
} from '../payments/index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);
const SECRET = 'whsec_test_payments';
const PRICES = { 'two-step-100k': { amountCents: 54_900, currency: 'usd' }, 'one-step-50k': { amountCents: 29_900, currency: 'USD' } };

/** An issuer that records calls and fails while `failing` is set. */
class RecordingIssuer implements AssessmentIssuer {
  readonly calls: Parameters<AssessmentIssuer['issue']>[0][] = [];
  failing = false;
  async issue(a: Parameters<AssessmentIssuer['issue']>[0]): Promise<void> {
    this.calls.push(a);
    if (this.failing) throw new Error('engine unavailable');
  }
}

describe('stripe checkout purchases', { skip }, () => {
  let db: TestDatabase;
  let fake: StripeFake;
  let stripe: Stripe;
  let users = 0;

  before(async () => {
    db = await createTestDatabase({ max: 8 });
    fake = await startStripeFake();
    stripe = createStripe('sk_test_purchases', fake.url, { maxNetworkRetries: 0 });
  });
  after(async () => {
    await fake?.stop();
    await db?.drop();
  });

  const setup = (overrides: Partial<PurchasesDeps> = {}) => {
    const issuer = new RecordingIssuer();
    const published: { subject: PaymentSubject; payload: Record<string, unknown> }[] = [];
    const purchases = new Purchases({
      store: new PgPurchaseStore(db.sql),
      stripe,
      issuer,
      prices: PRICES,
      webhookSecret: SECRET,
      successUrl: 'https://app.example/checkout/done?session={CHECKOUT_SESSION_ID}',
      cancelUrl: 'https://app.example/tiers',
      publish: async (subject, payload) => void published.push({ subject, payload: payload as Record<string, unknown> }),
      ...overrides,
    });
    const checkout = async (tierId = 'two-step-100k') => {
      users += 1;
      return purchases.startCheckout({ userId: `user-${users}`, email: `trader${users}@example.com`, tierId });
    };
    const deliver = (type: string, object: object, options: { id?: string; timestamp?: number } = {}) => {
      const w = signedWebhook(stripe, SECRET, type, object, options);
      return { ...w, send: () => purchases.handleWebhook(Buffer.from(w.body), w.header) };
    };
    return { purchases, issuer, published, checkout, deliver };
  };

  const counts = async () => {
    const [c] = await db.sql<{ purchases: number; assessments: number; webhooks: number; paid: number }[]>`
      select (select count(*)::int from purchases) as purchases, (select count(*)::int from assessments) as assessments,
             (select count(*)::int from processed_webhooks) as webhooks,
             (select count(*)::int from purchases where status <> 'pending') as paid`;
    return c!;
  };
  const purchase = async (id: string) => {
    const [p] = await db.sql<
      { status: string; external_ref: string | null; payment_intent: string | null; amount_cents: string; currency: string }[]
    >`
      select status, external_ref, payment_intent, amount_cents, currency from purchases where id = ${id}`;
    return p!;
  };

  test('starting a checkout records a pending purchase and sends Stripe the price, the purchase id and it as idempotency key', async () => {
    const { checkout } = setup();
    const before = fake.requests.length;
    const started = await checkout();
    assert.match(started.sessionId, /^cs_test_/);
    assert.equal(started.checkoutUrl, `${fake.url}/c/pay/${started.sessionId}`);
    const sent = fake.requests.slice(before);
    assert.equal(sent.length, 1);
    const r = sent[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/v1/checkout/sessions');
    assert.equal(r.headers['authorization'], 'Bearer sk_test_purchases');
    assert.equal(r.headers['idempotency-key'], started.purchaseId);
    assert.deepEqual(
      {
        mode: r.form['mode'],
        currency: r.form['line_items[0][price_data][currency]'],
        amount: r.form['line_items[0][price_data][unit_amount]'],
        name: r.form['line_items[0][price_data][product_data][name]'],
        quantity: r.form['line_items[0][quantity]'],
        ref: r.form['client_reference_id'],
        purchaseId: r.form['metadata[purchaseId]'],
        tierId: r.form['metadata[tierId]'],
        userId: r.form['metadata[userId]'],
        piPurchaseId: r.form['payment_intent_data[metadata][purchaseId]'],
        success: r.form['success_url'],
        cancel: r.form['cancel_url'],
      },
      {
        mode: 'payment',
        currency: 'usd',
        amount: '54900',
        name: 'Two-Step 100K',
        quantity: '1',
        ref: started.purchaseId,
        purchaseId: started.purchaseId,
        tierId: 'two-step-100k',
        userId: `user-${users}`,
        piPurchaseId: started.purchaseId,
        success: 'https://app.example/checkout/done?session={CHECKOUT_SESSION_ID}',
        cancel: 'https://app.example/tiers',
      },
    );
    const p = await purchase(started.purchaseId);
    assert.deepEqual(
      { ...p },
      { status: 'pending', external_ref: started.sessionId, payment_intent: null, amount_cents: '54900', currency: 'USD' },
    );
    const [tier] = await db.sql<
      { name: string }[]
    >`select definition ->> 'name' as name from tiers where id = 'two-step-100k' and version = 1`;
    assert.equal(tier?.name, 'Two-Step 100K');
  });

  test('an unknown tier or a tier without a price is refused before anything is written or sent', async () => {
    const { purchases } = setup();
    const rows = await counts();
    const sent = fake.requests.length;
    await assert.rejects(
      purchases.startCheckout({ userId: 'u-x', email: 'x@example.com', tierId: 'no-such-tier' }),
      (e: unknown) => e instanceof UnknownTierError && e.code === 'UNKNOWN_TIER',
    );
    await assert.rejects(
      purchases.startCheckout({ userId: 'u-x', email: 'x@example.com', tierId: 'prediction-10k' }),
      (e: unknown) => e instanceof PriceNotConfiguredError && e.code === 'PRICE_NOT_CONFIGURED',
    );
    assert.deepEqual(await counts(), rows);
    assert.equal(fake.requests.length, sent);
  });

  test('a configuration that would disable the replay check is refused', () => {
    assert.throws(
      () => setup({ toleranceSeconds: 0 }),
      (e: unknown) => e instanceof PaymentsConfigError && e.code === 'PAYMENTS_CONFIG_INVALID',
    );
    assert.throws(() => setup({ webhookSecret: '  ' }), PaymentsConfigError);
    assert.throws(() => setup({ prices: { 'two-step-100k': { amountCents: 10.5, currency: 'usd' } } }), PaymentsConfigError);
  });

  test('a Stripe failure during checkout marks the purchase failed and throws CheckoutProviderError', async () => {
    const { checkout } = setup();
    fake.failNext(1, 500);
    const err = await checkout().then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CheckoutProviderError);
    assert.equal(err.code, 'CHECKOUT_PROVIDER_FAILED');
    assert.equal((await purchase(err.purchaseId)).status, 'failed');
  });

  test('a completed checkout marks the purchase paid, creates the assessment, issues it once and publishes the events', async () => {
    const { checkout, deliver, issuer, published } = setup();
    const started = await checkout();
    const session = fake.completeSession(started.sessionId);
    const result = await deliver('checkout.session.completed', session).send();
    const assessmentId = assessmentIdFor(started.purchaseId);
    assert.deepEqual(result, {
      status: 'applied',
      eventId: result.eventId,
      eventType: 'checkout.session.completed',
      purchaseId: started.purchaseId,
      purchaseStatus: 'paid',
      assessmentId,
      issued: true,
      errors: [],
    });
    const p = await purchase(started.purchaseId);
    assert.equal(p.status, 'paid');
    assert.equal(p.payment_intent, session['payment_intent']);
    const [a] =
      await db.sql`select trader_id, tier_id, tier_version, purchase_id, status, phase, issued_at is not null as issued from assessments where id = ${assessmentId}`;
    assert.deepEqual(
      { ...a },
      {
        trader_id: `user-${users}`,
        tier_id: 'two-step-100k',
        tier_version: 1,
        purchase_id: started.purchaseId,
        status: 'created',
        phase: 'challenge',
        issued: true,
      },
    );
    assert.deepEqual(issuer.calls, [{ assessmentId, traderId: `user-${users}`, tierId: 'two-step-100k', purchaseId: started.purchaseId }]);
    assert.deepEqual(
      published.map((e) => e.subject),
      ['payment.purchase-completed', 'assessment.created'],
    );
    assert.equal(published[0]!.payload['amountCents'], 54_900);
    assert.equal(published[1]!.payload['assessmentId'], assessmentId);
  });

  test('the same event delivered twice has no second effect', async () => {
    const { checkout, deliver, issuer, published } = setup();
    const started = await checkout();
    const delivery = deliver('checkout.session.completed', fake.completeSession(started.sessionId));
    assert.equal((await delivery.send()).status, 'applied');
    const rows = await counts();
    assert.deepEqual(await delivery.send(), { status: 'duplicate', eventId: delivery.eventId, eventType: 'checkout.session.completed' });
    assert.deepEqual(await counts(), rows);
    assert.equal(issuer.calls.length, 1);
    assert.equal(published.length, 2);
  });

  test('five concurrent deliveries of one event apply it once', async () => {
    const { checkout, deliver, issuer, published } = setup();
    const started = await checkout();
    const delivery = deliver('checkout.session.completed', fake.completeSession(started.sessionId));
    const results = await Promise.all(Array.from({ length: 5 }, () => delivery.send()));
    assert.deepEqual(results.map((r) => r.status).sort(), ['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    assert.equal(issuer.calls.length, 1);
    assert.equal(published.length, 2);
    const [n] = await db.sql<{ n: number }[]>`select count(*)::int as n from assessments where purchase_id = ${started.purchaseId}`;
    assert.equal(n!.n, 1);
  });

  describe('a delivery that fails verification is refused with WebhookSignatureError and changes nothing', () => {
    const refused = async (send: (p: Purchases, body: string, header: string) => Promise<unknown>, reason: string) => {
      const { purchases, checkout, deliver, issuer, published } = setup();
      const started = await checkout();
      const w = deliver('checkout.session.completed', fake.completeSession(started.sessionId));
      const rows = await counts();
      await assert.rejects(
        send(purchases, w.body, w.header),
        (e: unknown) => e instanceof WebhookSignatureError && e.code === 'WEBHOOK_SIGNATURE_INVALID' && e.reason === reason,
      );
      assert.deepEqual(await counts(), rows);
      assert.equal((await purchase(started.purchaseId)).status, 'pending');
      assert.deepEqual([issuer.calls.length, published.length], [0, 0]);
    };

    test('a signature made with another secret (forged)', () =>
      refused(
        (p, body) => p.handleWebhook(body, stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_attacker' })),
        'signature-mismatch',
      ));
    test('a body changed after signing (tampered)', () =>
      refused((p, body, header) => p.handleWebhook(body.replace('"paid"', '"paid" '), header), 'signature-mismatch'));
    test('a missing Stripe-Signature header', () => refused((p, body) => p.handleWebhook(body, undefined), 'missing-header'));
    test('a header without a timestamp and v1 signature', () => refused((p, body) => p.handleWebhook(body, 'v0=abc'), 'malformed-header'));
    test('a signature older than the tolerance (a replay)', () =>
      refused(
        (p, body) =>
          p.handleWebhook(
            body,
            stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 301 }),
          ),
        'timestamp-outside-tolerance',
      ));
  });

  test('a replay is judged against the injected clock', async () => {
    const signedAt = Math.floor(Date.now() / 1000);
    const late = setup({ clock: () => (signedAt + 301) * 1000 });
    const started = await late.checkout();
    const w = late.deliver('checkout.session.expired', fake.expireSession(started.sessionId), { timestamp: signedAt });
    await assert.rejects(w.send(), (e: unknown) => e instanceof WebhookSignatureError && e.reason === 'timestamp-outside-tolerance');
    const inTime = setup({ clock: () => (signedAt + 299) * 1000 });
    assert.equal((await inTime.purchases.handleWebhook(w.body, w.header)).status, 'applied');
  });

  test('an expired checkout marks the purchase failed and publishes payment.purchase-failed', async () => {
    const { checkout, deliver, issuer, published } = setup();
    const started = await checkout();
    const result = await deliver('checkout.session.expired', fake.expireSession(started.sessionId)).send();
    assert.equal(result.status === 'applied' && result.purchaseStatus, 'failed');
    assert.equal((await purchase(started.purchaseId)).status, 'failed');
    assert.deepEqual(
      published.map((e) => [e.subject, e.payload['reason']]),
      [['payment.purchase-failed', 'expired']],
    );
    assert.equal(issuer.calls.length, 0);
  });

  test('a delayed payment waits for async_payment_succeeded, and async_payment_failed marks the purchase failed', async () => {
    const { checkout, deliver, issuer } = setup();
    const slow = await checkout();
    const pending = fake.completeSession(slow.sessionId, 'unpaid');
    assert.equal((await deliver('checkout.session.completed', pending).send()).status, 'ignored');
    assert.equal((await purchase(slow.purchaseId)).status, 'pending');
    const paid = await deliver('checkout.session.async_payment_succeeded', { ...pending, payment_status: 'paid' }).send();
    assert.equal(paid.status === 'applied' && paid.purchaseStatus, 'paid');
    assert.equal(issuer.calls.length, 1);

    const failing = await checkout();
    const session = fake.completeSession(failing.sessionId, 'unpaid');
    await deliver('checkout.session.completed', session).send();
    const failed = await deliver('checkout.session.async_payment_failed', session).send();
    assert.equal(failed.status === 'applied' && failed.purchaseStatus, 'failed');
    assert.equal((await purchase(failing.purchaseId)).status, 'failed');
  });

  test('a full refund marks the paid purchase refunded, found by its payment intent; a partial one does not', async () => {
    const { checkout, deliver } = setup();
    const started = await checkout();
    const session = fake.completeSession(started.sessionId);
    await deliver('checkout.session.completed', session).send();
    // No metadata: the purchase must be found by payment_intent alone.
    const charge = { id: 'ch_test_1', object: 'charge', amount: 54_900, payment_intent: session['payment_intent'], metadata: {} };
    const partial = await deliver('charge.refunded', { ...charge, amount_refunded: 10_000, refunded: false }).send();
    assert.equal(partial.status, 'ignored');
    assert.equal((await purchase(started.purchaseId)).status, 'paid');
    const full = await deliver('charge.refunded', { ...charge, amount_refunded: 54_900, refunded: true }).send();
    assert.equal(full.status === 'applied' && full.purchaseStatus, 'refunded');
    assert.equal((await purchase(started.purchaseId)).status, 'refunded');
  });

  test('an unknown event type is recorded and ignored', async () => {
    const { deliver, published } = setup();
    const w = deliver('customer.created', { id: 'cus_test_1', object: 'customer' });
    const result = await w.send();
    assert.equal(result.status, 'ignored');
    const [row] = await db.sql`select provider, event_type from processed_webhooks where event_id = ${w.eventId}`;
    assert.deepEqual({ ...row }, { provider: 'stripe', event_type: 'customer.created' });
    assert.equal((await w.send()).status, 'duplicate');
    assert.equal(published.length, 0);
  });

  test('an assessment whose issue failed after commit is issued by reissuePending, once', async () => {
    const { purchases, checkout, deliver, issuer, published } = setup();
    const started = await checkout();
    issuer.failing = true;
    const result = await deliver('checkout.session.completed', fake.completeSession(started.sessionId)).send();
    assert.equal(result.status === 'applied' && result.issued, false);
    assert.equal(result.status === 'applied' && result.errors[0]?.message, 'engine unavailable');
    assert.equal((await purchase(started.purchaseId)).status, 'paid');
    assert.deepEqual(
      published.map((e) => e.subject),
      ['payment.purchase-completed'],
    );

    issuer.failing = false;
    const assessmentId = assessmentIdFor(started.purchaseId);
    assert.deepEqual((await purchases.reissuePending({ minAgeMs: 60_000 })).issued, [], 'too young to retry');
    const again = await purchases.reissuePending({ minAgeMs: 0 });
    assert.ok(again.issued.includes(assessmentId));
    assert.deepEqual(again.failed, []);
    assert.deepEqual(
      issuer.calls.map((c) => c.assessmentId),
      [assessmentId, assessmentId],
    );
    assert.equal(published.at(-1)?.subject, 'assessment.created');
    assert.ok(!(await purchases.reissuePending({ minAgeMs: 0 })).issued.includes(assessmentId));
  });
});
