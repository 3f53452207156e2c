/**
 * Per-assessment live streams for the gateway. The engine's events and
 * coalesced deltas become numbered frames (epoch, seq) per assessment; each
 * frame is encoded once to msgpack (and to JSON only if a JSON subscriber
 * wants it) and sent to every subscriber; the last frames stay, encoded, in a
 * ring bounded by bytes and count, so a reconnecting client can resume.
 *
 * Backpressure: a delta is skipped for a subscriber whose socket buffer is
 * over the soft limit (counted; the client sees a seq gap and is told to
 * resync once drained). Events (fills, violations, status changes) are never
 * skipped: a subscriber whose buffer passes the hard limit is closed instead.
 *
 * Frames numbered elsewhere (a remote owner's, see transport/nats/remote-streams.ts)
 * are {@link StreamHub.relay}ed as they came; each stream then carries the
 * epoch of its owner, and {@link StreamHub.jump} moves it to a new position
 * (a new owner, frames lost on the way) and tells its subscribers to resync.
 */
import { decode } from '@msgpack/msgpack';
import type { EncodedDeltas, EngineOutput, OutputEvent, StateDelta } from '../../engine/index.js';
import { FrameRing } from './frame-ring.js';
import {
  FrameCodec,
  type PROTOCOL_JSON,
  PROTOCOL_MSGPACK,
  deltaHead,
  DELTA_KEY,
  SEQ_KEY,
  writeUint,
  type ServerFrame,
} from '../protocol/index.js';

/** The defaults of {@link StreamHubOptions} (documented in asyncapi-ws.json). */
export const STREAM_HUB_DEFAULTS = {
  ringSize: 512,
  ringBytes: 64 * 1024,
  softLimitBytes: 256 * 1024,
  hardLimitBytes: 4 * 1024 * 1024,
  lingerMs: 120_000,
} as const;

/** What the hub needs of a subscriber's connection. */
export interface Subscriber {
  readonly protocol: typeof PROTOCOL_MSGPACK | typeof PROTOCOL_JSON;
  /** Bytes waiting in the socket's send buffer. */
  buffered(): number;
  /** Send one encoded frame (msgpack bytes may be a view the hub reuses: copy or write them at once); false when the socket refused it. */
  send(data: Uint8Array | string): boolean;
  /** Close because it cannot keep up. */
  closeSlow(): void;
  /** A delta of this assessment was skipped: tell the client to resync once drained. */
  lag(assessmentId: string): void;
}

/** Options of {@link StreamHub}. */
export interface StreamHubOptions {
  /** Epoch of every stream the hub numbers itself: changes when the engine behind the gateway restores. */
  readonly epoch: number;
  /** Frames kept per assessment for resume. @default 512 */
  readonly ringSize?: number;
  /** Bytes of encoded frames kept per assessment for resume. @default 64 KiB */
  readonly ringBytes?: number;
  /** Buffer above which deltas are skipped, bytes. @default 256 KiB */
  readonly softLimitBytes?: number;
  /** Buffer above which a subscriber is closed, bytes. @default 4 MiB */
  readonly hardLimitBytes?: number;
  /** How long a stream outlives its last subscriber (so a reconnect can resume), ms. @default 120_000 */
  readonly lingerMs?: number;
  /** Tell the engine which assessments to push deltas for. */
  readonly watch: (ids: readonly string[], on: boolean) => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

class Stream {
  seq = 0;
  epoch: number;
  readonly ring: FrameRing;
  readonly subscribers = new Set<Subscriber>();
  idleSince = 0;
  /** The bytes every delta frame of this stream starts with (see {@link deltaHead}), made on first use. */
  deltaHead: Uint8Array | undefined;
  constructor(epoch: number, ringBytes: number, ringSize: number) {
    this.epoch = epoch;
    this.ring = new FrameRing(ringBytes, ringSize);
  }
}

/** Counters the hub keeps (exported as metrics by the gateway). */
export interface HubCounters {
  framesSent: number;
  deltasDropped: number;
  slowClosed: number;
}

/** The engine's output as numbered, encoded frames per assessment, fanned out to subscribers. */
export class StreamHub implements EngineOutput {
  readonly counters: HubCounters = { framesSent: 0, deltasDropped: 0, slowClosed: 0 };
  readonly #o: Required<Omit<StreamHubOptions, 'watch' | 'clock'>> & Pick<StreamHubOptions, 'watch'> & { clock: () => number };
  readonly #streams = new Map<string, Stream>();
  readonly #bin = new FrameCodec(PROTOCOL_MSGPACK, 1);
  /** Where a frame around a delta encoded by the engine is put together. */
  #scratch = new Uint8Array(1_024);
  /**
   * Views of the scratch buffer's first n bytes, by n, made once each. Views
   * made per frame (50,000 a second in the bench) were measured surviving
   * scavenges at about 1 MB/s: the old generation filled, and its full
   * collections, each a pause of the fan-out, came twice as often.
   */
  readonly #views: Uint8Array[] = [];

