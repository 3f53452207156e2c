/**
 * WebSocket fan-out bench: the traders' gateway (uWebSockets.js, StreamHub)
 * pushing live deltas to 5,000 clients, against the same fan-out on the `ws`
 * package, in the same run.
 *
 * Each server process is real: a solo `ClusterNode` composed as the
 * deployed server composes one (engine/main/compose-node.ts: Postgres journal
 * and shard store on a scratch database, the in-process market bus, the
 * leaderboard output, the history read model, 2 shard workers, delta flush
 * every `--flush-ms`, checkpoints off as before so the windows stay
 * comparable), the server's outputs joining its `LateOutput` as the deployed
 * gateway's hub does, holding `--clients` assessments on `one-step-50k`, each
 * created through `offer()` and given an open BTC position through an
 * `offer()`ed market order, so every tick changes every account's equity.
 * Ticks are published to the market log at `--tick-rate` on a fixed
 * schedule; each client subscribes to its own assessment, so the engine
 * pushes one delta per assessment per flush: 10 frames/s per client, 50,000/s
 * in all at the defaults. The clients (bench/ws-clients.ts) run in their own
 * process and authenticate with their own trader's HS256 token.
 *
 * Measured per server, over a `--seconds` window after `--warmup` s:
 *  - tick-to-frame latency p50/p99: client receipt minus the publish time of
 *    the newest input the delta reflects (its `input`), both on the machine's
 *    wall clock (`performance.timeOrigin + now()`, with the two processes'
 *    offset measured over IPC); split into engine (publish to the delta batch
 *    reaching the server's main thread) and fan-out (that to receipt);
 *  - frames/s delivered (clients) and sent (server), skipped deltas and gaps;
 *  - server CPU per frame: `process.cpuUsage()` of the server process over
 *    the window / frames sent; also its main thread alone (/proc, Linux), and
 *    net of the engine: minus the CPU per delta of a floor window run just
 *    before (same engine, same deltas, 5,000 idle connections, nobody
 *    subscribed), so the shards' work common to both servers is taken out;
 *  - memory per connection: RSS and heap + external deltas after GC with
 *    `--clients` idle authenticated connections vs none (after a warm-up of
 *    500 connections, so JIT code and pools are not counted), / clients.
 *    The RSS delta leaves out the young generation's pages: after the full
 *    collections nothing a connection holds is there, and V8 sizes it by
 *    the recent allocation rate (connecting 1,000 clients moved it by
 *    ±0.5–0.8 MB, as much as the connections themselves); the raw delta is
 *    reported beside it.
 *
 * Why the baseline is right: it is the fan-out one writes without the
 * gateway: a `ws` WebSocketServer in the same process shape (same engine,
 * same ticks, same clients, same auth and subscribe exchange), fed by
 * `EngineOutput.onDeltas`, encoding each delta once into the same msgpack
 * frame (the protocol's `FrameCodec`) and sending it to its subscriber, with
 * the same soft-limit skip. It keeps no resume ring and no per-session
 * limits, so it is the lean lower bound of a `ws` gateway, not a strawman.
 * The gateway takes the deltas as the deployed hub does: `onEncodedDeltas`,
 * msgpack-encoded by the shards and transferred as one buffer per flush; the
 * baseline takes objects, which the node's output decodes once per flush for
 * it (the composed node always has the shards encode). Each floor window
 * runs on its own server's path, so the floor stays its own engine's cost.
 * Each server runs in a fresh process (alternating order over `--repeats`):
 * one server's freed heap and malloc arenas must not flatter the other's RSS.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { SERVER_V8_FLAGS } from '../engine/main/server-flags.js';
import type { ClusterNode, EncodedDeltas, EngineOutput, StateDelta } from '../engine/index.js';
import { LateOutput } from '../engine/main/compose-gateway.js';
import { composeNode, type ComposedNode } from '../engine/main/compose-node.js';
import { Gateway, GatewayMetrics, StreamHub, TokenVerifier } from '../transport/server/index.js';
import { FrameCodec, PROTOCOL_MSGPACK } from '../transport/protocol/index.js';
import type { MemoryMarketLog } from '../transport/memory/index.js';
import type { ClientCommand, ClientWindow } from './ws-clients.js';
import { createTestDatabase, until } from '../engine/testing/index.js';

export interface WsBenchOptions {
  /** @default 5_000 */ readonly clients: number;
  /** Measurement window, s. @default 15 */ readonly seconds: number;
  /** Fan-out running before the window, s. @default 5 */ readonly warmup: number;
  /** Engine-only window before subscribing, s. @default 5 */ readonly floorSeconds: number;
  /** Ticks/s on BTC-USD. @default 1_000 */ readonly tickRate: number;
  /** The engine's delta flush interval, ms. @default 100 */ readonly flushMs: number;
  /** Server processes of each kind, alternating. @default 3 */ readonly repeats: number;
  /** @default 2 */ readonly workers: number;
  /** The hub's resume ring per assessment. @default 512 (its default) */ readonly ringSize: number;
  readonly url: string;
}

