/**
 * Recovery bench: a solo node restarting on 100,000 assessments, composed as
 * `npm run serve` composes it (`composeNode` with NATS and Postgres: the
 * JetStream market log, the per-shard journal and checkpoints, a
 * `ClusterNode` that claims every virtual shard).
 *
 * Set-up, untimed, on a scratch database and a market stream of its own
 * (unique name and subject namespace, deleted at the end): the assessments
 * (tier `two-step-100k`, each with 1–3 open positions) are built in one
 * in-process `ShardKernel` after a clock and a tick per symbol (market seqs
 * 1–4, published to the stream first) and saved shard by shard through
 * `PgShardStore.save` under a solo claim, the rows a running node's
 * checkpointer writes. After the checkpoint: `--seconds` of ticks from the
 * `SyntheticFeed` (BTC/ETH/SOL at its default 100 ms mean interval per
 * symbol, ~30 ticks/s, the production-like rate) plus a clock input per
 * second on the stream, and `--journal` entries in `PgShardJournal` (orders,
 * and 1% creates) with watermarks spread over those ticks.
 *
 * Measured, `--repeats` times: `composeNode` to its return (a solo node
 * returns once ready: every shard claimed, its checkpoint loaded, its journal
 * entries read, caught up to the stream's tail on the main thread and adopted
 * by the engine), then until `engine.barrier()` (every input applied in the
 * shard workers). The split comes from the node's own log lines ('cluster
 * node starting', 'shards taken' and its timings), so the node runs
 * unmodified; each run stops without a hand-over, as a crash would, so every
 * start recovers the same state. A diagnostic row times `Engine.restore` +
 * an answer from each shard alone (worker spawn and snapshot restore).
 *
 * Baseline, in the same run and alternating with it: `select state from
 * snapshots` for the same rows and `JSON.parse` of each, nothing else. Any
 * recovery must at least read and parse every actor's state, so this is the
 * floor; the rest of the recovery is what the node adds to it.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../actors/index.js';
import { Engine, ShardKernel, shardOf, VIRTUAL_SHARDS, type ShardActor, type ShardJournalAppend } from '../engine/index.js';
import { composeNode } from '../engine/main/compose-node.js';
import { createTestDatabase } from '../engine/testing/index.js';
import { PgShardJournal, PgShardStore } from '../persistence/index.js';
import { SyntheticFeed } from '../transport/market-data/index.js';
import { ensureMarketStream, marketSubjects, natsServer, TickPublisher } from '../transport/nats/index.js';

export interface RecoveryBenchOptions {
  /** @default 100_000 */ readonly assessments: number;
  /** Feed time of ticks after the checkpoint, s. @default 60 */ readonly seconds: number;
  /** Journal entries after the checkpoint. @default 5_000 */ readonly journal: number;
  /** @default 3 */ readonly repeats: number;
  /** @default 2 */ readonly workers: number;
  readonly url: string;
  readonly natsUrl: string;
}

const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD'];
const PRICES = [60_000, 3_000, 150];
const T0 = Date.parse('2026-03-02T08:00:00Z');
const TIER = 'two-step-100k';
const TARGET_S = 5;
const VENUE = 'coinbase';

/** The checkpoint state: a clock (seq 1) and a tick per symbol (seqs 2–4), then the assessments, built in one kernel. */
function buildCheckpointState(n: number) {
  const k = new ShardKernel({ tiers: presetTiers(), instruments: DEFAULT_INSTRUMENTS });
  let i = 0;
  k.apply({ i: i++, input: { type: 'clock', time: T0 }, at: 1 });
  SYMBOLS.forEach((symbol, s) =>
    k.apply({ i: i++, input: { type: 'tick', seq: s + 2, ts: T0, symbol, bid: PRICES[s]!, ask: PRICES[s]! * 1.0001 }, at: s + 2 }),
  );
  for (let a = 0; a < n; a++) {
    const assessmentId = `a${a}`;
    k.apply({ i: i++, input: { type: 'create', assessmentId, traderId: `t${a}`, tierId: TIER }, at: 4 });
    for (let j = 0; j <= a % 3; j++) {
      k.apply({
        i: i++,
        input: {
          type: 'command',
          assessmentId,
          command: {
            kind: 'place',
            clientOrderId: `c${j}`,
            symbol: SYMBOLS[j]!,
            side: j === 1 ? 'sell' : 'buy',
            type: 'market',
            qty: 20_000 / PRICES[j]!,
          },
        },
        at: 4, // journaled at the watermark of the last tick, as the intake writes them
      });
    }
  }
  k.drainEvents();
  return { lastInput: i - 1, snapshot: k.snapshot(), tickSeq: 1 + SYMBOLS.length };
}