  constructor(options: StreamHubOptions) {
    this.#o = {
      epoch: options.epoch,
      ringSize: options.ringSize ?? STREAM_HUB_DEFAULTS.ringSize,
      ringBytes: options.ringBytes ?? STREAM_HUB_DEFAULTS.ringBytes,
      softLimitBytes: options.softLimitBytes ?? STREAM_HUB_DEFAULTS.softLimitBytes,
      hardLimitBytes: options.hardLimitBytes ?? STREAM_HUB_DEFAULTS.hardLimitBytes,
      lingerMs: options.lingerMs ?? STREAM_HUB_DEFAULTS.lingerMs,
      watch: options.watch,
      clock: options.clock ?? Date.now,
    };
  }

  get epoch(): number {
    return this.#o.epoch;
  }

  /** Buffer above which a subscriber is closed, bytes. */
  get hardLimitBytes(): number {
    return this.#o.hardLimitBytes;
  }

  /** Streams alive (subscribed or lingering). */
  get streams(): number {
    return this.#streams.size;
  }

  /** Current seq of an assessment's stream (0 when it has none). */
  seqOf(assessmentId: string): number {
    return this.#streams.get(assessmentId)?.seq ?? 0;
  }

  /** Epoch of an assessment's stream (the hub's when it has none). */
  epochOf(assessmentId: string): number {
    return this.#streams.get(assessmentId)?.epoch ?? this.#o.epoch;
  }

  /** Add a subscriber (the engine is asked to push deltas for a stream's first one). */
  subscribe(assessmentId: string, s: Subscriber): void {
    this.#stream(assessmentId).subscribers.add(s);
  }

  /**
   * Make the stream before anyone subscribes (to take frames numbered
   * elsewhere while a snapshot is read); without a subscriber it lingers and
   * is swept as an idle one is.
   */
  hold(assessmentId: string): void {
    this.#stream(assessmentId);
  }

  #stream(assessmentId: string): Stream {
    let stream = this.#streams.get(assessmentId);
    if (stream === undefined) {
      stream = new Stream(this.#o.epoch, this.#o.ringBytes, this.#o.ringSize);
      stream.idleSince = this.#o.clock();
      this.#streams.set(assessmentId, stream);
      this.#o.watch([assessmentId], true);
    }
    return stream;
  }

  unsubscribe(assessmentId: string, s: Subscriber): void {
    const stream = this.#streams.get(assessmentId);
    if (stream === undefined) return;
    stream.subscribers.delete(s);
    if (stream.subscribers.size === 0) stream.idleSince = this.#o.clock();
  }

