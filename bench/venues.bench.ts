/**
 * Venue connector bench: messages per second one connector reads from a venue
 * WebSocket, normalizes, checks at the door and publishes to JetStream (each
 * acknowledged), against the bare JetStream publish rate of the same ticks.
 *
 * N Binance combined-stream bookTicker frames (two symbols, a small random
 * walk, every one a good quote) are prepared in advance. Then, R times,
 * alternating, on a fresh memory stream each:
 *
 * - **bare publish**: the same N ticks as msgpack payloads with their
 *   `Nats-Msg-Id`, through `js.publish` with the connector's window of
 *   publishes in flight (1,024), timed from the first publish to the last ack.
 *   No client of this server can store acknowledged ticks faster with that
 *   window: the denominator.
 * - **connector**: a local WebSocket server on its own thread sends the N
 *   frames as fast as the socket takes them; one `VenueConnector` (Binance
 *   protocol, quote guard, metrics, `TickPublisher`) publishes them; timed from
 *   the connection's open to the last ack.
 * - **connector, no publish** (diagnostic): the same, into a sink that acks at
 *   once: the read + normalize + guard path alone.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Encoder } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { DEFAULT_INSTRUMENTS } from '../actors/index.js';
import { ConnectorMetrics, createVenueConnector, tickPublisherSink, type QuoteSink } from '../transport/market-data/index.js';
import { ensureMarketStream, marketSubjects, TickPublisher, tickSubject } from '../transport/nats/index.js';

export interface VenuesBenchOptions {
  /** Frames per run. @default 200_000 */ readonly messages: number;
  /** Runs of each measurement. @default 3 */ readonly repeats: number;
  /** NATS server. */ readonly url: string;
}

const SYMBOLS: Array<[string, string, number]> = [
  ['BTCUSDT', 'BTC-USD', 60_000],
  ['ETHUSDT', 'ETH-USD', 3_000],
];
const WINDOW = 1_024;

/** The frames and the same ticks as the connector publishes them. */
function prepare(n: number): { frames: string[]; ticks: Array<{ subject: string; payload: Uint8Array; msgId: string }> } {
  const enc = new Encoder({ ignoreUndefined: true });
  const mids = SYMBOLS.map(([, , p]) => p);
  const u = SYMBOLS.map(() => 1_000);
  let x = 12345;
  const r = () => (x = (x * 1103515245 + 12345) >>> 0) / 4294967296;
  const frames: string[] = [];
  const ticks: Array<{ subject: string; payload: Uint8Array; msgId: string }> = [];
  for (let i = 0; i < n; i++) {
    const s = i % SYMBOLS.length;
    const [venueSymbol, symbol] = SYMBOLS[s]!;
    mids[s] = mids[s]! * (1 + (r() - 0.5) * 0.0002);
    const bid = (mids[s]! * 0.99995).toFixed(2);
    const ask = (mids[s]! * 1.00005 + 0.01).toFixed(2);
    const size = (0.1 + r() * 3).toFixed(4);
    u[s]!++;
    frames.push(
      JSON.stringify({
        stream: `${venueSymbol.toLowerCase()}@bookTicker`,
        data: { u: u[s], s: venueSymbol, b: bid, B: size, a: ask, A: size },
      }),
    );
    ticks.push({
      subject: tickSubject('binance', symbol, ''),
      msgId: `binance:${symbol}:${u[s]}`,
      payload: enc.encode({
        symbol,
        ts: Date.now(),
        bid: Number(bid),
        ask: Number(ask),
        bidSize: Number(size),
        askSize: Number(size),
        venue: 'binance',
        venueSeq: u[s],
      }),
    });
  }
  return { frames, ticks };
}

async function freshStream(jsm: JetStreamManager): Promise<{ name: string; namespace: string }> {
  const suffix = randomBytes(4).toString('hex');
  const name = `BENCH_VENUES_${suffix}`;
  const namespace = `bv${suffix}`;
  await ensureMarketStream(jsm, { name, subjects: marketSubjects(namespace), storage: 'memory' });
  return { name, namespace };
}

