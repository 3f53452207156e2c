/**
 * Prometheus figures of the venue connectors, on a registry the process owns
 * (no global registry: several connectors in one test process keep separate
 * figures). Labelled by venue and engine symbol (a bounded, configured set);
 * never by anything a venue message names that is not configured.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** The connectors' metrics; one instance per registry, shared by the connectors registered on it. */
export class ConnectorMetrics {
  readonly messages: Counter<'venue'>;
  readonly updates: Counter<'venue' | 'symbol'>;
  readonly published: Counter<'venue' | 'symbol'>;
  readonly unchanged: Counter<'venue' | 'symbol'>;
  readonly held: Counter<'venue' | 'symbol' | 'reason'>;
  readonly jumpsAccepted: Counter<'venue' | 'symbol' | 'how'>;
  readonly duplicates: Counter<'venue'>;
  readonly gaps: Counter<'venue'>;
  readonly resnapshots: Counter<'venue' | 'cause'>;
  readonly reconnects: Counter<'venue' | 'reason'>;
  readonly connected: Gauge<'venue'>;
  readonly feedAge: Gauge<'venue' | 'symbol'>;
  readonly stale: Gauge<'venue' | 'symbol'>;
  readonly resolutions: Counter<'venue'>;
  readonly publishFailures: Counter<'venue'>;
  readonly #ages = new Set<() => void>();

  /** @param registry where the metrics are registered */
  constructor(registry: Registry) {
    const registers = [registry];
    const ages = this.#ages;
    this.messages = new Counter({
      name: 'market_data_messages_total',
      help: 'Frames received from the venue.',
      labelNames: ['venue'],
      registers,
    });
    this.updates = new Counter({
      name: 'market_data_updates_total',
      help: 'Updates of a configured instrument received (its top moved or not), by engine symbol.',
      labelNames: ['venue', 'symbol'],
      registers,
    });
    this.published = new Counter({
      name: 'market_data_quotes_published_total',
      help: 'Quotes published to the market stream (stored or reported duplicate).',
      labelNames: ['venue', 'symbol'],
      registers,
    });
    this.unchanged = new Counter({
      name: 'market_data_quotes_unchanged_total',
      help: 'Quotes equal to the last one published, not published again.',
      labelNames: ['venue', 'symbol'],
      registers,
    });
    this.held = new Counter({
      name: 'market_data_held_total',
      help: 'Messages and quotes held back, by reason (docs/market-data.md). symbol is "-" when the message names none.',
      labelNames: ['venue', 'symbol', 'reason'],
      registers,
    });
    this.jumpsAccepted = new Counter({
      name: 'market_data_jumps_accepted_total',
      help: 'Moves beyond the band published: confirmed by consecutive quotes, or matching the reference venue.',
      labelNames: ['venue', 'symbol', 'how'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'market_data_duplicates_total',
      help: 'Publishes the stream already had (another connector of the venue, or a repeated venue update).',
      labelNames: ['venue'],
      registers,
    });
    this.gaps = new Counter({
      name: 'market_data_sequence_gaps_total',
      help: 'Gaps in the venue sequence (each resnapshots the books concerned).',
      labelNames: ['venue'],
      registers,
    });
    this.resnapshots = new Counter({
      name: 'market_data_resnapshots_total',
      help: 'Book resnapshots requested, by cause (gap, stale).',
      labelNames: ['venue', 'cause'],
      registers,
    });
    this.reconnects = new Counter({
      name: 'market_data_reconnects_total',
      help: 'Connections ended and replaced, by cause (idle, dropped, closed_by_venue, rotated, http_<status>, ...).',
      labelNames: ['venue', 'reason'],
      registers,
    });
    this.connected = new Gauge({
      name: 'market_data_connected',
      help: '1 while the venue connection is open.',
      labelNames: ['venue'],
      registers,
    });
    this.feedAge = new Gauge({
      name: 'market_data_feed_age_seconds',
      help: 'Time since the last update of a symbol from its venue.',
      labelNames: ['venue', 'symbol'],
      registers,
      collect() {
        for (const update of ages) update();
      },
    });
    this.stale = new Gauge({
      name: 'market_data_feed_stale',
      help: '1 while a symbol has had no update for its stale limit.',
      labelNames: ['venue', 'symbol'],
      registers,
    });
    this.resolutions = new Counter({
      name: 'market_data_resolutions_published_total',
      help: 'Market resolutions published.',
      labelNames: ['venue'],
      registers,
    });
    this.publishFailures = new Counter({
      name: 'market_data_publish_failures_total',
      help: 'Publishes that failed (not acknowledged by the stream).',
      labelNames: ['venue'],
      registers,
    });
  }

  /** Register a feed-age updater run at every scrape; returns its removal. */
  onCollect(update: () => void): () => void {
    this.#ages.add(update);
    return () => this.#ages.delete(update);
  }
}