  /**
   * Frames after `seq`, encoded for `protocol`, for a resume (msgpack ones
   * are views into the ring: send them before the hub takes another frame);
   * undefined when the epoch changed or the ring no longer holds them all.
   */
  missed(assessmentId: string, epoch: number, seq: number, protocol: Subscriber['protocol']): Array<Uint8Array | string> | undefined {
    const stream = this.#streams.get(assessmentId);
    if (stream === undefined || epoch !== stream.epoch || seq > stream.seq) return undefined;
    if (seq === stream.seq) return [];
    const frames = stream.ring.after(seq);
    if (frames === undefined || protocol === PROTOCOL_MSGPACK) return frames;
    return frames.map((f) => JSON.stringify(decode(f))); // JSON resumes are rare (debugging): not kept twice
  }

  onEvents(events: readonly OutputEvent[]): void {
    for (const event of events) {
      const stream = this.#streams.get(event.assessmentId);
      if (stream === undefined) continue;
      this.#emit(stream, { t: 'event', assessmentId: event.assessmentId, epoch: stream.epoch, seq: stream.seq + 1, event }, true);
    }
  }

  onDeltas(deltas: readonly StateDelta[]): void {
    for (const delta of deltas) {
      const stream = this.#streams.get(delta.assessmentId);
      if (stream === undefined) continue;
      this.#emit(stream, { t: 'delta', assessmentId: delta.assessmentId, epoch: stream.epoch, seq: stream.seq + 1, delta }, false);
    }
  }

  /**
   * The same deltas, encoded by the engine's shards: each frame is the
   * header the hub encodes and the delta's bytes as they came, which is
   * byte for byte what {@link onDeltas} would send.
   */
  onEncodedDeltas(batch: EncodedDeltas): void {
    const src = batch.bytes;
    let from = 0;
    for (let k = 0; k < batch.ids.length; k++) {
      const to = batch.ends[k]!;
      const stream = this.#streams.get(batch.ids[k]!);
      if (stream !== undefined) {
        const seq = stream.seq + 1;
        // msgpack nests by concatenation: the frame's head, its seq, then the delta's bytes as they came.
        const head = (stream.deltaHead ??= deltaHead(batch.ids[k]!, stream.epoch));
        const most = head.length + SEQ_KEY.length + 9 + DELTA_KEY.length + (to - from);
        if (most > this.#scratch.length) {
          this.#scratch = new Uint8Array(2 * most);
          this.#views.length = 0;
        }
        const out = this.#scratch;
        out.set(head);
        out.set(SEQ_KEY, head.length);
        let at = writeUint(out, head.length + SEQ_KEY.length, seq);
        out.set(DELTA_KEY, at);
        at += DELTA_KEY.length;
        // A loop rather than `set(src.subarray(…))`: no view object per frame (see #views).
        for (let b = from; b < to; b++) out[at++] = src[b]!;
        this.#fanOut(stream, batch.ids[k]!, seq, (this.#views[at] ??= out.subarray(0, at)), undefined, false);
      }
      from = to;
    }
  }

  /**
   * A frame numbered elsewhere, as its msgpack bytes (`delta` or `event`, with
   * this `epoch` and `seq`): sent and ringed when it is the stream's next one.
   * Returns `'sent'`, `'stale'` (an older epoch, or a seq already held: dropped),
   * `'gap'` (a later epoch, or frames missing before it: the caller moves the
   * stream with {@link jump}), or `'none'` (no such stream).
   */
  relay(assessmentId: string, epoch: number, seq: number, bytes: Uint8Array, mustDeliver: boolean): 'sent' | 'stale' | 'gap' | 'none' {
    const stream = this.#streams.get(assessmentId);
    if (stream === undefined) return 'none';
    if (epoch < stream.epoch || (epoch === stream.epoch && seq <= stream.seq)) return 'stale';
    if (epoch !== stream.epoch || seq !== stream.seq + 1) return 'gap';
    this.#fanOut(stream, assessmentId, seq, bytes, undefined, mustDeliver);
    return 'sent';
  }

