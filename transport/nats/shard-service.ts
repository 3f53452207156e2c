/**
 * The owner side of the routing plane: while a node serves virtual shard v
 * it answers `engine.shard.<v>.intake`, `.state` and `.watch` (no queue
 * group), and says so on `engine.shard.<v>.owner`; when it stops serving v
 * it drains those subscriptions (requests already delivered still get their
 * answer) and stops publishing v's streams. Every engine node also answers
 * `engine.leaderboard` with its best returns.
 *
 * Every request is size-limited, decoded without extension types and
 * checked field by field; a bad one gets `MALFORMED_REQUEST` with what was
 * wrong and never reaches the node. A request for an assessment of another
 * shard than the subject's is malformed too; one for a shard not served here
 * now is answered `NOT_OWNER` (the router retries it).
 */
import { Encoder, type Decoder } from '@msgpack/msgpack';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { shardOf } from '../../engine/index.js';
import type { Leaderboard, LeaderboardEntry } from '../../persistence/index.js';
import type { ShardHost } from './shard-host.js';
import { leaderboardSubject, shardSubjects } from './shard-subjects.js';
import {
  decodeRequest,
  MalformedRequestError,
  parseIntakeRequest,
  parseLeaderboardRequest,
  parseStateRequest,
  parseWatchRequest,
  requestDecoder,
  type OwnerAnnouncement,
  type RoutedRefusalReply,
  type StateReply,
  type WatchReply,
} from './shard-wire.js';
import { StreamPublisher, WatchLimitError, type StreamPublisherOptions } from './stream-publisher.js';

/** Options of {@link ShardService}. */
export interface ShardServiceOptions extends Omit<StreamPublisherOptions, 'namespace'> {
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** Largest request accepted, bytes. @default 16_384 */
  readonly maxRequestBytes?: number;
  /** The node's leaderboard, answered on `engine.leaderboard`. @default not answered */
  readonly leaderboard?: Pick<Leaderboard, 'top'>;
  /** The leaderboard is shared by every node (Redis): answered whole, not only this node's shards. @default false */
  readonly leaderboardShared?: boolean;
  /** Called for each refused request (for a log line and a metric). */
  readonly onMalformed?: (kind: 'intake' | 'state' | 'watch' | 'leaderboard', reason: string) => void;
  /** How often leases are swept, ms. @default 1_000 */
  readonly sweepMs?: number;
  /** @default silent */
  readonly log?: Logger;
}

type Kind = 'intake' | 'state' | 'watch';

/** Serves the shards a node owns over NATS until `stop()`. */
export class ShardService {
  /** Publishes watched streams: make it an output of the node's engine. */
  readonly publisher: StreamPublisher;
  readonly #nc: NatsConnection;
  readonly #host: ShardHost;
  readonly #o: ShardServiceOptions;
  readonly #max: number;
  readonly #decoder: Decoder;
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  readonly #subs = new Map<number, { epoch: number; subs: Subscription[] }>();
  readonly #draining = new Set<Promise<void>>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #unfollow: () => void;
  #leaderboard: Subscription | undefined;
  #stopped = false;

