/**
 * The tick payload's fields read straight from its msgpack bytes, without
 * decoding it into an object (a map, its key and value strings) first: most
 * of the tick source's own cost per message was that generic decoding.
 *
 * It reads only the plain form every publisher writes: a map whose keys are
 * strings, whose `symbol` is the subject's symbol byte for byte, whose `ts`,
 * `bid`, `ask` are finite numbers, `bidSize`/`askSize` finite numbers or nil
 * or absent, and whose other values are scalars. Anything else (another
 * layout, a nested value, binary or extension data, trailing bytes, a truncated
 * payload, a `__proto__` key) makes {@link TickPayloadReader.read} answer
 * false, and the caller decodes the payload generically, which then gives the
 * refusal reason. So an answer of true always carries exactly the values the
 * generic decoder would give.
 */

const KEY_SYMBOL = 1;
const KEY_TS = 2;
const KEY_BID = 3;
const KEY_ASK = 4;
const KEY_BID_SIZE = 5;
const KEY_ASK_SIZE = 6;
const KEY_OTHER = 0;
const KEY_PROTO = -1;

const KEYS: ReadonlyArray<readonly [string, number]> = [
  ['symbol', KEY_SYMBOL],
  ['ts', KEY_TS],
  ['bid', KEY_BID],
  ['ask', KEY_ASK],
  ['bidSize', KEY_BID_SIZE],
  ['askSize', KEY_ASK_SIZE],
  ['__proto__', KEY_PROTO],
];
const KEY_BYTES: readonly Uint8Array[] = KEYS.map(([k]) => new TextEncoder().encode(k));
const KEY_IDS: readonly number[] = KEYS.map(([, id]) => id);

/** Reads a tick payload's fields into its own properties; reuse one per source. */
export class TickPayloadReader {
  /** ms since epoch, as sent. */
  ts = 0;
  bid = 0;
  ask = 0;
  /** NaN when absent or nil. */
  bidSize = Number.NaN;
  /** NaN when absent or nil. */
  askSize = Number.NaN;
  #view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #bytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  /** Where `#bytes` starts in `#view`. */
  #base = 0;
  #pos = 0;

