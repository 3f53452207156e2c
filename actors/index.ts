/**
 * actors/: the assessment actor and the prop rule engine. Pure logic over
 * ordered inputs; no transport, no storage, no clock of its own.
 */

// Actor
export { AssessmentActor, MAX_VIOLATIONS } from './assessment-actor.js';
export { CLIENT_ORDER_ID_WINDOW, MAX_WORKING_ORDERS } from './order-book.js';
export type { ActorEnv, CreateAssessment, Watch } from './assessment-actor.js';

// Vocabulary
export type {
  AssessmentEvent,
  AssessmentEventType,
  AssessmentState,
  AssessmentStatus,
  CancelReason,
  Cause,
  Command,
  Expiry,
  Order,
  OrderRole,
  OrderStatus,
  OrderType,
  PhaseName,
  Position,
  PositionEvidence,
  RejectReason,
  RuleId,
  Side,
  TimeInForce,
  Violation,
} from './types.js';

// Market
export { DEFAULT_INSTRUMENTS } from './market.js';
export type { Instrument, InstrumentKind, MarketView, Quote, Resolution, Tick } from './market.js';
export { figures, markPrice, positionEvidence, QTY_EPSILON } from './portfolio.js';
export type { Figures } from './portfolio.js';

// Tiers and rules
export { InvalidTierError, parseTier, TierSchema } from './tier.js';
export { CommandSchema, parseCommand } from './command-schema.js';
export type { Phase, PhaseRules, Tier } from './tier.js';
export { presetTiers } from './presets.js';
export { rulesFor } from './rules/index.js';
export type { Breach, OrderIntent, PassCheck, Refusal, Rule, RuleContext } from './rules/index.js';
export { nextReset } from './calendar.js';

export { DAY_MS } from './calendar.js';
export { applyFill, settlePosition } from './portfolio.js';
export { Limit, limitAmount } from './tier.js';
