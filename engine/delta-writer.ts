/**
 * The msgpack form of engine output on the wire, and its one owner. A delta
 * is written here, straight to msgpack, without `@msgpack/msgpack`'s generic
 * walk over keys and types: a shard encodes every watched assessment's delta
 * at every flush, so this is on its hot path. The gateway's frame codec
 * (transport/protocol) encodes with {@link wireEncoder} from here, so the
 * bytes a shard writes splice into a frame unchanged; a delta of any other
 * shape than the one `stateDelta()` builds goes through that generic encoder
 * instead, so the bytes never differ.
 */
import { Encoder } from '@msgpack/msgpack';
import type { PositionEvidence } from '../actors/index.js';
import type { StateDelta } from './inputs.js';

/** The msgpack options of everything the engine's output becomes on the wire: absent, not nil, for undefined fields. */
export const WIRE_ENCODER_OPTIONS = { ignoreUndefined: true } as const;

/** A msgpack encoder with {@link WIRE_ENCODER_OPTIONS}: the gateway's frames and the relayed streams encode with it. */
export function wireEncoder(): Encoder {
  return new Encoder(WIRE_ENCODER_OPTIONS);
}

const DELTA_KEYS = [
  'assessmentId',
  'status',
  'phase',
  'startingBalance',
  'balance',
  'equity',
  'dailyFloor',
  'maxLossFloor',
  'positions',
  'workingOrders',
  'input',
  'at',
] as const;
const POSITION_KEYS = ['symbol', 'qty', 'avgEntry', 'mark', 'unrealizedPnl'] as const;

/** Appends msgpack-encoded deltas to one growing buffer. */
export class DeltaWriter {
  readonly #generic = wireEncoder();
  /** The encoded keys: the delta's, then a position's, in order. */
  readonly #k: Uint8Array[];
  #buf = new Uint8Array(16 * 1024);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;

  constructor() {
    this.#k = [...DELTA_KEYS, ...POSITION_KEYS].map((k) => this.#generic.encode(k));
  }

  /** Bytes written since the last {@link reset}. */
  get length(): number {
    return this.#pos;
  }

  /** Start over (the buffer is kept). */
  reset(): void {
    this.#pos = 0;
  }

  /** A copy of what was written, in a buffer of its own (to transfer). */
  take(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  /** Append one delta. */
  write(d: StateDelta): void {
    if (!usual(d)) {
      this.#raw(this.#generic.encodeSharedRef(d));
      return;
    }
    const k = this.#k;
    this.#room(1);
    this.#buf[this.#pos++] = 0x80 | DELTA_KEYS.length;
    this.#raw(k[0]!);
    this.#string(d.assessmentId);
    this.#raw(k[1]!);
    this.#string(d.status);
    this.#raw(k[2]!);
    this.#string(d.phase);
    this.#raw(k[3]!);
    this.#number(d.startingBalance);
    this.#raw(k[4]!);
    this.#number(d.balance);
    this.#raw(k[5]!);
    this.#number(d.equity);
    this.#raw(k[6]!);
    this.#number(d.dailyFloor);
    this.#raw(k[7]!);
    this.#number(d.maxLossFloor);
    this.#raw(k[8]!);
    this.#positions(d.positions);
    this.#raw(k[9]!);
    this.#number(d.workingOrders);
    this.#raw(k[10]!);
    this.#number(d.input);
    this.#raw(k[11]!);
    this.#number(d.at);
  }

  #positions(list: readonly PositionEvidence[]): void {
    this.#room(3);
    if (list.length < 16) this.#buf[this.#pos++] = 0x90 + list.length;
    else {
      this.#buf[this.#pos++] = 0xdc; // no shard holds 65,536 positions on one account
      this.#view.setUint16(this.#pos, list.length);
      this.#pos += 2;
    }
    const k = this.#k;
    for (const p of list) {
      this.#room(1);
      this.#buf[this.#pos++] = 0x80 | POSITION_KEYS.length;
      this.#raw(k[12]!);
      this.#string(p.symbol);
      this.#raw(k[13]!);
      this.#number(p.qty);
      this.#raw(k[14]!);
      this.#number(p.avgEntry);
      this.#raw(k[15]!);
      this.#number(p.mark);
      this.#raw(k[16]!);
      this.#number(p.unrealizedPnl);
    }
  }

