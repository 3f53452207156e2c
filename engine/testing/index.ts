/**
 * engine/testing/: what tests and benches share: scratch Postgres databases,
 * a gate that skips a test when its service is down, a fault-injecting TCP
 * proxy and a bare WebSocket client.
 */
export { FaultProxy } from './fault-proxy.js';
export { createTestDatabase, testServerUrl } from './pg-test-db.js';
export type { TestDatabase } from './pg-test-db.js';
export { portOpen, serviceGate } from './service-gate.js';
export { until, UntilTimeoutError } from './until.js';
export type { UntilOptions } from './until.js';
export { WireSocket } from './wire-socket.js';
