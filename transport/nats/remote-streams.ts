/**
 * The gateway side of remote live streams. A gateway with no engine holds a
 * {@link StreamHub} whose streams are the assessments its traders watch;
 * each one is a core-NATS subscription to `engine.stream.<assessment>` and
 * a watch lease at the owner of the assessment's shard, renewed every
 * `renewMs` (and at once when a shard's new owner announces itself). The
 * owner's frames are relayed as they came: numbered by the owner, epoch =
 * the shard's owner epoch.
 *
 * When the stream's position jumps (a new owner: a new epoch; frames lost on
 * the way: a seq gap; a renewal or snapshot finding the owner ahead), the
 * hub drops what it held and tells the subscribers to resync: the client
 * library resumes, finds the epoch changed or the frames gone, and takes a
 * fresh snapshot, read from the owner with its stream position. So no fill,
 * violation or status change is lost to a subscriber: each is in a frame it
 * gets or in the snapshot after.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { shardOf } from '../../engine/index.js';
import { readFrameHead } from '../protocol/index.js';
import { StreamHub, type StreamSnapshot, type StreamHubOptions } from '../server/index.js';
import type { ShardRouter } from './shard-router.js';
import { streamSubject } from './shard-subjects.js';
import { MAX_WATCH_IDS } from './shard-wire.js';

/** Options of {@link RemoteStreams}. */
export interface RemoteStreamsOptions {
  /** This gateway's id in its watch leases (unique per process). */
  readonly gateway: string;
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** How often the watch leases are renewed, ms (the owners' leases last 15 s). @default 5_000 */
  readonly renewMs?: number;
  /** Largest relayed frame, bytes; larger ones are dropped (the subscribers resync). @default 262_144 */
  readonly maxFrameBytes?: number;
  /** Ring, buffer and linger settings of the hub. @default the hub's */
  readonly hub?: Omit<Partial<StreamHubOptions>, 'epoch' | 'watch'>;
  /** Called for each frame that is not a live frame of its subject's assessment. */
  readonly onMalformed?: (reason: string) => void;
  /** @default silent */
  readonly log?: Logger;
}

const MOVED = "the assessment's stream moved (a new owner, or frames lost on the way): resume, or take a fresh snapshot";

/** Remote streams behind a gateway's hub. */
export class RemoteStreams {
  readonly hub: StreamHub;
  readonly #nc: NatsConnection;
  readonly #router: ShardRouter;
  readonly #o: RemoteStreamsOptions;
  readonly #subs = new Map<string, Subscription>();
  readonly #maxFrame: number;
  #renewer: NodeJS.Timeout | undefined;
  #unfollow: (() => void) | undefined;
  /** Frames dropped as malformed or oversized. */
  malformed = 0;

  constructor(nc: NatsConnection, router: ShardRouter, options: RemoteStreamsOptions) {
    this.#nc = nc;
    this.#router = router;
    this.#o = options;
    this.#maxFrame = options.maxFrameBytes ?? 262_144;
    this.hub = new StreamHub({ ...options.hub, epoch: 0, watch: (ids, on) => (on ? this.#follow(ids) : this.#unfollowIds(ids)) });
  }

  /** Renew leases periodically, and at once for a shard whose owner announces itself. */
  start(): void {
    this.#renewer ??= setInterval(() => void this.renew(), this.#o.renewMs ?? 5_000);
    this.#renewer.unref();
    this.#unfollow ??= this.#router.onOwner((a) => {
      if (a.serving) void this.renew(a.shard);
    });
  }

  close(): void {
    clearInterval(this.#renewer);
    this.#unfollow?.();
    for (const sub of this.#subs.values()) sub.unsubscribe();
    this.#subs.clear();
  }

  /**
   * A subscriber's snapshot: the stream is made (so frames after the owner's
   * read are taken), the owner reads the state and takes a lease, and the
   * stream is moved to where the state stands when it is behind.
   */
  async snapshot(assessmentId: string): Promise<StreamSnapshot> {
    this.hub.hold(assessmentId);
    const snap = await this.#router.snapshot(assessmentId, this.#o.gateway);
    if (snap.state === undefined) return snap;
    this.hub.jump(assessmentId, snap.epoch, snap.seq, MOVED);
    return snap;
  }

  /** Renew the leases of every held stream (of one shard only, when given); resolves when the owners answered. */
  async renew(shard?: number): Promise<void> {
    const byShard = new Map<number, string[]>();
    for (const id of this.hub.held()) {
      const v = shardOf(id);
      if (shard !== undefined && v !== shard) continue;
      let ids = byShard.get(v);
      if (ids === undefined) byShard.set(v, (ids = []));
      ids.push(id);
    }
    const asks: Promise<void>[] = [];
    for (const [v, ids] of byShard) {
      for (let i = 0; i < ids.length; i += MAX_WATCH_IDS) {
        const chunk = ids.slice(i, i + MAX_WATCH_IDS);
        asks.push(
          this.#router.watch(v, this.#o.gateway, chunk).then((r) => {
            if (r === undefined || !r.ok || !Array.isArray(r.seqs)) return; // moving: the next renewal or announcement tries again
            chunk.forEach((id, k) => {
              const seq = r.seqs[k];
              if (typeof seq === 'number') this.hub.jump(id, r.epoch, seq, MOVED);
            });
          }),
        );
      }
    }
    await Promise.all(asks);
  }

  #follow(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.#subs.has(id)) continue;
      this.#subs.set(
        id,
        this.#nc.subscribe(streamSubject(id, this.#o.namespace), {
          callback: (err, msg) => {
            if (err === null) this.#onFrame(id, msg.data);
          },
        }),
      );
    }
  }

  #unfollowIds(ids: readonly string[]): void {
    for (const id of ids) {
      this.#subs.get(id)?.unsubscribe();
      this.#subs.delete(id);
    }
  }

  #onFrame(id: string, data: Uint8Array): void {
    const head = data.length <= this.#maxFrame ? readFrameHead(data) : undefined;
    if (head === undefined || head.assessmentId !== id) {
      this.malformed++;
      this.#o.onMalformed?.(
        data.length > this.#maxFrame ? `a frame of ${data.length} bytes, over ${this.#maxFrame}` : 'not a live frame of this assessment',
      );
      return;
    }
    try {
      // A frame after a jump is not sent: the subscribers are told to resync, and their snapshot holds it.
      if (this.hub.relay(id, head.epoch, head.seq, data, head.t === 'event') === 'gap') this.hub.jump(id, head.epoch, head.seq, MOVED);
    } catch (err) {
      this.malformed++;
      this.#o.log?.warn({ err, assessmentId: id }, 'a relayed frame could not be sent');
    }
  }
}
