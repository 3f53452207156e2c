/**
 * The compliance record of an assessment: every violation with its full
 * evidence (the engine's own: the input that caused it, equity, the floor
 * crossed, the positions with their marks, the rule and tier version), every
 * pass-blocked episode and soft lock, and how to check each by replaying the
 * assessment's inputs: the replay prints the same event at the same instant.
 */
import type { Cause, PositionEvidence, RuleId } from '../../actors/index.js';
import type { HeldPosition, PointRow, TransitionRow, ViolationRow } from '../../persistence/index.js';

/** How to reproduce the assessment's events: a tape and the command that replays it. */
export interface ReplaySource {
  /** Shell commands that print every event of the assessment, in order. */
  readonly commands: readonly string[];
  /** What the commands need (a durable market log), or why none can be given. */
  readonly note: string;
}

export interface ViolationRecord {
  readonly no: number;
  readonly at: number;
  /** The event's identity in this deployment's stream. */
  readonly input: number;
  readonly n: number;
  readonly ruleId: RuleId;
  readonly severity: 'hard' | 'soft';
  readonly tierId: string;
  readonly tierVersion: number;
  readonly phase: string;
  readonly cause: Cause;
  readonly equity: number;
  readonly balance: number;
  readonly limit: number;
  readonly value: number;
  readonly positions: readonly PositionEvidence[];
  readonly detail: string;
  /** The replay's line for this event has these fields equal. */
  readonly expect: {
    readonly type: 'rules.violation-detected';
    readonly assessmentId: string;
    readonly at: number;
    readonly ruleId: RuleId;
    readonly equity: number;
    readonly limit: number;
  };
}

export interface EpisodeRecord {
  readonly kind: 'pass-blocked' | 'trading-locked';
  readonly ruleId: RuleId | null;
  readonly at: number;
  /** When the episode ended: the next pass-block, a phase's end, the lock's reset; null while open. */
  readonly endedAt: number | null;
  readonly input: number;
  readonly n: number;
  readonly phase: string | null;
  readonly detail: string;
  readonly balance: number;
  /** Equity as far as it is known at that instant (exact when flat; else null). */
  readonly equity: number | null;
  readonly dailyFloor: number | null;
  readonly maxLossFloor: number | null;
  readonly positions: readonly HeldPosition[];
  readonly tierId: string;
  readonly tierVersion: number;
  readonly expect: { readonly type: string; readonly assessmentId: string; readonly at: number; readonly ruleId: RuleId | null };
}

export interface Compliance {
  readonly violations: readonly ViolationRecord[];
  readonly episodes: readonly EpisodeRecord[];
  readonly replay: ReplaySource;
}

/** The record, from the assessment's violations, transitions and points. */
export function compliance(
  assessmentId: string,
  tier: { id: string; version: number },
  violations: readonly ViolationRow[],
  transitions: readonly TransitionRow[],
  points: readonly PointRow[],
  replay: ReplaySource,
): Compliance {
  const records: ViolationRecord[] = violations.map((v) => {
    const x = v.violation;
    return {
      no: v.no,
      at: v.at,
      input: v.input,
      n: v.n,
      ruleId: x.ruleId,
      severity: x.severity,
      tierId: x.tierId,
      tierVersion: x.tierVersion,
      phase: x.phase,
      cause: x.cause,
      equity: x.equity,
      balance: x.balance,
      limit: x.limit,
      value: x.value,
      positions: x.positions,
      detail: x.detail,
      expect: { type: 'rules.violation-detected', assessmentId, at: v.at, ruleId: x.ruleId, equity: x.equity, limit: x.limit },
    };
  });
  const episodes: EpisodeRecord[] = [];
  const ends = new Set(['phase-passed', 'passed', 'failed', 'expired', 'abandoned']);
  transitions.forEach((t, i) => {
    if (t.kind !== 'pass-blocked' && t.kind !== 'trading-locked') return;
    let endedAt: number | null = null;
    if (t.kind === 'trading-locked') {
      const until = (JSON.parse(t.detail || '{}') as { until?: number }).until;
      endedAt = typeof until === 'number' ? until : null;
    } else {
      const next = transitions.slice(i + 1).find((x) => x.kind === 'pass-blocked' || ends.has(x.kind));
      endedAt = next?.at ?? null;
    }
    const at = lastPointAt(points, t.at);
    episodes.push({
      kind: t.kind,
      ruleId: t.ruleId,
      at: t.at,
      endedAt,
      input: t.input,
      n: t.n,
      phase: t.phase,
      detail: t.detail,
      balance: t.balance,
      equity: at?.equity ?? (at !== undefined && at.positions.length === 0 ? at.balance : null),
      dailyFloor: at?.dailyFloor ?? null,
      maxLossFloor: at?.maxLossFloor ?? null,
      positions: at?.positions ?? [],
      tierId: tier.id,
      tierVersion: tier.version,
      expect: { type: `assessment.${t.kind}`, assessmentId, at: t.at, ruleId: t.ruleId },
    });
  });
  return { violations: records, episodes, replay };
}

/** The last point at or before `t` (binary search; points are in time order). */
function lastPointAt(points: readonly PointRow[], t: number): PointRow | undefined {
  let lo = 0;
  let hi = points.length - 1;
  let found: PointRow | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]!.at <= t) {
      found = points[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Replay commands for an assessment: from a tape file, or exported from the durable logs. */
export function replaySource(assessmentId: string, tape: string | undefined, durable: boolean): ReplaySource {
  if (tape !== undefined) {
    return {
      commands: [`npm run replay -- ${tape} --no-states`],
      note: 'The tape holds every input of the assessment; the replay prints each event as a JSON line.',
    };
  }
  if (durable) {
    const file = `${assessmentId.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`;
    return {
      commands: [`npm run history -- tape ${assessmentId} --out ${file}`, `npm run replay -- ${file} --no-states`],
      note: 'The tape is cut from the market log (JetStream, NATS_URL) and the journal (Postgres, DATABASE_URL): the market inputs from the creation on, each command at its watermark.',
    };
  }
  return {
    commands: [],
    note: "This deployment keeps its market log in process (no NATS_URL): ticks do not survive it, so no tape can be cut. The evidence above is the engine's own.",
  };
}
