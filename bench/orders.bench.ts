/**
 * Orders bench: durably acknowledged orders through the node production
 * runs. `composeNode` builds it as `npm start` and `npm run serve` do, solo
 * (no node id: it claims every virtual shard), on a scratch database and, with
 * no NATS URL, the in-process market log: `ClusterNode.offer` → admission →
 * the intake's group commit to the per-shard Postgres journal
 * (`PgShardJournal`, one batch in flight, later requests form the next
 * batch, each entry fenced by its shard's epoch) → the apply on `--workers`
 * shard workers, with the market pump held while a batch is written, and the
 * shard checkpointer at `--checkpoint-ms`. `--assessments` accounts (tier
 * `one-step-50k`) are created through `offer` first; ticks flow at
 * `--tick-rate` throughout. The history read model is off unless `--history`
 * (it is a reader of the events, not part of the order path).
 *
 * Runs, `--repeats` times each: an open-loop generator offering market orders
 * (stop loss set, alternating buy/sell per account) at each of `--rates` for
 * `--seconds`, whatever the acks do; then a closed loop holding `--window`
 * orders in flight. Each reports acks/s, ack latency from the `offer()` call
 * to its resolution (and, as a check on the generator, from the order's
 * scheduled time), and the mean journal batch; a second table splits the
 * latency (queued behind the batch in flight / own write / after the write)
 * and counts CPU per ack: the main thread, the shard workers, the whole
 * process, and the Postgres backends.
 *
 * Baseline, the **ceiling**: `PgShardJournal.appendBatch` alone, back to
 * back, one batch in flight, batches of the size the node just used spread
 * over the shards as the node's are, into the same journal under the node's
 * own epochs. An ack cannot come before its batch's write, and the node
 * writes one batch at a time: entries/s of the bare write at the node's
 * batch size is the most this design can acknowledge, and its per-batch p99
 * is what the journal alone adds to an ack's latency.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { Histogram } from 'prom-client';
import { shardKey, shardOf, type IntakeRequest, type IntakeResult, type OutputEvent, type ShardJournalAppend } from '../engine/index.js';
import { composeNode, type ComposedNode } from '../engine/main/compose-node.js';
import { createTestDatabase } from '../engine/testing/index.js';
import { PgShardJournal } from '../persistence/index.js';
import { LoopStallMeter } from './loop-stall.js';
import { JournalTimer, pct, procCpuMs, QTY, sleep, SYMBOLS, T0, Ticker } from './orders-load.js';
import { ordersReport, type Row } from './orders-report.js';
import type { SuiteReport } from './report.js';
import { ThreadCpu } from './thread-cpu.js';

export interface OrdersBenchOptions {
  /** Offered rates of the open-loop runs, orders/s. @default [1_000, 10_000, 25_000, 50_000] */ readonly rates: readonly number[];
  /** Length of each run, s. @default 3 */ readonly seconds: number;
  /** Orders in flight in the closed-loop run. @default 4_096 */ readonly window: number;
  /** @default 3 */ readonly repeats: number;
  /** @default 10_000 */ readonly assessments: number;
  /** Ticks/s published meanwhile (3 symbols). @default 300 */ readonly tickRate: number;
  /** @default 2 */ readonly workers: number;
  /** The node's checkpoint interval, ms (0: none). @default 5_000 */ readonly checkpointMs: number;
  /** Keep the history read model in the node, as `npm start` does. @default false */ readonly history?: boolean;
  readonly url: string;
  /** Targets and progress lines. @default none */ readonly report?: SuiteReport;
}

