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
 *
 * Only the owner moves a stream: anyone able to publish on the subject could
 * send a frame of a high epoch or seq, so a frame is never trusted for its
 * position. Each is decoded and checked (stream-frame-check.ts), and relayed
 * only when it is the next frame of the epoch learned from the owner (its
 * snapshot or lease answer). A frame of another epoch, or one past a gap,
 * makes the gateway ask the owner where the stream stands (a lease renewal
 * of its shard, at most one at a time per shard and one per `rereadMs`);
 * frames arriving meanwhile wait (bounded) and are tried again after it.
 * Frames dropped are counted by reason and logged at most once per `logEveryMs`.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { shardOf } from '../../engine/index.js';
import { StreamHub, type StreamSnapshot, type StreamHubOptions } from '../server/index.js';
import type { ShardRouter } from './shard-router.js';
import { StreamFrameCheck, type CheckedHead, type FrameFault } from './stream-frame-check.js';
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
  /** Least time between two reads of one shard's stream positions prompted by unexpected frames, ms. @default 500 */
  readonly rereadMs?: number;
  /** Frames held per stream while its position is read from the owner. @default 64 */
  readonly maxWaitingFrames?: number;
  /** Bytes of frames held over all streams while positions are read. @default 4 MiB */
  readonly maxWaitingBytes?: number;
  /** Least time between two warnings about dropped frames, ms. @default 10_000 */
  readonly logEveryMs?: number;
  /** Ring, buffer and linger settings of the hub. @default the hub's */
  readonly hub?: Omit<Partial<StreamHubOptions>, 'epoch' | 'watch'>;
  /** Called for each frame that is not a well-formed live frame of its subject's assessment. */
  readonly onMalformed?: (reason: string) => void;
  /** Where the drop counter goes. @default not exported */
  readonly registry?: Registry;
  /** @default silent */
  readonly log?: Logger;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * Why a frame was not relayed: the door's faults, `foreign_epoch` (not the
 * owner's epoch, even after asking it), `out_of_order` (past a gap the owner's
 * position did not close), `overflow` (too many frames waiting).
 */
export type DropReason = FrameFault | 'foreign_epoch' | 'out_of_order' | 'overflow';

const MOVED = "the assessment's stream moved (a new owner, or frames lost on the way): resume, or take a fresh snapshot";

interface Waiting {
  readonly head: CheckedHead;
  readonly data: Uint8Array;
}

/** One shard's reads of positions prompted by frames. */
interface Reread {
  busy: boolean;
  again: boolean;
  last: number;
  timer: NodeJS.Timeout | undefined;
}

/** Remote streams behind a gateway's hub. */
export class RemoteStreams {
  readonly hub: StreamHub;
  readonly #nc: NatsConnection;
  readonly #router: ShardRouter;
  readonly #o: RemoteStreamsOptions;
  readonly #subs = new Map<string, Subscription>();
  readonly #check: StreamFrameCheck;
  readonly #clock: () => number;
  readonly #rereadMs: number;
  readonly #maxWaiting: number;
  readonly #maxWaitingBytes: number;
  /** Streams whose snapshot is being read (their frames wait for it). */
  readonly #snapshots = new Map<string, number>();
  readonly #rereads = new Map<number, Reread>();
  readonly #waiting = new Map<string, Waiting[]>();
  #waitingBytes = 0;
  readonly #counter: Counter<'reason'> | undefined;
  /** Frames dropped, by reason. */
  readonly dropped: Record<DropReason, number> = {
    oversized: 0,
    malformed: 0,
    misaddressed: 0,
    foreign_epoch: 0,
    out_of_order: 0,
    overflow: 0,
  };
  /** Reads of positions prompted by frames. */
  rereads = 0;
  #lastLog = Number.NEGATIVE_INFINITY;
  #unlogged = 0;
  #renewer: NodeJS.Timeout | undefined;
  #unfollow: (() => void) | undefined;

