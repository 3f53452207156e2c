/**
 * `npm run market-data -- [options]`: the market-data role. Publishes ticks
 * and resolutions to the JetStream market stream (`ticks.<venue>.<symbol>`),
 * each with a `Nats-Msg-Id`, so a restarted ingestor does not double ticks.
 *
 * Sources: the seeded synthetic feed (the default), a recorded tape's ticks
 * and resolutions replayed at N× speed, or a live venue connector
 * (`--source coinbase|binance|polymarket|kalshi`, docs/market-data.md) that
 * keeps its WebSocket open and publishes the quotes that pass the door.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { performance } from 'node:perf_hooks';
import { DEFAULT_INSTRUMENTS, type Instrument } from '../../actors/index.js';
import { readTape, TapeError } from '../index.js';
import {
  ensureMarketStream,
  InvalidMarketInputError,
  marketSubjects,
  TickPublisher,
  type ResolutionMessage,
  type TickMessage,
  natsServer,
} from '../../transport/nats/index.js';
import {
  SyntheticFeed,
  ConnectorMetrics,
  DEFAULT_VENUE_CONFIG,
  kalshiCredentials,
  readVenueConfig,
  VENUES,
  VenueConfigError,
  runVenue,
  type Venue,
} from '../../transport/market-data/index.js';
import { FeedProgress } from './feed-progress.js';

type Item = { kind: 'tick'; at: number; tick: TickMessage } | { kind: 'resolution'; at: number; resolution: ResolutionMessage };

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a positive number');
  return n;
}

/** What a tape gives the market stream: its instruments, then its ticks and resolutions, and what stays out. */
interface TapeFeed {
  readonly instruments: Instrument[];
  readonly items: Item[];
  /** Lines that are not market data (tiers, creates, commands, clock beats), by type: they do not go on the market stream. */
  readonly skipped: Map<string, number>;
}

/**
 * A tape's market data: its ticks and resolutions (venue `tape`, the tape seq
 * as the venue seq) and its `instrument` lines, which are published ahead of
 * them. The whole tape is read and validated first: an invalid line publishes nothing.
 */
function tapeFeed(path: string): TapeFeed {
  const feed: TapeFeed = { instruments: [], items: [], skipped: new Map() };
  for (const { input } of readTape(path)) {
    if (input.type === 'instrument') feed.instruments.push(input.instrument);
    else if (input.type === 'tick') {
      const { type: _t, seq, ...rest } = input;
      feed.items.push({ kind: 'tick', at: input.ts, tick: { ...rest, venue: 'tape', venueSeq: seq } });
    } else if (input.type === 'resolution') {
      feed.items.push({
        kind: 'resolution',
        at: input.ts,
        resolution: { venue: 'tape', market: input.market, outcome: input.outcome, ts: input.ts },
      });
    } else feed.skipped.set(input.type, (feed.skipped.get(input.type) ?? 0) + 1);
  }
  return feed;
}

/** Items of the synthetic feed, venue from each instrument. */
function* syntheticItems(seed: string, startTime: number, meanIntervalMs: number): Generator<Item> {
  const venues = new Map(DEFAULT_INSTRUMENTS.map((i) => [i.symbol, i.venue]));
  const feed = new SyntheticFeed({ seed, startTime, meanIntervalMs });
  while (!feed.done) {
    const item = feed.next();
    if (item.type === 'tick') {
      const { seq, ...t } = item.tick;
      yield { kind: 'tick', at: t.ts, tick: { ...t, venue: venues.get(t.symbol) ?? 'synthetic', venueSeq: seq } };
    } else {
      const r = item.resolution;
      yield {
        kind: 'resolution',
        at: r.ts,
        resolution: { venue: venues.get(`${r.market}:${r.outcome}`) ?? 'synthetic', market: r.market, outcome: r.outcome, ts: r.ts },
      };
    }
  }
}

/** `--speed`: a positive number, or `max` (Infinity: no pacing). */
function speedArg(v: string): number {
  return v === 'max' ? Infinity : positive(v);
}

