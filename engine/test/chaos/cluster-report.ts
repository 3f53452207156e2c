/**
 * The cluster test's summary: faults by kind, shards moved, the pause of a
 * moved shard (p50/p99/max, graceful moves and crashes apart, against their
 * targets, beside the unmoved shards in the same windows), and the verdicts.
 */
import { percentile, pausesByKind, type AnswerTimes, type FaultWindow } from './pause-figures.js';

/** What the summary is made of. */
export interface ClusterFigures {
  readonly faults: ReadonlyMap<string, number>;
  readonly windows: readonly FaultWindow[];
  readonly answers: AnswerTimes;
  readonly leaseTtlMs: number;
  readonly acknowledged: number;
  readonly lost: number;
  readonly duplicatedFills: number;
  readonly phantomFills: number;
  readonly missingFills: number;
  readonly fills: number;
  readonly mismatched: number;
  readonly statesCompared: number;
  readonly checks: number;
  /** Nodes' live views among the states compared. */
  readonly liveViews: number;
  readonly overlaps: number;
  readonly observations: number;
  readonly movesByKind: ReadonlyMap<string, number>;
  /** From each NATS restart to every node reading the market stream again, ms. */
  readonly marketResumeMs: readonly number[];
  readonly transient: ReadonlyMap<string, number>;
  readonly refused: ReadonlyMap<string, number>;
  readonly retries: number;
  /** Retried orders answered as duplicates of an earlier, journaled offer. */
  readonly duplicateAnswers: number;
  readonly reconnects: number;
  readonly selfExits: readonly string[];
  /** Each drained node and its exit code (`n1 0`). */
  readonly drainExits: readonly string[];
  readonly journalEntries: number;
  readonly marketMessages: number;
  readonly logs: string;
}

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : x === Infinity ? '∞' : '-');
const list = (m: ReadonlyMap<string, number>): string => (m.size === 0 ? 'none' : [...m].map(([k, n]) => `${k} ${n}`).join(' · '));

/** Graceful-move and crash-takeover pause targets, ms. */
export function pauseTargets(leaseTtlMs: number): { graceful: number; crash: number } {
  return { graceful: 1_000, crash: leaseTtlMs + 5_000 };
}

/** Pause figures of one kind of window: moved shards, and the unmoved ones beside them. */
export interface PauseVerdict {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly n: number;
  readonly met: boolean | undefined;
  readonly base99: number;
  readonly baseMax: number;
}

/** p99 of each kind's moved-shard pauses, and whether it meets its target (undefined: nothing measured). */
export function pauseVerdicts(f: Pick<ClusterFigures, 'answers' | 'windows' | 'leaseTtlMs'>): Map<string, PauseVerdict> {
  const targets = pauseTargets(f.leaseTtlMs);
  const out = new Map<string, PauseVerdict>();
  for (const [kind, { moved, unmoved }] of pausesByKind(f.answers, f.windows)) {
    const p99 = percentile(moved, 99);
    const target = kind === 'graceful' ? targets.graceful : kind === 'crash' ? targets.crash : undefined;
    out.set(kind, {
      p50: percentile(moved, 50),
      p99,
      max: moved.length === 0 ? NaN : Math.max(...moved),
      n: moved.length,
      met: target === undefined || moved.length === 0 ? undefined : p99 < target,
      base99: percentile(unmoved, 99),
      baseMax: unmoved.length === 0 ? NaN : Math.max(...unmoved),
    });
  }
  return out;
}

/** The summary text. */
export function formatClusterReport(f: ClusterFigures): string {
  const targets = pauseTargets(f.leaseTtlMs);
  const verdicts = pauseVerdicts(f);
  const rows: string[] = [];
  for (const kind of ['graceful', 'crash', ...[...verdicts.keys()].filter((k) => k !== 'graceful' && k !== 'crash')]) {
    const v = verdicts.get(kind);
    if (v === undefined) continue;
    const target =
      kind === 'graceful'
        ? `target p99 < ${f0(targets.graceful)} ms`
        : kind === 'crash'
          ? `target p99 < lease TTL + 5 s = ${f0(targets.crash)} ms`
          : 'no target';
    const mark = v.met === undefined ? 'NOT MEASURED' : v.met ? 'MET' : 'MISS';
    if (kind === 'graceful' || kind === 'crash')
      rows.push(
        `  pause, ${kind.padEnd(8)} p50 ${f0(v.p50)} ms · p99 ${f0(v.p99)} ms · max ${f0(v.max)} ms over ${v.n} moved shards with traffic (${target}: ${mark}); unmoved shards, same windows: p99 ${f0(v.base99)} ms`,
      );
    else
      rows.push(
        `  pause, ${kind.padEnd(8)} ${v.n === 0 ? 'no shard moved' : `moved shards p99 ${f0(v.p99)} ms · max ${f0(v.max)} ms (${v.n})`}; every shard with traffic in these windows: p99 ${f0(v.base99)} ms · max ${f0(v.baseMax)} ms`,
      );
  }
  return [
    'cluster test — figures',
    `  faults            ${list(f.faults)}`,
    `  shards moved      ${list(f.movesByKind)} (ownership observed ${f.observations} times; two nodes serving one shard: ${f.overlaps})`,
    ...rows,
    ...(f.marketResumeMs.length === 0
      ? []
      : [
          `  NATS restart      every node read the market stream again after ${f.marketResumeMs.map((x) => `${f0(x)} ms`).join(', ')} (restart included)`,
        ]),
    `  orders            acknowledged ${f.acknowledged} (and ${f.duplicateAnswers} retries answered as duplicates of a journaled offer) · lost ${f.lost} · retried ${f.retries} · reconnects ${f.reconnects}`,
    `                    transient answers: ${list(f.transient)}; refused for good: ${list(f.refused)}`,
    `  fills             ${f.fills} in the replay · duplicated on the event stream ${f.duplicatedFills} · not in the replay ${f.phantomFills} · missing ${f.missingFills}`,
    `  states            ${f.checks} checks (${f.liveViews} live views of nodes, and every checkpoint), ${f.statesCompared} states compared with the replay · mismatched ${f.mismatched}`,
    `  processes         drained nodes' exit codes ${f.drainExits.length === 0 ? 'none' : f.drainExits.join(', ')} · self-exits ${f.selfExits.length === 0 ? 'none' : f.selfExits.join('; ')}`,
    `  logs              market ${f.marketMessages} messages · journal ${f.journalEntries} entries · ${f.logs}`,
  ].join('\n');
}