  constructor(nc: NatsConnection, host: ShardHost, options: ShardServiceOptions = {}) {
    this.#nc = nc;
    this.#host = host;
    this.#o = options;
    this.#max = options.maxRequestBytes ?? 16_384;
    this.#decoder = requestDecoder(this.#max);
    this.publisher = new StreamPublisher(nc, (ids, on) => host.watch(ids, on), { ...options, namespace: options.namespace ?? '' });
    this.#sweeper = setInterval(() => this.publisher.sweep(), options.sweepMs ?? 1_000);
    this.#sweeper.unref();
    this.#unfollow = host.onShardChange((shard, serving, epoch) => {
      if (serving)
        void this.#serve([[shard, epoch]]).catch((err: unknown) => this.#o.log?.error({ err, shard }, 'could not serve a shard over NATS'));
      else this.#release(shard);
    });
  }

  /** Subscribe for every shard served now, and the leaderboard; resolves once the server has the subscriptions. */
  async start(): Promise<void> {
    if (this.#o.leaderboard !== undefined) {
      this.#leaderboard = this.#nc.subscribe(leaderboardSubject(this.#o.namespace), {
        callback: (err, msg) => void (err === null && this.#onLeaderboard(msg)),
      });
    }
    await this.#serve([...this.#host.served()]);
  }

  /** Shards with live subscriptions here. */
  get shards(): number {
    return this.#subs.size;
  }

  /** Drain every subscription (answers in flight still go out) and stop. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unfollow();
    clearInterval(this.#sweeper);
    for (const shard of [...this.#subs.keys()]) this.#release(shard);
    await this.#leaderboard?.drain().catch(() => undefined);
    await Promise.all(this.#draining);
    this.publisher.close();
  }

  async #serve(shards: ReadonlyArray<readonly [number, number]>): Promise<void> {
    const fresh: Array<[number, number]> = [];
    for (const [shard, epoch] of shards) {
      if (this.#stopped) return;
      const held = this.#subs.get(shard);
      if (held !== undefined && held.epoch === epoch) continue;
      if (held !== undefined) this.#release(shard, false);
      const s = shardSubjects(shard, this.#o.namespace);
      const on =
        (kind: Kind) =>
        (err: Error | null, msg: Msg): void => {
          if (err === null) this.#onRequest(kind, shard, msg);
        };
      this.#subs.set(shard, {
        epoch,
        subs: [
          this.#nc.subscribe(s.intake, { callback: on('intake') }),
          this.#nc.subscribe(s.state, { callback: on('state') }),
          this.#nc.subscribe(s.watch, { callback: on('watch') }),
        ],
      });
      fresh.push([shard, epoch]);
    }
    if (fresh.length === 0) return;
    // Announced once the server has the subscriptions, so a router that retries on the news finds them.
    await this.#nc.flush();
    for (const [shard, epoch] of fresh) this.#announce(shard, epoch, true);
  }

  #release(shard: number, announce = true): void {
    const held = this.#subs.get(shard);
    if (held === undefined) return;
    this.#subs.delete(shard);
    for (const sub of held.subs) {
      const p = sub
        .drain()
        .catch(() => undefined)
        .finally(() => this.#draining.delete(p));
      this.#draining.add(p);
    }
    this.publisher.dropShard(shard);
    if (announce) this.#announce(shard, held.epoch, false);
  }

  #announce(shard: number, epoch: number, serving: boolean): void {
    const a: OwnerAnnouncement = { shard, epoch, serving, node: this.#host.nodeId };
    try {
      this.#nc.publish(shardSubjects(shard, this.#o.namespace).owner, this.#encoder.encode(a));
    } catch {
      /* the connection is closing: routers fall back on their retries */
    }
  }

  #respond(msg: Msg, reply: object): void {
    try {
      msg.respond(this.#encoder.encode(reply));
    } catch (err) {
      this.#o.log?.warn({ err }, 'could not answer a shard request');
    }
  }

  #refuse(msg: Msg, kind: Kind | 'leaderboard', err: unknown): void {
    if (err instanceof MalformedRequestError) {
      this.#o.onMalformed?.(kind, err.message);
      return this.#respond(msg, { ok: false, code: 'MALFORMED_REQUEST', message: err.message } satisfies RoutedRefusalReply);
    }
    if (err instanceof WatchLimitError)
      return this.#respond(msg, { ok: false, code: 'TOO_MANY_WATCHES', message: err.message } satisfies RoutedRefusalReply);
    this.#o.log?.error({ err, kind }, 'shard request failed');
  }

  #notOwner(msg: Msg, shard: number): void {
    this.#respond(msg, {
      ok: false,
      code: 'NOT_OWNER',
      message: `shard ${shard} is not served by ${this.#host.nodeId} now`,
    } satisfies RoutedRefusalReply);
  }

  /** The request's map, with its assessment(s) in `shard`; throws MalformedRequestError. */
  #decode(kind: Kind | 'leaderboard', msg: Msg): Record<string, unknown> {
    // Nobody would read the answer: nothing is done for a request without a reply subject.
    if (msg.reply === undefined || msg.reply === '') throw new MalformedRequestError(`a ${kind} request needs a reply subject`);
    return decodeRequest(this.#decoder, msg.data, this.#max);
  }

  #onRequest(kind: Kind, shard: number, msg: Msg): void {
    try {
      const body = this.#decode(kind, msg);
      if (kind === 'intake') return this.#intake(shard, msg, body);
      if (kind === 'state') return this.#state(shard, msg, body);
      return this.#watchRequest(shard, msg, body);
    } catch (err) {
      this.#refuse(msg, kind, err);
    }
  }

  #inShard(shard: number, assessmentId: string): void {
    const v = shardOf(assessmentId);
    if (v !== shard) throw new MalformedRequestError(`assessment '${assessmentId}' is in shard ${v}, not ${shard}`);
  }

  #intake(shard: number, msg: Msg, body: Record<string, unknown>): void {
    const req = parseIntakeRequest(body);
    this.#inShard(shard, req.assessmentId);
    if (this.#host.serves(shard) === undefined) return this.#notOwner(msg, shard);
    void this.#host.offer(req).then(
      (r) => this.#respond(msg, r),
      (err: unknown) => {
        // No answer: the outcome is unknown to this side too, and the router's retry meets the journal's dedupe.
        this.#o.log?.error({ err, shard }, 'intake failed without an answer');
      },
    );
  }

  #state(shard: number, msg: Msg, body: Record<string, unknown>): void {
    const req = parseStateRequest(body);
    this.#inShard(shard, req.assessmentId);
    const epoch = this.#host.serves(shard);
    if (epoch === undefined) return this.#notOwner(msg, shard);
    // The lease first: every frame after the state is read is published.
    if (req.gateway !== undefined) this.publisher.lease(req.gateway, shard, epoch, [req.assessmentId]);
    void this.#host.state(req.assessmentId).then(
      (state) => {
        // Read synchronously with the state's arrival: frames numbered up to here are in it.
        if (this.#host.serves(shard) !== epoch) return this.#notOwner(msg, shard);
        const at = this.publisher.position(req.assessmentId);
        const reply: StateReply = { ok: true, epoch, seq: at !== undefined && at.epoch === epoch ? at.seq : 0, state: state ?? null };
        this.#respond(msg, reply);
      },
      (err: unknown) => {
        this.#o.log?.warn({ err, shard }, 'state read failed');
        this.#notOwner(msg, shard);
      },
    );
  }

  #watchRequest(shard: number, msg: Msg, body: Record<string, unknown>): void {
    const req = parseWatchRequest(body);
    for (const id of req.assessmentIds) this.#inShard(shard, id);
    const epoch = this.#host.serves(shard);
    if (epoch === undefined) return this.#notOwner(msg, shard);
    const reply: WatchReply = { ok: true, epoch, seqs: this.publisher.lease(req.gateway, shard, epoch, req.assessmentIds) };
    this.#respond(msg, reply);
  }

  #onLeaderboard(msg: Msg): void {
    const board = this.#o.leaderboard!;
    let n: number;
    try {
      n = parseLeaderboardRequest(this.#decode('leaderboard', msg)).n;
    } catch (err) {
      return this.#refuse(msg, 'leaderboard', err);
    }
    // An in-process board may still rank assessments of shards served elsewhere now: those are left to their owners.
    const all = this.#o.leaderboardShared === true ? board.top(n) : board.top(Number.MAX_SAFE_INTEGER);
    void all.then(
      (ranked) => {
        const entries: LeaderboardEntry[] = [];
        for (const e of ranked) {
          if (entries.length >= n) break;
          if (this.#o.leaderboardShared === true || this.#host.serves(shardOf(e.assessmentId)) !== undefined)
            entries.push({ assessmentId: e.assessmentId, returnPct: e.returnPct });
        }
        this.#respond(msg, { ok: true, node: this.#host.nodeId, entries });
      },
      (err: unknown) => this.#o.log?.warn({ err }, 'leaderboard read failed'),
    );
  }
}
