/**
 * `npm run test:venues-chaos [-- minutes]`: the chaos form of every venue
 * connector for minutes (VENUE_CHAOS_SECONDS, default 120 per venue;
 * VENUE_CHAOS_VENUES, default all four, comma-separated).
 */
import { describe, test } from 'node:test';
import { serviceGate } from '../../../engine/testing/index.js';
import type { Venue } from '../../market-data/index.js';
import { chaosRun } from '../venue-chaos-run.js';

const skip = await serviceGate('nats', '127.0.0.1', 4222);
const SECONDS = Number(process.env['VENUE_CHAOS_SECONDS'] ?? 120);

describe('venue chaos', { skip }, () => {
  const venues = (process.env['VENUE_CHAOS_VENUES'] ?? 'coinbase,binance,polymarket,kalshi').split(',') as Venue[];
  for (const venue of venues) {
    test(`${venue}: ${SECONDS} s of random misbehaviour; the stream matches the simulator's record`, {
      timeout: (SECONDS + 120) * 1_000,
    }, async (t) => {
      const s = await chaosRun(venue, SECONDS, `chaos-${venue}-${process.env['VENUE_CHAOS_SEED'] ?? 'long'}`);
      t.diagnostic(
        JSON.stringify({
          ...s,
          report: { events: s.report.events, bad: Object.fromEntries(s.report.bad), faults: Object.fromEntries(s.report.faults) },
        }),
      );
    });
  }
});