  constructor(nc: NatsConnection, router: ShardRouter, options: RemoteStreamsOptions) {
    this.#nc = nc;
    this.#router = router;
    this.#o = options;
    this.#check = new StreamFrameCheck(options.maxFrameBytes ?? 262_144);
    this.#clock = options.clock ?? Date.now;
    this.#rereadMs = options.rereadMs ?? 500;
    this.#maxWaiting = options.maxWaitingFrames ?? 64;
    this.#maxWaitingBytes = options.maxWaitingBytes ?? 4 * 1024 * 1024;
    this.#counter =
      options.registry === undefined
        ? undefined
        : new Counter({
            name: 'gateway_stream_frames_dropped_total',
            help: 'Frames on engine.stream.<assessment> not relayed, by reason (oversized, malformed, misaddressed, foreign_epoch, out_of_order, overflow).',
            labelNames: ['reason'],
            registers: [options.registry],
          });
    this.hub = new StreamHub({ ...options.hub, epoch: 0, watch: (ids, on) => (on ? this.#follow(ids) : this.#unfollowIds(ids)) });
  }

  /** Frames dropped as not well-formed live frames of their subject's assessment (oversized, malformed, misaddressed). */
  get malformed(): number {
    return this.dropped.oversized + this.dropped.malformed + this.dropped.misaddressed;
  }

  /** Renew leases periodically, and at once for a shard whose owner announces itself. */
  start(): void {
    this.#renewer ??= setInterval(() => void this.renew(), this.#o.renewMs ?? 5_000);
    this.#renewer.unref();
    this.#unfollow ??= this.#router.onOwner((a) => {
      if (a.serving) this.#reread(a.shard, true);
    });
  }

  close(): void {
    clearInterval(this.#renewer);
    this.#unfollow?.();
    for (const sub of this.#subs.values()) sub.unsubscribe();
    this.#subs.clear();
    for (const r of this.#rereads.values()) clearTimeout(r.timer);
    this.#rereads.clear();
    this.#waiting.clear();
    this.#waitingBytes = 0;
  }

  /**
   * A subscriber's snapshot: the stream is made (so frames after the owner's
   * read are taken), the owner reads the state and takes a lease, and the
   * stream is moved to where the state stands when it is behind.
   */
  async snapshot(assessmentId: string): Promise<StreamSnapshot> {
    this.hub.hold(assessmentId);
    this.#snapshots.set(assessmentId, (this.#snapshots.get(assessmentId) ?? 0) + 1);
    try {
      const snap = await this.#router.snapshot(assessmentId, this.#o.gateway);
      if (snap.state !== undefined) this.hub.jump(assessmentId, snap.epoch, snap.seq, MOVED);
      return snap;
    } finally {
      const n = (this.#snapshots.get(assessmentId) ?? 1) - 1;
      if (n > 0) this.#snapshots.set(assessmentId, n);
      else this.#snapshots.delete(assessmentId);
      this.#retry(assessmentId);
    }
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
            if (r === undefined || !r.ok || !Array.isArray(r.seqs) || !Number.isSafeInteger(r.epoch)) return; // moving: the next renewal or announcement tries again
            chunk.forEach((id, k) => {
              const seq = r.seqs[k];
              if (Number.isSafeInteger(seq)) this.hub.jump(id, r.epoch, seq as number, MOVED);
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
      this.#unwait(id);
    }
  }

  #onFrame(id: string, data: Uint8Array): void {
    const verdict = this.#check.check(id, data);
    if (!verdict.ok) {
      this.#o.onMalformed?.(verdict.detail);
      return this.#drop(verdict.fault, id, verdict.detail);
    }
    this.#take(id, verdict.head, data, true);
  }

  /** Relay a checked frame when it is the stream's next one of the owner's epoch; else let it wait for the owner's position, or drop it. */
  #take(id: string, head: CheckedHead, data: Uint8Array, mayWait: boolean): void {
    const epoch = this.hub.epochOf(id);
    if (head.epoch === epoch) {
      try {
        const r = this.hub.relay(id, head.epoch, head.seq, data, head.t === 'event');
        if (r !== 'gap') return; // sent, stale (a repeat) or no stream
      } catch (err) {
        this.#o.log?.warn({ err, assessmentId: id }, 'a relayed frame could not be sent');
        return;
      }
    }
    // Not the next frame of the epoch learned from the owner: the owner says where the stream stands.
    const shard = shardOf(id);
    const reading = this.#snapshots.has(id) || this.#rereads.get(shard)?.busy === true;
    if (!reading) this.#reread(shard);
    if (mayWait) return this.#wait(id, head, data);
    this.#drop(
      head.epoch === epoch ? 'out_of_order' : 'foreign_epoch',
      id,
      `a frame of epoch ${head.epoch}, seq ${head.seq}; the stream is at ${epoch}/${this.hub.seqOf(id)}`,
    );
  }

  /** Hold a frame until the stream's position is read (past the bounds it is dropped as overflow). */
  #wait(id: string, head: CheckedHead, data: Uint8Array): void {
    let list = this.#waiting.get(id);
    if (list === undefined) this.#waiting.set(id, (list = []));
    if (list.length >= this.#maxWaiting || this.#waitingBytes + data.length > this.#maxWaitingBytes) {
      this.#drop('overflow', id, `${list.length} frames (${this.#waitingBytes} bytes over all streams) already wait`);
      return;
    }
    // A copy: the message's bytes may be a view of the connection's read buffer.
    list.push({ head, data: data.slice() });
    this.#waitingBytes += data.length;
  }

  #unwait(id: string): Waiting[] {
    const list = this.#waiting.get(id) ?? [];
    this.#waiting.delete(id);
    for (const w of list) this.#waitingBytes -= w.data.length;
    return list;
  }

  /** Try the frames that waited for `id`'s position once more (in seq order); those that still do not fit are dropped. */
  #retry(id: string): void {
    if (this.#snapshots.has(id) || this.#rereads.get(shardOf(id))?.busy === true) return;
    const list = this.#unwait(id);
    list.sort((a, b) => a.head.epoch - b.head.epoch || a.head.seq - b.head.seq);
    for (const w of list) this.#take(id, w.head, w.data, false);
  }

  /**
   * Ask the owner of `shard` where its held streams stand (a lease renewal):
   * one read at a time per shard, and not within `rereadMs` of the last
   * unless `now` (the owner announced itself).
   */
  #reread(shard: number, now = false): void {
    let r = this.#rereads.get(shard);
    if (r === undefined) this.#rereads.set(shard, (r = { busy: false, again: false, last: Number.NEGATIVE_INFINITY, timer: undefined }));
    if (r.busy) {
      r.again = true;
      return;
    }
    const wait = now ? 0 : r.last + this.#rereadMs - this.#clock();
    if (wait > 0) {
      r.timer ??= setTimeout(() => {
        r.timer = undefined;
        this.#reread(shard, true);
      }, wait);
      r.timer.unref();
      return;
    }
    clearTimeout(r.timer);
    r.timer = undefined;
    r.busy = true;
    r.last = this.#clock();
    this.rereads++;
    const done = (): void => {
      r.busy = false;
      for (const id of [...this.#waiting.keys()]) if (shardOf(id) === shard) this.#retry(id);
      if (r.again) {
        r.again = false;
        this.#reread(shard);
      }
    };
    this.renew(shard).then(done, (err: unknown) => {
      this.#o.log?.warn({ err, shard }, 'reading stream positions failed');
      done();
    });
  }

  #drop(reason: DropReason, id: string, detail: string): void {
    this.dropped[reason]++;
    this.#counter?.inc({ reason });
    this.#unlogged++;
    const now = this.#clock();
    if (now - this.#lastLog < (this.#o.logEveryMs ?? 10_000)) return;
    this.#o.log?.warn({ reason, assessmentId: id, detail, dropped: this.#unlogged }, 'frames on a stream subject dropped');
    this.#lastLog = now;
    this.#unlogged = 0;
  }
}