export type Kind = 'uws' | 'ws';
export type Figures = Record<string, number>;

const SECRET = randomBytes(24).toString('hex');
const T0 = Date.parse('2026-03-02T08:00:00Z');
const SOFT_LIMIT = 256 * 1024; // the hub's default soft limit, used by the baseline too
const wall = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const price = (k: number) => 60_000 * (1 + 0.003 * Math.sin(k / 700) + 0.0004 * (((k * 7919) % 1000) / 1000 - 0.5));
const progress = (what: string) => {
  if (process.env['WS_BENCH_VERBOSE'] !== undefined) process.stderr.write(`  [${(performance.now() / 1000).toFixed(1)} s] ${what}\n`);
};
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

/** Run every server process and take medians per figure. */
export async function runWsBench(o: WsBenchOptions): Promise<{ figures: Record<Kind, Figures>; runs: Record<Kind, Figures[]> }> {
  const runs: Record<Kind, Figures[]> = { uws: [], ws: [] };
  for (let r = 0; r < o.repeats; r++) {
    for (const kind of (r % 2 === 0 ? ['uws', 'ws'] : ['ws', 'uws']) as Kind[]) {
      process.stderr.write(`ws bench: run ${r + 1}/${o.repeats}, ${kind} …\n`);
      runs[kind].push(await serverProcess(kind, o));
    }
  }
  const med = (xs: Figures[]): Figures => Object.fromEntries(Object.keys(xs[0]!).map((k) => [k, median(xs.map((x) => x[k]!))]));
  return { figures: { uws: med(runs.uws), ws: med(runs.ws) }, runs };
}

