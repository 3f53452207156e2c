-- 0003_purchases: what the Stripe checkout flow (transport/payments) needs on
-- top of 0001's purchases, assessments and processed_webhooks.

-- Stored when a checkout completes: a charge.refunded event names the charge's
-- payment intent, not the checkout session, and the refund is found by it.
ALTER TABLE purchases ADD COLUMN payment_intent text UNIQUE;
ALTER TABLE purchases ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Set once the engine has confirmed the assessment (the issuer resolved). A
-- paid purchase's assessment with issued_at still null was committed but not
-- yet issued (a crash or an engine outage in between) and is issued again.
ALTER TABLE assessments ADD COLUMN issued_at timestamptz;
CREATE INDEX assessments_unissued_idx ON assessments (created_at)
  WHERE issued_at IS NULL AND purchase_id IS NOT NULL;

-- Which event a dedupe row stands for, for audits of ignored types.
ALTER TABLE processed_webhooks ADD COLUMN event_type text;
