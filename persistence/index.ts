/**
 * persistence/: snapshot stores and their codec. Postgres and the journal
 * join behind the same interfaces.
 */
export { decodeSnapshot, encodeSnapshot, SnapshotDecodeError } from './snapshot-codec.js';
export { FileSnapshotStore, MemorySnapshotStore } from './snapshot-store.js';
export type { SnapshotStore } from './snapshot-store.js';
