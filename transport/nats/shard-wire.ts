/**
 * What travels on the routing plane's subjects (shard-subjects.ts), as
 * msgpack maps, and the checks every request passes before it reaches a node:
 * a size limit, a decoder without extension types and with bounded strings,
 * arrays and maps, and a shape check that says which field is wrong.
 */
import { Decoder } from '@msgpack/msgpack';
import type { AssessmentState } from '../../actors/index.js';
import type { IntakeRefusal, IntakeRequest, IntakeResult } from '../../engine/index.js';
import type { LeaderboardEntry } from '../../persistence/index.js';

/** Refusals on the shard subjects: a node's own (`NOT_OWNER` among them), and a watch over its bounds. */
export type RoutedRefusal = IntakeRefusal | 'TOO_MANY_WATCHES';

/** A refusal on any of the shard subjects. */
export interface RoutedRefusalReply {
  readonly ok: false;
  readonly code: RoutedRefusal;
  readonly message: string;
  readonly position?: number;
}

/** The reply on `engine.shard.<v>.intake`. */
export type RoutedIntakeResult = IntakeResult | RoutedRefusalReply;

/** A read of an assessment on `engine.shard.<v>.state`; with `gateway`, a snapshot that takes a watch lease. */
export interface StateRequest {
  readonly assessmentId: string;
  readonly gateway?: string;
}

/** The state, and where the assessment's live stream stands (its frames after `seq` follow the state). */
export type StateReply =
  | { readonly ok: true; readonly epoch: number; readonly seq: number; readonly state: AssessmentState | null }
  | RoutedRefusalReply;

/** A gateway's watch leases on assessments of one shard (taken or renewed). */
export interface WatchRequest {
  readonly gateway: string;
  readonly assessmentIds: readonly string[];
}

/** Where each watched stream stands, in request order. */
export type WatchReply = { readonly ok: true; readonly epoch: number; readonly seqs: readonly number[] } | RoutedRefusalReply;

/** Published on `engine.shard.<v>.owner` when a node starts or stops serving `v`. */
export interface OwnerAnnouncement {
  readonly shard: number;
  readonly epoch: number;
  readonly serving: boolean;
  readonly node: string;
}

/** The leaderboard question: the best `n`. */
export interface LeaderboardRequest {
  readonly n: number;
}

/** One node's best returns among the assessments it serves, best first. */
export type LeaderboardReply =
  | { readonly ok: true; readonly node: string; readonly entries: readonly LeaderboardEntry[] }
  | RoutedRefusalReply;

/** A request that cannot be taken: answered `MALFORMED_REQUEST` with this message. */
export class MalformedRequestError extends Error {
  readonly code = 'MALFORMED_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRequestError';
  }
}

/** Most ids in one watch request. */
export const MAX_WATCH_IDS = 1_024;
const ID_MAX = 128;
const GATEWAY_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A decoder for requests of at most `maxBytes`: no extension types from outside, bounded containers. */
export function requestDecoder(maxBytes: number): Decoder {
  return new Decoder({ maxStrLength: maxBytes, maxBinLength: maxBytes, maxArrayLength: MAX_WATCH_IDS, maxMapLength: 256, maxExtLength: 0 });
}

/** Decode `data` as a msgpack map of at most `maxBytes`, or throw {@link MalformedRequestError}. */
export function decodeRequest(decoder: Decoder, data: Uint8Array, maxBytes: number): Record<string, unknown> {
  if (data.length > maxBytes) throw new MalformedRequestError(`request is ${data.length} bytes; the limit is ${maxBytes}`);
  let body: unknown;
  try {
    body = decoder.decode(data);
  } catch (err) {
    throw new MalformedRequestError(`not valid msgpack: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Uint8Array)
    throw new MalformedRequestError('request is not a msgpack map');
  return body as Record<string, unknown>;
}

function assessmentId(v: unknown, field = 'assessmentId'): string {
  if (typeof v !== 'string' || v === '' || v.length > ID_MAX)
    throw new MalformedRequestError(`missing or invalid field "${field}" (a string of 1..${ID_MAX} characters)`);
  return v;
}

function gatewayId(v: unknown): string {
  if (typeof v !== 'string' || !GATEWAY_ID.test(v))
    throw new MalformedRequestError('invalid field "gateway" (1..64 letters, digits, _ . : -)');
  return v;
}

/** An intake request, as `engine.<group>.intake` takes it. */
export function parseIntakeRequest(b: Record<string, unknown>): IntakeRequest {
  const id = assessmentId(b['assessmentId']);
  if (b['kind'] === 'create') {
    if (typeof b['traderId'] !== 'string') throw new MalformedRequestError('missing or invalid field "traderId"');
    if (typeof b['tierId'] !== 'string') throw new MalformedRequestError('missing or invalid field "tierId"');
    return { kind: 'create', assessmentId: id, traderId: b['traderId'], tierId: b['tierId'] };
  }
  if (b['kind'] === 'command') return { kind: 'command', assessmentId: id, command: b['command'] };
  throw new MalformedRequestError('field "kind" must be "create" or "command"');
}

export function parseStateRequest(b: Record<string, unknown>): StateRequest {
  const id = assessmentId(b['assessmentId']);
  return b['gateway'] === undefined ? { assessmentId: id } : { assessmentId: id, gateway: gatewayId(b['gateway']) };
}

export function parseWatchRequest(b: Record<string, unknown>): WatchRequest {
  const gateway = gatewayId(b['gateway']);
  const ids = b['assessmentIds'];
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_WATCH_IDS)
    throw new MalformedRequestError(`field "assessmentIds" must be an array of 1..${MAX_WATCH_IDS} ids`);
  return { gateway, assessmentIds: ids.map((id, i) => assessmentId(id, `assessmentIds.${i}`)) };
}

export function parseLeaderboardRequest(b: Record<string, unknown>): LeaderboardRequest {
  const n = b['n'];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100)
    throw new MalformedRequestError('field "n" must be an integer of 1..100');
  return { n };
}

/** An announcement as published, or undefined when it is not one. */
export function parseAnnouncement(b: unknown): OwnerAnnouncement | undefined {
  if (typeof b !== 'object' || b === null) return undefined;
  const a = b as Record<string, unknown>;
  if (!Number.isInteger(a['shard']) || !Number.isInteger(a['epoch']) || typeof a['serving'] !== 'boolean' || typeof a['node'] !== 'string')
    return undefined;
  return { shard: a['shard'] as number, epoch: a['epoch'] as number, serving: a['serving'], node: a['node'] };
}