async function bare(nc: NatsConnection, namespace: string, ticks: ReturnType<typeof prepare>['ticks']): Promise<number> {
  const js = jetstream(nc);
  const inFlight = new Set<Promise<unknown>>();
  const start = performance.now();
  for (const t of ticks) {
    const p = js.publish(`${namespace}.${t.subject}`, t.payload, { msgID: t.msgId, timeout: 30_000 }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return performance.now() - start;
}

/** The venue: a WebSocket server on its own thread (its sending is not on the connector's clock) that sends every frame to its first client. */
const VENUE_THREAD = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { WebSocketServer } = require(workerData.ws);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false }, () => parentPort.postMessage({ port: wss.address().port }));
  wss.on('connection', (ws) => { for (const f of workerData.frames) ws.send(f); });
  parentPort.on('message', () => wss.close(() => process.exit(0)));
`;

async function viaConnector(
  nc: NatsConnection,
  namespace: string,
  frames: string[],
  publish: boolean,
): Promise<{ ms: number; published: number }> {
  const venue = new Worker(VENUE_THREAD, { eval: true, workerData: { frames, ws: createRequire(import.meta.url).resolve('ws') } });
  const { port } = await new Promise<{ port: number }>((resolve) => venue.once('message', resolve));
  let opened = 0;
  let acked = 0;
  const publisher = new TickPublisher(jetstream(nc), { namespace, instruments: DEFAULT_INSTRUMENTS, timeoutMs: 30_000 });
  const inner: QuoteSink = publish
    ? tickPublisherSink(publisher)
    : { publishTick: () => Promise.resolve({ duplicate: false }), publishResolution: () => Promise.resolve({ duplicate: false }) };
  const sink: QuoteSink = {
    publishTick: (tick, id) =>
      inner.publishTick(tick, id).then((a) => {
        acked++;
        return a;
      }),
    publishResolution: (r) => inner.publishResolution(r),
  };
  const connector = createVenueConnector({
    venue: 'binance',
    instruments: DEFAULT_INSTRUMENTS,
    subscriptions: Object.fromEntries(SYMBOLS.map(([v, s]) => [v, s])),
    url: `ws://127.0.0.1:${port}`,
    sink,
    metrics: new ConnectorMetrics(new Registry()),
    maxInFlight: WINDOW,
    guard: { maxQuoteAgeMs: 600_000 },
    log: {
      info: (_o, msg) => {
        if (msg === 'venue connected') opened = performance.now();
      },
      warn() {},
      error() {},
    },
  });
  connector.start();
  const deadline = performance.now() + 600_000;
  while (acked < frames.length) {
    if (performance.now() > deadline) throw new Error(`connector stuck at ${acked} of ${frames.length}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - opened;
  await connector.stop();
  venue.postMessage('stop');
  await new Promise((resolve) => venue.once('exit', resolve));
  return { ms, published: acked };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the bench; rates in messages per second. */
export async function runVenuesBench(
  o: VenuesBenchOptions,
): Promise<{ runs: Record<'bare' | 'connector' | 'noPublish', number[]>; figures: Record<string, number> }> {
  const nc = await connect({ servers: o.url, name: 'bench-venues' });
  const jsm = await jetstreamManager(nc);
  const { frames, ticks } = prepare(o.messages);
  const runs = { bare: [] as number[], connector: [] as number[], noPublish: [] as number[] };
  try {
    for (let k = 0; k < o.repeats; k++) {
      for (const kind of ['bare', 'connector', 'noPublish'] as const) {
        const s = await freshStream(jsm);
        try {
          if (kind === 'bare') runs.bare.push(o.messages / ((await bare(nc, s.namespace, ticks)) / 1000));
          else {
            const r = await viaConnector(nc, s.namespace, frames, kind === 'connector');
            if (kind === 'connector') {
              const stored = (await jsm.streams.info(s.name)).state.messages;
              if (stored !== o.messages) throw new Error(`the stream holds ${stored} of ${o.messages} ticks`);
            }
            (kind === 'connector' ? runs.connector : runs.noPublish).push(o.messages / (r.ms / 1000));
          }
        } finally {
          await jsm.streams.delete(s.name).catch(() => false);
        }
      }
    }
  } finally {
    await nc.close();
  }
  const figures = {
    messages: o.messages,
    repeats: o.repeats,
    barePerSec: median(runs.bare),
    connectorPerSec: median(runs.connector),
    noPublishPerSec: median(runs.noPublish),
    ratio: median(runs.connector) / median(runs.bare),
    loadAverage: loadavg()[0]!,
  };
  return { runs, figures };
}
