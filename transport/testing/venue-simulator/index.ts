/**
 * Local venue simulators for the connectors' tests: real WebSocket servers on
 * 127.0.0.1 speaking Coinbase, Binance, Polymarket and Kalshi from their
 * documented formats, with faults on demand and a record of what they sent.
 */
export { SimConnection, SimulatorServer } from './simulator-server.js';
export type { SimulatorServerOptions } from './simulator-server.js';
export { SimBook, SimRecord, sameTop } from './sim-record.js';
export type { BadKind, Expand, SentEntry, Top } from './sim-record.js';
export { gaussian, seeded } from './venue-sim.js';
export type { VenueSim, VenueSimOptions } from './venue-sim.js';
export { BinanceSim } from './binance-sim.js';
export type { BinanceSimOptions } from './binance-sim.js';
export { CoinbaseSim } from './coinbase-sim.js';
export type { CoinbaseSimOptions } from './coinbase-sim.js';
export { PolymarketSim } from './polymarket-sim.js';
export type { PolymarketSimOptions } from './polymarket-sim.js';
export { KalshiSim } from './kalshi-sim.js';
export type { KalshiSimOptions } from './kalshi-sim.js';
export { ChaosDriver } from './chaos-driver.js';
export type { ChaosOptions, ChaosReport } from './chaos-driver.js';
