/**
 * What the gateway's parts share: its options, the limits its sessions run
 * under, the per-trader counts, the writer that answers sessions, and where a
 * failing handler is reported.
 */
import type { SessionLimits } from '../protocol/index.js';
import type { GatewayOptions } from './gateway-options.js';
import type { Session } from './session.js';
import type { SessionWriter } from './session-writer.js';
import type { TraderLimits } from './trader-limits.js';

/** One gateway's shared parts, handed to its auth, subscriptions and order intake. */
export interface GatewayContext {
  readonly o: GatewayOptions;
  readonly limits: SessionLimits;
  readonly traders: TraderLimits;
  readonly writer: SessionWriter;
  /** A handler threw or rejected: counted, logged, answered INTERNAL on its session. */
  readonly failed: (err: unknown, where: string, s: Session) => void;
}