  /** ASCII in place; anything else through the generic encoder (its UTF-8, lone surrogates included). */
  #string(s: string): void {
    const n = s.length;
    if (n < 32) {
      this.#room(1 + n);
      const at = this.#pos + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return this.#raw(this.#generic.encodeSharedRef(s));
        this.#buf[at + i] = c;
      }
      this.#buf[this.#pos] = 0xa0 + n;
      this.#pos = at + n;
      return;
    }
    this.#raw(this.#generic.encodeSharedRef(s));
  }

  /** The library's rule: a safe integer in the smallest int form, anything else float64. */
  #number(x: number): void {
    this.#room(9);
    const b = this.#buf,
      v = this.#view;
    let at = this.#pos;
    if (Number.isSafeInteger(x)) {
      if (x >= 0) {
        if (x < 0x80) b[at++] = x;
        else if (x < 0x100) {
          b[at++] = 0xcc;
          b[at++] = x;
        } else if (x < 0x10000) {
          b[at++] = 0xcd;
          v.setUint16(at, x);
          at += 2;
        } else if (x < 0x100000000) {
          b[at++] = 0xce;
          v.setUint32(at, x);
          at += 4;
        } else {
          b[at++] = 0xcf;
          v.setUint32(at, Math.floor(x / 0x100000000));
          v.setUint32(at + 4, x >>> 0);
          at += 8;
        }
      } else if (x >= -0x20) b[at++] = 0xe0 | (x + 0x20);
      else if (x >= -0x80) {
        b[at++] = 0xd0;
        v.setInt8(at, x);
        at += 1;
      } else if (x >= -0x8000) {
        b[at++] = 0xd1;
        v.setInt16(at, x);
        at += 2;
      } else if (x >= -0x80000000) {
        b[at++] = 0xd2;
        v.setInt32(at, x);
        at += 4;
      } else {
        b[at++] = 0xd3;
        v.setInt32(at, Math.floor(x / 0x100000000));
        v.setUint32(at + 4, x >>> 0);
        at += 8;
      }
    } else {
      b[at++] = 0xcb;
      v.setFloat64(at, x);
      at += 8;
    }
    this.#pos = at;
  }

  #raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.#room(n);
    const b = this.#buf,
      at = this.#pos;
    if (n < 24)
      for (let i = 0; i < n; i++) b[at + i] = bytes[i]!; // a key: a loop beats set() on a few bytes
    else b.set(bytes, at);
    this.#pos = at + n;
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.#buf.length, this.#pos + n));
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
    this.#view = new DataView(grown.buffer);
  }
}

/**
 * The shape `stateDelta()` builds: the fields the writer writes, of the types
 * it writes. Anything else (an undefined field the codec would drop, a field
 * of another type) takes the generic encoder. The key order is the object
 * literal's; a test holds the writer to the codec on the kernel's own deltas,
 * so a field added to `StateDelta` and not here fails it.
 */
function usual(d: StateDelta): boolean {
  if (
    typeof d.assessmentId !== 'string' ||
    typeof d.status !== 'string' ||
    typeof d.phase !== 'string' ||
    typeof d.startingBalance !== 'number' ||
    typeof d.balance !== 'number' ||
    typeof d.equity !== 'number' ||
    typeof d.dailyFloor !== 'number' ||
    typeof d.maxLossFloor !== 'number' ||
    typeof d.workingOrders !== 'number' ||
    typeof d.input !== 'number' ||
    typeof d.at !== 'number' ||
    !Array.isArray(d.positions)
  )
    return false;
  for (const p of d.positions) {
    if (
      typeof p.symbol !== 'string' ||
      typeof p.qty !== 'number' ||
      typeof p.avgEntry !== 'number' ||
      typeof p.mark !== 'number' ||
      typeof p.unrealizedPnl !== 'number'
    )
      return false;
  }
  return true;
}
