/**
 * The orders bench's tables and targets: medians over the repeats of each
 * run, the targets judged (MET or MISS), and the figures for the results file.
 */
import { pct } from './orders-load.js';
import type { SuiteReport } from './report.js';

/** One run's figures by name. */
export type Row = Record<string, number>;

/** Issue 14's targets: at 10k/s offered p99 ≤ 10 ms in every run; closed loop ≥ 80% of the bare journal write at its batch size; no main-loop stall over 50 ms. */
const TARGET = { rate: 10_000, p99Ms: 10, closedRatio: 0.8, stallMs: 50 };

/** What {@link ordersReport} prints from. */
export interface OrdersRuns {
  readonly assessments: number;
  readonly workers: number;
  readonly tickRate: number;
  readonly repeats: number;
  readonly seconds: number;
  readonly window: number;
  readonly checkpointMs: number;
  readonly history?: boolean;
  /** Load average at the start. */
  readonly load: number;
  readonly setupSeconds: number;
  /** Each run's rows by label (`open <rate>`, `closed`), in run order. */
  readonly rows: ReadonlyMap<string, readonly Row[]>;
  /** Engine events by type. */
  readonly events: ReadonlyMap<string, number>;
  /** Orders offered in all. */
  readonly offered: number;
  readonly report?: SuiteReport | undefined;
}

