/**
 * The gateway side of the routing plane: each command and read goes to the
 * owner of its assessment's virtual shard (`engine.shard.<v>.*`, request/reply).
 * No responders (nobody serves the shard: it is moving), `NOT_OWNER`,
 * `NOT_READY`, `STOPPING` and a timeout are retried with a doubling backoff
 * (cut short when the shard's new owner announces itself) until the deadline;
 * then an order is answered `UNAVAILABLE` and a read rejects with
 * {@link UnavailableError}.
 *
 * A retry is safe for orders: the client order id dedupes them in the
 * journal, and a `DUPLICATE_CLIENT_ORDER_ID` answer to a retry whose earlier
 * attempt may have arrived is the original acceptance, answered as such.
 */
import { decode, Encoder } from '@msgpack/msgpack';
import { errors, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AssessmentState } from '../../actors/index.js';
import { shardOf, VIRTUAL_SHARDS, type IntakeRequest } from '../../engine/index.js';
import type { LeaderboardEntry, RankedEntry } from '../../persistence/index.js';
import type { GatewayEngine, OfferResult, StreamSnapshot } from '../server/index.js';
import { leaderboardSubject, ownerAnnouncements, shardSubjects } from './shard-subjects.js';
import {
  parseAnnouncement,
  type LeaderboardReply,
  type OwnerAnnouncement,
  type RoutedIntakeResult,
  type StateReply,
  type WatchReply,
} from './shard-wire.js';

/** Options of {@link ShardRouter}. */
export interface ShardRouterOptions {
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** How long a request is retried before it is answered UNAVAILABLE, ms (COMMAND_DEADLINE_MS). @default 5_000 */
  readonly deadlineMs?: number;
  /** How long one attempt waits for its answer, ms. @default 2_000 */
  readonly attemptTimeoutMs?: number;
  /** Wait before the first retry, ms; it doubles per retry. @default 25 */
  readonly backoffMs?: number;
  /** Longest wait between retries, ms. @default 500 */
  readonly maxBackoffMs?: number;
  /** Where the routing metrics go. @default not exported */
  readonly registry?: Registry;
}

/** No owner of the shard answered within the deadline. */
export class UnavailableError extends Error {
  readonly code = 'UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** Why an attempt is retried (the `reason` label of `gateway_route_retries_total`). */
type RetryReason = 'no_responders' | 'timeout' | 'not_owner' | 'not_ready' | 'stopping' | 'disconnected' | 'bad_reply';

const RETRIED: Readonly<Record<string, RetryReason>> = { NOT_OWNER: 'not_owner', NOT_READY: 'not_ready', STOPPING: 'stopping' };

/** Routes commands and reads to the owners of their shards; a {@link GatewayEngine}. */
export class ShardRouter implements GatewayEngine {
  readonly #nc: NatsConnection;
  readonly #ns: string;
  readonly #deadline: number;
  readonly #attempt: number;
  readonly #backoff: number;
  readonly #maxBackoff: number;
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  readonly #waiters = new Map<number, Set<() => void>>();
  readonly #listeners = new Set<(a: OwnerAnnouncement) => void>();
  /** The last announcement heard per shard. */
  readonly #owners = new Map<number, OwnerAnnouncement>();
  readonly #retries: Counter<'reason'>;
  readonly #unavailable: Counter;
  readonly #seconds: Histogram;
  #announcements: Subscription | undefined;

