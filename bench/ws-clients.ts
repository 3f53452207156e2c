/**
 * The client side of the `ws` bench, run as its own process (forked by
 * ws.bench.ts's server role, driven over the IPC channel): up to thousands of
 * WebSocket clients speaking protocol v1 in raw msgpack frames (no
 * VaticClient: one shared Decoder and one message handler per socket keep
 * this process's own cost and memory low, so it disturbs the server it
 * measures as little as it can on a 2-vCPU machine). The clients are a
 * minimal RFC 6455 client on `node:net` (handshake, masked client frames,
 * ping/pong, close), not the `ws` package: at 50,000 frames/s the package's
 * stream layers cost this process about 15 µs a frame, most of a core taken
 * from both servers alike.
 *
 * Client `i` signs an HS256 token for trader `t<i>` (the server's secret is
 * passed over IPC), authenticates, and subscribes to its own assessment
 * `a<i>`. Between `start` and `stop` every delta frame is recorded: receipt
 * time on this process's clock (`performance.timeOrigin + performance.now()`,
 * the same wall-clock origin as the server's; the server measures the offset
 * between the two clocks over IPC and passes it in `stop`), the engine input
 * the delta reflects, and which client got it. On `stop` the server passes,
 * by engine input, when that input was published to the market log and when
 * each shard's delta batch taken after it reached the server's main thread;
 * this process then computes, per frame:
 *  - tick-to-frame: receipt minus the publish time of the newest input the
 *    frame reflects (the staleness a trader sees, coalescing aside);
 *  - engine: that input's publish to its delta batch reaching the server's
 *    main thread (market log, engine, shard flush, structured clone);
 *  - fan-out: the batch reaching the server's main thread to receipt here
 *    (hub, encode, socket write, kernel, client parse).
 * Seq gaps (deltas the server skipped for a slow reader) are counted.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { SignJWT } from 'jose';
import { performance } from 'node:perf_hooks';
import { WireSocket } from '../engine/testing/index.js';

export type ClientCommand =
  | { readonly t: 'clock' }
  | { readonly t: 'connect'; readonly url: string; readonly secret: string; readonly count: number; readonly concurrency: number }
  | { readonly t: 'subscribe'; readonly concurrency: number }
  | { readonly t: 'start' }
  | { readonly t: 'stop' }
  | {
      readonly t: 'compute';
      readonly offset: number;
      readonly inputBase: number;
      readonly pub: number[];
      readonly arrivals: Array<Array<[number, number]>>;
      readonly shardOf: number[];
    }
  | { readonly t: 'close' };

/** Figures of one measurement window, as seen by the clients. */
export interface ClientWindow {
  readonly frames: number;
  readonly seconds: number;
  readonly recorded: number;
  readonly gaps: number;
  readonly resyncs: number;
  readonly errors: number;
  readonly unmatched: number;
  readonly mismatches: number;
  readonly cores: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly engP50: number;
  readonly engP99: number;
  readonly fanP50: number;
  readonly fanP99: number;
  readonly fanMax: number;
}

interface Frame {
  t: string;
  seq?: number;
  code?: string;
  delta?: { input: number };
}

const wall = (): number => performance.timeOrigin + performance.now();
const enc = new Encoder();
const dec = new Decoder();
const CAP = 4_000_000;
const recv = new Float64Array(CAP);
const inputs = new Float64Array(CAP);
const who = new Uint16Array(CAP);

let sockets: WireSocket[] = [];
let seqs = new Float64Array(0);
const waiting = new Map<number, (f: Frame) => void>();
const closes = new Map<number, string>();
let recording = false;
let n = 0;
let frames = 0,
  gaps = 0,
  resyncs = 0,
  errors = 0;
let started = 0;
let cpu0 = process.cpuUsage();
let usage = cpu0;
let seconds = 0;

const DELTA = [0x85, 0xa1, 0x74, 0xa5, 0x64, 0x65, 0x6c, 0x74, 0x61]; // {t: 'delta', … (5 keys)
const SEQ = Buffer.from([0xa3, 0x73, 0x65, 0x71]);
const INPUT = Buffer.from([0xa5, 0x69, 0x6e, 0x70, 0x75, 0x74]);

