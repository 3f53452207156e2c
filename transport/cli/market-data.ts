/**
 * `npm run market-data -- [options]`: the market-data role. Publishes ticks
 * and resolutions to the JetStream market stream (`ticks.<venue>.<symbol>`),
 * each with a `Nats-Msg-Id`, so a restarted ingestor does not double ticks.
 *
 * Sources: the seeded synthetic feed (the default), or a recorded tape's ticks
 * and resolutions replayed at N× speed. The live venue connectors plug in the
 * same way through the normalizers in transport/market-data/.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { performance } from 'node:perf_hooks';
import { DEFAULT_INSTRUMENTS, type Instrument } from '../../actors/index.js';
import { readTape, TapeError } from '../../engine/index.js';
import { ensureMarketStream, InvalidMarketInputError, marketSubjects, TickPublisher, type ResolutionMessage, type TickMessage } from '../nats/index.js';
import { SyntheticFeed } from '../synthetic-feed.js';

type Item = { kind: 'tick'; at: number; tick: TickMessage } | { kind: 'resolution'; at: number; resolution: ResolutionMessage };

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a positive number');
  return n;
}

/**
 * Items of a tape: its ticks and resolutions, venue `tape`, the tape seq as
 * the venue seq. The whole tape is read and validated first (an invalid line
 * publishes nothing); its `instrument` lines are added to `instruments`.
 */
function tapeItems(path: string, instruments: Instrument[]): Generator<Item> {
  const inputs = readTape(path);
  for (const { input } of inputs) if (input.type === 'instrument') instruments.push(input.instrument);
  return tapeGenerator(inputs.map((si) => si.input));
}

function* tapeGenerator(inputs: ReturnType<typeof readTape>[number]['input'][]): Generator<Item> {
  for (const input of inputs) {
    if (input.type === 'tick') {
      const { type: _t, seq, ...rest } = input;
      yield { kind: 'tick', at: input.ts, tick: { ...rest, venue: 'tape', venueSeq: seq } };
    } else if (input.type === 'resolution') {
      yield { kind: 'resolution', at: input.ts, resolution: { venue: 'tape', market: input.market, outcome: input.outcome, ts: input.ts } };
    }
  }
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
      yield { kind: 'resolution', at: r.ts, resolution: { venue: venues.get(`${r.market}:${r.outcome}`) ?? 'synthetic', market: r.market, outcome: r.outcome, ts: r.ts } };
    }
  }
}

interface Options {
  nats: string; stream: string; namespace: string; source: 'synthetic' | 'tape'; tape?: string; speed: number;
  seed: string; start?: string; intervalMs: number; duration?: number; maxInFlight: number;
}

const program = new Command('market-data')
  .description('Publish normalized ticks to the JetStream market stream')
  .option('--nats <url>', 'NATS server', process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222')
  .option('--stream <name>', 'market stream name', 'MARKET')
  .option('--namespace <prefix>', 'subject namespace (tests, staging)', '')
  .addOption(new Option('--source <source>', 'where ticks come from').choices(['synthetic', 'tape']).default('synthetic'))
  .option('--tape <file>', 'tape to replay (with --source tape)')
  .option('--speed <x>', 'feed time per wall time', positive, 1)
  .option('--seed <s>', 'synthetic feed seed', 'market')
  .option('--start <iso>', 'synthetic feed start time (same seed and start republish the same msg ids)')
  .option('--interval-ms <ms>', 'synthetic mean time between ticks of one symbol, feed time', positive, 100)
  .option('--duration <s>', 'stop after this many wall seconds', positive)
  .option('--max-in-flight <n>', 'publishes awaiting their ack', positive, 256)
  .action(async (o: Options) => {
    if (o.source === 'tape' && o.tape === undefined) throw new InvalidArgumentError('--source tape needs --tape <file>');
    const startTime = o.start !== undefined ? Date.parse(o.start) : Math.floor(Date.now() / 1000) * 1000;
    if (Number.isNaN(startTime)) throw new InvalidArgumentError(`--start '${o.start}' is not a time`);
    const instruments: Instrument[] = [...DEFAULT_INSTRUMENTS];
    const items = o.source === 'tape' ? tapeItems(o.tape!, instruments) : syntheticItems(o.seed, startTime, o.intervalMs);
    const nc = await connect({ servers: o.nats, name: 'vatic-market-data' });
    const stream = await ensureMarketStream(await jetstreamManager(nc), {
      name: o.stream, subjects: marketSubjects(o.namespace),
    });
    // Every item is validated as the engine will validate it, and refused before it is published.
    const publisher = new TickPublisher(jetstream(nc), { namespace: o.namespace, instruments });
    process.stderr.write(`market-data: ${o.source}${o.tape ? ` ${o.tape}` : ` (seed '${o.seed}')`} → ${o.nats} stream ${stream.config.name} at ×${o.speed}\n`);
    let stopping = false;
    const stop = () => { stopping = true; };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const wallStart = performance.now();
    const deadline = o.duration === undefined ? Infinity : wallStart + o.duration * 1000;
    const inFlight = new Set<Promise<unknown>>();
    let feedStart: number | undefined;
    let failed = 0;
    let refused = 0;
    for (const item of items) {
      feedStart ??= item.at;
      // Wait until the item is due at this speed, or until the window has room.
      for (;;) {
        if (stopping || performance.now() >= deadline) break;
        const due = wallStart + (item.at - feedStart) / o.speed;
        if (performance.now() >= due && inFlight.size < o.maxInFlight) break;
        await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, due - performance.now()))));
      }
      if (stopping || performance.now() >= deadline) break;
      const p = (item.kind === 'tick' ? publisher.publishTick(item.tick) : publisher.publishResolution(item.resolution))
        .catch((err: unknown) => {
          if (err instanceof InvalidMarketInputError) refused++;
          else failed++;
          process.stderr.write(`market-data: ${err instanceof InvalidMarketInputError ? 'refused' : 'publish failed'}: ${(err as Error).message}\n`);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    await nc.drain();
    process.stdout.write(`${JSON.stringify({ published: publisher.published, duplicates: publisher.duplicates, failed, refused })}\n`);
    process.exitCode = failed > 0 || refused > 0 ? 1 : 0;
  });

await program.parseAsync().catch((err: unknown) => {
  // A TapeError names the line and the reason code (see docs/tape-format.md).
  process.stderr.write(`market-data: ${err instanceof TapeError ? `${err.code} ` : ''}${(err as Error).message}\n`);
  process.exit(2);
});
