/**
 * The live summary `npm start` prints once per second (start.ts): its
 * figures, and how they are printed as a table or a plain line (JSON prints
 * the object as it is).
 */

/** One shard's line of the summary. */
export interface ShardLine {
  shard: number;
  actors: number;
  busyPct: number;
  pending: number;
  heapMiB: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** One second's figures, printed as a table, a plain line, or JSON. */
export interface DemoSummary {
  type: 'summary' | 'final';
  uptimeSec: number;
  feedTime: string;
  /** The feed was held back at some point since the last summary because a shard fell behind. */
  lagging: boolean;
  ticksPerSec: number;
  inputsPerSec: number;
  commandsPerSec: number;
  ticks: number;
  inputs: number;
  commands: number;
  resolutions: number;
  /** Entry orders (bracket legs are the engine's own). */
  ordersAccepted: number;
  ordersRejected: number;
  fills: number;
  violations: number;
  passes: number;
  failures: number;
  assessments: number;
  active: number;
  passed: number;
  failed: number;
  otherEnded: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Highest per-second p99 since the start. */
  worstP99Ms: number | null;
  shards: ShardLine[];
  /** This process's memory, MiB: resident (every thread), the main thread's V8 heap and its memory outside V8 (buffers, WebAssembly), and the shards' heaps. */
  memory: { rssMiB: number; mainHeapMiB: number; mainExternalMiB: number; shardHeapMiB: number };
}

/** A number with thousands separators and `d` decimals. */
export const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
/** Milliseconds with three decimals, or a dash when unmeasured. */
export const ms = (n: number | null): string => (n === null ? '–' : n.toFixed(3));
/** Rounded to three decimals; null when not finite. */
export const round3 = (n: number): number | null => (Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null);
const clockOf = (sec: number): string =>
  `${Math.floor(sec / 3600)}:${String(Math.floor(sec / 60) % 60).padStart(2, '0')}:${String(Math.floor(sec) % 60).padStart(2, '0')}`;

/** The summary as the table a terminal redraws in place. */
export function tableLines(s: DemoSummary, speed: number): string[] {
  const head = s.type === 'final' ? 'vatic demo — stopped' : 'vatic demo';
  return [
    `${head} · up ${clockOf(s.uptimeSec)} · feed ${s.feedTime} (×${fmt(speed)})${s.lagging ? ' · LAGGING: feed held back' : ''}`,
    `  flow${s.type === 'final' ? ' (avg)' : '      '}  ticks ${fmt(s.ticksPerSec)}/s · inputs ${fmt(s.inputsPerSec)}/s · commands ${fmt(s.commandsPerSec)}/s · resolutions ${fmt(s.resolutions)}`,
    `  orders      accepted ${fmt(s.ordersAccepted)} · rejected ${fmt(s.ordersRejected)} · fills ${fmt(s.fills)}`,
    `  verdicts    violations ${fmt(s.violations)} · passes ${fmt(s.passes)} · failures ${fmt(s.failures)}`,
    `  accounts    active ${fmt(s.active)} · passed ${fmt(s.passed)} · failed ${fmt(s.failed)} · other ended ${fmt(s.otherEnded)} (of ${fmt(s.assessments)})`,
    `  tick→verdict p50 ${ms(s.p50Ms)} ms · p99 ${ms(s.p99Ms)} ms · worst p99 ${ms(s.worstP99Ms)} ms`,
    '  shard   actors   busy   pending   heap MiB   p50 ms   p99 ms',
    ...s.shards.map(
      (x) =>
        `  ${String(x.shard).padStart(5)} ${fmt(x.actors).padStart(8)} ${`${fmt(x.busyPct)}%`.padStart(6)} ${fmt(x.pending).padStart(9)} ${fmt(x.heapMiB).padStart(10)} ${ms(x.p50Ms).padStart(8)} ${ms(x.p99Ms).padStart(8)}`,
    ),
  ];
}

/** The summary as one plain line (output not a terminal). */
export function plainLine(s: DemoSummary): string {
  const shards = s.shards.map((x) => `s${x.shard} ${fmt(x.actors)} actors ${fmt(x.busyPct)}% busy ${fmt(x.pending)} pending`).join(', ');
  return (
    `[${clockOf(s.uptimeSec)}${s.type === 'final' ? ' final' : ''}] feed ${s.feedTime}${s.lagging ? ' LAGGING' : ''} | ${s.type === 'final' ? 'avg ' : ''}ticks ${fmt(s.ticksPerSec)}/s inputs ${fmt(s.inputsPerSec)}/s` +
    ` | fills ${fmt(s.fills)} violations ${fmt(s.violations)} passes ${fmt(s.passes)} failures ${fmt(s.failures)}` +
    ` | active ${fmt(s.active)} passed ${fmt(s.passed)} failed ${fmt(s.failed)} | ${shards} | p50 ${ms(s.p50Ms)} ms p99 ${ms(s.p99Ms)} ms`
  );
}