/** A msgpack unsigned integer or float64 at `at`, NaN for anything else. */
function num(b: Buffer, at: number): number {
  const x = b[at]!;
  if (x < 0x80) return x;
  switch (x) {
    case 0xcc:
      return b[at + 1]!;
    case 0xcd:
      return b.readUInt16BE(at + 1);
    case 0xce:
      return b.readUInt32BE(at + 1);
    case 0xcf:
      return Number(b.readBigUInt64BE(at + 1));
    case 0xcb:
      return b.readDoubleBE(at + 1);
    default:
      return NaN;
  }
}

/**
 * A delta frame's seq and input without decoding the whole frame (the hub and
 * the baseline encode the same layout: `seq` after the header, `input` the
 * last key of the delta); every 1,000th frame is checked against a full decode.
 */
let checked = 0,
  mismatches = 0;
function deltaFields(b: Buffer): { seq: number; input: number } | undefined {
  for (let k = 0; k < DELTA.length; k++) if (b[k] !== DELTA[k]) return undefined;
  const s = b.indexOf(SEQ, DELTA.length),
    p = b.lastIndexOf(INPUT);
  const r = { seq: s < 0 ? NaN : num(b, s + SEQ.length), input: p < 0 ? NaN : num(b, p + INPUT.length) };
  if (Number.isNaN(r.seq) || Number.isNaN(r.input)) return undefined;
  if (++checked % 1_000 === 0) {
    const f = dec.decode(b) as Frame;
    if (f.seq !== r.seq || f.delta?.input !== r.input) mismatches++;
  }
  return r;
}

function onMessage(i: number, data: Buffer): void {
  const now = wall();
  const d = deltaFields(data);
  if (d !== undefined) {
    const seq = d.seq;
    if (seq !== seqs[i]! + 1) gaps++;
    seqs[i] = seq;
    if (!recording) return;
    frames++;
    if (n < CAP) {
      recv[n] = now;
      inputs[n] = d.input;
      who[n] = i;
      n++;
    }
    return;
  }
  const f = dec.decode(data) as Frame;
  if (f.t === 'snapshot') seqs[i] = f.seq!;
  else if (f.t === 'resync') resyncs++;
  else if (f.t === 'error') errors++;
  const w = waiting.get(i);
  if (w !== undefined && (f.t === 'ready' || f.t === 'snapshot' || f.t === 'error')) {
    waiting.delete(i);
    w(f);
  }
}

/** Send a frame to client i and wait for its answer (ready, snapshot or error). */
function request(i: number, frame: unknown): Promise<Frame> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(i);
      resolve({ t: 'timeout', code: `state ${sockets[i]!.readyState}, closed ${closes.get(i) ?? '-'}` });
    }, 20_000);
    waiting.set(i, (f) => {
      clearTimeout(timer);
      resolve(f);
    });
    sockets[i]!.send(enc.encode(frame));
  });
}

async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

