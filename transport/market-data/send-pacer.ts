/**
 * Outgoing control messages (subscribe, unsubscribe, resnapshot requests)
 * paced under a venue's documented inbound message limit with a token bucket,
 * so resubscribing many instruments at once does not get the connection cut.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';

/** Options of {@link SendPacer}. */
export interface SendPacerOptions {
  /** Messages per second sustained. `Infinity` sends at once (no pacing). */
  readonly ratePerSecond: number;
  /** Messages that may go back to back after a quiet period. @default 1 */
  readonly burst?: number;
  /** Messages waiting at most; more is a programming error (throws). @default 10_000 */
  readonly maxQueued?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A paced queue in front of one connection's `send`. */
export class SendPacer {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxQueued: number;
  readonly #clock: Clock;
  readonly #queue: string[] = [];
  #tokens: number;
  #refilledAt: number;
  #timer: TimerHandle | undefined;
  #send: ((message: string) => void) | undefined;
  #sent = 0;

  constructor(options: SendPacerOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be above 0');
    this.#rate = options.ratePerSecond;
    this.#burst = Math.max(1, options.burst ?? 1);
    this.#maxQueued = options.maxQueued ?? 10_000;
    this.#clock = options.clock ?? systemClock;
    this.#tokens = this.#burst;
    this.#refilledAt = this.#clock.now();
  }

  /** Messages waiting for a token. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Messages handed to the connection so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Send through `send` from now on (a new connection); what was queued for the old one is dropped. */
  attach(send: (message: string) => void): void {
    this.#queue.length = 0;
    this.#send = send;
  }

  /** Stop sending: the connection is gone. Queued messages are dropped (they are redone on the next connection). */
  detach(): void {
    this.#send = undefined;
    this.#queue.length = 0;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Queue one message; it goes out as soon as a token is free. */
  send(message: string): void {
    if (this.#send === undefined) return;
    if (this.#queue.length >= this.#maxQueued) throw new RangeError(`send queue over ${this.#maxQueued} messages`);
    this.#queue.push(message);
    this.#drain();
  }

  #drain(): void {
    if (this.#timer !== undefined) return;
    while (this.#queue.length > 0 && this.#send !== undefined) {
      this.#refill();
      if (this.#tokens < 1) {
        const waitMs = Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
        this.#timer = this.#clock.setTimeout(() => {
          this.#timer = undefined;
          this.#drain();
        }, waitMs);
        return;
      }
      this.#tokens -= 1;
      this.#sent++;
      this.#send(this.#queue.shift()!);
    }
  }

  #refill(): void {
    if (this.#rate === Infinity) {
      this.#tokens = this.#burst;
      return;
    }
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
  }
}