  constructor(nc: NatsConnection, options: ShardRouterOptions = {}) {
    this.#nc = nc;
    this.#ns = options.namespace ?? '';
    this.#deadline = options.deadlineMs ?? 5_000;
    this.#attempt = options.attemptTimeoutMs ?? 2_000;
    this.#backoff = options.backoffMs ?? 25;
    this.#maxBackoff = options.maxBackoffMs ?? 500;
    const registers = options.registry === undefined ? [] : [options.registry];
    this.#retries = new Counter({
      name: 'gateway_route_retries_total',
      help: 'Routed requests sent again, by reason (no_responders, timeout, not_owner, not_ready, stopping, disconnected, bad_reply).',
      labelNames: ['reason'],
      registers,
    });
    this.#unavailable = new Counter({
      name: 'gateway_route_unavailable_total',
      help: 'Routed requests answered UNAVAILABLE: no owner of the shard answered within COMMAND_DEADLINE_MS.',
      registers,
    });
    this.#seconds = new Histogram({
      name: 'gateway_route_seconds',
      help: "Time from a routed request's first attempt to its answer (retries included), seconds.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  /** Follow the owners' announcements (a retry waiting on a shard goes as soon as its new owner says it serves). */
  start(): void {
    this.#announcements ??= this.#nc.subscribe(ownerAnnouncements(this.#ns), {
      callback: (err, msg) => {
        if (err !== null) return;
        let a: OwnerAnnouncement | undefined;
        try {
          a = parseAnnouncement(decode(msg.data));
        } catch {
          return;
        }
        if (a === undefined || a.shard < 0 || a.shard >= VIRTUAL_SHARDS) return;
        const known = this.#owners.get(a.shard);
        if (known === undefined || a.epoch > known.epoch || (a.epoch === known.epoch && !a.serving)) this.#owners.set(a.shard, a);
        if (a.serving) for (const wake of this.#waiters.get(a.shard) ?? []) wake();
        for (const l of this.#listeners) l(a);
      },
    });
  }

  /** Told of each owner announcement; returns a function that stops it. */
  onOwner(listener: (a: OwnerAnnouncement) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Each shard's owner as last announced (what this gateway has heard since it started). */
  owners(): OwnerAnnouncement[] {
    return [...this.#owners.values()].sort((a, b) => a.shard - b.shard);
  }

  close(): void {
    this.#announcements?.unsubscribe();
    this.#announcements = undefined;
    for (const set of this.#waiters.values()) for (const wake of set) wake();
  }

  /** Send a create or command to its owner; never rejects. */
  async offer(req: IntakeRequest): Promise<OfferResult> {
    if (typeof req.assessmentId !== 'string' || req.assessmentId === '' || req.assessmentId.length > 128) {
      return { ok: false, code: 'INVALID_COMMAND', message: 'assessmentId must be a string of 1..128 characters' };
    }
    const shard = shardOf(req.assessmentId);
    const out = await this.#call<RoutedIntakeResult>(shard, shardSubjects(shard, this.#ns).intake, req);
    if (out.reply === undefined) {
      const maybe = out.uncertain
        ? 'an earlier attempt may have been taken: send it again with the same client order id (a repeat is answered with the original acceptance)'
        : 'nothing was taken';
      return { ok: false, code: 'UNAVAILABLE', message: `no owner of shard ${shard} answered within ${this.#deadline} ms; ${maybe}` };
    }
    const r = out.reply;
    if (r.ok) return r;
    // Our own request, taken by an attempt whose answer was lost or refused by a second subscriber during a move.
    if (r.code === 'DUPLICATE_CLIENT_ORDER_ID' && out.uncertain && r.position !== undefined) return { ok: true, position: r.position };
    if (r.code === 'NOT_OWNER' || r.code === 'TOO_MANY_WATCHES') return { ok: false, code: 'UNAVAILABLE', message: r.message };
    return r.position === undefined
      ? { ok: false, code: r.code, message: r.message }
      : { ok: false, code: r.code, message: r.message, position: r.position };
  }

  /** An assessment's state from its owner; rejects with {@link UnavailableError} past the deadline. */
  async state(assessmentId: string): Promise<AssessmentState | undefined> {
    return (await this.#read(assessmentId)).state;
  }

  /** A subscriber's snapshot: the state and its stream position, taking `gateway`'s watch lease on the stream. */
  snapshot(assessmentId: string, gateway: string): Promise<StreamSnapshot> {
    return this.#read(assessmentId, gateway);
  }

  /** Take or renew `gateway`'s leases on `ids` of `shard`: one attempt; undefined when nobody answered. */
  async watch(shard: number, gateway: string, ids: readonly string[], timeoutMs = 1_000): Promise<WatchReply | undefined> {
    try {
      const msg = await this.#nc.request(shardSubjects(shard, this.#ns).watch, this.#encoder.encode({ gateway, assessmentIds: ids }), {
        timeout: timeoutMs,
      });
      return decode(msg.data) as WatchReply;
    } catch {
      return undefined;
    }
  }

  /** The best `n` over every engine node's answer (each ranks the assessments it serves). */
  async leaderboard(n: number, maxWaitMs = 1_000): Promise<RankedEntry[]> {
    const best = new Map<string, number>();
    try {
      const replies = await this.#nc.requestMany(leaderboardSubject(this.#ns), this.#encoder.encode({ n }), {
        strategy: 'stall',
        stall: 100,
        maxWait: maxWaitMs,
      });
      for await (const m of replies) {
        let r: LeaderboardReply;
        try {
          r = decode(m.data) as LeaderboardReply;
        } catch {
          continue;
        }
        if (!r.ok || !Array.isArray(r.entries)) continue;
        for (const e of r.entries.slice(0, n))
          if (typeof e.assessmentId === 'string' && Number.isFinite(e.returnPct)) best.set(e.assessmentId, e.returnPct);
      }
    } catch (err) {
      if (!(err instanceof errors.RequestError && err.isNoResponders())) throw err;
    }
    const sorted: LeaderboardEntry[] = [...best].map(([assessmentId, returnPct]) => ({ assessmentId, returnPct }));
    // The leaderboard's order: return descending, then id descending by bytes.
    sorted.sort((a, b) =>
      a.returnPct !== b.returnPct ? b.returnPct - a.returnPct : Buffer.compare(Buffer.from(b.assessmentId), Buffer.from(a.assessmentId)),
    );
    return sorted.slice(0, n).map((e, i) => ({ ...e, rank: i + 1 }));
  }

  async #read(assessmentId: string, gateway?: string): Promise<StreamSnapshot> {
    if (typeof assessmentId !== 'string' || assessmentId === '' || assessmentId.length > 128) return { state: undefined, epoch: 0, seq: 0 };
    const shard = shardOf(assessmentId);
    const out = await this.#call<StateReply>(
      shard,
      shardSubjects(shard, this.#ns).state,
      gateway === undefined ? { assessmentId } : { assessmentId, gateway },
    );
    const r = out.reply;
    if (r === undefined) throw new UnavailableError(`no owner of shard ${shard} answered within ${this.#deadline} ms`);
    if (r.ok) return { state: r.state ?? undefined, epoch: r.epoch, seq: r.seq };
    if (r.code === 'TOO_MANY_WATCHES' || r.code === 'NOT_OWNER') {
      this.#unavailable.inc();
      throw new UnavailableError(r.message);
    }
    return { state: undefined, epoch: 0, seq: 0 }; // refused as malformed: no such assessment
  }

  /**
   * Request until an answer that is not to be retried, or the deadline:
   * `reply` undefined then. `uncertain`: an attempt may have reached an owner
   * without its answer coming back (a timeout, or a refusal by a second subscriber).
   */
  async #call<R extends { ok: boolean; code?: string }>(
    shard: number,
    subject: string,
    body: object,
  ): Promise<{ reply: R | undefined; uncertain: boolean }> {
    const t0 = performance.now();
    const end = Date.now() + this.#deadline;
    const data = this.#encoder.encode(body);
    let backoff = this.#backoff;
    let uncertain = false;
    try {
      for (;;) {
        const left = end - Date.now();
        if (left <= 0) {
          this.#unavailable.inc();
          return { reply: undefined, uncertain };
        }
        let reason: RetryReason;
        try {
          const msg = await this.#nc.request(subject, data, { timeout: Math.min(this.#attempt, left) });
          let reply: R;
          try {
            reply = decode(msg.data) as R;
          } catch {
            reply = { ok: false, code: 'BAD_REPLY' } as R;
          }
          if (typeof reply !== 'object' || reply === null || typeof reply.ok !== 'boolean') reason = 'bad_reply';
          else if (!reply.ok && reply.code !== undefined && RETRIED[reply.code] !== undefined) reason = RETRIED[reply.code]!;
          else return { reply, uncertain };
          // Refused here, yet a second subscriber (the shard's next owner, during a move) may have taken it.
          uncertain = true;
        } catch (err) {
          if (err instanceof errors.RequestError && err.isNoResponders()) reason = 'no_responders';
          else if (err instanceof errors.TimeoutError) {
            reason = 'timeout';
            uncertain = true;
          } else {
            reason = 'disconnected';
            uncertain = true;
          }
        }
        this.#retries.inc({ reason });
        await this.#pause(shard, Math.min(backoff, Math.max(0, end - Date.now())));
        backoff = Math.min(backoff * 2, this.#maxBackoff);
      }
    } finally {
      this.#seconds.observe((performance.now() - t0) / 1000);
    }
  }

  /** Wait `ms` (with jitter), or until the shard's owner announces itself. */
  #pause(shard: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(shard);
      if (set === undefined) this.#waiters.set(shard, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.#waiters.delete(shard);
        resolve();
      };
      const timer = setTimeout(done, ms * (0.5 + Math.random() / 2));
      set.add(done);
    });
  }
}
