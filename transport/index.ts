/**
 * transport/: how inputs reach the engine and outputs leave it: the seeded
 * synthetic market feed (the embedded default) and the venue normalizers and
 * connectors of the market-data role. NATS JetStream and the WebSocket gateway join here
 * behind the engine's input and output interfaces.
 */
export { SyntheticFeed } from './synthetic-feed.js';
export type { FeedItem, LinearOverride, MarketOverride, SyntheticFeedOptions } from './synthetic-feed.js';

// Market data: venue messages to normalized quotes; venue connectors
export * from './market-data/index.js';

// NATS JetStream: market stream in, domain events out
export * from './nats/index.js';
