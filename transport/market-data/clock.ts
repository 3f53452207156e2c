/**
 * The time source of the connectors: wall time and timers behind one small
 * interface so tests can run a connector against a venue whose clock is not
 * this machine's, and so no module reads `Date.now()` on its own.
 */

/** A timer handle, opaque to the caller. */
export type TimerHandle = { readonly __timer: true } | ReturnType<typeof setTimeout>;

/** Wall time (ms since epoch) and one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** This machine's clock and Node's timers; timers are unref'd so they never hold a process open. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});
