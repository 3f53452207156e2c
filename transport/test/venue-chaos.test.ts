import { describe, test } from 'node:test';
import { serviceGate } from '../../engine/testing/index.js';
import type { Venue } from '../market-data/index.js';
import { chaosRun } from './venue-chaos-run.js';

const skip = await serviceGate('nats', '127.0.0.1', 4222);
/** Seconds of chaos per venue here; `npm run test:venues-chaos` runs minutes. */
const SECONDS = Number(process.env['VENUE_CHAOS_SECONDS'] ?? 4);

describe('venue chaos (short form)', { skip }, () => {
  for (const venue of ['coinbase', 'binance', 'polymarket', 'kalshi'] as Venue[]) {
    test(`${venue}: under random bad messages, gaps, drops, stalls and refusals every good top reaches the stream once and in order, every bad one is held with its reason`, async (t) => {
      const s = await chaosRun(venue, SECONDS);
      t.diagnostic(
        JSON.stringify({
          ...s,
          report: { events: s.report.events, bad: Object.fromEntries(s.report.bad), faults: Object.fromEntries(s.report.faults) },
        }),
      );
    });
  }
});
