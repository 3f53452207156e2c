-- 0001_init: the engine's durable state.
-- Applied by persistence/postgres/migrator.ts inside one transaction under an
-- advisory lock; do not wrap it in BEGIN/COMMIT.
--
-- Hot-path tables written by the engine (snapshots, journal) carry no foreign
-- keys: a shard may persist an assessment before the control plane's row is
-- visible, and a foreign-key check per row would slow the batched upserts.

CREATE TABLE users (
  id          text PRIMARY KEY,
  email       text NOT NULL UNIQUE,
  name        text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tiers (
  id          text NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  definition  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);

CREATE TABLE purchases (
  id            text PRIMARY KEY,
  user_id       text NOT NULL REFERENCES users (id),
  tier_id       text NOT NULL,
  tier_version  integer NOT NULL,
  amount_cents  bigint NOT NULL CHECK (amount_cents >= 0),
  currency      text NOT NULL DEFAULT 'USD',
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'refunded', 'failed')),
  external_ref  text UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tier_id, tier_version) REFERENCES tiers (id, version)
);
CREATE INDEX purchases_user_idx ON purchases (user_id, created_at DESC);

CREATE TABLE assessments (
  id            text PRIMARY KEY,
  trader_id     text NOT NULL,
  tier_id       text NOT NULL,
  tier_version  integer NOT NULL,
  purchase_id   text REFERENCES purchases (id),
  status        text NOT NULL,
  phase         text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessments_trader_idx ON assessments (trader_id, created_at DESC);
CREATE INDEX assessments_status_idx ON assessments (status);
CREATE INDEX assessments_tier_idx ON assessments (tier_id, tier_version);

-- One row per assessment: its newest snapshot. `version` orders snapshots of
-- one assessment; `owner_epoch` is the fencing token of the shard owner that
-- wrote it. `state` is AssessmentState as JSON text in which non-finite numbers
-- are tagged {"__float": "-Infinity"} (persistence/snapshot-codec.ts style).
-- It is text, not jsonb: the database never looks inside a snapshot, and
-- skipping jsonb parsing makes the 100k-row flush and the recovery load faster.
CREATE TABLE snapshots (
  assessment_id  text PRIMARY KEY,
  version        bigint NOT NULL,
  owner_epoch    bigint NOT NULL,
  tick_seq       bigint NOT NULL,
  journal_pos    bigint NOT NULL,
  state          text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX snapshots_owner_epoch_idx ON snapshots (owner_epoch);

-- Commands accepted for an assessment, in arrival order. A client order id is
-- accepted at most once per assessment.
CREATE TABLE journal (
  position         bigserial PRIMARY KEY,
  assessment_id    text NOT NULL,
  command          jsonb NOT NULL,
  client_order_id  text,
  tick_watermark   bigint NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT journal_assessment_client_order_key UNIQUE (assessment_id, client_order_id)
);
CREATE INDEX journal_assessment_pos_idx ON journal (assessment_id, position);

CREATE TABLE violations (
  id             bigserial PRIMARY KEY,
  assessment_id  text NOT NULL,
  rule_id        text NOT NULL,
  evidence       jsonb NOT NULL,
  at             timestamptz NOT NULL
);
CREATE INDEX violations_assessment_idx ON violations (assessment_id, at);
CREATE INDEX violations_rule_idx ON violations (rule_id, at);

CREATE TABLE reports (
  id             bigserial PRIMARY KEY,
  assessment_id  text NOT NULL,
  kind           text NOT NULL,
  body           jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reports_assessment_idx ON reports (assessment_id, created_at DESC);

CREATE TABLE simulations (
  id           text PRIMARY KEY,
  tier_id      text,
  tier_version integer,
  params       jsonb NOT NULL,
  result       jsonb,
  status       text NOT NULL DEFAULT 'queued',
  created_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX simulations_status_idx ON simulations (status, created_at);

-- Payment-provider webhooks already handled (idempotency).
CREATE TABLE processed_webhooks (
  event_id      text PRIMARY KEY,
  provider      text NOT NULL DEFAULT 'unknown',
  processed_at  timestamptz NOT NULL DEFAULT now()
);
