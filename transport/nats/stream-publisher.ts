/**
 * The owner side of remote live streams: for each assessment some gateway
 * watches (a lease it renews), the engine's events and deltas become the
 * WebSocket protocol's `event` and `delta` frames, numbered per assessment
 * (epoch = the shard's owner epoch, seq + 1 per frame) and published on
 * `engine.stream.<assessment>` for the gateways to relay as they are.
 * Deltas keep the bytes the shards encoded (no decode); events are encoded
 * once here.
 *
 * Bounded: leases expire unless renewed, a gateway holds at most
 * `maxWatchesPerGateway` and at most `maxGateways` gateways hold any. A new
 * stream of an assessment starts above every seq this publisher has given,
 * so a gateway never mistakes a new stream for the continuation of an old one.
 */
import { wireEncoder } from '../../engine/wire.js';
import type { EncodedDeltas, EngineOutput, OutputEvent, StateDelta } from '../../engine/index.js';
import { deltaHead, DELTA_KEY, SEQ_KEY, writeUint } from '../protocol/index.js';
import { streamSubject } from './shard-subjects.js';

/** Options of {@link StreamPublisher}. */
export interface StreamPublisherOptions {
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** A watch lease lasts this long unless renewed, ms. @default 15_000 */
  readonly leaseMs?: number;
  /** Leases one gateway may hold at once. @default 4_096 */
  readonly maxWatchesPerGateway?: number;
  /** Gateways that may hold leases at once. @default 64 */
  readonly maxGateways?: number;
  /** Told of a publish that failed (the connection is closed): the gateways see a seq gap and resync. */
  readonly onError?: (err: unknown) => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Where frames go (a NATS connection). */
export interface FramePublish {
  publish(subject: string, data: Uint8Array): void;
}

class OwnedStream {
  seq: number;
  readonly epoch: number;
  readonly shard: number;
  readonly subject: string;
  /** Gateway → when its lease ends. */
  readonly leases = new Map<string, number>();
  deltaHead: Uint8Array | undefined;
  constructor(subject: string, shard: number, epoch: number, seq: number) {
    this.subject = subject;
    this.shard = shard;
    this.epoch = epoch;
    this.seq = seq;
  }
}

/** Why a lease was refused. */
export class WatchLimitError extends Error {
  readonly code = 'TOO_MANY_WATCHES';
  constructor(message: string) {
    super(message);
    this.name = 'WatchLimitError';
  }
}

/** Publishes watched assessments' live frames; an {@link EngineOutput} of the owning node. */
export class StreamPublisher implements EngineOutput {
  readonly #nc: FramePublish;
  readonly #watch: (ids: readonly string[], on: boolean) => void;
  readonly #namespace: string;
  readonly #leaseMs: number;
  readonly #maxPerGateway: number;
  readonly #maxGateways: number;
  readonly #onError: (err: unknown) => void;
  readonly #clock: () => number;
  readonly #streams = new Map<string, OwnedStream>();
  readonly #byShard = new Map<number, Set<string>>();
  /** Leases held, by gateway. */
  readonly #held = new Map<string, number>();
  readonly #encoder = wireEncoder();
  /** Every seq given so far is at most this. */
  #highWater = 0;
  #scratch = new Uint8Array(1_024);
  /** Frames published, and publishes that failed. */
  readonly counters = { frames: 0, failed: 0 };

  constructor(nc: FramePublish, watch: (ids: readonly string[], on: boolean) => void, options: StreamPublisherOptions = {}) {
    this.#nc = nc;
    this.#watch = watch;
    this.#namespace = options.namespace ?? '';
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#maxPerGateway = options.maxWatchesPerGateway ?? 4_096;
    this.#maxGateways = options.maxGateways ?? 64;
    this.#onError = options.onError ?? (() => {});
    this.#clock = options.clock ?? Date.now;
  }

  /** Streams published now. */
  get streams(): number {
    return this.#streams.size;
  }

  /** Gateways holding leases now. */
  get gateways(): number {
    return this.#held.size;
  }

