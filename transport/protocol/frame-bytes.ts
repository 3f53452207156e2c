/**
 * Live frames as bytes. A `delta` frame is put together from a head encoded
 * once per stream, its seq, and the delta's bytes as the shards encoded them
 * (no decode, no re-encode); a relayed frame's head (`t`, `assessmentId`,
 * `epoch`, `seq`, the first four keys of every live frame) is read without
 * decoding the rest.
 */
import { encode } from '@msgpack/msgpack';

/** `seq` and `delta`, as msgpack keys. */
export const SEQ_KEY = Uint8Array.of(0xa3, 0x73, 0x65, 0x71);
export const DELTA_KEY = Uint8Array.of(0xa5, 0x64, 0x65, 0x6c, 0x74, 0x61);

/**
 * `{ t: 'delta', assessmentId, epoch, ` of a 5-entry msgpack map: a delta
 * frame is this, `seq` and its value, then `delta` and the delta's bytes.
 */
export function deltaHead(assessmentId: string, epoch: number): Uint8Array {
  const head = encode({ t: 'delta', assessmentId, epoch });
  if (head[0] !== 0x83) throw new Error('a 3-entry msgpack map starts with 0x83');
  head[0] = 0x85;
  return head;
}

/** A non-negative safe integer as @msgpack/msgpack encodes it (the smallest uint form), big-endian; returns the end. */
export function writeUint(to: Uint8Array, at: number, n: number): number {
  if (n < 0x80) {
    to[at] = n;
    return at + 1;
  }
  const bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x100000000 ? 4 : 8;
  to[at] = bytes === 1 ? 0xcc : bytes === 2 ? 0xcd : bytes === 4 ? 0xce : 0xcf;
  for (let k = bytes, rest = n; k >= 1; k--, rest = Math.floor(rest / 256)) to[at + k] = rest % 256;
  return at + 1 + bytes;
}

/** The head of a live frame. */
export interface FrameHead {
  readonly t: 'delta' | 'event';
  readonly assessmentId: string;
  readonly epoch: number;
  readonly seq: number;
}

const text = new TextDecoder('utf-8', { fatal: true });

/**
 * The head of a live frame's msgpack bytes: a map of five entries whose
 * first four are `t` (`'delta'` or `'event'`), `assessmentId`, `epoch` and
 * `seq` in that order, as this module and the frame codec write them.
 * Undefined for anything else (never throws).
 */
export function readFrameHead(b: Uint8Array): FrameHead | undefined {
  let at = 0;
  if (b.length < 1 || b[0] !== 0x85) return undefined;
  at = 1;
  const str = (): string | undefined => {
    const tag = b[at];
    if (tag === undefined) return undefined;
    let len: number;
    if (tag >= 0xa0 && tag <= 0xbf) {
      len = tag - 0xa0;
      at += 1;
    } else if (tag === 0xd9 && at + 1 < b.length) {
      len = b[at + 1]!;
      at += 2;
    } else if (tag === 0xda && at + 2 < b.length) {
      len = (b[at + 1]! << 8) | b[at + 2]!;
      at += 3;
    } else return undefined;
    if (at + len > b.length) return undefined;
    try {
      const s = text.decode(b.subarray(at, at + len));
      at += len;
      return s;
    } catch {
      return undefined;
    }
  };
  const uint = (): number | undefined => {
    const tag = b[at];
    if (tag === undefined) return undefined;
    if (tag < 0x80) {
      at += 1;
      return tag;
    }
    const bytes = tag === 0xcc ? 1 : tag === 0xcd ? 2 : tag === 0xce ? 4 : tag === 0xcf ? 8 : 0;
    if (bytes === 0 || at + bytes >= b.length) return undefined;
    let n = 0;
    for (let k = 1; k <= bytes; k++) n = n * 256 + b[at + k]!;
    at += 1 + bytes;
    return Number.isSafeInteger(n) ? n : undefined;
  };
  if (str() !== 't') return undefined;
  const t = str();
  if (t !== 'delta' && t !== 'event') return undefined;
  if (str() !== 'assessmentId') return undefined;
  const assessmentId = str();
  if (assessmentId === undefined || assessmentId === '') return undefined;
  if (str() !== 'epoch') return undefined;
  const epoch = uint();
  if (epoch === undefined || str() !== 'seq') return undefined;
  const seq = uint();
  if (seq === undefined || seq < 1) return undefined;
  const last = str();
  if (last !== (t === 'delta' ? 'delta' : 'event') || at >= b.length) return undefined;
  return { t, assessmentId, epoch, seq };
}
