/**
 * WebSocket protocol v1 between traders and the gateway. Binary msgpack
 * frames under subprotocol `vatic.v1.msgpack`, or JSON text frames under
 * `vatic.v1.json` for debugging. Every client frame is validated against
 * {@link ClientFrameSchema}; every server frame is one of {@link ServerFrame}.
 *
 * A session: `auth` first (within the auth timeout), then `sub` per
 * assessment: the server answers `snapshot` (epoch, seq), then `delta` and
 * `event` frames numbered seq + 1, seq + 2, … per assessment. A gap in seq
 * means frames were lost: `sub` again with `resume: { epoch, seq }` to get
 * the missed frames, or a fresh snapshot when they are gone. The epoch
 * changes when the engine restores the assessment; seqs restart with it.
 */
import { Decoder } from '@msgpack/msgpack';
import { wireEncoder } from '../../engine/wire.js';
import { z } from 'zod';

export const PROTOCOL_MSGPACK = 'vatic.v1.msgpack';
export const PROTOCOL_JSON = 'vatic.v1.json';
export const PROTOCOLS = [PROTOCOL_MSGPACK, PROTOCOL_JSON] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** The path of the WebSocket route (asyncapi-ws.json's channel). */
export const WS_PATH = '/v1/ws';

/** The subprotocol the server speaks of those a client offers: the first of {@link PROTOCOLS}, the server's order, that is offered. */
export function pickProtocol(offered: readonly string[]): Protocol | undefined {
  return PROTOCOLS.find((p) => offered.includes(p));
}

const id = z.string().min(1).max(128);
const reqId = z.union([z.string().min(1).max(64), z.number().int().nonnegative()]);

/** Orders over the socket; each carries the client's id for its answer. */
const OrderOp = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('place'),
      clientOrderId: z.string().min(1).max(64),
      symbol: z.string().min(1).max(64),
      side: z.enum(['buy', 'sell']),
      type: z.enum(['market', 'limit', 'stop']),
      qty: z.number().positive().finite(),
      limitPrice: z.number().positive().finite().optional(),
      stopPrice: z.number().positive().finite().optional(),
      stopLoss: z.number().positive().finite().optional(),
      takeProfit: z.number().positive().finite().optional(),
      reduceOnly: z.boolean().optional(),
      tif: z.enum(['gtc', 'day']).optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('modify'),
      orderId: id,
      qty: z.number().positive().finite().optional(),
      limitPrice: z.number().positive().finite().optional(),
      stopPrice: z.number().positive().finite().optional(),
    })
    .strict(),
  z.object({ op: z.literal('cancel'), orderId: id }).strict(),
  z.object({ op: z.literal('close-position'), symbol: z.string().min(1).max(64), clientOrderId: z.string().min(1).max(64) }).strict(),
  z.object({ op: z.literal('flatten') }).strict(),
]);
export type OrderOp = z.infer<typeof OrderOp>;

/** Every frame a client may send. */
export const ClientFrameSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('auth'), token: z.string().min(1).max(8_192) }).strict(),
  z
    .object({
      t: z.literal('sub'),
      id: reqId,
      assessmentId: id,
      resume: z.object({ epoch: z.number().int().nonnegative(), seq: z.number().int().nonnegative() }).strict().optional(),
    })
    .strict(),
  z.object({ t: z.literal('unsub'), id: reqId, assessmentId: id }).strict(),
  z.object({ t: z.literal('order'), id: reqId, assessmentId: id, order: OrderOp }).strict(),
  z.object({ t: z.literal('ping'), ts: z.number().finite().optional() }).strict(),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** Protocol error codes: stable, for clients to branch on. */
export type ErrorCode =
  | 'MALFORMED_FRAME'
  | 'FRAME_TOO_LARGE'
  | 'AUTH_REQUIRED'
  | 'AUTH_FAILED'
  | 'AUTH_TIMEOUT'
  | 'ALREADY_AUTHENTICATED'
  | 'FORBIDDEN_ASSESSMENT'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'TOO_MANY_CONNECTIONS'
  | 'RATE_LIMITED'
  | 'SLOW_CONSUMER'
  | 'NOT_SUBSCRIBED'
  | 'DRAINING'
  | 'INTERNAL'
  | 'TOKEN_EXPIRED'
  | 'ALREADY_SUBSCRIBED'
  | 'CONNECTION_RATE_LIMITED'
  | 'UNAVAILABLE';

