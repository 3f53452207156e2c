/**
 * engine/wire.ts: the engine's second public entry, light enough for a
 * browser bundle: the msgpack form of its output on the wire, which
 * engine/delta-writer.ts owns and the gateway's frame codec uses.
 */
export { DeltaWriter, WIRE_ENCODER_OPTIONS, wireEncoder } from './delta-writer.js';