  /**
   * Read `data` as a tick of `symbol` (its UTF-8 bytes). True: the fields are
   * set and are what the generic decoder would give. False: decode it generically.
   */
  read(data: Uint8Array, symbol: Uint8Array): boolean {
    // Payloads are views into the client's read buffer: one DataView per buffer, not per message.
    if (data.buffer !== this.#view.buffer) this.#view = new DataView(data.buffer);
    this.#bytes = data;
    this.#base = data.byteOffset;
    this.#pos = 0;
    const n = this.#mapSize();
    if (n < 0) return false;
    let seen = 0; // bit per required key: symbol, ts, bid, ask
    this.bidSize = Number.NaN;
    this.askSize = Number.NaN;
    for (let e = 0; e < n; e++) {
      const key = this.#key();
      switch (key) {
        case KEY_SYMBOL:
          if (!this.#stringEquals(symbol)) return false;
          seen |= 1;
          break;
        case KEY_TS:
          this.ts = this.#number();
          if (!Number.isFinite(this.ts)) return false;
          seen |= 2;
          break;
        case KEY_BID:
          this.bid = this.#number();
          if (!Number.isFinite(this.bid)) return false;
          seen |= 4;
          break;
        case KEY_ASK:
          this.ask = this.#number();
          if (!Number.isFinite(this.ask)) return false;
          seen |= 8;
          break;
        case KEY_BID_SIZE:
        case KEY_ASK_SIZE: {
          let v = Number.NaN;
          if (this.#peek() === 0xc0) this.#pos++;
          else if (!Number.isFinite((v = this.#number()))) return false;
          if (key === KEY_BID_SIZE) this.bidSize = v;
          else this.askSize = v;
          break;
        }
        case KEY_OTHER:
          if (!this.#skipScalar()) return false;
          break;
        default:
          return false; // not a string key, or `__proto__`
      }
    }
    return seen === 15 && this.#pos === data.byteLength;
  }

  #peek(): number {
    return this.#pos < this.#bytes.length ? this.#bytes[this.#pos]! : -1;
  }

  /** Entries of the map at the head, or -1. */
  #mapSize(): number {
    const h = this.#peek();
    if (h >= 0x80 && h <= 0x8f) {
      this.#pos++;
      return h - 0x80;
    }
    if (h === 0xde && this.#pos + 3 <= this.#bytes.length) {
      const n = this.#view.getUint16(this.#base + this.#pos + 1);
      this.#pos += 3;
      return n;
    }
    return -1;
  }

  /** Length of the string at the head (its header consumed), or -1 if none or truncated. */
  #stringLength(): number {
    const h = this.#peek();
    let len = -1;
    if (h >= 0xa0 && h <= 0xbf) {
      len = h - 0xa0;
      this.#pos++;
    } else if (h === 0xd9 && this.#pos + 2 <= this.#bytes.length) {
      len = this.#bytes[this.#pos + 1]!;
      this.#pos += 2;
    } else if (h === 0xda && this.#pos + 3 <= this.#bytes.length) {
      len = this.#view.getUint16(this.#base + this.#pos + 1);
      this.#pos += 3;
    } else return -1;
    return this.#pos + len <= this.#bytes.length ? len : -1;
  }

  /** Which key the string at the head is: a KEY_ constant, or KEY_PROTO (`__proto__`, not an ASCII string: not read here). */
  #key(): number {
    const len = this.#stringLength();
    if (len < 0) return KEY_PROTO;
    const b = this.#bytes;
    const at = this.#pos;
    this.#pos += len;
    for (let k = 0; k < KEY_BYTES.length; k++) {
      const key = KEY_BYTES[k]!;
      if (key.length !== len) continue;
      let i = 0;
      while (i < len && b[at + i] === key[i]) i++;
      if (i === len) return KEY_IDS[k]!;
    }
    // Another key, if ASCII: other bytes could decode (leniently, e.g. an overlong form) to one of the keys above.
    for (let i = 0; i < len; i++) if (b[at + i]! >= 0x80) return KEY_PROTO;
    return KEY_OTHER;
  }

  #stringEquals(expected: Uint8Array): boolean {
    const len = this.#stringLength();
    if (len !== expected.length) return false;
    const b = this.#bytes;
    const at = this.#pos;
    for (let i = 0; i < len; i++) if (b[at + i] !== expected[i]) return false;
    this.#pos += len;
    return true;
  }

  /** The number at the head (as the generic decoder reads it), or NaN: not a number of a form read here. */
  #number(): number {
    const h = this.#peek();
    const p = this.#base + this.#pos;
    const v = this.#view;
    const room = this.#bytes.length - this.#pos - 1;
    if (h >= 0 && h <= 0x7f) {
      this.#pos++;
      return h;
    }
    if (h >= 0xe0) {
      this.#pos++;
      return h - 0x100;
    }
    switch (h) {
      case 0xcb:
        if (room < 8) return Number.NaN;
        this.#pos += 9;
        return v.getFloat64(p + 1);
      case 0xca:
        if (room < 4) return Number.NaN;
        this.#pos += 5;
        return v.getFloat32(p + 1);
      case 0xcc:
        if (room < 1) return Number.NaN;
        this.#pos += 2;
        return v.getUint8(p + 1);
      case 0xcd:
        if (room < 2) return Number.NaN;
        this.#pos += 3;
        return v.getUint16(p + 1);
      case 0xce:
        if (room < 4) return Number.NaN;
        this.#pos += 5;
        return v.getUint32(p + 1);
      case 0xd0:
        if (room < 1) return Number.NaN;
        this.#pos += 2;
        return v.getInt8(p + 1);
      case 0xd1:
        if (room < 2) return Number.NaN;
        this.#pos += 3;
        return v.getInt16(p + 1);
      case 0xd2:
        if (room < 4) return Number.NaN;
        this.#pos += 5;
        return v.getInt32(p + 1);
      case 0xcf: // 64-bit integers: the generic decoder's conversion (exact up to 2^53), e.g. a time in ms
        if (room < 8) return Number.NaN;
        this.#pos += 9;
        return v.getUint32(p + 1) * 4294967296 + v.getUint32(p + 5);
      case 0xd3:
        if (room < 8) return Number.NaN;
        this.#pos += 9;
        return v.getInt32(p + 1) * 4294967296 + v.getUint32(p + 5);
      default:
        return Number.NaN; // not a number
    }
  }

  /** Skip a scalar value the generic decoder would decode without error; false for anything else. */
  #skipScalar(): boolean {
    const h = this.#peek();
    if (h === 0xc0 || h === 0xc2 || h === 0xc3) {
      this.#pos++;
      return true;
    }
    if ((h >= 0xa0 && h <= 0xbf) || h === 0xd9 || h === 0xda) {
      const len = this.#stringLength();
      if (len < 0) return false;
      this.#pos += len;
      return true;
    }
    return !Number.isNaN(this.#number());
  }
}

/** `s` as UTF-8, or null when decoding those bytes would not give `s` back (a lone surrogate): then no payload is read as its tick. */
export function utf8Exact(s: string): Uint8Array | null {
  const bytes = new TextEncoder().encode(s);
  return new TextDecoder().decode(bytes) === s ? bytes : null;
}
