import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type Stripe from 'stripe';
import { createStripe, startStripeFake, type StripeFake } from '../payments/index.js';

const params = (ref: string): Stripe.Checkout.SessionCreateParams => ({
  mode: 'payment',
  line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 1_000, product_data: { name: 'Tier' } } }],
  success_url: 'https://app.example/done',
  client_reference_id: ref,
});

describe('stripe fake', () => {
  let fake: StripeFake;
  let stripe: Stripe;
  before(async () => {
    fake = await startStripeFake();
    stripe = createStripe('sk_test_fake', fake.url, { maxNetworkRetries: 0 });
  });
  after(() => fake?.stop());

  test('a repeated idempotency key is answered with the same session, and a reused key with other parameters is refused', async () => {
    const first = await stripe.checkout.sessions.create(params('p1'), { idempotencyKey: 'key-1' });
    const again = await stripe.checkout.sessions.create(params('p1'), { idempotencyKey: 'key-1' });
    assert.equal(again.id, first.id);
    assert.equal(again.lastResponse.headers['idempotent-replayed'], 'true');
    assert.equal(fake.sessions.size, 1);
    await assert.rejects(stripe.checkout.sessions.create(params('p2'), { idempotencyKey: 'key-1' }), { type: 'StripeIdempotencyError' });
  });

  test('a request without a required field is refused naming the parameter, as Stripe does', async () => {
    const missing = {
      ...params('p3'),
      line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 1_000 } }],
    } as Stripe.Checkout.SessionCreateParams;
    await assert.rejects(stripe.checkout.sessions.create(missing), {
      type: 'StripeInvalidRequestError',
      param: 'line_items[0][price_data][product_data][name]',
    });
    const noUrl: Partial<Stripe.Checkout.SessionCreateParams> = params('p3');
    delete noUrl.success_url;
    await assert.rejects(stripe.checkout.sessions.create(noUrl as Stripe.Checkout.SessionCreateParams), {
      type: 'StripeInvalidRequestError',
      param: 'success_url',
    });
    const unknown = { ...params('p3'), payment_method_types: ['card'] } as unknown as Stripe.Checkout.SessionCreateParams;
    await assert.rejects(stripe.checkout.sessions.create(unknown), { type: 'StripeInvalidRequestError', param: 'payment_method_types' });
  });

  test('a live or missing secret key is refused with 401', async () => {
    const live = createStripe('sk_live_nope', fake.url, { maxNetworkRetries: 0 });
    await assert.rejects(live.checkout.sessions.create(params('p4')), { type: 'StripeAuthenticationError', statusCode: 401 });
  });

  test('a retried request reuses the caller’s idempotency key and gets one session', async () => {
    const retrying = createStripe('sk_test_fake', fake.url, { maxNetworkRetries: 1 });
    const before = fake.requests.length;
    fake.failNext(1, 500);
    const session = await retrying.checkout.sessions.create(params('p5'), { idempotencyKey: 'key-retry' });
    const sent = fake.requests.slice(before);
    assert.deepEqual(
      sent.map((r) => r.headers['idempotency-key']),
      ['key-retry', 'key-retry'],
    );
    assert.equal((await retrying.checkout.sessions.retrieve(session.id)).client_reference_id, 'p5');
  });

  test('createStripe reads the API base from STRIPE_API_BASE when no URL is given', async () => {
    const saved = process.env['STRIPE_API_BASE'];
    process.env['STRIPE_API_BASE'] = fake.url;
    try {
      const before = fake.requests.length;
      await createStripe('sk_test_env', undefined, { maxNetworkRetries: 0 }).checkout.sessions.create(params('p6'));
      assert.equal(fake.requests[before]?.headers['authorization'], 'Bearer sk_test_env');
    } finally {
      if (saved === undefined) delete process.env['STRIPE_API_BASE'];
      else process.env['STRIPE_API_BASE'] = saved;
    }
  });
});
