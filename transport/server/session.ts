/**
 * One WebSocket connection's state in the gateway. A class, not an object of
 * closures, and its sets made only when first needed: an idle connection is
 * a few hundred bytes, and a gateway holds thousands of them.
 */
import type { WebSocket } from 'uWebSockets.js';
import { CLOSE, PROTOCOL_MSGPACK, type FrameCodec, type Protocol } from '../protocol/index.js';
import type { DeadlineHolder, SessionDeadlines } from './session-deadlines.js';
import type { Subscriber } from './stream-hub.js';
import type { Principal } from './token-verifier.js';

/** uWS's user data of a socket: it copies the object given at upgrade, so it holds the session. */
export interface Holder {
  readonly session: Session;
}

/** Frames a new session may send at once before its per-second rate applies (documented in asyncapi-ws.json). */
export const INITIAL_BURST_FRAMES = 10;

/** Sessions count time from here, so their refill times stay small integers (for 12 days; past that V8 boxes them again). */
const CLOCK_ORIGIN = Date.now();

/** A connection: its subprotocol, who it is, what it watches, its rate limit. */
export class Session implements Subscriber, DeadlineHolder {
  readonly id: number;
  readonly protocol: Protocol;
  /** Shared by every session of the protocol (encoding and decoding are synchronous). */
  readonly codec: FrameCodec;
  ws: WebSocket<Holder> | undefined = undefined;
  principal: Principal | undefined = undefined;
  /** Its slot in the gateway's {@link SessionDeadlines} (auth timeout, then token expiry); -1 when it has no deadline. */
  deadlineSlot = -1;
  /** Assessments subscribed. */
  subs: Set<string> | undefined = undefined;
  /** Assessments whose `sub` is being answered (the state is being read). */
  subscribing: Set<string> | undefined = undefined;
  /** Assessments whose ownership was checked. */
  owned: Set<string> | undefined = undefined;
  /** Deltas skipped for this subscriber, by assessment, since its last resync notice. */
  lagging: Set<string> | undefined = undefined;
  /**
   * The connection's bucket in thousandths of a frame, refilled at `refilledAt`
   * (ms since {@link CLOCK_ORIGIN}): whole numbers, so V8 keeps both in the
   * object rather than as a boxed double each (32 B of every session).
   */
  milliTokens = INITIAL_BURST_FRAMES * 1000;
  refilledAt: number;
  errors = 0;
  closed = false;
  /** An auth frame is being verified: nothing else is taken until it is answered. */
  authenticating = false;

  constructor(id: number, protocol: Protocol, codec: FrameCodec) {
    this.id = id;
    this.protocol = protocol;
    this.codec = codec;
    this.refilledAt = Math.floor(Date.now() - CLOCK_ORIGIN);
  }

  /** One token of the connection's own bucket of `rate` frames per second; false when it is empty. */
  take(rate: number): boolean {
    const now = Math.floor(Date.now() - CLOCK_ORIGIN); // floor: a whole number V8 keeps unboxed, where a bare difference is a boxed double
    // (now - refilledAt) ms at `rate` frames/s is that many thousandths of a frame times `rate`.
    this.milliTokens = Math.min(rate * 1000, this.milliTokens + (now - this.refilledAt) * rate);
    this.refilledAt = now;
    if (this.milliTokens < 1000) return false;
    this.milliTokens -= 1000;
    return true;
  }

  buffered(): number {
    return this.ws === undefined || this.closed ? 0 : this.ws.getBufferedAmount();
  }

  send(data: Uint8Array | string): boolean {
    if (this.ws === undefined || this.closed) return false;
    return this.ws.send(data, typeof data !== 'string') !== 2;
  }

  closeSlow(): void {
    if (this.ws === undefined || this.closed) return;
    this.ws.send(
      this.codec.encode({ t: 'error', code: 'SLOW_CONSUMER', message: 'send buffer over its limit: closing' }),
      this.protocol === PROTOCOL_MSGPACK,
    );
    this.closed = true;
    this.ws.end(CLOSE.SLOW_CONSUMER, 'SLOW_CONSUMER');
  }

  lag(assessmentId: string): void {
    (this.lagging ??= new Set()).add(assessmentId);
  }

  /** Subscribed to `assessmentId`. */
  subscribed(assessmentId: string): boolean {
    return this.subs?.has(assessmentId) ?? false;
  }
}