interface Options {
  nats: string;
  stream: string;
  namespace: string;
  source: 'synthetic' | 'tape' | Venue;
  tape?: string;
  speed?: number;
  seed: string;
  start?: string;
  intervalMs: number;
  duration?: number;
  maxInFlight: number;
  symbols?: string;
  url?: string;
  config?: string;
  channel?: string;
  reference?: Venue;
  referenceUrl?: string;
  kalshiKeyId?: string;
  kalshiPrivateKey?: string;
  metricsPort?: number;
  metricsHost: string;
  maxQuoteAgeMs?: number;
  maxClockSkewMs?: number;
  linearBand?: number;
  binaryBand?: number;
  jumpConfirmations?: number;
  allowLocked?: boolean;
  staleAfterMs?: number;
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a number of 0 or more');
  return n;
}

/** Serve the registry on GET /metrics (Prometheus text). */
function serveMetrics(registry: Registry, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve(server)));
}

/** `--source <venue>`: one venue connector until SIGINT/SIGTERM or --duration. */
async function runConnector(o: Options & { source: Venue }): Promise<void> {
  const log = pino({ name: 'market-data', level: process.env['LOG_LEVEL'] ?? 'info' }, pino.destination(2));
  const config = o.config === undefined ? DEFAULT_VENUE_CONFIG : readVenueConfig(o.config);
  const keyId = o.kalshiKeyId ?? process.env['KALSHI_API_KEY_ID'];
  const keyPath = o.kalshiPrivateKey ?? process.env['KALSHI_PRIVATE_KEY_PATH'];
  const credentials =
    o.source === 'kalshi' && keyId !== undefined && keyPath !== undefined ? kalshiCredentials(keyId, readFileSync(keyPath)) : undefined;
  const registry = new Registry();
  const metrics = new ConnectorMetrics(registry);
  const metricsServer = o.metricsPort === undefined ? undefined : await serveMetrics(registry, o.metricsPort, o.metricsHost);
  const nc = await connect({
    ...natsServer(o.nats),
    name: `vatic-market-data-${o.source}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  const jsm = await jetstreamManager(nc);
  await ensureMarketStream(jsm, { name: o.stream, subjects: marketSubjects(o.namespace) });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  if (o.duration !== undefined) setTimeout(() => stop.abort(), o.duration * 1000).unref();
  const guard = {
    ...(o.maxQuoteAgeMs === undefined ? {} : { maxQuoteAgeMs: o.maxQuoteAgeMs }),
    ...(o.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: o.maxClockSkewMs }),
    ...(o.linearBand === undefined ? {} : { linearBand: o.linearBand }),
    ...(o.binaryBand === undefined ? {} : { binaryBand: o.binaryBand }),
    ...(o.jumpConfirmations === undefined ? {} : { jumpConfirmations: o.jumpConfirmations }),
    ...(o.allowLocked ? { allowLocked: true } : {}),
  };
  try {
    const summary = await runVenue({
      venue: o.source,
      config,
      instruments: DEFAULT_INSTRUMENTS,
      js: jetstream(nc),
      jsm,
      stream: o.stream,
      namespace: o.namespace,
      metrics,
      log,
      signal: stop.signal,
      guard,
      ...(o.symbols === undefined
        ? {}
        : {
            symbols: o.symbols
              .split(',')
              .map((x) => x.trim())
              .filter((x) => x !== ''),
          }),
      ...(o.url === undefined ? {} : { url: o.url }),
      ...(o.channel === undefined ? {} : { channel: o.channel }),
      ...(credentials === undefined ? {} : { credentials }),
      ...(o.staleAfterMs === undefined ? {} : { staleAfterMs: o.staleAfterMs }),
      ...(o.reference === undefined
        ? {}
        : { reference: { venue: o.reference, ...(o.referenceUrl === undefined ? {} : { url: o.referenceUrl }) } }),
    });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    metricsServer?.close();
    await nc.drain();
  }
}

/** `--source tape|synthetic`: instrument definitions first, then the items at `--speed`, with progress and a summary. */
async function publishFeed(o: Options): Promise<void> {
  const startTime = o.start !== undefined ? Date.parse(o.start) : Math.floor(Date.now() / 1000) * 1000;
  if (Number.isNaN(startTime)) throw new InvalidArgumentError(`--start '${o.start}' is not a time`);
  const tape = o.source === 'tape' ? tapeFeed(o.tape!) : undefined;
  const speed = o.speed ?? (tape === undefined ? 1 : Infinity);
  // The definitions travel ahead of the data: a node that was never configured with them learns them from the stream.
  const definitions = tape === undefined ? [...DEFAULT_INSTRUMENTS] : tape.instruments;
  const items: Iterable<Item> = tape?.items ?? syntheticItems(o.seed, startTime, o.intervalMs);
  const nc = await connect({ ...natsServer(o.nats), name: 'vatic-market-data' });
  const stream = await ensureMarketStream(await jetstreamManager(nc), { name: o.stream, subjects: marketSubjects(o.namespace) });
  // Every item is validated as the engine will validate it, and refused before it is published.
  const publisher = new TickPublisher(jetstream(nc), { namespace: o.namespace, instruments: DEFAULT_INSTRUMENTS });
  const pace = speed === Infinity ? 'as fast as the stream acknowledges (--speed N for N× feed time)' : `at ×${speed}`;
  process.stderr.write(
    `market-data: ${o.source}${o.tape ? ` ${o.tape}` : ` (seed '${o.seed}')`} → ${o.nats} stream ${stream.config.name}, ${pace}\n`,
  );
  let failed = 0;
  let refused = 0;
  const onError = (err: unknown): void => {
    if (err instanceof InvalidMarketInputError) refused++;
    else failed++;
    process.stderr.write(
      `market-data: ${err instanceof InvalidMarketInputError ? 'refused' : 'publish failed'}: ${(err as Error).message}\n`,
    );
  };
  for (const inst of definitions) await publisher.publishInstrument(inst).catch(onError);
  const ahead = publisher.published + publisher.duplicates;
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const progress = new FeedProgress({ total: tape?.items.length, write: (line) => process.stderr.write(`market-data: ${line}\n`) });
  const wallStart = performance.now();
  const deadline = o.duration === undefined ? Infinity : wallStart + o.duration * 1000;
  const inFlight = new Set<Promise<unknown>>();
  let feedStart: number | undefined;
  for (const item of items) {
    feedStart ??= item.at;
    // Wait until the item is due at this speed, or until the window has room.
    for (;;) {
      if (stopping || performance.now() >= deadline) break;
      const due = wallStart + (item.at - feedStart) / speed;
      if (performance.now() >= due && inFlight.size < o.maxInFlight) break;
      if (performance.now() >= due) await Promise.race(inFlight);
      else await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, due - performance.now()))));
      progress.maybeReport();
    }
    if (stopping || performance.now() >= deadline) break;
    const p = (item.kind === 'tick' ? publisher.publishTick(item.tick) : publisher.publishResolution(item.resolution))
      .catch(onError)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    progress.sent(item.at);
    progress.maybeReport();
  }
  await Promise.all(inFlight);
  const last = (await (await jetstreamManager(nc)).streams.info(o.stream)).state.last_seq;
  await nc.drain();
  const skipped = [...(tape?.skipped ?? [])].map(([type, n]) => `${n} ${type}`).join(', ');
  process.stderr.write(
    `market-data: ${stopping ? 'stopped' : 'done'}: ${ahead} instrument definitions, then ${progress.line()}; ` +
      `${publisher.published} stored, ${publisher.duplicates} duplicates, ${refused} refused, ${failed} failed, in ${((performance.now() - wallStart) / 1000).toFixed(1)} s; stream ${o.stream} ends at seq ${last}\n`,
  );
  if (skipped !== '')
    process.stderr.write(
      `market-data: left out (not market data): ${skipped} line(s); tiers are the node's configuration, assessments and orders go through its gateway, and it beats its own clock\n`,
    );
  process.stdout.write(
    `${JSON.stringify({ published: publisher.published, duplicates: publisher.duplicates, failed, refused, lastSeq: last })}\n`,
  );
  process.exitCode = failed > 0 || refused > 0 ? 1 : 0;
}

const program = new Command('market-data')
  .description('Publish normalized ticks to the JetStream market stream')
  .option('--nats <url>', 'NATS server', process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222')
  .option('--stream <name>', 'market stream name (MARKET_STREAM)', process.env['MARKET_STREAM'] ?? 'MARKET')
  .option('--namespace <prefix>', 'subject namespace: tests, staging (NATS_NAMESPACE)', process.env['NATS_NAMESPACE'] ?? '')
  .addOption(new Option('--source <source>', 'where ticks come from').choices(['synthetic', 'tape', ...VENUES]).default('synthetic'))
  .option('--tape <file>', 'tape to replay (with --source tape)')
  .option(
    '--speed <x>',
    'feed time per wall time, or max (as fast as the stream acknowledges); default max for a tape, 1 for the synthetic feed',
    speedArg,
  )
  .option('--seed <s>', 'synthetic feed seed', 'market')
  .option('--start <iso>', 'synthetic feed start time (same seed and start republish the same msg ids)')
  .option('--interval-ms <ms>', 'synthetic mean time between ticks of one symbol, feed time', positive, 100)
  .option('--duration <s>', 'stop after this many wall seconds', positive)
  .option('--max-in-flight <n>', 'publishes awaiting their ack', positive, 256)
  .option('--symbols <list>', 'venue: instruments to subscribe, comma-separated (engine symbols, venue ids, or venueId=engineSymbol)')
  .option('--url <url>', "venue: WebSocket URL (a simulator, a sandbox); default the venue's production URL")
  .option('--config <file>', 'venue: instrument mapping per venue (JSON, docs/market-data.md); default the built-in one')
  .option('--channel <name>', 'venue: coinbase level2|ticker, kalshi orderbook_delta|ticker')
  .addOption(
    new Option('--reference <venue>', "venue: read another venue's prices of the same symbols as the jump reference").choices([...VENUES]),
  )
  .option('--reference-url <url>', "venue: the reference venue's URL")
  .option('--kalshi-key-id <id>', 'kalshi: API key id (KALSHI_API_KEY_ID)')
  .option('--kalshi-private-key <file>', 'kalshi: RSA private key, PEM (KALSHI_PRIVATE_KEY_PATH)')
  .option('--metrics-port <port>', 'venue: serve Prometheus metrics on GET /metrics', nonNegative)
  .option('--metrics-host <host>', 'venue: metrics listen address', '127.0.0.1')
  .option('--max-quote-age-ms <ms>', 'door: hold quotes stamped older than this (default 10000)', positive)
  .option('--max-clock-skew-ms <ms>', 'door: hold quotes stamped this far ahead (default 2000)', positive)
  .option('--linear-band <fraction>', 'door: largest linear move from the reference, 0.05 = 5 % (default 0.05)', positive)
  .option('--binary-band <price>', 'door: largest binary move from the reference, in 0..1 (default 0.25)', positive)
  .option('--jump-confirmations <n>', 'door: quotes at a new level that confirm a jump (default 3)', positive)
  .option('--allow-locked', 'door: publish bid = ask tops instead of holding them')
  .option('--stale-after-ms <ms>', 'venue: no update of an instrument for this long marks it stale', positive)
  .action(async (o: Options) => {
    if (o.source !== 'synthetic' && o.source !== 'tape') {
      await runConnector(o as Options & { source: Venue });
      return;
    }
    if (o.source === 'tape' && o.tape === undefined) throw new InvalidArgumentError('--source tape needs --tape <file>');
    await publishFeed(o);
  });

await program.parseAsync().catch((err: unknown) => {
  // A TapeError names the line and the reason code (see docs/tape-format.md); a VenueConfigError its code too.
  const code = err instanceof TapeError || err instanceof VenueConfigError ? `${err.code} ` : '';
  process.stderr.write(`market-data: ${code}${(err as Error).message}\n`);
  process.exit(2);
});
