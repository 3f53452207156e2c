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
 */
import { decode, Encoder } from '@msgpack/msgpack';
import type { EncodedDeltas } from '../../engine/delta-encoding.js';
import type { EngineOutput } from '../../engine/engine.js';
import type { OutputEvent, StateDelta } from '../../engine/inputs.js';
import { FrameRing } from './frame-ring.js';
import { FrameCodec, PROTOCOL_JSON, PROTOCOL_MSGPACK, type ServerFrame } from './protocol.js';

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
  /** Epoch of every stream: changes when the engine behind the gateway restores. */
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
  readonly ring: FrameRing;
  readonly subscribers = new Set<Subscriber>();
  idleSince = 0;
  /** The bytes every delta frame of this stream starts with (see {@link deltaHead}), made on first use. */
  deltaHead: Uint8Array | undefined;
  constructor(ringBytes: number, ringSize: number) {
    this.ring = new FrameRing(ringBytes, ringSize);
  }
}

/** `seq` and `delta`, as msgpack keys. */
const SEQ_KEY = Uint8Array.of(0xa3, 0x73, 0x65, 0x71);
const DELTA_KEY = Uint8Array.of(0xa5, 0x64, 0x65, 0x6c, 0x74, 0x61);
const headEncoder = new Encoder();

/**
 * `{ t: 'delta', assessmentId, epoch, ` of a 5-entry msgpack map: a delta
 * frame is this, `seq` and its value, then `delta` and the delta's bytes.
 */
function deltaHead(assessmentId: string, epoch: number): Uint8Array {
  const head = headEncoder.encode({ t: 'delta', assessmentId, epoch });
  if (head[0] !== 0x83) throw new Error('a 3-entry msgpack map starts with 0x83');
  head[0] = 0x85;
  return head;
}

/** A non-negative safe integer as @msgpack/msgpack encodes it (the smallest uint form), big-endian; returns the end. */
function writeUint(to: Uint8Array, at: number, n: number): number {
  if (n < 0x80) {
    to[at] = n;
    return at + 1;
  }
  const bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x100000000 ? 4 : 8;
  to[at] = bytes === 1 ? 0xcc : bytes === 2 ? 0xcd : bytes === 4 ? 0xce : 0xcf;
  for (let k = bytes, rest = n; k >= 1; k--, rest = Math.floor(rest / 256)) to[at + k] = rest % 256;
  return at + 1 + bytes;
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
      epoch: options.epoch, ringSize: options.ringSize ?? 512, ringBytes: options.ringBytes ?? 64 * 1024, softLimitBytes: options.softLimitBytes ?? 256 * 1024,
      hardLimitBytes: options.hardLimitBytes ?? 4 * 1024 * 1024, lingerMs: options.lingerMs ?? 120_000, watch: options.watch, clock: options.clock ?? Date.now,
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

  /** Add a subscriber (the engine is asked to push deltas for a stream's first one). */
  subscribe(assessmentId: string, s: Subscriber): void {
    let stream = this.#streams.get(assessmentId);
    if (stream === undefined) {
      stream = new Stream(this.#o.ringBytes, this.#o.ringSize);
      this.#streams.set(assessmentId, stream);
      this.#o.watch([assessmentId], true);
    }
    stream.subscribers.add(s);
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
    if (stream === undefined || epoch !== this.#o.epoch || seq > stream.seq) return undefined;
    if (seq === stream.seq) return [];
    const frames = stream.ring.after(seq);
    if (frames === undefined || protocol === PROTOCOL_MSGPACK) return frames;
    return frames.map((f) => JSON.stringify(decode(f))); // JSON resumes are rare (debugging): not kept twice
  }

  onEvents(events: readonly OutputEvent[]): void {
    for (const event of events) {
      const stream = this.#streams.get(event.assessmentId);
      if (stream === undefined) continue;
      this.#emit(stream, { t: 'event', assessmentId: event.assessmentId, epoch: this.#o.epoch, seq: stream.seq + 1, event }, true);
    }
  }

  onDeltas(deltas: readonly StateDelta[]): void {
    for (const delta of deltas) {
      const stream = this.#streams.get(delta.assessmentId);
      if (stream === undefined) continue;
      this.#emit(stream, { t: 'delta', assessmentId: delta.assessmentId, epoch: this.#o.epoch, seq: stream.seq + 1, delta }, false);
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
        const head = (stream.deltaHead ??= deltaHead(batch.ids[k]!, this.#o.epoch));
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
  #fanOut(stream: Stream, assessmentId: string, seq: number, encoded: Uint8Array, frame: ServerFrame | undefined, mustDeliver: boolean): void {
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