export async function runOrdersBench(o: OrdersBenchOptions): Promise<{ text: string; figures: Record<string, number> }> {
  const scratch = await createTestDatabase({ serverUrl: o.url, prefix: 'vatic_bench_' });
  const { sql } = scratch;
  const timer = new JournalTimer();
  let composed: ComposedNode | undefined;
  let ticker: Ticker | undefined;
  try {
    const load = loadavg()[0]!;
    const ceilingJournal = new PgShardJournal(sql);
    timer.install((j) => j === ceilingJournal);
    const events = new Map<string, number>();
    const counter = {
      onEvents: (es: readonly OutputEvent[]) => {
        for (const e of es) events.set(e.type, (events.get(e.type) ?? 0) + 1);
      },
    };
    composed = await composeNode(
      {
        databaseUrl: scratch.url,
        workers: o.workers,
        checkpointIntervalMs: o.checkpointMs,
        clockBeat: false,
        history: o.history ?? false,
      },
      pino({ level: process.env['ORDERS_BENCH_LOG_LEVEL'] ?? 'error' }, pino.destination(2)),
      [counter],
    );
    const n = composed.node;
    const market = composed.memoryMarket!;
    market.publish({ type: 'clock', time: T0 });
    const registry = composed.registry;
    /** Checkpoints so far: count, total seconds and actors written (they compete with the journal for Postgres and the main thread). */
    const checkpointed = async () => {
      const v = (await (registry.getSingleMetric('engine_checkpoint_seconds') as Histogram).get()).values;
      const of = (suffix: string) => v.find((x) => x.metricName === `engine_checkpoint_seconds_${suffix}`)?.value ?? 0;
      const actors = (await registry.getSingleMetric('engine_checkpoint_actors_total')!.get()).values[0]?.value ?? 0;
      return { n: of('count'), s: of('sum'), actors };
    };
    const tk = (ticker = new Ticker(market, o.tickRate, () => n.lastSeq));
    for (let s = 0; s < 3; s++) ticker.publish(s, T0);
    ticker.start();

    const tSetup = performance.now();
    let made = 0;
    await Promise.all(
      Array.from({ length: Math.min(2_000, o.assessments) }, async () => {
        while (made < o.assessments) {
          const a = made++;
          const r = await n.offer({ kind: 'create', assessmentId: `a${a}`, traderId: `t${a}`, tierId: 'one-step-50k' });
          if (!r.ok) throw new Error(`create a${a}: ${r.code} ${r.message}`);
        }
      }),
    );
    const setupSeconds = (performance.now() - tSetup) / 1000;

    let k = 0;
    const order = (): IntakeRequest => {
      const i = k++,
        a = i % o.assessments,
        s = a % 3,
        buy = Math.floor(i / o.assessments) % 2 === 0;
      return {
        kind: 'command',
        assessmentId: `a${a}`,
        command: {
          kind: 'place',
          clientOrderId: `o${i}`,
          symbol: SYMBOLS[s],
          side: buy ? 'buy' : 'sell',
          type: 'market',
          qty: QTY[s],
          stopLoss: Math.round(tk.prices[s]! * (buy ? 0.98 : 1.02) * 100) / 100,
        },
      };
    };

    const threads = new ThreadCpu();
    type Offer = (rec: (at: number, sched: number) => (r: IntakeResult) => void) => Promise<void>;
    /** Drive one run; every offer is timed from its call, and its ack placed in the journal batch that carried it. */
    const measure = async (offered: number, drive: Offer): Promise<Row> => {
      const b0 = timer.batches.length;
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const stalls = new LoopStallMeter();
      stalls.start();
      tk.maxLag = 0;
      const at: number[] = [],
        done: number[] = [],
        sched: number[] = [],
        pos: number[] = [];
      let refused = 0;
      const ck0 = await checkpointed();
      const pgProcs = (await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database()`).map(
        (r) => `/proc/${r.pid}/stat`,
      );
      const cpu0 = { threads: threads.read(), node: process.cpuUsage(), pg: procCpuMs(pgProcs) };
      const t0 = performance.now();
      await drive((a, sc) => {
        const i = at.length;
        at.push(a);
        done.push(NaN);
        sched.push(sc);
        pos.push(NaN);
        return (r: IntakeResult) => {
          done[i] = performance.now();
          if (r.ok) pos[i] = r.position;
          else refused++;
        };
      });
      const last = done.reduce((m, d) => Math.max(m, d), t0);
      const th = ThreadCpu.delta(cpu0.threads, threads.read(), o.workers);
      const cpu = { node: process.cpuUsage(cpu0.node), pg: procCpuMs(pgProcs) - cpu0.pg };
      loop.disable();
      const stall = stalls.stop();
      const ck1 = await checkpointed();
      const batches = timer.batches.slice(b0);
      const lat = done.map((d, i) => d - at[i]!);
      // Split each ack: queued (offer to its batch's write start), write, after (write end to resolution).
      const queued: number[] = [],
        write: number[] = [],
        after: number[] = [];
      for (let i = 0; i < at.length; i++) {
        let lo = 0,
          hi = batches.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (batches[mid]!.first <= pos[i]!) lo = mid;
          else hi = mid - 1;
        }
        const b = batches[lo];
        if (b === undefined || Number.isNaN(pos[i]!)) continue;
        queued.push(b.t0 - at[i]!);
        write.push(b.t1 - b.t0);
        after.push(done[i]! - b.t1);
      }
      const acks = at.length - refused,
        wall = (last - t0) / 1000;
      const meanBatch = batches.reduce((s, b) => s + b.size, 0) / Math.max(1, batches.length);
      // The journal idle between the node's writes: one write's end to the next one's start.
      const gaps: number[] = [];
      for (let b = 1; b < batches.length; b++) gaps.push(batches[b]!.t0 - batches[b - 1]!.t1);
      const shardNs = th.top.reduce((s, x) => s + x.runNs, 0);
      return {
        offered,
        acksPerSec: acks / wall,
        p50: pct(lat, 50),
        p99: pct(lat, 99),
        max: pct(lat, 100),
        p99Sched:
          offered > 0
            ? pct(
                sched.map((s, i) => done[i]! - s),
                99,
              )
            : NaN,
        meanBatch,
        queuedP50: pct(queued, 50),
        queuedP99: pct(queued, 99),
        writeP50: pct(write, 50),
        writeP99: pct(write, 99),
        afterP99: pct(after, 99),
        gapP50: pct(gaps, 50),
        mainUs: th.main.runNs / 1000 / acks,
        shardsUs: shardNs / 1000 / acks,
        otherUs: (th.others.runNs - shardNs) / 1000 / acks,
        nodeUs: (cpu.node.user + cpu.node.system) / acks,
        pgUs: (1000 * cpu.pg) / acks,
        cores: ((cpu.node.user + cpu.node.system) / 1000 + cpu.pg) / (last - t0),
        loopP99: loop.percentile(99) / 1e6,
        loopMax: loop.max / 1e6,
        stallCpuMs: stall.maxCpuMs,
        lagMax: tk.maxLag,
        refused,
        checkpoints: ck1.n - ck0.n,
        checkpointMs: ck1.n > ck0.n ? (1000 * (ck1.s - ck0.s)) / (ck1.n - ck0.n) : NaN,
        checkpointActors: ck1.n > ck0.n ? (ck1.actors - ck0.actors) / (ck1.n - ck0.n) : NaN,
      };
    };

    /** Open loop: order i is due at t0 + i/rate and offered then (within the 1 ms timer), whatever the acks. */
    const openLoop = (rate: number, seconds = o.seconds) =>
      measure(rate, async (rec) => {
        const total = Math.round(rate * seconds),
          t0 = performance.now(),
          acks: Promise<void>[] = [];
        for (let sent = 0; sent < total; ) {
          const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
          for (; sent < due; sent++) {
            const ack = rec(performance.now(), t0 + (sent * 1000) / rate);
            acks.push(n.offer(order()).then(ack));
          }
          if (sent < total) await sleep(1);
        }
        await Promise.all(acks);
      });

    /** Closed loop: `window` orders in flight, each ack offering the next, for `seconds`. */
    const closedLoop = () =>
      measure(
        0,
        (rec) =>
          new Promise((resolve) => {
            const end = performance.now() + o.seconds * 1000;
            let inFlight = 0;
            const issue = (): void => {
              const ack = rec(performance.now(), NaN);
              inFlight++;
              void n.offer(order()).then((r) => {
                ack(r);
                inFlight--;
                if (performance.now() < end) issue();
                else if (inFlight === 0) resolve();
              });
            };
            for (let w = 0; w < o.window; w++) issue();
          }),
      );

    // The ceiling writes entries shaped as the node's, for assessments of its own, into the node's shards under
    // the node's epochs. The ticker pauses and a checkpoint is taken first, so the node's own checkpoints (which
    // idle actors make cheap) do not land in the measurement.
    const epochs = new Map(
      (await sql<{ group_id: string; epoch: string }[]>`select group_id, epoch::text from shard_owners`).map((r) => [
        r.group_id,
        Number(r.epoch),
      ]),
    );
    let c = 0;
    const ceiling = async (size: number): Promise<{ perSec: number; p99: number }> => {
      tk.stop();
      if (o.checkpointMs > 0) await n.checkpointNow().catch(() => undefined);
      const times: number[] = [];
      let entries = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < Math.max(1_000, (o.seconds * 1000) / 2)) {
        const batch: ShardJournalAppend[] = [];
        for (let j = 0; j < size; j++, c++) {
          const s = c % 3;
          const assessmentId = `c${c % o.assessments}`;
          const shard = shardOf(assessmentId);
          batch.push({
            shard,
            epoch: epochs.get(shardKey(shard))!,
            input: {
              type: 'command',
              assessmentId,
              command: {
                kind: 'place',
                clientOrderId: `x${c}`,
                symbol: SYMBOLS[s]!,
                side: 'buy',
                type: 'market',
                qty: QTY[s]!,
                stopLoss: 100,
              },
            },
            clientOrderId: `x${c}`,
            tickWatermark: n.lastSeq,
          });
        }
        const t = performance.now();
        const r = await ceilingJournal.appendBatch(batch);
        times.push(performance.now() - t);
        if (!r.every((x) => x.ok)) throw new Error('the bare journal write refused entries');
        entries += size;
      }
      const perSec = entries / ((performance.now() - t0) / 1000);
      tk.start();
      return { perSec, p99: pct(times, 99) };
    };

    await openLoop(5_000, 1); // warm-up, not reported
    const labels = [...o.rates.map((r) => `open ${r}`), 'closed'];
    const rows = new Map<string, Row[]>(labels.map((l) => [l, []]));
    for (let rep = 0; rep < o.repeats; rep++) {
      for (const label of labels) {
        const run = label === 'closed' ? await closedLoop() : await openLoop(Number(label.slice(5)));
        const ceil = await ceiling(Math.max(1, Math.round(run.meanBatch!)));
        rows.get(label)!.push({ ...run, ceilingPerSec: ceil.perSec, ceilingP99: ceil.p99, ratio: run.acksPerSec! / ceil.perSec });
        await sleep(200);
      }
    }
    ticker.stop();
    await n.engine.barrier();
    return ordersReport({ ...o, load, setupSeconds, rows, events, offered: k });
  } finally {
    ticker?.stop();
    await composed?.node.stop({ handOver: false }).catch(() => undefined);
    await composed?.close().catch(() => undefined);
    timer.uninstall();
    await scratch.drop();
  }
}
