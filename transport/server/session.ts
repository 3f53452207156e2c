/**
 * One WebSocket connection's state in the gateway. A class, not an object of
 * closures, and its sets made only when first needed: an idle connection is
 * a few hundred bytes, and a gateway holds thousands of them.
 */
import type { WebSocket } from 'uWebSockets.js';
import { CLOSE, PROTOCOL_MSGPACK, type FrameCodec, type Protocol } from '../protocol/index.js';
import type { Subscriber } from './stream-hub.js';
import type { Principal } from './token-verifier.js';

/** uWS's user data of a socket: it copies the object given at upgrade, so it holds the session. */
export interface Holder {
  readonly session: Session;
}

/** Frames a new session may send at once before its per-second rate applies (documented in asyncapi-ws.json). */
export const INITIAL_BURST_FRAMES = 10;

/** A connection: its subprotocol, who it is, what it watches, its rate limit. */
export class Session implements Subscriber {
  readonly id: number;
  readonly protocol: Protocol;
  /** Shared by every session of the protocol (encoding and decoding are synchronous). */
  readonly codec: FrameCodec;
  ws: WebSocket<Holder> | undefined = undefined;
  principal: Principal | undefined = undefined;
  authTimer: NodeJS.Timeout | undefined = undefined;
  /** Closes the session when its token expires (re-armed by a re-auth). */
  expiryTimer: NodeJS.Timeout | undefined = undefined;
  /** Remote address, as text. */
  readonly address: string;
  /** Assessments subscribed. */
  subs: Set<string> | undefined = undefined;
  /** Assessments whose `sub` is being answered (the state is being read). */
  subscribing: Set<string> | undefined = undefined;
  /** Assessments whose ownership was checked. */
  owned: Set<string> | undefined = undefined;
  /** Deltas skipped for this subscriber, by assessment, since its last resync notice. */
  lagging: Set<string> | undefined = undefined;
  tokens = INITIAL_BURST_FRAMES;
  refilledAt: number;
  errors = 0;
  closed = false;
  /** An auth frame is being verified: nothing else is taken until it is answered. */
  authenticating = false;

  constructor(id: number, protocol: Protocol, codec: FrameCodec, address = '') {
    this.id = id;
    this.address = address;
    this.protocol = protocol;
    this.codec = codec;
    this.refilledAt = Date.now();
  }

  /** One token of the connection's own bucket of `rate` frames per second; false when it is empty. */
  take(rate: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) * rate) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
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
