-- 0006_history: the history read model (persistence/history/) and the
-- assessment reports (sim/reports/).
--
-- Every row below is a pure function of the domain events (and, for
-- history_marks, of the market log): an event is identified by
-- (assessment_id, input, n), and the projector folds each assessment's events
-- in that order, so a rebuild from the streams writes the same rows as the
-- live projection. Times are epoch milliseconds of the engine's clock (the
-- feed's), never the database's. Non-finite floors (a phase without that
-- rule) are stored as NULL.

-- The events the projection was built from, as published (tagged JSON text:
-- persistence/postgres/json-codec.ts). The primary key is the event's
-- identity: a redelivered event is not inserted again and changes nothing.
CREATE TABLE history_events (
  assessment_id  text NOT NULL,
  input          bigint NOT NULL,
  n              integer NOT NULL,
  type           text NOT NULL,
  at             bigint NOT NULL,
  body           text NOT NULL,
  PRIMARY KEY (assessment_id, input, n)
);

-- One row per assessment: who holds it, where it stands, and how many of its
-- events were folded (a projector trusts its cached fold state only while
-- the count is the state's).
CREATE TABLE history_assessments (
  assessment_id  text PRIMARY KEY,
  trader_id      text,
  tier_id        text,
  tier_version   integer,
  status         text,
  phase_index    integer NOT NULL DEFAULT 0,
  created_at     bigint,
  ended_at       bigint,
  events         integer NOT NULL DEFAULT 0
);
CREATE INDEX history_assessments_trader_idx ON history_assessments (trader_id);

-- Every fill, numbered per assessment in event order.
CREATE TABLE history_fills (
  assessment_id    text NOT NULL,
  no               integer NOT NULL,
  input            bigint NOT NULL,
  n                integer NOT NULL,
  at               bigint NOT NULL,
  phase_index      integer NOT NULL,
  day_index        integer NOT NULL,
  order_id         text NOT NULL,
  client_order_id  text NOT NULL,
  role             text NOT NULL,
  symbol           text NOT NULL,
  side             text NOT NULL,
  qty              double precision NOT NULL,
  price            double precision NOT NULL,
  fee              double precision NOT NULL,
  realized_pnl     double precision NOT NULL,
  balance          double precision NOT NULL,
  liquidation      boolean NOT NULL,
  tick_seq         bigint NOT NULL,
  trade_no         integer NOT NULL,
  PRIMARY KEY (assessment_id, no)
);

-- Round trips: a position from open to flat (or settled, or flipped).
CREATE TABLE history_trades (
  assessment_id    text NOT NULL,
  no               integer NOT NULL,
  phase_index      integer NOT NULL,
  symbol           text NOT NULL,
  side             text NOT NULL,
  open             boolean NOT NULL,
  max_qty          double precision NOT NULL,
  entry_qty        double precision NOT NULL,
  entry_price      double precision NOT NULL,
  exit_qty         double precision NOT NULL,
  exit_price       double precision,
  opened_at        bigint NOT NULL,
  closed_at        bigint,
  gross_pnl        double precision NOT NULL,
  fees             double precision NOT NULL,
  net_pnl          double precision NOT NULL,
  closed_by        text,
  fills            integer NOT NULL,
  stop_loss        double precision,
  take_profit      double precision,
  daily_floor      double precision,
  max_loss_floor   double precision,
  balance_at_open  double precision NOT NULL,
  PRIMARY KEY (assessment_id, no)
);
CREATE INDEX history_trades_closed_idx ON history_trades (assessment_id, closed_at);

-- Trading days per phase: opening figures, what was realized, the closing balance.
CREATE TABLE history_days (
  assessment_id   text NOT NULL,
  phase_index     integer NOT NULL,
  day_index       integer NOT NULL,
  started_at      bigint NOT NULL,
  ended_at        bigint,
  start_balance   double precision NOT NULL,
  start_equity    double precision NOT NULL,
  daily_floor     double precision,
  max_loss_floor  double precision,
  realized_pnl    double precision NOT NULL,
  fees            double precision NOT NULL,
  fills           integer NOT NULL,
  trades_opened   integer NOT NULL,
  end_balance     double precision,
  PRIMARY KEY (assessment_id, phase_index, day_index)
);

-- Points where the account's balance or positions changed, or its equity is
-- known exactly (a day's start, a violation, a flat account); between them the
-- equity series marks `positions` at history_marks.
CREATE TABLE history_points (
  assessment_id   text NOT NULL,
  no              integer NOT NULL,
  at              bigint NOT NULL,
  kind            text NOT NULL,
  phase_index     integer NOT NULL,
  balance         double precision NOT NULL,
  equity          double precision,
  daily_floor     double precision,
  max_loss_floor  double precision,
  positions       text NOT NULL,
  PRIMARY KEY (assessment_id, no)
);

-- Phase transitions and status changes, pass-blocked episodes and soft locks.
CREATE TABLE history_transitions (
  assessment_id  text NOT NULL,
  no             integer NOT NULL,
  input          bigint NOT NULL,
  n              integer NOT NULL,
  at             bigint NOT NULL,
  kind           text NOT NULL,
  phase_index    integer NOT NULL,
  phase          text,
  rule_id        text,
  balance        double precision NOT NULL,
  detail         text NOT NULL,
  PRIMARY KEY (assessment_id, no)
);

-- Market marks per minute of the tick's own timestamp: the last quote (by
-- market-log seq), the lowest bid and the highest ask. Min, max and
-- last-by-seq make a redelivered tick change nothing.
CREATE TABLE history_marks (
  bucket    bigint NOT NULL,
  symbol    text NOT NULL,
  seq       bigint NOT NULL,
  bid       double precision NOT NULL,
  ask       double precision NOT NULL,
  low_bid   double precision NOT NULL,
  high_ask  double precision NOT NULL,
  PRIMARY KEY (symbol, bucket)
);

-- 0001's violations table, written at last: each violation event once, with
-- its full evidence (the Violation as the engine emitted it).
ALTER TABLE violations ADD COLUMN input bigint;
ALTER TABLE violations ADD COLUMN n integer;
ALTER TABLE violations ADD COLUMN no integer;
ALTER TABLE violations ADD COLUMN phase_index integer;
CREATE UNIQUE INDEX violations_event_key ON violations (assessment_id, input, n);

-- 0001's reports table: each generated report, its body as JSON; the HTML
-- page is rendered from the body (a pure function), so it is not stored.
ALTER TABLE reports ADD COLUMN trader_id text;
ALTER TABLE reports ADD COLUMN trigger text NOT NULL DEFAULT 'request';
ALTER TABLE reports ADD COLUMN status text;
CREATE INDEX reports_created_idx ON reports (created_at DESC, id DESC);
