/**
 * Ingest bench: ticks read from JetStream and judged by the engine, against
 * what the same nats.js client can read from the same stream at all.
 *
 * A fresh file-storage stream in its own subject namespace is filled with
 * N msgpack ticks (BTC/ETH/SOL, seeded random walk, `Nats-Msg-Id` headers as
 * `TickPublisher` writes them) after one opening quote per symbol. Then, R
 * times, alternating:
 *
 * - **ceiling**: an ordered consumer from the first tick with
 *   `consumers.get(stream, { deliver_policy: StartSequence }).consume()`, the
 *   exact call and options `JetStreamTickSource` makes, counting messages and
 *   doing nothing else: the ratio says how much of the transport's own rate
 *   the ingest path keeps. (Iterated with `for await`, it pays a promise per
 *   message; the diagnostic **callback ceiling** takes the messages through
 *   the consumer's callback, as `batches()` does, and is faster: the engine's
 *   share of it is printed too.)
 * - **decode only**: `JetStreamTickSource.batches()` read to the end,
 *   nothing done with the inputs: subject parsing, msgpack decoding and
 *   validation, messages taken through the consumer's callback.
 * - **engine**: the same batches feeding `Engine.submit` on 2 shard workers
 *   holding a population in which every assessment has open positions (set up
 *   at the opening quotes before the clock starts, restored from one snapshot
 *   per run so every run judges the same accounts), with the backlog bounded;
 *   the clock stops when `barrier()` confirms the last tick is applied: ticks/s
 *   "to verdict".
 * - **engine, per-message iterator** (diagnostic, the previous path): the
 *   same, but iterating the source itself (`for await`, one promise per
 *   message).
 *
 * Every run's clock includes creating the consumer; an engine run's starts once
 * its shard workers have booted and restored (they answer a request), as a
 * running node's have. The stream is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Encoder } from '@msgpack/msgpack';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { parseTier, type Instrument } from '../actors/index.js';
import { Engine, type EngineOptions, type EngineSnapshot } from '../engine/index.js';
import { findListener, ThreadCpu, type ThreadCpuDelta } from './thread-cpu.js';
import { JetStreamTickSource, ensureMarketStream, marketSubjects, tickMsgId, tickSubject } from '../transport/nats/index.js';

export interface IngestBenchOptions {
  /** Ticks in the stream (after the opening quotes). @default 300_000 */ readonly ticks: number;
  /** @default 20_000 */ readonly assessments: number;
  /** @default 2 */ readonly workers: number;
  /** Runs of each measurement. @default 3 */ readonly repeats: number;
  /** Inputs the driver lets the engine hold unapplied before it waits. @default 20_000 */ readonly maxInFlight: number;
  /** @default 1 */ readonly seed: number;
  /** NATS server. */ readonly url: string;
  /** Measurements to run (e.g. `['engine']` under a profiler). @default all four */
  readonly variants?: readonly string[];
}

const VENUE = 'coinbase';
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD'];
const PRICES = [60_000, 3_000, 150];
const OPEN = SYMBOLS.length; // stream seqs 1..OPEN: one opening quote per symbol
const T0 = Date.parse('2026-03-02T08:00:00Z');
const TIER = parseTier({
  id: 'bench-ingest',
  version: 1,
  name: 'Bench ingest',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 50,
  fees: { linear: 0.0004, binary: 0 },
  phases: [{ name: 'funded', startingBalance: 100_000, rules: { dailyLoss: { limit: { pct: 5 } }, maxLoss: { limit: { pct: 10 } } } }],
});
const INSTRUMENTS: Instrument[] = SYMBOLS.map((symbol) => ({ symbol, kind: 'linear', venue: VENUE, minQty: 1e-6 }));

/** xorshift32. */
function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Opening quotes, then a log-random walk per symbol (0.5 bp per tick, rare jumps of up to ±3%). */
function* walk(n: number, seed: number): Generator<{ symbol: string; bid: number; ask: number; ts: number; venueSeq: number }> {
  const r = rng(seed);
  const mid = [...PRICES];
  for (let i = 0; i < OPEN + n; i++) {
    const s = i < OPEN ? i : Math.floor(r() * SYMBOLS.length);
    if (i >= OPEN) {
      const z = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
      mid[s] = mid[s]! * Math.exp(0.00005 * z + (r() < 2e-5 ? (r() - 0.5) * 0.06 : 0));
    }
    yield { symbol: SYMBOLS[s]!, ts: T0 + i, bid: mid[s]! * 0.99995, ask: mid[s]! * 1.00005, venueSeq: i + 1 };
  }
}