  /**
   * Move a stream to (`epoch`, `seq`) when it is behind it: the frames held
   * are dropped (a resume from before takes a snapshot) and every subscriber
   * is told to resync. Returns whether the stream moved.
   */
  jump(assessmentId: string, epoch: number, seq: number, reason: string): boolean {
    const stream = this.#streams.get(assessmentId);
    if (stream === undefined || epoch < stream.epoch || (epoch === stream.epoch && seq <= stream.seq)) return false;
    if (epoch !== stream.epoch) stream.deltaHead = undefined;
    stream.epoch = epoch;
    stream.seq = seq;
    stream.ring.reset(seq + 1);
    const frame: ServerFrame = { t: 'resync', assessmentId, reason };
    let bin: Uint8Array | undefined;
    let text: string | undefined;
    for (const s of stream.subscribers)
      s.send(s.protocol === PROTOCOL_MSGPACK ? (bin ??= this.#bin.encodeShared(frame).slice()) : (text ??= JSON.stringify(frame)));
    return true;
  }

  /** Assessments someone is subscribed to now. */
  watched(): string[] {
    const out: string[] = [];
    for (const [id, s] of this.#streams) if (s.subscribers.size > 0) out.push(id);
    return out;
  }

  /**
   * Send an unnumbered frame (a live estimate) to an assessment's subscribers
   * now. It is not kept for resume, and a subscriber over its soft limit skips
   * it: the next estimate replaces it anyway. Returns the subscribers reached.
   */
  broadcast(assessmentId: string, frame: ServerFrame): number {
    const stream = this.#streams.get(assessmentId);
    if (stream === undefined) return 0;
    let bin: Uint8Array | undefined;
    let text: string | undefined;
    let sent = 0;
    for (const s of stream.subscribers) {
      if (s.buffered() > this.#o.softLimitBytes) continue;
      const data = s.protocol === PROTOCOL_MSGPACK ? (bin ??= this.#bin.encodeShared(frame).slice()) : (text ??= JSON.stringify(frame));
      if (s.send(data)) {
        sent++;
        this.counters.framesSent++;
      }
    }
    return sent;
  }

  /** Assessments with a stream (subscribed or lingering). */
  held(): string[] {
    return [...this.#streams.keys()];
  }

  /** Drop streams idle past the linger time; call periodically. */
  sweep(): void {
    const now = this.#o.clock();
    const gone: string[] = [];
    for (const [id, s] of this.#streams) {
      if (s.subscribers.size === 0 && now - s.idleSince > this.#o.lingerMs) gone.push(id);
    }
    for (const id of gone) this.#streams.delete(id);
    if (gone.length > 0) this.#o.watch(gone, false);
  }

  #emit(stream: Stream, frame: ServerFrame & { seq: number; assessmentId: string }, mustDeliver: boolean): void {
    this.#fanOut(stream, frame.assessmentId, frame.seq, this.#bin.encodeShared(frame), frame, mustDeliver);
  }

  /** Number frame `seq` (msgpack `encoded`, a view this may not keep), ring it, and send it to every subscriber. */
  #fanOut(
    stream: Stream,
    assessmentId: string,
    seq: number,
    encoded: Uint8Array,
    frame: ServerFrame | undefined,
    mustDeliver: boolean,
  ): void {
    stream.seq = seq;
    // The ring keeps a copy; subscribers are sent `encoded` itself, which stays valid through this loop (sends are synchronous).
    stream.ring.push(seq, encoded);
    const bin = encoded;
    let text: string | undefined;
    for (const s of stream.subscribers) {
      const buffered = s.buffered();
      if (!mustDeliver && buffered > this.#o.softLimitBytes) {
        this.counters.deltasDropped++;
        s.lag(assessmentId);
        continue;
      }
      if (buffered > this.#o.hardLimitBytes) {
        this.counters.slowClosed++;
        s.closeSlow();
        continue;
      }
      if (s.send(s.protocol === PROTOCOL_MSGPACK ? bin : (text ??= JSON.stringify(frame ?? decode(bin))))) this.counters.framesSent++;
    }
  }
}