function serverProcess(kind: Kind, o: WsBenchOptions): Promise<Figures> {
  const child = fork(fileURLToPath(import.meta.url), ['--ws-bench-server', kind, JSON.stringify(o)], {
    // Both servers run with the V8 flags the deployed server runs with (engine/main/server-flags.ts); the clients inherit them.
    execArgv: [
      ...process.execArgv,
      '--expose-gc',
      ...SERVER_V8_FLAGS,
      ...(process.env['WS_BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let result: Figures | undefined;
    child.on('message', (m: Figures) => (result = m));
    child.on('exit', (code) =>
      result !== undefined && code === 0 ? resolve(result) : reject(new Error(`ws bench server (${kind}) exited with code ${code}`)),
    );
  });
}

/** CPU ms of this process's main thread (Linux /proc; NaN elsewhere). */
function mainThreadCpuMs(): number {
  const text = process.platform === 'linux' ? readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8') : ')';
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, USER_HZ = 100
}

/** CPU ms of every thread of this process, by thread id (Linux /proc; empty elsewhere). */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  if (process.platform !== 'linux') return out;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const text = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/** Ticks on BTC-USD at a fixed rate and a clock input per second (market time: T0 + this process's uptime); the wall time of each publish by seq. */
class Ticker {
  readonly pub: number[] = [];
  readonly base: number;
  readonly #market: MemoryMarketLog;
  readonly #rate: number;
  #k = 0;
  #t0 = 0;
  #second = 0;
  #timer: NodeJS.Timeout | undefined;
  constructor(market: MemoryMarketLog, rate: number) {
    this.#market = market;
    this.#rate = rate;
    this.base = market.lastSeq + 1;
  }
  #publish(input: Parameters<MemoryMarketLog['publish']>[0]): number {
    const at = wall(),
      seq = this.#market.publish(input);
    this.pub[seq - this.base] = at;
    return seq;
  }
  tick(): number {
    const p = price(this.#k++);
    return this.#publish({ type: 'tick', symbol: 'BTC-USD', ts: T0 + Math.round(performance.now()), bid: p - 5, ask: p + 5 });
  }
  start(): void {
    this.#t0 ||= performance.now();
    let published = Math.floor(((performance.now() - this.#t0) * this.#rate) / 1000); // a restart resumes the schedule
    this.#timer = setInterval(() => {
      const now = performance.now(),
        second = Math.floor(now / 1000);
      if (second > this.#second) this.#publish({ type: 'clock', time: T0 + (this.#second = second) * 1000 });
      for (const due = Math.floor(((now - this.#t0) * this.#rate) / 1000); published < due; published++) this.tick();
    }, 1);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** What the bench needs of either server. */
interface Server {
  readonly url: string;
  readonly sink: Pick<EngineOutput, 'onEvents' | 'onDeltas' | 'onEncodedDeltas'>;
  sent(): number;
  dropped(): number;
  connections(): number;
  close(): Promise<void>;
}

type Watch = (ids: readonly string[], on: boolean) => void;

async function startGateway(node: ClusterNode, verifier: TokenVerifier, watch: Watch, ringSize: number): Promise<Server> {
  const hub = new StreamHub({ epoch: node.epoch, watch, ringSize });
  const gateway = await Gateway.start({
    engine: node,
    verifier,
    hub,
    metrics: new GatewayMetrics(new Registry(), hub),
    log: pino({ level: 'silent' }),
    port: 0,
    authTimeoutMs: 30_000,
    // Every bench client connects from 127.0.0.1, many per trader: the connection-rate limits are lifted.
    addressConnectionsPerWindow: 1e9,
    traderConnectionsPerWindow: 1e9,
  });
  return {
    url: `ws://127.0.0.1:${gateway.port}/v1/ws`,
    sink: hub,
    sent: () => hub.counters.framesSent,
    dropped: () => hub.counters.deltasDropped,
    connections: () => gateway.connections,
    close: () => gateway.drain(),
  };
}

/** The baseline: a `ws` server doing the same exchange and the same fan-out (see the header). */
async function startWsBaseline(node: ClusterNode, verifier: TokenVerifier, watch: Watch): Promise<Server> {
  const http = createServer((_, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({
    server: http,
    path: '/v1/ws',
    perMessageDeflate: false,
    maxPayload: 65_536,
    handleProtocols: (p) => (p.has(PROTOCOL_MSGPACK) ? PROTOCOL_MSGPACK : false),
  });
  const codec = new FrameCodec(PROTOCOL_MSGPACK, 16_384);
  const streams = new Map<string, { ws: WebSocket; seq: number }>();
  const limits = { maxFrameBytes: 16_384, messagesPerSecond: 50, maxSubscriptions: 16 };
  let sent = 0,
    dropped = 0;
  wss.on('connection', (ws) => {
    let trader: string | undefined;
    const subs: string[] = [];
    ws.on(
      'message',
      (data: Buffer, isBinary: boolean) =>
        void (async () => {
          const f = codec.decode(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer, isBinary);
          if (f.t === 'auth') {
            const principal = await verifier.verify(f.token);
            trader = principal.traderId;
            ws.send(
              codec.encode({
                t: 'ready',
                traderId: trader,
                roles: ['trader'],
                heartbeatMs: 30_000,
                limits,
                expiresAt: principal.expiresAt,
              }),
            );
          } else if (f.t === 'sub' && trader !== undefined) {
            const state = await node.state(f.assessmentId);
            if (state?.traderId !== trader)
              return void ws.send(codec.encode({ t: 'error', code: 'FORBIDDEN_ASSESSMENT', message: 'not yours', id: f.id }));
            streams.set(f.assessmentId, { ws, seq: 0 });
            subs.push(f.assessmentId);
            watch([f.assessmentId], true);
            ws.send(codec.encode({ t: 'snapshot', id: f.id, assessmentId: f.assessmentId, epoch: node.epoch, seq: 0, state }));
          }
        })().catch(() => ws.close(1008, 'refused')),
    );
    ws.on('close', () => {
      for (const id of subs) streams.delete(id);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const onDeltas = (deltas: readonly StateDelta[]): void => {
    for (const d of deltas) {
      const s = streams.get(d.assessmentId);
      if (s === undefined) continue;
      s.seq++;
      if (s.ws.bufferedAmount > SOFT_LIMIT) {
        dropped++;
        continue;
      }
      s.ws.send(codec.encode({ t: 'delta', assessmentId: d.assessmentId, epoch: node.epoch, seq: s.seq, delta: d }));
      sent++;
    }
  };
  const port = (http.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/v1/ws`,
    sink: { onEvents: () => undefined, onDeltas },
    sent: () => sent,
    dropped: () => dropped,
    connections: () => wss.clients.size,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => http.close(r));
    },
  };
}

/** The clients process and a request/answer over its IPC channel (one at a time). */
async function startClients(): Promise<{ ask: (c: ClientCommand) => Promise<Record<string, unknown>>; child: ChildProcess }> {
  const child = fork(fileURLToPath(new URL('./ws-clients.ts', import.meta.url)), [], {
    execArgv: process.execArgv.filter((a) => a !== '--expose-gc'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let pending: ((m: Record<string, unknown>) => void) | undefined;
  child.on('message', (m: Record<string, unknown>) => {
    const p = pending;
    pending = undefined;
    p?.(m);
  });
  await new Promise<Record<string, unknown>>((r) => (pending = r));
  const ask = (c: ClientCommand) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      pending = (m) => (m['t'] === 'failed' ? reject(new Error(`clients: ${String(m['error'])}`)) : resolve(m));
      child.send(c);
    });
  return { ask, child };
}

/** With WS_BENCH_HEAP_PROF=<dir>: sample what the main thread allocates and keeps past the young generation. */
async function startHeapSampling(): Promise<((name: string) => Promise<void>) | undefined> {
  const dir = process.env['WS_BENCH_HEAP_PROF'];
  if (dir === undefined) return undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  } as object);
  return async (name) => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(`${dir}/${name}-${process.pid}.heapprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Memory after full collections (the server process runs with --expose-gc). */
async function memory(): Promise<NodeJS.MemoryUsage & { youngBytes: number }> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  await sleep(300);
  gc();
  gc();
  const young = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.physical_space_size ?? 0;
  return { ...process.memoryUsage(), youngBytes: young };
}

/** One server process: set up, measure, report over IPC. */
async function serve(kind: Kind, o: WsBenchOptions): Promise<Figures> {
  const scratch = await createTestDatabase({ serverUrl: o.url, prefix: 'vatic_bench_ws_' });
  let composed: ComposedNode | undefined,
    ticker: Ticker | undefined,
    server: Server | undefined,
    clients: Awaited<ReturnType<typeof startClients>> | undefined;
  try {
    let sink: Server['sink'] | undefined;
    const arrivals: Array<Array<[number, number]>> = Array.from({ length: o.workers }, () => []);
    const dispatch: number[] = [];
    let deltas = 0,
      recording = false;
    // What the deployed server's gateway hangs on the node: a late output the hub joins (engine/main/serve.ts).
    const late = new LateOutput();
    composed = await composeNode(
      { databaseUrl: scratch.url, workers: o.workers, flushIntervalMs: o.flushMs, checkpointIntervalMs: 0 },
      pino({ level: 'silent' }),
      [late],
    );
    const market = composed.memoryMarket!;
    market.publish({ type: 'clock', time: T0 });
    const firstTick = market.publish({ type: 'tick', symbol: 'BTC-USD', ts: T0, bid: 59_995, ask: 60_005 });
    const node = composed.node;
    // The market orders below fill at this tick: the node must have applied it first.
    await until(() => node.lastSeq >= firstTick, { what: 'the node to apply the first tick', deadlineMs: 30_000, intervalMs: 5 });
    late.targets.push({
      onEvents: (e, shard) => sink?.onEvents(e, shard),
      onDeltas: (ds, shard) => {
        const t = wall();
        if (ds.length > 0) arrivals[shard]!.push([ds[0]!.input, t]);
        deltas += ds.length;
        sink?.onDeltas?.(ds, shard);
        if (recording) dispatch.push(wall() - t);
      },
      // Only the gateway takes deltas encoded by the shards (see the header); the baseline gets objects.
      ...(kind === 'uws'
        ? {
            onEncodedDeltas: (batch: EncodedDeltas, shard: number) => {
              const t = wall();
              if (batch.ids.length > 0) arrivals[shard]!.push([batch.input, t]);
              deltas += batch.ids.length;
              sink?.onEncodedDeltas?.(batch, shard);
              if (recording) dispatch.push(wall() - t);
            },
          }
        : {}),
    });
    const n = node;
    progress('node ready');
    if (process.env['WS_BENCH_VERBOSE'] !== undefined) {
      setInterval(
        () => progress(`heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB, deltas ${deltas}, sent ${server?.sent() ?? 0}`),
        2_000,
      ).unref();
    }
    const t0 = performance.now(),
      ids = Array.from({ length: o.clients }, (_, i) => `a${i}`);
    const must = async (p: ReturnType<ClusterNode['offer']>, what: string) => {
      const r = await p;
      if (!r.ok) throw new Error(`${what}: ${r.code} ${r.message}`);
    };
    await Promise.all(
      ids.map((id, i) => must(n.offer({ kind: 'create', assessmentId: id, traderId: `t${i}`, tierId: 'one-step-50k' }), `create ${id}`)),
    );
    await Promise.all(
      ids.map((id) =>
        must(
          n.offer({
            kind: 'command',
            assessmentId: id,
            command: { kind: 'place', clientOrderId: 'p', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1, stopLoss: 54_000 },
          }),
          `order ${id}`,
        ),
      ),
    );
    await n.engine.barrier();
    const open = (await Promise.all([ids[0]!, ids[ids.length - 1]!].map((id) => n.state(id)))).map(
      (s) => Object.keys(s?.positions ?? {}).length,
    );
    if (open.some((k) => k !== 1)) throw new Error(`assessments hold ${open.join(', ')} positions, expected 1 each`);
    const setupSeconds = (performance.now() - t0) / 1000;
    progress(`${o.clients} assessments with a position`);

    // A delta names the event coordinate of the input it shows, and a market input's coordinate is its market
    // seq. Publish a marker tick and check that the next delta of a watched assessment shows exactly its seq:
    // the clients then read the publish time of any delta straight from the ticker's table.
    ticker = new Ticker(market, o.tickRate);
    const submitted = n.engine.position;
    const marker = ticker.tick();
    await until(() => n.engine.position !== submitted, { what: 'the engine to take the marker tick', deadlineMs: 30_000, intervalMs: 1 });
    await n.engine.barrier();
    const shardOf = ids.map((id) => n.engine.allotment.ownerOf(id));
    const seen = arrivals[shardOf[0]!]!.length;
    n.engine.watch([ids[0]!], true);
    await until(() => arrivals[shardOf[0]!]!.slice(seen).some(([input]) => input >= marker), {
      what: `a delta of the watched assessment at or after the marker seq ${marker}`,
      deadlineMs: 30_000,
      detail: () =>
        `arrivals on its shard since: ${arrivals[shardOf[0]!]!.slice(seen)
          .slice(-5)
          .map(([input]) => input)
          .join(', ')}`,
    });
    const shown = arrivals[shardOf[0]!]!.slice(seen).find(([input]) => input >= marker)![0];
    if (shown !== marker) throw new Error(`the marker tick is market seq ${marker}, but the next delta shows ${shown}`);
    n.engine.watch([ids[0]!], false);

    const verifier = await TokenVerifier.create({ secret: SECRET });
    // The servers ask the engine to push deltas as clients subscribe; the bench holds that back until all have.
    let gate = false;
    const watch: Watch = (list, on) => {
      if (gate) n.engine.watch(list, on);
    };
    server = kind === 'uws' ? await startGateway(n, verifier, watch, o.ringSize) : await startWsBaseline(n, verifier, watch);
    sink = server.sink;
    clients = await startClients();
    const ask = clients.ask;
    let offset = 0,
      best = Infinity; // client clock minus ours, from the fastest of 50 IPC round trips
    for (let k = 0; k < 50; k++) {
      const a = wall(),
        m = await ask({ t: 'clock' }),
        b = wall();
      if (b - a < best) {
        best = b - a;
        offset = (m['at'] as number) - (a + b) / 2;
      }
    }
    const connect = async (count: number) => {
      const r = await ask({ t: 'connect', url: server!.url, secret: SECRET, count, concurrency: 200 });
      if (r['ok'] !== count) throw new Error(`${String(r['ok'])}/${count} clients authenticated: ${JSON.stringify(r['failed'])}`);
    };

    // Memory: warm up the accept and auth paths, then none vs all connected and authenticated, idle.
    await connect(Math.min(500, o.clients));
    await ask({ t: 'close' });
    while (server.connections() > 0) await sleep(10);
    const mem0 = await memory();
    progress('warmed up; connecting');
    const tc = performance.now();
    await connect(o.clients);
    const connectSeconds = (performance.now() - tc) / 1000;
    const mem1 = await memory();
    progress('connected; floor');
    if (server.connections() !== o.clients) throw new Error(`server holds ${server.connections()} connections, expected ${o.clients}`);

    // Floor: the engine pushing every delta to the main thread, nobody subscribed.
    ticker.start();
    n.engine.watch(ids, true);
    await sleep(1_000);
    const f0 = { cpu: process.cpuUsage(), deltas, threads: threadCpuMs() };
    await sleep(o.floorSeconds * 1000);
    const fcpu = process.cpuUsage(f0.cpu);
    const floorUsPerDelta = (fcpu.user + fcpu.system) / (deltas - f0.deltas);
    if (process.env['WS_BENCH_VERBOSE'] !== undefined) {
      const t1 = threadCpuMs(),
        per = (tid: string) => ((1000 * ((t1.get(tid) ?? 0) - (f0.threads.get(tid) ?? 0))) / (deltas - f0.deltas)).toFixed(2);
      progress(
        `floor by thread, µs per delta: ${[...t1.keys()]
          .filter((tid) => Number(per(tid)) >= 0.05)
          .map((tid) => `${tid === String(process.pid) ? 'main' : tid} ${per(tid)}`)
          .join(', ')}`,
      );
    }

    // Subscribe with the ticks paused: `Engine.state()` (the ownership check) awaits `barrier()`, which waits
    // for the shards to hold nothing unacked and so never resolves while ticks keep flowing (see the README);
    // and with the deltas held back, so early subscribers' frames do not slow the later ones' set-up.
    ticker.stop();
    n.engine.watch(ids, false);
    progress('subscribing');
    const ts = performance.now();
    const sub = await ask({ t: 'subscribe', concurrency: 500 });
    if (sub['ok'] !== o.clients) throw new Error(`${String(sub['ok'])}/${o.clients} subscriptions: ${JSON.stringify(sub['failed'])}`);
    const subscribeSeconds = (performance.now() - ts) / 1000;
    gate = true;
    n.engine.watch(ids, true);
    ticker.start();
    await sleep(o.warmup * 1000);
    progress('window');
    let gcMs = 0;
    const gcObs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMs += e.duration;
    });
    gcObs.observe({ entryTypes: ['gc'] });
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    recording = true;
    const heapProf = await startHeapSampling();
    const w0 = {
      cpu: process.cpuUsage(),
      main: mainThreadCpuMs(),
      sent: server.sent(),
      dropped: server.dropped(),
      deltas,
      t: performance.now(),
    };
    await ask({ t: 'start' });
    progress('clients recording');
    await sleep(o.seconds * 1000);
    progress('window over');
    const cpu = process.cpuUsage(w0.cpu),
      main = mainThreadCpuMs() - w0.main,
      sent = server.sent() - w0.sent,
      secs = (performance.now() - w0.t) / 1000;
    const dropped = server.dropped() - w0.dropped,
      windowDeltas = deltas - w0.deltas,
      memEnd = process.memoryUsage();
    recording = false;
    await heapProf?.(`${kind}`);
    loop.disable();
    gcObs.disconnect();
    await ask({ t: 'stop' }); // the clients stop recording before the tables are taken, so every frame they hold is in them
    ticker.stop();
    sink = undefined; // quiet while the clients compute
    const c = (await ask({
      t: 'compute',
      offset,
      inputBase: ticker.base,
      pub: ticker.pub,
      arrivals,
      shardOf,
    })) as unknown as ClientWindow;
    progress('closing');
    await ask({ t: 'close' });

    const cpuUs = cpu.user + cpu.system;
    const heapExt = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
    return {
      clients: o.clients,
      setupSeconds,
      connectSeconds,
      subscribeSeconds,
      rssPerConn: (mem1.rss - mem0.rss - (mem1.youngBytes - mem0.youngBytes)) / o.clients,
      rssRawPerConn: (mem1.rss - mem0.rss) / o.clients,
      heapPerConn: (heapExt(mem1) - heapExt(mem0)) / o.clients,
      rss0MiB: mem0.rss / 2 ** 20,
      framesPerSec: c.frames / c.seconds,
      sentPerSec: sent / secs,
      dropped,
      gaps: c.gaps,
      resyncs: c.resyncs,
      errors: c.errors,
      unmatched: c.unmatched,
      parseMismatches: c.mismatches,
      p50: c.p50,
      p99: c.p99,
      p999: c.p999,
      max: c.max,
      engP50: c.engP50,
      engP99: c.engP99,
      fanP50: c.fanP50,
      fanP99: c.fanP99,
      fanMax: c.fanMax,
      cpuUsPerFrame: cpuUs / sent,
      userUsPerFrame: cpu.user / sent,
      sysUsPerFrame: cpu.system / sent,
      mainUsPerFrame: (1000 * main) / sent,
      netUsPerFrame: (cpuUs - floorUsPerDelta * windowDeltas) / sent,
      floorUsPerDelta,
      serverCores: cpuUs / 1e6 / secs,
      mainCores: main / 1000 / secs,
      clientCores: c.cores,
      batch: windowDeltas / dispatch.length,
      dispatchP50: median(dispatch),
      dispatchMax: Math.max(...dispatch),
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
      gcMsPerSec: gcMs / secs,
      heapEndMiB: memEnd.heapUsed / 2 ** 20,
      rssEndMiB: memEnd.rss / 2 ** 20,
      clockOffsetMs: offset,
      clockRttMs: best,
    };
  } finally {
    ticker?.stop();
    clients?.child.disconnect();
    await server?.close().catch(() => undefined);
    await composed?.close().catch(() => undefined);
    await scratch.drop();
  }
}

if (process.argv[2] === '--ws-bench-server') {
  process.on('disconnect', () => process.exit(1));
  serve(process.argv[3] as Kind, JSON.parse(process.argv[4]!) as WsBenchOptions).then(
    (figures) => process.send!(figures, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`ws bench server: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
