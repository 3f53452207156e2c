-- 0002_engine_groups: shard groups own their journal, snapshots and checkpoint.
--
-- A shard group is the set of shards one engine process serves. Its owner
-- claims it by bumping `shard_owners.epoch`; every journal write and every
-- checkpoint checks that epoch, so a stale owner (a paused or partitioned
-- process) can never write after a newer one has started.

CREATE TABLE shard_owners (
  group_id    text PRIMARY KEY,
  epoch       bigint NOT NULL CHECK (epoch > 0),
  claimed_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE journal ADD COLUMN group_id text NOT NULL DEFAULT 'default';
DROP INDEX journal_assessment_pos_idx;
CREATE INDEX journal_group_pos_idx ON journal (group_id, position);

ALTER TABLE snapshots ADD COLUMN group_id text NOT NULL DEFAULT 'default';
ALTER TABLE snapshots ADD COLUMN quarantined boolean NOT NULL DEFAULT false;
CREATE INDEX snapshots_group_idx ON snapshots (group_id);

-- The group's newest checkpoint: the input positions it reflects and the
-- kernel's shared state (clock, market book, tiers) as JSON text; the actors
-- are the group's rows in `snapshots`, written in the same transaction.
CREATE TABLE checkpoints (
  group_id     text PRIMARY KEY,
  version      bigint NOT NULL,
  owner_epoch  bigint NOT NULL,
  input_pos    bigint NOT NULL,
  tick_seq     bigint NOT NULL,
  journal_pos  bigint NOT NULL,
  kernel       text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
