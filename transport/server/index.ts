/**
 * transport/server/: the traders' gateway, one uWebSockets.js app in front of
 * an engine: WebSocket protocol v1 (sessions, guards, per-trader limits, the
 * stream hub that numbers and replays frames) and the HTTP API, whose routes
 * are the table in transport/protocol/routes.ts.
 */
export { GatewayMetrics } from './gateway-metrics.js';
export type { OfferResult, StreamSnapshot } from './gateway-options.js';
export { Gateway } from './gateway.js';
export type { GatewayEngine, GatewayOptions } from './gateway.js';
export { BadRequestError, HttpError, PortInUseError, TokenRejectedError, UwsFallbackError } from './errors.js';
export { httpApi } from './http-api.js';
export type { HttpApiOptions } from './http-api-options.js';
export { TraderIndex } from './trader-index.js';
export { ConsoleAssets, contentSecurityPolicy } from './static-assets.js';
export type { StaticAssets } from './static-assets.js';
export { StreamHub } from './stream-hub.js';
export type { StreamHubOptions } from './stream-hub.js';
export { TokenVerifier } from './token-verifier.js';
export type { TokenVerifierOptions } from './token-verifier.js';
