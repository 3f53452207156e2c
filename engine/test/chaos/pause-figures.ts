/**
 * How long a moved shard was unavailable to traders: from the last answer
 * before the move to the first answer after it, taken from the times the bot
 * traders received acknowledgements for orders on that shard's assessments.
 * Bots place orders back to back, so outside a move consecutive answers on
 * a shard are close together; the longest gap that reaches into a fault's
 * window is that shard's pause. The same measure over the shards that did
 * not move, in the same windows, is the baseline (what traffic alone looks
 * like on this machine).
 */

/** A fault's window: from the fault to the cluster being settled again. */
export interface FaultWindow {
  /** Graceful (join, drain, rejoin), crash (SIGKILL, lease expiry), or another kind that is only reported. */
  readonly kind: string;
  readonly start: number;
  readonly end: number;
  /** Shards whose owner changed in the window. */
  readonly moved: ReadonlySet<number>;
}

/** Answers per shard, each list ascending. */
export type AnswerTimes = ReadonlyMap<number, readonly number[]>;

/**
 * The pause of `shard` around `w`: the longest gap between consecutive
 * answers that ends after the window starts and begins before it ends.
 * Undefined when the shard had no answer before the window (nothing to
 * measure from); Infinity when it never answered again.
 */
export function pauseOf(times: readonly number[] | undefined, w: Pick<FaultWindow, 'start' | 'end'>): number | undefined {
  if (times === undefined || times.length === 0 || times[0]! > w.start) return undefined;
  let worst = 0;
  for (let i = 0; i < times.length; i++) {
    const a = times[i]!;
    if (a >= w.end) break;
    const b = times[i + 1];
    if (b === undefined) return Infinity;
    if (b > w.start) worst = Math.max(worst, b - a);
  }
  return worst;
}

/** Pauses of moved shards and of unmoved ones (the baseline), by window kind. */
export function pausesByKind(answers: AnswerTimes, windows: readonly FaultWindow[]): Map<string, { moved: number[]; unmoved: number[] }> {
  const out = new Map<string, { moved: number[]; unmoved: number[] }>();
  for (const w of windows) {
    let row = out.get(w.kind);
    if (row === undefined) out.set(w.kind, (row = { moved: [], unmoved: [] }));
    for (const [shard, times] of answers) {
      const p = pauseOf(times, w);
      if (p === undefined) continue;
      (w.moved.has(shard) ? row.moved : row.unmoved).push(p);
    }
  }
  return out;
}

/** The p-th percentile (nearest rank) of `xs`; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
