/**
 * transport/client/: the client SDK for WebSocket protocol v1: connects,
 * authenticates, subscribes, sends orders, and resumes by itself on a gap.
 */
export { ProtocolError, VaticClient } from './vatic-client.js';
export type { SocketConstructor } from './vatic-client.js';
