/**
 * transport/: how inputs reach the engine and outputs leave it. Today: the
 * seeded synthetic market feed (the embedded default). NATS JetStream and the
 * WebSocket gateway join here behind the engine's input and output interfaces.
 */
export { SyntheticFeed } from './synthetic-feed.js';
export type { FeedItem, LinearOverride, MarketOverride, SyntheticFeedOptions } from './synthetic-feed.js';