/** A probability with its Wilson 95% interval. */
export interface PassInterval {
  readonly p: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * Every frame the server sends. `estimate` is the live pass probability (Monte
 * Carlo, from where the assessment stands) and `report` says a report of the
 * assessment is ready (`GET /v1/assessments/:id/report`): neither is
 * numbered nor replayed on resume.
 */
export type ServerFrame =
  | {
      readonly t: 'ready';
      readonly traderId: string;
      readonly roles: string[];
      readonly heartbeatMs: number;
      readonly limits: SessionLimits;
      readonly expiresAt: number;
    }
  | { readonly t: 'reauthenticated'; readonly traderId: string; readonly roles: string[]; readonly expiresAt: number }
  | {
      readonly t: 'snapshot';
      readonly id?: string | number;
      readonly assessmentId: string;
      readonly epoch: number;
      readonly seq: number;
      readonly state: unknown;
    }
  | { readonly t: 'delta'; readonly assessmentId: string; readonly epoch: number; readonly seq: number; readonly delta: unknown }
  | { readonly t: 'event'; readonly assessmentId: string; readonly epoch: number; readonly seq: number; readonly event: unknown }
  | {
      readonly t: 'resumed';
      readonly id?: string | number;
      readonly assessmentId: string;
      readonly epoch: number;
      readonly from: number;
      readonly to: number;
    }
  | { readonly t: 'resync'; readonly assessmentId: string; readonly reason: string }
  | { readonly t: 'unsubscribed'; readonly id: string | number; readonly assessmentId: string }
  | { readonly t: 'ack'; readonly id: string | number; readonly position: number }
  | { readonly t: 'reject'; readonly id: string | number; readonly code: string; readonly message: string }
  | { readonly t: 'pong'; readonly ts?: number; readonly serverTs: number }
  | {
      readonly t: 'estimate';
      readonly assessmentId: string;
      readonly at: number;
      readonly paths: number;
      readonly pass: PassInterval;
      readonly breakdown: Readonly<Record<string, number>>;
      readonly medianDaysToPass: number | null;
    }
  | {
      readonly t: 'report';
      readonly assessmentId: string;
      readonly reportId: number;
      readonly traderId: string | null;
      readonly kind: string;
      readonly trigger: string;
      readonly status: string | null;
      readonly asOf: number;
      readonly createdAt: number;
    }
  | { readonly t: 'error'; readonly code: ErrorCode; readonly message: string; readonly id?: string | number };

/**
 * The `reject` codes the gateway puts on an order itself; every other reject
 * code is the engine node's `IntakeRefusal`, passed through as it is.
 */
export const GATEWAY_REJECT_CODES = Object.freeze(['RATE_LIMITED', 'UNAVAILABLE'] as const);
/** A `reject` code of the gateway's own. */
export type GatewayRejectCode = (typeof GATEWAY_REJECT_CODES)[number];

/** Limits a session runs under, told to the client in `ready`. */
export interface SessionLimits {
  readonly maxFrameBytes: number;
  readonly messagesPerSecond: number;
  readonly maxSubscriptions: number;
}

/** Close codes. */
export const CLOSE = Object.freeze({ NORMAL: 1000, GOING_AWAY: 1001, POLICY: 1008, TOO_BIG: 1009, INTERNAL: 1011, SLOW_CONSUMER: 4008 });

/** A frame that cannot be decoded or does not match the schema. */
export class FrameError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'FrameError';
    this.code = code;
  }
}

/** Encodes and decodes frames of one subprotocol, with size limits and no msgpack extension types. */
export class FrameCodec {
  readonly protocol: Protocol;
  readonly #maxBytes: number;
  readonly #encoder = wireEncoder();
  readonly #decoder: Decoder;
  readonly #text = new TextDecoder('utf-8', { fatal: true });

  constructor(protocol: Protocol, maxBytes: number) {
    this.protocol = protocol;
    this.#maxBytes = maxBytes;
    this.#decoder = new Decoder({ maxStrLength: maxBytes, maxBinLength: 0, maxArrayLength: 256, maxMapLength: 64, maxExtLength: 0 });
  }

  /** Encode a server frame (binary for msgpack, a string for JSON). */
  encode(frame: ServerFrame): Uint8Array | string {
    return this.protocol === PROTOCOL_MSGPACK ? this.#encoder.encode(frame) : JSON.stringify(frame);
  }

  /**
   * Encode a server frame to msgpack into this codec's own buffer: the view is
   * valid until its next encode (no copy, for a caller that copies it anyway).
   */
  encodeShared(frame: ServerFrame): Uint8Array {
    return this.#encoder.encodeSharedRef(frame);
  }

  /** Decode and validate one client frame; throws {@link FrameError} saying what was wrong. */
  decode(data: ArrayBuffer, isBinary: boolean): ClientFrame {
    if (data.byteLength > this.#maxBytes)
      throw new FrameError('FRAME_TOO_LARGE', `frame is ${data.byteLength} bytes; the limit is ${this.#maxBytes}`);
    let body: unknown;
    if (this.protocol === PROTOCOL_MSGPACK) {
      if (!isBinary) throw new FrameError('MALFORMED_FRAME', `text frame on ${PROTOCOL_MSGPACK}: send binary msgpack`);
      try {
        body = this.#decoder.decode(new Uint8Array(data));
      } catch (err) {
        throw new FrameError('MALFORMED_FRAME', `not valid msgpack: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else {
      if (isBinary) throw new FrameError('MALFORMED_FRAME', `binary frame on ${PROTOCOL_JSON}: send JSON text`);
      try {
        body = JSON.parse(this.#text.decode(data));
      } catch (err) {
        throw new FrameError('MALFORMED_FRAME', `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const parsed = ClientFrameSchema.safeParse(body);
    if (!parsed.success) {
      const detail = parsed.error.issues
        .slice(0, 4)
        .map((i) => `${i.path.map(String).join('.') || '(frame)'}: ${i.message}`)
        .join('; ');
      throw new FrameError('MALFORMED_FRAME', `frame does not match the protocol: ${detail}`);
    }
    return parsed.data;
  }
}