/** Core-publishes every tick into the stream subject (no PubAck wait), then waits until the stream holds them all. */
async function fill(nc: NatsConnection, jsm: JetStreamManager, stream: string, namespace: string, n: number, seed: number) {
  const enc = new Encoder({ ignoreUndefined: true });
  const opening: Array<{ symbol: string; bid: number; ask: number; ts: number }> = [];
  let k = 0;
  for (const t of walk(n, seed)) {
    if (k < OPEN) opening.push(t);
    const h = headers();
    h.set('Nats-Msg-Id', tickMsgId({ venue: VENUE, ...t }));
    nc.publish(
      tickSubject(VENUE, t.symbol, namespace),
      enc.encode({ symbol: t.symbol, ts: t.ts, bid: t.bid, ask: t.ask, bidSize: 1.5, askSize: 2.5, venue: VENUE, venueSeq: t.venueSeq }),
      { headers: h },
    );
    if (++k % 5_000 === 0) await nc.flush(); // let the server's stream ingest keep up
  }
  await nc.flush();
  let last = -1;
  let since = performance.now();
  for (;;) {
    const have = (await jsm.streams.info(stream)).state.messages;
    if (have === OPEN + n) return opening;
    if (have !== last) [last, since] = [have, performance.now()];
    else if (performance.now() - since > 10_000)
      throw new Error(`stream ${stream} stalled at ${have} of ${OPEN + n} messages (dropped core publishes?)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every assessment created at the opening quotes with 1–2 market positions at 0.5–3× its balance; the engine's state, snapshotted. */
async function population(
  o: IngestBenchOptions,
  opening: Array<{ symbol: string; bid: number; ask: number; ts: number }>,
  opts: EngineOptions,
) {
  const engine = await Engine.start(opts);
  const r = rng(o.seed + 7);
  engine.submit({ type: 'clock', time: T0 });
  opening.forEach((t, s) => engine.submit({ type: 'tick', seq: s + 1, ...t }));
  for (let a = 0; a < o.assessments; a++) {
    const id = `a${a}`;
    engine.submit({ type: 'create', assessmentId: id, traderId: `t${a}`, tierId: TIER.id });
    const k = 1 + Math.floor(r() * 2);
    const leverage = 0.5 + r() * 2.5;
    const first = Math.floor(r() * SYMBOLS.length);
    for (let j = 0; j < k; j++) {
      const s = (first + j) % SYMBOLS.length;
      const qty = Math.round(((100_000 * leverage) / k / PRICES[s]!) * 1e6) / 1e6;
      engine.submit({
        type: 'command',
        assessmentId: id,
        command: { kind: 'place', clientOrderId: `p${j}`, symbol: SYMBOLS[s]!, side: r() < 0.5 ? 'buy' : 'sell', type: 'market', qty },
      });
    }
    if (a % 5_000 === 4_999) await engine.barrier();
  }
  const snapshot = await engine.snapshot();
  await engine.stop();
  const positions = snapshot.kernel.actors.reduce((n, a) => n + Object.keys(a.state.positions).length, 0);
  const flat = snapshot.kernel.actors.filter((a) => Object.keys(a.state.positions).length === 0).length;
  return { snapshot, positions, flat };
}

type Run = {
  seconds: number;
  cpu: ThreadCpuDelta;
  ticks?: number;
  evaluations?: number;
  fills?: number;
  violations?: number;
  stale?: number;
};

/** The ceiling: same client, same consumer call, counting only. */
async function ceiling(js: JetStreamClient, stream: string, n: number, cpu: ThreadCpu): Promise<Run> {
  const cpu0 = cpu.read();
  const start = performance.now();
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: OPEN + 1 });
  const messages = await consumer.consume({ max_messages: 1_000 }); // the pull size JetStreamTickSource uses
  let count = 0;
  for await (const _m of messages) if (++count === n) break;
  const seconds = (performance.now() - start) / 1000;
  const used = ThreadCpu.delta(cpu0, cpu.read());
  await messages.close().catch(() => undefined);
  return { seconds, cpu: used };
}

/** The same, with messages taken through the consumer's callback (as `batches()` takes them): no promise per message. */
async function ceilingCallback(js: JetStreamClient, stream: string, n: number, cpu: ThreadCpu): Promise<Run> {
  const cpu0 = cpu.read();
  const start = performance.now();
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: OPEN + 1 });
  let count = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const messages = await consumer.consume({
    max_messages: 1_000,
    callback: () => {
      if (++count === n) done();
    },
  });
  await all;
  const seconds = (performance.now() - start) / 1000;
  const used = ThreadCpu.delta(cpu0, cpu.read());
  await messages.close().catch(() => undefined);
  return { seconds, cpu: used };
}

/** The source decoding, nothing downstream. */
async function decodeOnly(js: JetStreamClient, stream: string, namespace: string, n: number, cpu: ThreadCpu): Promise<Run> {
  const source = new JetStreamTickSource(js, { stream, namespace, startSeq: OPEN + 1, symbols: SYMBOLS });
  const cpu0 = cpu.read();
  const start = performance.now();
  let count = 0;
  for await (const batch of source.batches()) if ((count += batch.length) >= n) break;
  const seconds = (performance.now() - start) / 1000;
  const used = ThreadCpu.delta(cpu0, cpu.read());
  if (source.malformed > 0) throw new Error(`${source.malformed} malformed messages`);
  return { seconds, cpu: used };
}

/**
 * The source feeding the engine; the driver waits (checking every 1,024 ticks)
 * while a shard holds more than `maxInFlight` unapplied inputs. The clock stops
 * at the barrier after the last tick. `batches`: read `source.batches()`, else iterate the source message by message.
 */
async function toVerdict(
  js: JetStreamClient,
  stream: string,
  namespace: string,
  n: number,
  snapshot: EngineSnapshot,
  opts: EngineOptions,
  maxInFlight: number,
  batches: boolean,
  cpu: ThreadCpu,
): Promise<Run> {
  const engine = await Engine.restore(snapshot, opts);
  // `restore` returns once the workers are spawned; they still load their modules (under tsx, compile them) and
  // restore their actors. That start-up is not ingest: wait for every shard to answer before the clock starts.
  await engine.memory();
  const source = new JetStreamTickSource(js, { stream, namespace, startSeq: OPEN + 1, symbols: SYMBOLS });
  const inFlight = () => engine.shards().reduce((m, s) => Math.max(m, s.pendingInputs), 0);
  const cpu0 = cpu.read();
  const start = performance.now();
  let count = 0;
  if (batches) {
    for await (const batch of source.batches()) {
      for (const t of batch) {
        if (t.type !== 'tick' || count === n) continue;
        engine.submit(t, t.seq); // the stream sequence is the event coordinate, as in the node's market pump
        count++;
      }
      if (count === n) break;
      while (inFlight() > maxInFlight) await new Promise((r) => setImmediate(r));
    }
  } else {
    for await (const t of source) {
      if (t.type !== 'tick') continue;
      engine.submit(t, t.seq);
      if (++count === n) break;
      if ((count & 1023) === 0) while (inFlight() > maxInFlight) await new Promise((r) => setImmediate(r));
    }
  }
  await engine.barrier();
  const seconds = (performance.now() - start) / 1000;
  const used = ThreadCpu.delta(cpu0, cpu.read(), opts.workers);
  const sum = (f: (s: NonNullable<ReturnType<Engine['shards']>[number]['stats']>) => number) =>
    engine.shards().reduce((a, s) => a + (s.stats === undefined ? 0 : f(s.stats)), 0);
  const run = {
    seconds,
    cpu: used,
    ticks: sum((s) => s.ticks) / opts.workers!,
    evaluations: sum((s) => s.evaluations),
    fills: sum((s) => s.fills),
    violations: sum((s) => s.violations),
    stale: sum((s) => s.staleTicks),
  };
  await engine.stop();
  return run;
}

export interface IngestBenchResult {
  /** ticks/s of every run, in run order. */
  readonly runs: {
    readonly ceiling: number[];
    readonly callback: number[];
    readonly decode: number[];
    readonly engine: number[];
    readonly iterator: number[];
  };
  readonly figures: Record<string, number>;
}

export async function runIngestBench(o: IngestBenchOptions): Promise<IngestBenchResult> {
  const nc = await connect({ servers: o.url, name: 'vatic-bench-ingest' });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const suffix = randomBytes(4).toString('hex');
  const stream = `BENCH_INGEST_${suffix}`;
  const namespace = `bench-ingest-${suffix}`;
  const interrupted = () =>
    void jsm.streams
      .delete(stream)
      .catch(() => undefined)
      .finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  try {
    await ensureMarketStream(jsm, { name: stream, subjects: marketSubjects(namespace), storage: 'file' });
    const fillStart = performance.now();
    const opening = await fill(nc, jsm, stream, namespace, o.ticks, o.seed);
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const opts: EngineOptions = { workers: o.workers, tiers: [TIER], instruments: INSTRUMENTS, output: { onEvents: () => undefined } };
    const setupStart = performance.now();
    const { snapshot, positions, flat } = await population(o, opening, opts);
    if (flat > 0) throw new Error(`${flat} assessments hold no position`);
    const setupSeconds = (performance.now() - setupStart) / 1000;

    // The server's CPU counts when it runs on this machine: the nats-server listening on the URL's port.
    const local = /^(?:nats:\/\/)?(?:127\.0\.0\.1|localhost)(?::(\d+))?$/.exec(o.url);
    const cpu = new ThreadCpu(local === null ? undefined : findListener(Number(local[1] ?? 4222), 'nats-server'));
    const variants = {
      ceiling: () => ceiling(js, stream, o.ticks, cpu),
      callback: () => ceilingCallback(js, stream, o.ticks, cpu),
      decode: () => decodeOnly(js, stream, namespace, o.ticks, cpu),
      engine: () => toVerdict(js, stream, namespace, o.ticks, snapshot, opts, o.maxInFlight, true, cpu),
      iterator: () => toVerdict(js, stream, namespace, o.ticks, snapshot, opts, o.maxInFlight, false, cpu),
    };
    const all = Object.keys(variants) as Array<keyof typeof variants>;
    const names = all.filter((k) => o.variants === undefined || o.variants.includes(k));
    const runs: Record<keyof typeof variants, Run[]> = { ceiling: [], callback: [], decode: [], engine: [], iterator: [] };
    for (let rep = 0; rep < o.repeats; rep++) {
      // Rotate the order each round, so drift on a noisy machine does not favour one variant.
      for (let v = 0; v < names.length; v++) {
        const name = names[(v + rep) % names.length]!;
        runs[name].push(await variants[name]());
      }
    }
    const e = runs.engine[0] ?? runs.iterator[0];
    for (const r of [...runs.engine, ...runs.iterator]) {
      if (r.ticks !== o.ticks || r.stale !== 0 || r.violations !== e?.violations || r.fills !== e?.fills)
        throw new Error('engine runs missed ticks or disagree on verdicts');
    }
    const rates = (rs: Run[]) => rs.map((r) => o.ticks / r.seconds);
    const [ceilingTps, callbackTps, decodeTps, engineTps, iteratorTps] = all.map((k) => median(rates(runs[k])));
    /** Median µs of CPU per tick, by role, and of run-queue wait (runnable, no core free). */
    const perTick = (k: keyof typeof variants, f: (c: ThreadCpuDelta) => number) => median(runs[k].map((r) => f(r.cpu) / 1000 / o.ticks));
    const cpuFigures: Record<string, number> = {};
    for (const k of all) {
      cpuFigures[`${k}MainCpuUs`] = perTick(k, (c) => c.main.runNs);
      cpuFigures[`${k}MainWaitUs`] = perTick(k, (c) => c.main.waitNs);
      cpuFigures[`${k}OthersCpuUs`] = perTick(k, (c) => c.others.runNs);
      cpuFigures[`${k}OthersWaitUs`] = perTick(k, (c) => c.others.waitNs);
      cpuFigures[`${k}NatsCpuUs`] = perTick(k, (c) => c.other.runNs);
      cpuFigures[`${k}NatsWaitUs`] = perTick(k, (c) => c.other.waitNs);
    }
    return {
      runs: {
        ceiling: rates(runs.ceiling),
        callback: rates(runs.callback),
        decode: rates(runs.decode),
        engine: rates(runs.engine),
        iterator: rates(runs.iterator),
      },
      figures: {
        ticks: o.ticks,
        assessments: snapshot.kernel.actors.length,
        positions,
        fillSeconds,
        setupSeconds,
        ceilingTicksPerSec: ceilingTps!,
        callbackTicksPerSec: callbackTps!,
        callbackRatio: engineTps! / callbackTps!,
        decodeTicksPerSec: decodeTps!,
        engineTicksPerSec: engineTps!,
        iteratorTicksPerSec: iteratorTps!,
        ratio: engineTps! / ceilingTps!,
        // The target's denominator: the faster of the two bare consumers (the callback one usually).
        bareRatio: engineTps! / Math.max(ceilingTps!, Number.isFinite(callbackTps!) ? callbackTps! : 0),
        decodeRatio: decodeTps! / ceilingTps!,
        iteratorRatio: iteratorTps! / ceilingTps!,
        actorEvaluationsPerTick: (e?.evaluations ?? Number.NaN) / o.ticks,
        breaches: e?.violations ?? NaN,
        fills: e?.fills ?? NaN,
        ...cpuFigures,
      },
    };
  } finally {
    process.off('SIGINT', interrupted);
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.drain();
  }
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