/** Log lines of the node, each with the moment it was written. */
class LogLines extends Writable {
  readonly lines: Array<{ at: number; line: Record<string, unknown> }> = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push({ at: performance.now(), line: JSON.parse(chunk.toString()) as Record<string, unknown> });
    done();
  }
  find(msg: string): { at: number; line: Record<string, unknown> } | undefined {
    return this.lines.find((l) => l.line['msg'] === msg);
  }
}

export async function runRecoveryBench(
  o: RecoveryBenchOptions,
): Promise<{ figures: Record<string, number>; runs: Record<string, number[]> }> {
  const scratch = await createTestDatabase({ serverUrl: o.url, prefix: 'vatic_bench_' });
  const { sql } = scratch;
  const nc = await connect({ ...natsServer(o.natsUrl), name: 'vatic-bench-recovery' });
  const jsm = await jetstreamManager(nc);
  const suffix = randomBytes(4).toString('hex');
  const streams = { market: `BENCH_RECOVERY_${suffix}`, events: `BENCH_RECOVERY_EVENTS_${suffix}` };
  const namespace = `bench-recovery-${suffix}`;
  try {
    const load = loadavg()[0]!;
    const tSetup = performance.now();
    await ensureMarketStream(jsm, { name: streams.market, subjects: marketSubjects(namespace) });
    const publisher = new TickPublisher(jetstream(nc), { namespace, instruments: DEFAULT_INSTRUMENTS });
    let published = 0;
    const publish = async (p: Promise<unknown>): Promise<void> => {
      await p;
      published++;
    };
    // Market seqs 1–4: what the checkpoint has applied.
    await publish(publisher.publishClock(T0));
    for (let s = 0; s < SYMBOLS.length; s++)
      await publish(
        publisher.publishTick({ venue: VENUE, symbol: SYMBOLS[s]!, ts: T0, bid: PRICES[s]!, ask: PRICES[s]! * 1.0001 }, { msgId: `s${s}` }),
      );
    const built = buildCheckpointState(o.assessments);
    if (published !== built.tickSeq) throw new Error(`the stream holds ${published} inputs, the checkpoint ${built.tickSeq}`);
    const store = new PgShardStore(sql);
    const all = Array.from({ length: VIRTUAL_SHARDS }, (_, v) => v);
    const epochs = await store.claim(all, { node: null, force: true });
    const { actors, ...meta } = built.snapshot;
    const byShard = new Map<number, ShardActor[]>(all.map((v) => [v, []]));
    for (const a of actors) byShard.get(shardOf(a.state.id))!.push(a);
    for (let v = 0; v < VIRTUAL_SHARDS; v += 128)
      await store.save(
        all.slice(v, v + 128).map((shard) => ({
          shard,
          epoch: epochs.get(shard)!,
          version: 1,
          inputPos: built.lastInput,
          tickSeq: built.tickSeq,
          journalPos: 0,
          meta,
          actors: byShard.get(shard)!,
        })),
      );

    // After the checkpoint: the feed's ticks and a clock each second, then journal entries placed among them.
    const feed = new SyntheticFeed({
      seed: 'recovery',
      instruments: DEFAULT_INSTRUMENTS.filter((x) => SYMBOLS.includes(x.symbol)),
      startTime: T0,
    });
    let ticks = 0;
    const pending: Promise<void>[] = [];
    for (let second = T0; feed.now < T0 + o.seconds * 1000; ) {
      const item = feed.next();
      if (item.type !== 'tick') continue;
      while (item.tick.ts >= second + 1000) pending.push(publish(publisher.publishClock((second += 1000))));
      const t = item.tick;
      pending.push(
        publish(publisher.publishTick({ venue: VENUE, symbol: t.symbol, ts: t.ts, bid: t.bid, ask: t.ask }, { msgId: `t${ticks}` })),
      );
      ticks++;
      if (pending.length >= 256) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    const first = built.tickSeq + 1,
      tail = published;
    const journal = new PgShardJournal(sql);
    let created = 0;
    for (let e = 0; e < o.journal; e += 1_000) {
      const batch: ShardJournalAppend[] = [];
      for (let j = e; j < Math.min(o.journal, e + 1_000); j++) {
        const tickWatermark = first + Math.floor(((tail - first) * j) / o.journal);
        if (j % 100 === 99) {
          const assessmentId = `n${created++}`;
          const shard = shardOf(assessmentId);
          batch.push({
            shard,
            epoch: epochs.get(shard)!,
            input: { type: 'create', assessmentId, traderId: assessmentId, tierId: TIER },
            clientOrderId: '__create',
            tickWatermark,
          });
          continue;
        }
        const assessmentId = `a${(j * 7919) % o.assessments}`,
          s = j % 3,
          shard = shardOf(assessmentId);
        batch.push({
          shard,
          epoch: epochs.get(shard)!,
          input: {
            type: 'command',
            assessmentId,
            command: {
              kind: 'place',
              clientOrderId: `j${j}`,
              symbol: SYMBOLS[s]!,
              side: j % 2 === 0 ? 'buy' : 'sell',
              type: 'market',
              qty: 2_000 / PRICES[s]!,
            },
          },
          clientOrderId: `j${j}`,
          tickWatermark,
        });
      }
      const r = await journal.appendBatch(batch);
      if (!r.every((x) => x.ok)) throw new Error('the journal refused set-up entries');
    }
    const [sizes] = await sql<{ jpos: string; bytes: string }[]>`
      select (select max(position) from journal)::text as jpos, (select sum(length(state)) from snapshots)::text as bytes`;
    const { jpos, bytes } = sizes!;
    const setupSeconds = (performance.now() - tSetup) / 1000;

    /** One real start of a solo node, split by its own log lines. */
    const recover = async () => {
      const log = new LogLines();
      const t0 = performance.now();
      const composed = await composeNode(
        {
          natsUrl: o.natsUrl,
          databaseUrl: scratch.url,
          namespace,
          marketStream: streams.market,
          eventStream: streams.events,
          workers: o.workers,
          checkpointIntervalMs: 0,
          clockBeat: false,
          history: false,
        },
        pino({ level: 'info' }, log),
      );
      const ready = performance.now();
      const node = composed.node;
      try {
        await node.engine.barrier();
        const applied = performance.now();
        if (node.lastSeq !== tail || node.journalPos !== Number(jpos))
          throw new Error(`recovered to seq ${node.lastSeq}/${tail}, journal ${node.journalPos}/${jpos}`);
        const starting = log.find('cluster node starting');
        const taken = log.find('shards taken');
        if (starting === undefined || taken === undefined) throw new Error('the node did not log its start');
        const f = (k: string) => Number(taken.line[k] ?? NaN) / 1000;
        const take = f('claimMs') + f('loadMs') + f('catchUpMs');
        return {
          compose: (starting.at - t0) / 1000,
          beforeTake: (taken.at - starting.at) / 1000 - take,
          claim: f('claimMs'),
          load: f('checkpointsMs'),
          journalRead: f('journalMs'),
          catchUp: f('catchUpMs'),
          restore: f('restoreMs'),
          replay: f('applyMs'),
          adopt: f('adoptMs'),
          afterTake: (ready - taken.at) / 1000,
          ready: (ready - t0) / 1000,
          shardsCaughtUp: (applied - ready) / 1000,
          applied: (applied - t0) / 1000,
        };
      } finally {
        await node.stop({ handOver: false }); // as a crash: the next start recovers the same checkpoint
        await composed.close();
      }
    };

    /** Baseline: read every state and parse it, nothing else. */
    const bare = async (): Promise<number> => {
      const t0 = performance.now();
      const rows = await sql<{ state: string }[]>`select state from snapshots`;
      let n = 0;
      for (const r of rows) n += (JSON.parse(r.state) as { id: string }).id.length > 0 ? 1 : 0;
      if (n !== o.assessments) throw new Error(`baseline read ${n} states`);
      return (performance.now() - t0) / 1000;
    };

    /** Diagnostic: worker spawn + snapshot restore alone, until the shards answer. */
    const restoreOnly = async (): Promise<number> => {
      const t0 = performance.now();
      const engine = await Engine.restore(
        { lastInput: built.lastInput, kernel: built.snapshot },
        { workers: o.workers, tiers: presetTiers() },
      );
      await engine.state('a0'); // answered once its shard has booted and restored; both shards boot in parallel
      await engine.state('a1');
      const s = (performance.now() - t0) / 1000;
      await engine.stop();
      return s;
    };

    await recover(); // warm-up: the first start also compiles the worker modules
    const runs: Record<string, number[]> = {};
    const note = (k: string, v: number) => (runs[k] ??= []).push(v);
    for (let r = 0; r < o.repeats; r++) {
      note('baseline', await bare());
      for (const [k, v] of Object.entries(await recover())) note(k, v);
      note('restoreOnly', await restoreOnly());
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const med = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
    const figures = {
      assessments: o.assessments,
      ticks,
      marketInputs: tail - first + 1,
      journalEntries: o.journal,
      stateMiB: Number(bytes) / 2 ** 20,
      setupSeconds,
      loadAverage: load,
      ...med,
      readyVsBaseline: med['ready']! / med['baseline']!,
      targetSeconds: TARGET_S,
    };
    return { figures, runs };
  } finally {
    await jsm.streams.delete(streams.market).catch(() => undefined);
    await jsm.streams.delete(streams.events).catch(() => undefined);
    await nc.close();
    await scratch.drop();
  }
}