  /**
   * Take or renew `gateway`'s leases on `ids` (all of shard `shard`, served
   * here at `epoch`); returns each stream's seq now, in order. Throws
   * {@link WatchLimitError} (taking none) when that would pass a bound.
   */
  lease(gateway: string, shard: number, epoch: number, ids: readonly string[]): number[] {
    const fresh = new Set<string>();
    for (const id of ids) {
      const s = this.#streams.get(id);
      if (s === undefined || !s.leases.has(gateway)) fresh.add(id); // a lease of an earlier epoch is replaced, not added
    }
    const held = this.#held.get(gateway) ?? 0;
    if (fresh.size > 0 && held === 0 && this.#held.size >= this.#maxGateways)
      throw new WatchLimitError(`${this.#maxGateways} gateways already watch assessments on this node`);
    if (held + fresh.size > this.#maxPerGateway)
      throw new WatchLimitError(`a gateway may watch at most ${this.#maxPerGateway} assessments on one node (it holds ${held})`);
    const until = this.#clock() + this.#leaseMs;
    const started: string[] = [];
    const seqs: number[] = [];
    for (const id of ids) {
      let s = this.#streams.get(id);
      if (s !== undefined && s.epoch !== epoch) {
        this.#end(s, id); // a stream of an earlier ownership of the shard
        s = undefined;
      }
      if (s === undefined) {
        s = new OwnedStream(streamSubject(id, this.#namespace), shard, epoch, this.#highWater);
        this.#streams.set(id, s);
        let set = this.#byShard.get(shard);
        if (set === undefined) this.#byShard.set(shard, (set = new Set()));
        set.add(id);
        started.push(id);
      }
      if (!s.leases.has(gateway)) this.#held.set(gateway, (this.#held.get(gateway) ?? 0) + 1);
      s.leases.set(gateway, until);
      seqs.push(s.seq);
    }
    if (started.length > 0) this.#watch(started, true);
    return seqs;
  }

  /** Where an assessment's stream stands, when it is published. */
  position(assessmentId: string): { epoch: number; seq: number } | undefined {
    const s = this.#streams.get(assessmentId);
    return s === undefined ? undefined : { epoch: s.epoch, seq: s.seq };
  }

  /** Stop publishing a shard's streams (it is no longer served here). */
  dropShard(shard: number): void {
    const ids = this.#byShard.get(shard);
    if (ids === undefined) return;
    const gone = [...ids];
    for (const id of gone) this.#end(this.#streams.get(id)!, id, false);
    if (gone.length > 0) this.#watch(gone, false);
  }

  /** End leases past their time, and streams left without one; call about once a second. */
  sweep(): void {
    const now = this.#clock();
    const gone: string[] = [];
    for (const [id, s] of this.#streams) {
      for (const [gw, until] of s.leases) if (until <= now) this.#release(s, gw);
      if (s.leases.size === 0) gone.push(id);
    }
    for (const id of gone) this.#end(this.#streams.get(id)!, id, false);
    if (gone.length > 0) this.#watch(gone, false);
  }

  /** Stop everything (the node stops). */
  close(): void {
    for (const shard of [...this.#byShard.keys()]) this.dropShard(shard);
  }

  onEvents(events: readonly OutputEvent[]): void {
    for (const event of events) {
      const s = this.#streams.get(event.assessmentId);
      if (s === undefined) continue;
      const seq = this.#next(s);
      this.#send(s, this.#encoder.encode({ t: 'event', assessmentId: event.assessmentId, epoch: s.epoch, seq, event }));
    }
  }

  onDeltas(deltas: readonly StateDelta[]): void {
    for (const delta of deltas) {
      const s = this.#streams.get(delta.assessmentId);
      if (s === undefined) continue;
      const seq = this.#next(s);
      this.#send(s, this.#encoder.encode({ t: 'delta', assessmentId: delta.assessmentId, epoch: s.epoch, seq, delta }));
    }
  }

  /** The shards' encoded deltas, framed as the gateway's hub frames them (frame-bytes.ts). */
  onEncodedDeltas(batch: EncodedDeltas): void {
    const src = batch.bytes;
    let from = 0;
    for (let k = 0; k < batch.ids.length; k++) {
      const to = batch.ends[k]!;
      const s = this.#streams.get(batch.ids[k]!);
      if (s !== undefined) {
        const seq = this.#next(s);
        const head = (s.deltaHead ??= deltaHead(batch.ids[k]!, s.epoch));
        const most = head.length + SEQ_KEY.length + 9 + DELTA_KEY.length + (to - from);
        if (most > this.#scratch.length) this.#scratch = new Uint8Array(2 * most);
        const out = this.#scratch;
        out.set(head);
        out.set(SEQ_KEY, head.length);
        let at = writeUint(out, head.length + SEQ_KEY.length, seq);
        out.set(DELTA_KEY, at);
        at += DELTA_KEY.length;
        out.set(src.subarray(from, to), at);
        at += to - from;
        // The client keeps a reference until it writes to the socket: a copy, not the scratch buffer.
        this.#send(s, out.slice(0, at));
      }
      from = to;
    }
  }

  #next(s: OwnedStream): number {
    s.seq++;
    if (s.seq > this.#highWater) this.#highWater = s.seq;
    return s.seq;
  }

  #send(s: OwnedStream, bytes: Uint8Array): void {
    try {
      this.#nc.publish(s.subject, bytes);
      this.counters.frames++;
    } catch (err) {
      this.counters.failed++;
      this.#onError(err);
    }
  }

  #release(s: OwnedStream, gateway: string): void {
    if (!s.leases.delete(gateway)) return;
    const n = (this.#held.get(gateway) ?? 1) - 1;
    if (n <= 0) this.#held.delete(gateway);
    else this.#held.set(gateway, n);
  }

  /** Forget a stream; `unwatch` tells the engine at once (else the caller does, in bulk). */
  #end(s: OwnedStream, id: string, unwatch = true): void {
    for (const gw of [...s.leases.keys()]) this.#release(s, gw);
    this.#streams.delete(id);
    const set = this.#byShard.get(s.shard);
    set?.delete(id);
    if (set?.size === 0) this.#byShard.delete(s.shard);
    if (unwatch) this.#watch([id], false);
  }
}
