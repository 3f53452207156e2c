/**
 * One venue connector run as the `market-data` role: subscriptions from the
 * configuration, the guard seeded from the stream, an optional reference
 * venue for the jump band, good quotes and resolutions to the JetStream
 * market stream, until the signal or the duration ends it. Used by
 * `npm run market-data -- --source <venue>`.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Instrument } from '../../actors/index.js';
import { TickPublisher } from '../nats/index.js';
import type { ConnectorMetrics } from './connector-metrics.js';
import { createVenueConnector, tickPublisherSink } from './create-venue-connector.js';
import type { HoldReason } from './data-quality.js';
import type { KalshiCredentials } from './kalshi-auth.js';
import type { Venue } from './normalized-quote.js';
import { ReferencePrices, type QuoteGuardOptions } from './quote-guard.js';
import { lastTicksOnStream } from './stream-seed.js';
import { resolveSubscriptions, type VenueConfig } from './venue-config.js';
import type { VenueConnector } from './venue-connector.js';
import type { ConnectorLog } from './venue-protocol.js';

/** Options of {@link runVenue}. */
export interface VenueRunOptions {
  readonly venue: Venue;
  /** `--symbols`: venue ids, engine symbols or `venueId=engineSymbol` pairs. @default the venue's whole section */
  readonly symbols?: readonly string[];
  readonly config: VenueConfig;
  /** @default the section's `url`, else the venue's production URL */
  readonly url?: string;
  /** @default the section's `channel` */
  readonly channel?: string;
  /** A second venue quoting the same engine symbols, read (not published) as the jump reference. */
  readonly reference?: { readonly venue: Venue; readonly url?: string; readonly channel?: string };
  readonly credentials?: KalshiCredentials;
  readonly guard?: Omit<QuoteGuardOptions, 'instruments' | 'reference'>;
  readonly staleAfterMs?: number;
  /** The engine's instruments (the node's list). */
  readonly instruments: readonly Instrument[];
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly namespace: string;
  readonly metrics?: ConnectorMetrics;
  readonly log: ConnectorLog;
  /** Ends the run (SIGINT/SIGTERM, or the duration). */
  readonly signal: AbortSignal;
}

/** What a run did. */
export interface VenueRunSummary {
  readonly venue: Venue;
  readonly subscriptions: Readonly<Record<string, string>>;
  readonly published: number;
  readonly held: Partial<Record<HoldReason, number>>;
  readonly connections: number;
}

/** Run until `signal` aborts; resolves after a clean shutdown. @throws VenueConfigError before connecting */
export async function runVenue(o: VenueRunOptions): Promise<VenueRunSummary> {
  const subscriptions = resolveSubscriptions(o.venue, o.config, o.instruments, o.symbols);
  const symbols =
    o.venue === 'kalshi'
      ? o.instruments.filter((i) => Object.values(subscriptions).includes(i.market ?? '')).map((i) => i.symbol)
      : Object.values(subscriptions);
  for (const s of symbols) {
    const inst = o.instruments.find((i) => i.symbol === s);
    if (inst !== undefined && inst.venue !== o.venue)
      o.log.warn(
        { venue: o.venue, symbol: s, instrumentVenue: inst.venue },
        "symbol quoted from a venue other than its instrument's: run one venue per symbol",
      );
  }
  if (o.venue === 'kalshi' && o.credentials === undefined)
    o.log.warn({ venue: 'kalshi' }, 'no Kalshi API key: the handshake is unsigned and the venue will refuse it');
  const publisher = new TickPublisher(o.js, { namespace: o.namespace, instruments: o.instruments, timeoutMs: 5_000 });
  const section = o.config[o.venue];
  let reference: VenueConnector | undefined;
  let prices: ReferencePrices | undefined;
  if (o.reference !== undefined) {
    prices = new ReferencePrices();
    const refSection = o.config[o.reference.venue];
    const refSubs = resolveSubscriptions(o.reference.venue, o.config, o.instruments, symbols);
    reference = createVenueConnector({
      venue: o.reference.venue,
      instruments: o.instruments,
      subscriptions: refSubs,
      recordInto: prices,
      log: o.log,
      ...opt('url', o.reference.url ?? refSection?.url),
      ...opt('channel', o.reference.channel ?? refSection?.channel),
      ...opt('metrics', o.metrics),
      ...opt('guard', o.guard),
    });
  }
  const connector = createVenueConnector({
    venue: o.venue,
    instruments: o.instruments,
    subscriptions,
    sink: tickPublisherSink(publisher),
    log: o.log,
    ...opt('url', o.url ?? section?.url),
    ...opt('channel', o.channel ?? section?.channel),
    ...opt('credentials', o.credentials),
    ...opt('reference', prices),
    ...opt('metrics', o.metrics),
    ...opt('guard', o.guard),
    ...opt('staleAfterMs', o.staleAfterMs),
  });
  connector.seed(await lastTicksOnStream(o.jsm, o.stream, o.namespace, o.venue, symbols));
  reference?.start();
  connector.start();
  o.log.info({ venue: o.venue, subscriptions, reference: o.reference?.venue }, 'connector started');
  if (!o.signal.aborted) await new Promise((resolve) => o.signal.addEventListener('abort', resolve, { once: true }));
  await connector.stop();
  await reference?.stop();
  return {
    venue: o.venue,
    subscriptions,
    published: connector.published,
    held: Object.fromEntries(connector.held),
    connections: connector.connections,
  };
}

/** `{ [key]: value }`, or nothing when value is undefined (exactOptionalPropertyTypes-friendly spreading). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
