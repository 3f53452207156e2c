/**
 * Shared set-up of the venue connector tests: instruments, simulator and
 * connector pairs wired with short test timings, and the simulator record's
 * expectations in engine symbols.
 */
import { Registry } from 'prom-client';
import { DEFAULT_INSTRUMENTS, type Instrument } from '../../actors/index.js';
import {
  ConnectorMetrics,
  createVenueConnector,
  type CreateVenueConnectorOptions,
  type QuoteSink,
  type Venue,
  type VenueConnector,
} from '../market-data/index.js';
import { MemoryLog, MemoryQuoteSink } from '../testing/memory-quote-sink.js';
import type { Expand, Top, VenueSim } from '../testing/venue-simulator/index.js';

export const PM_YES = '71321045679252212594626385532706912750332728571942532289631379312455583992563';
export const PM_NO = '52114319501245915516055106046884209969926127482827954674443846427813813222426';
export const PM_MARKET = '0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1';
export const KX = 'KXBTCMAX100-25DEC31';

/** Extra Kalshi markets for tests that need many: `KX:TEST-<n>` with YES and NO. */
export function extraKalshiInstruments(n: number): Instrument[] {
  return Array.from({ length: n }, (_, k) => [
    { symbol: `KX:TEST-${k}:YES`, kind: 'binary' as const, venue: 'kalshi', minQty: 1, market: `KX:TEST-${k}`, outcome: 'YES' },
    { symbol: `KX:TEST-${k}:NO`, kind: 'binary' as const, venue: 'kalshi', minQty: 1, market: `KX:TEST-${k}`, outcome: 'NO' },
  ]).flat();
}

export const INSTRUMENTS: readonly Instrument[] = [...DEFAULT_INSTRUMENTS, ...extraKalshiInstruments(12)];

/** What a test connector is wired to. */
export interface TestConnector {
  readonly connector: VenueConnector;
  readonly sink: MemoryQuoteSink;
  readonly log: MemoryLog;
  readonly registry: Registry;
  readonly metrics: ConnectorMetrics;
}

/**
 * Short timings: reconnect after ~20 ms (no randomness). Idle after 5 s: long
 * enough that a busy machine's event-loop stall is not taken for a dead venue
 * (tests of the idle watchdog set their own).
 */
export const TEST_SOCKET: CreateVenueConnectorOptions['socket'] = {
  backoff: { initialMs: 20, maxMs: 200, random: () => 0.5 },
  idleTimeoutMs: 5_000,
  stableAfterMs: 500,
  handshakeTimeoutMs: 5_000,
};

/** A connector for `sim` over `subscriptions`, publishing to a memory sink unless `sink` is given. */
export function connectTo(
  sim: VenueSim,
  subscriptions: Record<string, string>,
  extra: Omit<Partial<CreateVenueConnectorOptions>, 'sink'> & {
    /** `undefined` for a connector that publishes nowhere (a reference venue). */ sink?: QuoteSink | undefined;
  } = {},
): TestConnector {
  const registry = new Registry();
  const metrics = new ConnectorMetrics(registry);
  const log = new MemoryLog();
  const sink = new MemoryQuoteSink();
  const { sink: given, ...rest } = extra;
  const publishTo = 'sink' in extra ? given : sink;
  const connector = createVenueConnector({
    venue: sim.venue,
    instruments: INSTRUMENTS,
    subscriptions,
    url: sim.url,
    ...(publishTo === undefined ? {} : { sink: publishTo }),
    metrics,
    log,
    ...rest,
    socket: { ...TEST_SOCKET, ...extra.socket },
  });
  connector.start();
  return { connector, sink, log, registry, metrics };
}

/** Venue top → engine symbols and tops, for `subscriptions` (Kalshi: YES, and NO when the engine has it). */
export function expandFor(venue: Venue, subscriptions: Record<string, string>, instruments: readonly Instrument[] = INSTRUMENTS): Expand {
  return (id, top) => {
    const target = subscriptions[id];
    if (target === undefined) return [];
    if (venue !== 'kalshi') return [[target, top]];
    const yes = instruments.find((i) => i.market === target && i.outcome === 'YES')!.symbol;
    const no = instruments.find((i) => i.market === target && i.outcome === 'NO')?.symbol;
    const out: Array<[string, Top]> = [[yes, top]];
    if (no !== undefined) {
      const bidC = Math.round(top.bid * 100);
      const askC = Math.round(top.ask * 100);
      out.push([
        no,
        {
          bid: (100 - askC) / 100,
          ask: (100 - bidC) / 100,
          ...(top.askSize === undefined ? {} : { bidSize: top.askSize }),
          ...(top.bidSize === undefined ? {} : { askSize: top.bidSize }),
        },
      ]);
    }
    return out;
  };
}

/** Engine symbols per venue instrument (for counting per-symbol holds). */
export function symbolCount(venue: Venue, subscriptions: Record<string, string>): (id: string) => number {
  return (id) => (id === '' ? 1 : expandFor(venue, subscriptions)(id, { bid: 0.4, ask: 0.6 }).length || 1);
}

/** The published ticks of a symbol as tops (what the stream would hold). */
export function topsOf(
  ticks: ReadonlyArray<{ symbol: string; bid: number; ask: number; bidSize?: number | undefined; askSize?: number | undefined }>,
  symbol: string,
): Top[] {
  return ticks
    .filter((t) => t.symbol === symbol)
    .map((t) => ({
      bid: t.bid,
      ask: t.ask,
      ...(t.bidSize === undefined ? {} : { bidSize: t.bidSize }),
      ...(t.askSize === undefined ? {} : { askSize: t.askSize }),
    }));
}

/** A metric's value for the given labels (0 when never set). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((a, v) => a + v.value, 0);
}
