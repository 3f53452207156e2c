/**
 * transport/memory/: an in-process market log, for the embedded demo, tests
 * and benches (the JetStream one is in transport/nats).
 */
export { MemoryMarketLog } from './memory-market-log.js';
