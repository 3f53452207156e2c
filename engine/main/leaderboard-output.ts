/**
 * The engine output that ranks assessments on the shared leaderboard by
 * their return, from each flush of state deltas.
 */
import type { Logger } from 'pino';
import type { LeaderboardEntry, SharedState } from '../../persistence/index.js';
import type { EngineOutput } from '../index.js';

/** Ranks every flushed assessment by its return; a failed update is logged, and the next delta retries it. */
export function leaderboardOutput(shared: SharedState, log: Logger): EngineOutput {
  const rank = (entries: LeaderboardEntry[]): void => {
    void shared.leaderboard.update(entries).catch((err: unknown) => log.warn({ err }, 'leaderboard update failed; the next delta retries'));
  };
  const returnPct = (equity: number, start: number): number => (100 * (equity - start)) / start;
  return {
    onEvents: () => {},
    onDeltas: (deltas) => rank(deltas.map((d) => ({ assessmentId: d.assessmentId, returnPct: returnPct(d.equity, d.startingBalance) }))),
    // The shards' encoded flush carries the two figures a rank needs, so nothing is decoded here.
    onEncodedDeltas: (b) =>
      rank(b.ids.map((assessmentId, k) => ({ assessmentId, returnPct: returnPct(b.equity[k]!, b.startingBalance[k]!) }))),
  };
}
