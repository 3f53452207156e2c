/**
 * Which venue instruments a connector subscribes to, and which engine
 * symbol each one quotes: the configuration the connector and the engine
 * node share. Every engine symbol must be an instrument the engine knows
 * (the node's list), or the connector refuses to start: a connector never
 * publishes a symbol the node would refuse, and never guesses a mapping.
 *
 * File format (JSON, every venue optional; `instruments` maps a venue id to
 * an engine symbol, or for Kalshi a market ticker to an engine market):
 * ```json
 * { "coinbase": { "instruments": { "BTC-USD": "BTC-USD" }, "url": "wss://…", "channel": "level2" },
 *   "binance": { "instruments": { "BTCUSDT": "BTC-USD" } },
 *   "polymarket": { "instruments": { "<token id>": "PM:FED-DEC-CUT:YES" } },
 *   "kalshi": { "instruments": { "KXBTCMAX100-25DEC31": "KX:BTC-100K-DEC" } } }
 * ```
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Instrument } from '../../actors/index.js';
import type { Venue } from './normalized-quote.js';

/** Venues a connector exists for. */
export const VENUES: readonly Venue[] = Object.freeze(['coinbase', 'binance', 'polymarket', 'kalshi'] as const);

const VenueSection = z
  .object({
    instruments: z.record(z.string().min(1), z.string().min(1)),
    url: z.string().url().optional(),
    channel: z.string().optional(),
  })
  .strict();

const ConfigFile = z
  .object({
    coinbase: VenueSection.optional(),
    binance: VenueSection.optional(),
    polymarket: VenueSection.optional(),
    kalshi: VenueSection.optional(),
  })
  .strict();

/** One venue's section of the configuration. */
export type VenueSectionConfig = z.output<typeof VenueSection>;
/** The whole configuration. */
export type VenueConfig = z.output<typeof ConfigFile>;

/** A configuration that cannot be used; `code` says why. */
export class VenueConfigError extends Error {
  readonly code: 'INVALID_CONFIG' | 'UNKNOWN_SYMBOL' | 'NOT_CONFIGURED';
  constructor(code: VenueConfigError['code'], message: string) {
    super(message);
    this.name = 'VenueConfigError';
    this.code = code;
  }
}

/**
 * The built-in configuration: the engine's default instruments on their
 * venues, Binance's USDT pairs for the same coins (to run as a standby source
 * or a reference), and the Polymarket and Kalshi ids of the repository's
 * fixtures. Replace the prediction-market ids with those of the markets your
 * tiers list (`--config`).
 */
export const DEFAULT_VENUE_CONFIG: VenueConfig = Object.freeze({
  coinbase: { instruments: { 'BTC-USD': 'BTC-USD', 'ETH-USD': 'ETH-USD', 'SOL-USD': 'SOL-USD' } },
  binance: { instruments: { BTCUSDT: 'BTC-USD', ETHUSDT: 'ETH-USD', SOLUSDT: 'SOL-USD' } },
  polymarket: {
    instruments: {
      '71321045679252212594626385532706912750332728571942532289631379312455583992563': 'PM:FED-DEC-CUT:YES',
      '52114319501245915516055106046884209969926127482827954674443846427813813222426': 'PM:FED-DEC-CUT:NO',
    },
  },
  kalshi: { instruments: { 'KXBTCMAX100-25DEC31': 'KX:BTC-100K-DEC' } },
});

/** Parse a configuration file's JSON; throws {@link VenueConfigError} naming the bad field. */
export function parseVenueConfig(json: unknown): VenueConfig {
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) {
    throw new VenueConfigError(
      'INVALID_CONFIG',
      parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}

/** Read and parse a configuration file. */
export function readVenueConfig(path: string): VenueConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new VenueConfigError('INVALID_CONFIG', `${path}: ${(err as Error).message}`);
  }
  return parseVenueConfig(json);
}

/**
 * The instruments one connector subscribes to: the venue's section of
 * `config`, narrowed to `symbols` when given. Each entry of `symbols` is a
 * venue id, an engine symbol (or Kalshi engine market) of the section, or a
 * new pair `venueId=engineSymbol`. Every engine symbol is checked against
 * `instruments` (for Kalshi: the market has a YES instrument).
 * @throws VenueConfigError
 */
export function resolveSubscriptions(
  venue: Venue,
  config: VenueConfig,
  instruments: Iterable<Instrument>,
  symbols?: readonly string[],
): Record<string, string> {
  const section = config[venue]?.instruments ?? {};
  let chosen: Record<string, string>;
  if (symbols === undefined || symbols.length === 0) {
    chosen = { ...section };
  } else {
    chosen = {};
    for (const entry of symbols) {
      const pair = /^([^=]+)=(.+)$/.exec(entry);
      if (pair !== null) {
        chosen[pair[1]!] = pair[2]!;
        continue;
      }
      const matches = Object.entries(section).filter(
        ([id, target]) => id === entry || target === entry || (venue === 'kalshi' && `${target}:YES` === entry),
      );
      if (matches.length === 0) {
        throw new VenueConfigError(
          'NOT_CONFIGURED',
          `${venue} has no instrument "${entry}" in its configuration (configured: ${Object.keys(section).join(', ') || 'none'}); give it as venueId=engineSymbol`,
        );
      }
      for (const [id, target] of matches) chosen[id] = target;
    }
  }
  if (Object.keys(chosen).length === 0) throw new VenueConfigError('NOT_CONFIGURED', `${venue}: no instruments to subscribe`);
  const known = [...instruments];
  for (const [id, target] of Object.entries(chosen)) {
    const ok =
      venue === 'kalshi'
        ? known.some((i) => i.kind === 'binary' && i.market === target && i.outcome === 'YES')
        : known.some((i) => i.symbol === target);
    if (!ok) {
      throw new VenueConfigError(
        'UNKNOWN_SYMBOL',
        `${venue} ${id} maps to ${venue === 'kalshi' ? 'market' : 'symbol'} "${target}", which the engine does not know: ` +
          'the node would refuse its ticks (add the instrument to the engine, or fix the mapping)',
      );
    }
  }
  return chosen;
}
