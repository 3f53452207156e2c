/**
 * A deadline-bounded wait for tests: poll a condition until it holds, and fail
 * with a named error saying what was awaited when the deadline passes. The
 * deadline is a bound, not a pace: on a loaded machine a wait takes as long as
 * the condition needs, up to the bound, and never a fixed sleep longer.
 */

/** Options of {@link until}. */
export interface UntilOptions {
  /** What is awaited, as the end of "timed out after N ms waiting for …". */
  readonly what: string;
  /** How long to wait before failing, in ms. @default 10_000 */
  readonly deadlineMs?: number;
  /** Pause between checks, in ms. @default 5 */
  readonly intervalMs?: number;
  /** Extra context for the timeout message (a child's output, the last state seen). @default none */
  readonly detail?: () => string;
}

/** The deadline of an {@link until} passed before its condition held. */
export class UntilTimeoutError extends Error {
  readonly code = 'UNTIL_TIMEOUT';
  override readonly name = 'UntilTimeoutError';
  /** What was awaited. */
  readonly what: string;
  /** The deadline that passed, in ms. */
  readonly deadlineMs: number;
  constructor(what: string, deadlineMs: number, detail: string | undefined) {
    super(`timed out after ${deadlineMs} ms waiting for ${what}${detail === undefined ? '' : `\n${detail}`}`);
    this.what = what;
    this.deadlineMs = deadlineMs;
  }
}

/**
 * Resolve with the first truthy value of `predicate`, checked now and then
 * every `intervalMs`; reject with {@link UntilTimeoutError} once `deadlineMs`
 * has passed without one. An error thrown by `predicate` rejects at once.
 *
 * @example
 * await until(() => node.lastSeq >= 10, { what: 'the node to apply ten inputs', deadlineMs: 5_000 });
 */
export async function until<T>(predicate: () => T | Promise<T>, options: UntilOptions): Promise<NonNullable<T>> {
  const deadlineMs = options.deadlineMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 5;
  const end = performance.now() + deadlineMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (performance.now() > end) throw new UntilTimeoutError(options.what, deadlineMs, options.detail?.());
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
