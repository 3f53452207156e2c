/**
 * What every venue simulator offers a test: a real server speaking the
 * venue's protocol, good traffic (`step`), bad traffic (`inject`), the
 * server's faults (`server`), and the record of what was sent. Test code only.
 */
import seedrandom from 'seedrandom';
import type { Venue } from '../../market-data/index.js';
import type { BadKind, SimRecord } from './sim-record.js';
import type { SimulatorServer } from './simulator-server.js';

/** Options every simulator takes. */
export interface VenueSimOptions {
  /** Seed of the simulator's random walk. @default 'sim' */
  readonly seed?: string;
  /** Server faults and limits (see SimulatorServerOptions). */
  readonly inboundLimitPerSecond?: number;
  readonly maxConnectionAgeMs?: number;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Server pings (Binance, Kalshi) or heartbeats (Coinbase) this often, ms. @default venue-specific, short */
  readonly heartbeatMs?: number;
}

/** A running venue simulator. */
export interface VenueSim {
  readonly venue: Venue;
  readonly server: SimulatorServer;
  readonly record: SimRecord;
  /** The URL a connector's `url` option takes. */
  readonly url: string;
  /** Bad kinds this venue's protocol can carry. */
  readonly supports: ReadonlySet<BadKind>;
  /** Venue instrument ids the simulator quotes. */
  instruments(): string[];
  /** One good update of an instrument, sent to every subscribed connection. */
  step(instrument: string): void;
  /** One bad message (and what repairs it, e.g. uncrossing a book). */
  inject(instrument: string, kind: BadKind): void;
  /** Whether some connection is subscribed to the instrument and in sync. */
  subscribed(instrument: string): boolean;
  stop(): Promise<void>;
}

/** A seeded uniform [0, 1) source. */
export function seeded(seed: string): () => number {
  return seedrandom(seed);
}

/** A standard normal draw from a uniform source. */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
