/**
 * What a node is asked and what it answers: the intake's request, result and
 * refusal codes, shared by the cluster node, its admission and its journal
 * intake, and described field for field in the AsyncAPI and OpenAPI documents.
 */
import type { EngineSnapshot } from '../engine.js';
import type { CheckpointMark } from './ports.js';

/** Something a trader or the platform asks of an assessment. */
export type IntakeRequest =
  | { readonly kind: 'create'; readonly assessmentId: string; readonly traderId: string; readonly tierId: string }
  | { readonly kind: 'command'; readonly assessmentId: string; readonly command: unknown };

/**
 * Why the node refused a request without journaling it (or found it journaled
 * already). `NOT_OWNER`: the assessment's virtual shard is not served by this
 * node now (it is moving, or lives on another node): nothing was written, and
 * a router retries at the shard's owner.
 */
export type IntakeRefusal =
  | 'MALFORMED_REQUEST'
  | 'INVALID_COMMAND'
  | 'UNKNOWN_ASSESSMENT'
  | 'UNKNOWN_TIER'
  | 'DUPLICATE_ASSESSMENT'
  | 'DUPLICATE_CLIENT_ORDER_ID'
  | 'NOT_READY'
  | 'STOPPING'
  | 'JOURNAL_UNAVAILABLE'
  | 'NOT_OWNER';

/**
 * The answer to a request: durable and applied at `input`, or refused with a
 * code. `repeat`: the request was a resend of one accepted before (same
 * assessment, client order id and command); the answer is that original
 * acceptance, its position and watermark, and `input` is -1 (it was applied
 * then, perhaps by another node).
 */
export type IntakeResult =
  | { readonly ok: true; readonly position: number; readonly input: number; readonly watermark: number; readonly repeat?: true }
  | { readonly ok: false; readonly code: IntakeRefusal; readonly message: string; readonly position?: number };

/** A consistent view for checks: the marks and the whole engine state at one boundary. */
export interface NodeInspection extends CheckpointMark {
  readonly snapshot: EngineSnapshot;
}
