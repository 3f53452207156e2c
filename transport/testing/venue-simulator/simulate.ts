/**
 * `npx tsx transport/testing/venue-simulator/simulate.ts --venue coinbase --port 9100`:
 * a venue simulator on 127.0.0.1 for trying a connector by hand, quoting the
 * instruments of the built-in configuration (DEFAULT_VENUE_CONFIG) with
 * `--rate` updates a second, and with `--chaos` misbehaving at random.
 * Runs until Ctrl-C. Test and development tool, not a venue.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_VENUE_CONFIG, VENUES, type Venue } from '../../market-data/index.js';
import { BinanceSim } from './binance-sim.js';
import { ChaosDriver } from './chaos-driver.js';
import { CoinbaseSim } from './coinbase-sim.js';
import { KalshiSim } from './kalshi-sim.js';
import { PolymarketSim } from './polymarket-sim.js';
import type { VenueSim } from './venue-sim.js';

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a positive number');
  return n;
}

const MIDS: Record<string, number> = { 'BTC-USD': 60_000, 'ETH-USD': 3_000, 'SOL-USD': 150 };

async function start(venue: Venue, port: number, kalshiPublicKey?: string): Promise<VenueSim> {
  const ids = Object.entries(DEFAULT_VENUE_CONFIG[venue]?.instruments ?? {});
  switch (venue) {
    case 'coinbase':
      return CoinbaseSim.start({ port, heartbeatMs: 1_000, products: Object.fromEntries(ids.map(([id, s]) => [id, MIDS[s] ?? 100])) });
    case 'binance':
      return BinanceSim.start({ port, heartbeatMs: 20_000, symbols: Object.fromEntries(ids.map(([id, s]) => [id, MIDS[s] ?? 100])) });
    case 'polymarket':
      return PolymarketSim.start({
        port,
        assets: Object.fromEntries(ids.map(([id], k) => [id, { market: 'SIM-MARKET', mid: k === 0 ? 0.4 : 0.6 }])),
      });
    case 'kalshi':
      return KalshiSim.start({
        port,
        heartbeatMs: 10_000,
        markets: Object.fromEntries(ids.map(([id]) => [id, 50])),
        ...(kalshiPublicKey === undefined ? {} : { keys: new Map([['sim-key', readFileSync(kalshiPublicKey, 'utf8')]]) }),
      });
  }
}

const program = new Command('simulate')
  .description('A local venue simulator for the market-data connectors')
  .addOption(new Option('--venue <venue>', 'protocol to speak').choices([...VENUES]).makeOptionMandatory())
  .option('--port <port>', 'port on 127.0.0.1', positive, 9100)
  .option('--rate <n>', 'good updates per second, all instruments together', positive, 10)
  .option('--chaos', 'misbehave at random: bad messages, gaps, dropped and stalled connections')
  .option('--kalshi-public-key <file>', 'kalshi: require handshakes signed for key id "sim-key" (PEM public key)')
  .action(async (o: { venue: Venue; port: number; rate: number; chaos?: boolean; kalshiPublicKey?: string }) => {
    const sim = await start(o.venue, o.port, o.kalshiPublicKey);
    process.stderr.write(`simulate: ${o.venue} at ${sim.url}${o.chaos ? ' (chaos)' : ''}; Ctrl-C stops\n`);
    let stopping = false;
    const stop = () => {
      stopping = true;
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const ids = sim.instruments();
    let k = 0;
    while (!stopping) {
      if (o.chaos) await new ChaosDriver(sim, { seed: `simulate-${Date.now()}`, burst: 1 }).run(1_000);
      else {
        sim.step(ids[k++ % ids.length]!);
        await new Promise((r) => setTimeout(r, 1_000 / o.rate));
      }
    }
    await sim.stop();
  });

await program.parseAsync();
