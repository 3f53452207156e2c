-- 0005_cluster: virtual shards owned one by one across engine nodes.
--
-- Each of the 1,024 virtual shards is its own group: `group_id` is the shard
-- key (`v0042`, engine/shard.ts shardKey) in shard_owners, journal, snapshots
-- and checkpoints. Its owner bumps `shard_owners.epoch` to claim it; every
-- journal write and checkpoint of the shard checks that epoch in the same
-- statement or transaction, holding the owner row FOR SHARE, so a claim (which
-- updates the row) waits for writes in flight and every later write of the
-- old owner is refused. Taking one shard reads only its rows: checkpoints by
-- primary key, journal by journal_group_pos_idx (group_id, position),
-- snapshots by snapshots_group_idx (group_id), all from 0002.

-- Which member claimed the shard (null for a solo node), and whether it handed
-- the shard over (checkpointed at an input boundary, stopped serving): a
-- released shard may be claimed by anyone without waiting for a lease to lapse.
ALTER TABLE shard_owners ADD COLUMN owner_node text;
ALTER TABLE shard_owners ADD COLUMN released boolean NOT NULL DEFAULT false;

-- Engine nodes of the cluster. A member is alive while `expires_at` is ahead
-- of the database clock: leases are judged by `clock_timestamp()` in SQL,
-- never by a node's clock. `incarnation` grows each time a process takes the
-- name, so an older process under the same name learns it was replaced.
-- A draining member keeps serving what it has but is allocated nothing.
CREATE TABLE cluster_members (
  node_id       text PRIMARY KEY,
  incarnation   bigint NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  heartbeat_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at    timestamptz NOT NULL,
  draining      boolean NOT NULL DEFAULT false,
  info          jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- The kernel's shared state (clock, market book, tiers) is the same for every
-- shard saved at one boundary: stored once here under its sha-256, and named
-- by each checkpoint row (`kernel_hash`) instead of copied into it (1,024
-- copies of ~4 KB made a solo node's checkpoint ten times slower). A row is
-- refreshed by every save that names it and dropped once no checkpoint has
-- named it for a while.
CREATE TABLE checkpoint_kernels (
  hash        text PRIMARY KEY,
  kernel      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE checkpoints ALTER COLUMN kernel DROP NOT NULL;
ALTER TABLE checkpoints ADD COLUMN kernel_hash text;
CREATE INDEX checkpoints_kernel_hash_idx ON checkpoints (kernel_hash);

-- The event cursor of an actor's last committed step: the event coordinate
-- (`input` of its events) and the next event number `n` within it, so a
-- recovered actor numbers its next events exactly as the uninterrupted run.
ALTER TABLE snapshots ADD COLUMN cursor_input bigint;
ALTER TABLE snapshots ADD COLUMN cursor_n integer;
