/**
 * The door of `engine.stream.<assessment>` at a gateway: a frame published
 * there is relayed to traders as it came, so it is decoded in full and its
 * shape checked before anything of it is trusted. Anyone who can publish on
 * the subject can send anything; what passes here is at least a well-formed
 * live frame of the subject's assessment (whether it is the owner's is the
 * epoch check's business, in remote-streams.ts).
 */
import { Decoder } from '@msgpack/msgpack';
import { readFrameHead } from '../protocol/index.js';

/** The head of a frame that passed the check. */
export interface CheckedHead {
  readonly t: 'delta' | 'event';
  readonly epoch: number;
  readonly seq: number;
}

/** Why a frame was dropped at the door (the `reason` label of the drop counter). */
export type FrameFault = 'oversized' | 'malformed' | 'misaddressed';

/** A frame's verdict: its head, or why it is dropped. */
export type FrameVerdict =
  | { readonly ok: true; readonly head: CheckedHead }
  | { readonly ok: false; readonly fault: FrameFault; readonly detail: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): boolean => typeof v === 'number';
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const NUMBERS = ['startingBalance', 'balance', 'equity', 'dailyFloor', 'maxLossFloor', 'at'] as const;
const POSITION_NUMBERS = ['qty', 'avgEntry', 'mark', 'unrealizedPnl'] as const;

/** What is wrong with a decoded delta of `id` (undefined: nothing). */
function deltaFault(d: unknown, id: string): string | undefined {
  if (!isObj(d)) return 'the delta is not a map';
  if (d['assessmentId'] !== id) return "the delta is another assessment's";
  if (typeof d['status'] !== 'string' || typeof d['phase'] !== 'string') return 'the delta has no status or phase';
  for (const k of NUMBERS) if (!isNum(d[k])) return `the delta's ${k} is not a number`;
  if (!isCount(d['workingOrders']) || !isCount(d['input'])) return "the delta's workingOrders or input is not a count";
  const positions = d['positions'];
  if (!Array.isArray(positions)) return "the delta's positions are not a list";
  for (const p of positions) {
    if (!isObj(p) || typeof p['symbol'] !== 'string') return 'a position of the delta has no symbol';
    for (const k of POSITION_NUMBERS) if (!isNum(p[k])) return `a position's ${k} is not a number`;
  }
  return undefined;
}

/** What is wrong with a decoded event of `id` (undefined: nothing). */
function eventFault(e: unknown, id: string): string | undefined {
  if (!isObj(e)) return 'the event is not a map';
  if (e['assessmentId'] !== id) return "the event is another assessment's";
  if (typeof e['type'] !== 'string' || e['type'] === '') return 'the event has no type';
  if (!isNum(e['at']) || !isCount(e['input']) || !isCount(e['n'])) return "the event's at, input or n is not a number";
  return undefined;
}

/** Checks frames of remote streams; one per gateway (it reuses its decoder). */
export class StreamFrameCheck {
  readonly #maxBytes: number;
  readonly #decoder: Decoder;

  /** `maxBytes`: the largest frame taken. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
    // No bin or extension types in a live frame; a delta's positions are few.
    this.#decoder = new Decoder({ maxStrLength: maxBytes, maxBinLength: 0, maxArrayLength: 4_096, maxMapLength: 64, maxExtLength: 0 });
  }

  /** The verdict on `data`, published on the stream subject of `assessmentId`; never throws. */
  check(assessmentId: string, data: Uint8Array): FrameVerdict {
    if (data.length > this.#maxBytes)
      return { ok: false, fault: 'oversized', detail: `a frame of ${data.length} bytes, over ${this.#maxBytes}` };
    const head = readFrameHead(data);
    if (head === undefined) return { ok: false, fault: 'malformed', detail: 'not a live frame' };
    if (head.assessmentId !== assessmentId) return { ok: false, fault: 'misaddressed', detail: "a frame of another assessment's stream" };
    let frame: unknown;
    try {
      frame = this.#decoder.decode(data); // throws on trailing bytes, too
    } catch (err) {
      return { ok: false, fault: 'malformed', detail: `undecodable: ${(err as Error).message.slice(0, 120)}` };
    }
    const body = isObj(frame) ? frame[head.t] : undefined;
    const fault = head.t === 'delta' ? deltaFault(body, assessmentId) : eventFault(body, assessmentId);
    if (fault !== undefined) return { ok: false, fault: 'malformed', detail: fault };
    return { ok: true, head: { t: head.t, epoch: head.epoch, seq: head.seq } };
  }
}