const fmt = (x: number, d: number) =>
  Number.isNaN(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The bench's text and figures. */
export function ordersReport(o: OrdersRuns): { text: string; figures: Record<string, number> } {
  const { rows, events } = o;
  const figures: Record<string, number> = {
    assessments: o.assessments,
    workers: o.workers,
    tickRate: o.tickRate,
    repeats: o.repeats,
    setupSeconds: o.setupSeconds,
    loadAverage: o.load,
  };
  const meds = new Map<string, Row>();
  for (const [label, rs] of rows) {
    const med: Row = {};
    for (const key of Object.keys(rs[0]!))
      med[key] = pct(
        rs.map((r) => r[key]!),
        50,
      );
    meds.set(label, med);
    for (const [key, v] of Object.entries(med)) figures[`${label === 'closed' ? 'closed' : `r${label.slice(5)}`}_${key}`] = v;
  }
  const table = (cols: Array<[string, string, number]>, w = 9) => [
    `  ${'run'.padEnd(11)}${cols.map(([h]) => h.padStart(w)).join('')}`,
    ...[...meds].map(
      ([label, m]) =>
        `  ${label.padEnd(11)}${cols.map(([, key, d]) => (key === 'offered' && m[key] === 0 ? '-' : fmt(m[key]!, d)).padStart(w)).join('')}`,
    ),
  ];
  const lines = [
    `\norders (composeNode, solo ClusterNode.offer → PgShardJournal → ${o.workers} shard workers; ${fmt(o.assessments, 0)} assessments, ${o.tickRate} ticks/s, checkpoints ${o.checkpointMs > 0 ? `every ${o.checkpointMs} ms` : 'off'}, history ${o.history === true ? 'on' : 'off'}; medians of ${o.repeats}, ${o.seconds} s runs; load average ${o.load.toFixed(1)} at start)`,
  ];
  lines.push(
    ...table(
      [
        ['offered', 'offered', 0],
        ['acks/s', 'acksPerSec', 0],
        ['p50 ms', 'p50', 2],
        ['p99 ms', 'p99', 2],
        ['max ms', 'max', 1],
        ['p99 schd', 'p99Sched', 2],
        ['batch', 'meanBatch', 0],
        ['ceil/s', 'ceilingPerSec', 0],
        ['ceil p99', 'ceilingP99', 2],
        ['node/ceil', 'ratio', 2],
      ],
      11,
    ),
  );
  for (const [label, rs] of rows)
    lines.push(
      `  ${label.padEnd(11)}runs: acks/s ${rs.map((r) => fmt(r.acksPerSec!, 0)).join(' / ')}; p99 ms ${rs.map((r) => fmt(r.p99!, 2)).join(' / ')}${rs.some((r) => r.refused! > 0) ? `; REFUSED ${rs.map((r) => r.refused).join(' / ')}` : ''}`,
    );
  const tm = rows.get(`open ${TARGET.rate}`);
  const closed = meds.get('closed')!;
  const worstP99 = tm === undefined ? NaN : Math.max(...tm.map((r) => r.p99!));
  const worstStall = Math.max(...[...rows.values()].flat().map((r) => r.loopMax!));
  const worstStallCpu = Math.max(...[...rows.values()].flat().map((r) => r.stallCpuMs!));
  const mark = (name: string, value: number, op: '<=' | '>=', threshold: number, unit: string) =>
    o.report?.target(name, value, op, threshold, unit) ??
    `target ${op === '<=' ? '≤' : '≥'} ${threshold}${unit === '%' ? '%' : ` ${unit}`}: ${(op === '<=' ? value <= threshold : value >= threshold) ? 'MET' : 'MISS'}`;
  lines.push(
    `  at ${fmt(TARGET.rate, 0)}/s offered, worst run p99 ${fmt(worstP99, 2)} ms   ${mark('orders p99 at 10k/s, worst run', worstP99, '<=', TARGET.p99Ms, 'ms')}`,
  );
  lines.push(
    `  closed loop (window ${o.window}): ${fmt(closed.acksPerSec!, 0)} acks/s = ${fmt(100 * closed.ratio!, 0)}% of the bare journal write at its batch size (${fmt(closed.ceilingPerSec!, 0)}/s)   ${mark('orders closed loop / bare journal', 100 * closed.ratio!, '>=', 100 * TARGET.closedRatio, '%')}`,
  );
  lines.push(
    `  main loop stall, worst run ${fmt(worstStall, 0)} ms (main-thread CPU in the longest gap ${fmt(worstStallCpu, 0)} ms)   ${mark('orders main loop stall', worstStall, '<=', TARGET.stallMs, 'ms')}`,
  );
  const pass = worstP99 <= TARGET.p99Ms && closed.ratio! >= TARGET.closedRatio && worstStall <= TARGET.stallMs;
  lines.push('\n  where the time goes (ms; CPU in µs per ack; cores = node process + Postgres backends)');
  lines.push(
    ...table(
      [
        ['queued50', 'queuedP50', 2],
        ['queued99', 'queuedP99', 2],
        ['write50', 'writeP50', 2],
        ['write99', 'writeP99', 2],
        ['after99', 'afterP99', 2],
        ['gap50', 'gapP50', 2],
        ['main µs', 'mainUs', 1],
        ['shards µs', 'shardsUs', 1],
        ['other µs', 'otherUs', 1],
        ['node µs', 'nodeUs', 0],
        ['pg µs', 'pgUs', 0],
        ['cores', 'cores', 2],
        ['loop p99', 'loopP99', 1],
        ['loop max', 'loopMax', 0],
        ['cpu stl', 'stallCpuMs', 0],
        ['lag max', 'lagMax', 0],
        ['ckpts', 'checkpoints', 0],
        ['ckpt ms', 'checkpointMs', 0],
        ['ckpt act', 'checkpointActors', 0],
      ],
      10,
    ),
  );
  lines.push(
    `  engine events: ${['order.filled', 'order.rejected', 'command.ignored', 'assessment.failed'].map((e) => `${e} ${fmt(events.get(e) ?? 0, 0)}`).join(', ')}; ${fmt(o.offered, 0)} orders offered; set-up ${fmt(o.setupSeconds, 1)} s`,
  );
  lines.push(
    "  p99 schd: from the order's scheduled send time (checks the generator); ceil: bare PgShardJournal.appendBatch at the run's mean batch, entries/s and per-batch p99;",
  );
  lines.push(
    "  queued: offer() to its batch's write start; write: the node's journal write; after: write end to resolution; gap: one write's end to the next one's start; main/shards/other: CPU of the main thread, the shard workers, the process's other threads (GC, libuv);",
  );
  lines.push(
    '  loop: main event-loop delay; cpu stl: main-thread CPU within the longest loop gap; lag: market inputs published, not yet applied;',
  );
  lines.push('  ckpts: checkpoints finished during the run (median count), their mean duration and actors written');
  figures['pass'] = pass ? 1 : 0;
  figures['ordersFilled'] = events.get('order.filled') ?? 0;
  figures['ordersRejected'] = events.get('order.rejected') ?? 0;
  return { text: `${lines.join('\n')}\n`, figures };
}
