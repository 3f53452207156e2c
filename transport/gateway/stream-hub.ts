/**
 * Per-assessment live streams for the gateway. The engine's events and
 * coalesced deltas become numbered frames (epoch, seq) per assessment; each
 * frame is encoded once per subprotocol and sent to every subscriber; the
 * last frames stay in a ring so a reconnecting client can resume.
 *
 * Backpressure: a delta is skipped for a subscriber whose socket buffer is
 * over the soft limit (counted; the client sees a seq gap and is told to
 * resync once drained). Events (fills, violations, status changes) are never
 * skipped: a subscriber whose buffer passes the hard limit is closed instead.
 */
import type { EngineOutput } from '../../engine/engine.js';
import type { OutputEvent, StateDelta } from '../../engine/inputs.js';
import { FrameCodec, PROTOCOL_JSON, PROTOCOL_MSGPACK, type ServerFrame } from './protocol.js';

/** What the hub needs of a subscriber's connection. */
export interface Subscriber {
  readonly protocol: typeof PROTOCOL_MSGPACK | typeof PROTOCOL_JSON;
  /** Bytes waiting in the socket's send buffer. */
  buffered(): number;
  /** Send one encoded frame; false when the socket refused it. */
  send(data: Uint8Array | string): boolean;
  /** Close because it cannot keep up. */
  closeSlow(): void;
  /** Deltas skipped for this subscriber, by assessment, since its last resync notice. */
  readonly lagging: Set<string>;
}

/** Options of {@link StreamHub}. */
export interface StreamHubOptions {
  /** Epoch of every stream: changes when the engine behind the gateway restores. */
  readonly epoch: number;
  /** Frames kept per assessment for resume. @default 512 */
  readonly ringSize?: number;
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

interface Frame {
  readonly seq: number;
  readonly frame: ServerFrame;
  bin?: Uint8Array;
  text?: string;
}

class Stream {
  seq = 0;
  readonly ring: Frame[] = [];
  readonly subscribers = new Set<Subscriber>();
  idleSince = 0;
}

/** Counters the hub keeps (exported as metrics by the gateway). */
export interface HubCounters {
  framesSent: number;
  deltasDropped: number;
  slowClosed: number;
}

export class StreamHub implements EngineOutput {
  readonly counters: HubCounters = { framesSent: 0, deltasDropped: 0, slowClosed: 0 };
  readonly #o: Required<Omit<StreamHubOptions, 'watch' | 'clock'>> & Pick<StreamHubOptions, 'watch'> & { clock: () => number };
  readonly #streams = new Map<string, Stream>();
  readonly #bin = new FrameCodec(PROTOCOL_MSGPACK, 1);
  readonly #json = new FrameCodec(PROTOCOL_JSON, 1);

  constructor(options: StreamHubOptions) {
    this.#o = {
      epoch: options.epoch, ringSize: options.ringSize ?? 512, softLimitBytes: options.softLimitBytes ?? 256 * 1024,
      hardLimitBytes: options.hardLimitBytes ?? 4 * 1024 * 1024, lingerMs: options.lingerMs ?? 120_000, watch: options.watch, clock: options.clock ?? Date.now,
    };
  }

  get epoch(): number {
    return this.#o.epoch;
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
      stream = new Stream();
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
   * Frames after `seq`, encoded for `protocol`, for a resume; undefined when
   * the epoch changed or the ring no longer holds them all.
   */
  missed(assessmentId: string, epoch: number, seq: number, protocol: Subscriber['protocol']): Array<Uint8Array | string> | undefined {
    const stream = this.#streams.get(assessmentId);
    if (stream === undefined || epoch !== this.#o.epoch || seq > stream.seq) return undefined;
    if (seq === stream.seq) return [];
    const first = stream.ring[0];
    if (first === undefined || first.seq > seq + 1) return undefined;
    return stream.ring.filter((f) => f.seq > seq).map((f) => this.#encoded(f, protocol));
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
    stream.seq = frame.seq;
    const f: Frame = { seq: frame.seq, frame };
    stream.ring.push(f);
    if (stream.ring.length > this.#o.ringSize) stream.ring.shift();
    for (const s of stream.subscribers) {
      const buffered = s.buffered();
      if (!mustDeliver && buffered > this.#o.softLimitBytes) {
        this.counters.deltasDropped++;
        s.lagging.add(frame.assessmentId);
        continue;
      }
      if (buffered > this.#o.hardLimitBytes) {
        this.counters.slowClosed++;
        s.closeSlow();
        continue;
      }
      if (s.send(this.#encoded(f, s.protocol))) this.counters.framesSent++;
    }
  }

  /** Encoded once per protocol, on first use. */
  #encoded(f: Frame, protocol: Subscriber['protocol']): Uint8Array | string {
    if (protocol === PROTOCOL_MSGPACK) return (f.bin ??= this.#bin.encode(f.frame) as Uint8Array);
    return (f.text ??= this.#json.encode(f.frame) as string);
  }
}