async function connect(url: string, secret: string, count: number, concurrency: number): Promise<{ ok: number; failed: string[] }> {
  const key = new TextEncoder().encode(secret);
  sockets = new Array<WireSocket>(count);
  seqs = new Float64Array(count).fill(-1);
  const failed: string[] = [];
  let ok = 0;
  await pool(count, concurrency, async (i) => {
    const token = await new SignJWT({ roles: ['trader'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`t${i}`)
      .setIssuer('vatic')
      .setAudience('vatic-gateway')
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(key);
    try {
      const ws = await WireSocket.open(url, 'vatic.v1.msgpack');
      sockets[i] = ws;
      ws.onMessage = (data) => onMessage(i, data);
      ws.onClose = (code, reason) => closes.set(i, `${code} ${reason}`);
      const f = await request(i, { t: 'auth', token });
      if (f.t === 'ready') ok++;
      else failed.push(`t${i}: ${f.t} ${f.code ?? ''}`);
    } catch (err) {
      failed.push(`t${i}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return { ok, failed: failed.slice(0, 5) };
}

async function subscribe(concurrency: number): Promise<{ ok: number; failed: string[] }> {
  const failed: string[] = [];
  let ok = 0;
  await pool(sockets.length, concurrency, async (i) => {
    const f = await request(i, { t: 'sub', id: 1, assessmentId: `a${i}` });
    if (f.t === 'snapshot') ok++;
    else failed.push(`a${i}: ${f.t} ${f.code ?? ''}`);
  });
  return { ok, failed: failed.slice(0, 5) };
}

async function closeAll(): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws === undefined || ws.readyState === WireSocket.CLOSED) return resolve();
          const t = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 5_000);
          const closed = ws.onClose;
          ws.onClose = (code, reason) => {
            closed(code, reason);
            clearTimeout(t);
            resolve();
          };
          ws.close(1000, 'bye');
        }),
    ),
  );
  sockets = [];
}

function pct(xs: Float64Array, p: number): number {
  return xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;
}

/** With WS_BENCH_VERBOSE: the latency over the window, 250 ms at a time, to see whether the tail is steady or comes in bursts. */
function series(when: Float64Array, total: Float64Array, eng: Float64Array, m: number, offset: number): void {
  const buckets = new Map<number, { t: number[]; e: number[] }>();
  for (let j = 0; j < m; j++) {
    const b = Math.floor((when[j]! + offset - started) / 250);
    const x = buckets.get(b) ?? { t: [], e: [] };
    buckets.set(b, x);
    x.t.push(total[j]!);
    x.e.push(eng[j]!);
  }
  for (const [b, x] of [...buckets].sort((p, q) => p[0] - q[0])) {
    const t = Float64Array.from(x.t).sort(),
      e = Float64Array.from(x.e).sort();
    process.stderr.write(
      `  series ${(b / 4).toFixed(2)} s: frames ${t.length}, p50 ${pct(t, 50).toFixed(1)}, p99 ${pct(t, 99).toFixed(1)}, max ${pct(t, 100).toFixed(1)}; engine p99 ${pct(e, 99).toFixed(1)} ms\n`,
    );
  }
}

/** Per-frame latencies from the server's tables (see the header). */
function compute(c: Extract<ClientCommand, { t: 'compute' }>): ClientWindow {
  // A shard that applied nothing between two flushes sends the same input twice: keep the first arrival.
  const arrivals = c.arrivals.map((pairs) => {
    const m = new Map<number, number>();
    for (const [k, v] of pairs) if (!m.has(k)) m.set(k, v);
    return m;
  });
  const total = new Float64Array(n),
    eng = new Float64Array(n),
    fan = new Float64Array(n),
    when = new Float64Array(n);
  let m = 0,
    unmatched = 0;
  for (let k = 0; k < n; k++) {
    const t = recv[k]! - c.offset; // on the server's clock
    const input = inputs[k]!;
    const published = c.pub[input - c.inputBase];
    const arrived = arrivals[c.shardOf[who[k]!]!]?.get(input);
    if (published === undefined || published === null || arrived === undefined) {
      unmatched++;
      continue;
    }
    total[m] = t - published;
    eng[m] = arrived - published;
    fan[m] = t - arrived;
    when[m] = t;
    m++;
  }
  if (process.env['WS_BENCH_VERBOSE'] !== undefined) series(when, total, eng, m, c.offset);
  const sorted = (xs: Float64Array) => xs.subarray(0, m).sort();
  const [a, b, f] = [sorted(total), sorted(eng), sorted(fan)];
  return {
    frames,
    seconds,
    recorded: n,
    mismatches,
    gaps,
    resyncs,
    errors,
    unmatched,
    cores: (usage.user + usage.system) / 1e6 / seconds,
    p50: pct(a, 50),
    p99: pct(a, 99),
    p999: pct(a, 99.9),
    max: pct(a, 100),
    engP50: pct(b, 50),
    engP99: pct(b, 99),
    fanP50: pct(f, 50),
    fanP99: pct(f, 99),
    fanMax: pct(f, 100),
  };
}

async function handle(c: ClientCommand): Promise<unknown> {
  switch (c.t) {
    case 'clock':
      return { t: 'clock', at: wall() };
    case 'connect':
      return { t: 'connected', ...(await connect(c.url, c.secret, c.count, c.concurrency)) };
    case 'subscribe':
      return { t: 'subscribed', ...(await subscribe(c.concurrency)) };
    case 'start':
      n = 0;
      frames = 0;
      gaps = 0;
      resyncs = 0;
      errors = 0;
      recording = true;
      started = wall();
      cpu0 = process.cpuUsage();
      return { t: 'started' };
    case 'stop':
      recording = false;
      seconds = (wall() - started) / 1000;
      usage = process.cpuUsage(cpu0);
      return { t: 'stopped' };
    case 'compute':
      return { t: 'computed', ...compute(c) };
    case 'close':
      await closeAll();
      return { t: 'closed' };
  }
}

process.on('message', (c: ClientCommand) => {
  handle(c).then(
    (reply) => process.send!(reply),
    (err: unknown) => process.send!({ t: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ t: 'hello', pid: process.pid });
