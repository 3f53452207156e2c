-- 0004_simulations: Monte Carlo jobs asked over the HTTP API, with their
-- results, so any gateway process answers GET /v1/simulations/:id.
-- 0001 reserved a `simulations` table that nothing ever wrote to; it is
-- replaced by the shape the simulation service uses.
DROP TABLE simulations;
CREATE TABLE simulations (
  id            text PRIMARY KEY,
  trader_id     text NOT NULL,
  assessment_id text,
  tier_id       text NOT NULL,
  status        text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  request       jsonb NOT NULL,
  result        jsonb,
  error         jsonb,
  created_at    timestamptz NOT NULL,
  completed_at  timestamptz
);
CREATE INDEX simulations_trader_idx ON simulations (trader_id, created_at DESC);
