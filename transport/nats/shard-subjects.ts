/**
 * Subjects of the cluster's routing plane, all core NATS (no stream):
 *
 * - `engine.shard.<v>.intake`: request/reply, a msgpack `IntakeRequest`, the
 *   reply its `IntakeResult`; subscribed only by the node serving virtual
 *   shard `v` (no queue group: a double subscription during a move shows up
 *   as a second reply, and the journal's fence, not NATS, keeps one writer).
 * - `engine.shard.<v>.state`: an assessment's state and where its live
 *   stream stands; with a gateway id, the read also takes a watch lease
 *   (a snapshot for a subscriber).
 * - `engine.shard.<v>.watch`: a gateway's watch leases on assessments of `v`,
 *   renewed while its traders watch them.
 * - `engine.shard.<v>.owner`: a node says it serves `v` (or stopped).
 * - `engine.stream.<assessment-token>`: the live frames of one watched
 *   assessment, as the WebSocket protocol's `delta` and `event` frames.
 * - `engine.leaderboard`: every engine node answers its best returns.
 *
 * `v` is the virtual shard's number (0..1023), as `shardOf` gives it.
 */
import { VIRTUAL_SHARDS } from '../../engine/index.js';
import { encodeToken, withNamespace } from './subjects.js';

/** The request subjects of one virtual shard. */
export interface ShardSubjects {
  readonly intake: string;
  readonly state: string;
  readonly watch: string;
  /** Where the shard's owner announces itself. */
  readonly owner: string;
}

function checkShard(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= VIRTUAL_SHARDS) throw new RangeError(`no virtual shard ${v}`);
}

/** Subjects of virtual shard `v` (under `namespace` if given). */
export function shardSubjects(v: number, namespace = ''): ShardSubjects {
  checkShard(v);
  const base = `engine.shard.${v}`;
  return {
    intake: withNamespace(`${base}.intake`, namespace),
    state: withNamespace(`${base}.state`, namespace),
    watch: withNamespace(`${base}.watch`, namespace),
    owner: withNamespace(`${base}.owner`, namespace),
  };
}

/** Every shard's owner announcements: `engine.shard.*.owner`. */
export function ownerAnnouncements(namespace = ''): string {
  return withNamespace('engine.shard.*.owner', namespace);
}

/** The live frames of one assessment: `engine.stream.<token>`. */
export function streamSubject(assessmentId: string, namespace = ''): string {
  return withNamespace(`engine.stream.${encodeToken(assessmentId)}`, namespace);
}

/** Where every engine node answers the leaderboard. */
export function leaderboardSubject(namespace = ''): string {
  return withNamespace('engine.leaderboard', namespace);
}
