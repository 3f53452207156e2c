/**
 * The assessment actor's vocabulary: its state, the commands it takes and the
 * events it emits. All of it is plain data (structured-clone and JSON safe),
 * so a state is its own persisted snapshot.
 */

export type AssessmentStatus = 'pending' | 'active' | 'paused' | 'passed' | 'failed' | 'abandoned' | 'expired';
export type PhaseName = 'challenge' | 'verification' | 'funded';
export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop';
export type TimeInForce = 'gtc' | 'day';
/**
 * Order state machine: accepted → working → (partially-filled →)* filled,
 * or → cancelled | expired from any non-final state; rejected is final at once.
 */
export type OrderStatus = 'accepted' | 'working' | 'partially-filled' | 'filled' | 'cancelled' | 'rejected' | 'expired';
export type OrderRole = 'entry' | 'stop-loss' | 'take-profit';

/** Why an order or command was refused. */
export type RejectReason =
  | 'ASSESSMENT_NOT_ACTIVE'
  | 'TRADING_LOCKED'
  | 'UNKNOWN_SYMBOL'
  | 'KIND_NOT_ALLOWED'
  | 'NO_MARKET_DATA'
  | 'MARKET_CLOSED'
  | 'MARKET_RESOLVED'
  | 'INVALID_ORDER'
  | 'QTY_BELOW_MINIMUM'
  | 'INSUFFICIENT_MARGIN'
  | 'RULE_WOULD_BE_BREACHED'
  | 'MISSING_STOP_LOSS'
  | 'INVALID_STOP_LOSS'
  | 'RISK_PER_TRADE_EXCEEDED'
  | 'MAX_QTY_EXCEEDED'
  | 'MAX_NOTIONAL_EXCEEDED'
  | 'MAX_LEVERAGE_EXCEEDED'
  | 'REDUCE_ONLY_WOULD_INCREASE'
  | 'NO_SHORT_BINARY'
  | 'BLACKOUT_WINDOW'
  | 'WEEKEND_WINDOW'
  | 'UNKNOWN_ORDER'
  | 'ORDER_NOT_WORKING'
  | 'NOTHING_TO_CLOSE'
  | 'ACTOR_QUARANTINED'
  | 'TOO_MANY_ORDERS';

/** Why a working order left the book without filling. */
export type CancelReason =
  | 'REQUESTED'
  | 'OCO_SIBLING_FILLED'
  | 'POSITION_CLOSED'
  | 'BREACH'
  | 'PHASE_ENDED'
  | 'TRADING_LOCKED'
  | 'MARKET_RESOLVED'
  | 'MARKET_CLOSED'
  | 'FLATTEN';

export type RuleId =
  | 'profit-target'
  | 'daily-loss'
  | 'max-loss'
  | 'risk-per-trade'
  | 'position-limits'
  | 'min-trading-days'
  | 'min-trades'
  | 'consistency'
  | 'inactivity'
  | 'weekend-flat'
  | 'blackout'
  | 'phase-time-limit';

export interface Order {
  readonly id: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  qty: number;
  filledQty: number;
  avgFillPrice: number;
  limitPrice: number | undefined;
  stopPrice: number | undefined;
  /** A stop order that has triggered behaves as a market order. */
  triggered: boolean;
  readonly reduceOnly: boolean;
  readonly tif: TimeInForce;
  status: OrderStatus;
  readonly role: OrderRole;
  /** Bracket prices attached to an entry; children are created as the entry fills. */
  readonly stopLoss: number | undefined;
  readonly takeProfit: number | undefined;
  readonly parentId: string | undefined;
  readonly createdAt: number;
}

/** A net position per symbol; `qty` > 0 long, < 0 short. */
export interface Position {
  readonly symbol: string;
  qty: number;
  avgEntry: number;
  /** P&L realized on this position since it was opened (fees excluded). */
  realizedPnl: number;
  readonly openedAt: number;
  /** The farthest stop-loss ever set for this position (kept only for a risk-per-trade `farthest` basis). */
  farthestStop?: number;
}

/** A position as it stood at the instant of a violation. */
export interface PositionEvidence {
  readonly symbol: string;
  readonly qty: number;
  readonly avgEntry: number;
  readonly mark: number;
  readonly unrealizedPnl: number;
}

/** What caused an evaluation: the evidence a disputed verdict points at. */
export type Cause =
  | {
      readonly kind: 'tick';
      readonly seq: number;
      readonly ts: number;
      readonly symbol: string;
      readonly bid: number;
      readonly ask: number;
    }
  | { readonly kind: 'clock'; readonly time: number }
  | { readonly kind: 'command'; readonly time: number }
  | { readonly kind: 'resolution'; readonly seq: number; readonly ts: number; readonly market: string; readonly outcome: string };

/** A rule violation with everything needed to show a trader why. */
export interface Violation {
  readonly ruleId: RuleId;
  readonly severity: 'hard' | 'soft';
  readonly tierId: string;
  readonly tierVersion: number;
  readonly phase: PhaseName;
  readonly at: number;
  readonly cause: Cause;
  readonly equity: number;
  readonly balance: number;
  /** The floor or limit that was crossed. */
  readonly limit: number;
  /** The value compared with the limit (equity for floors). */
  readonly value: number;
  readonly positions: readonly PositionEvidence[];
  readonly detail: string;
}

/**
 * Why an assessment expired: a time limit, not a money limit. Its figures are
 * instants (epoch ms), so it is evidence of its own rather than a violation.
 */
export interface Expiry {
  readonly ruleId: 'inactivity' | 'phase-time-limit';
  /** The instant the limit ran out; the expiry is judged as of it. */
  readonly deadline: number;
  /** The limit in days (`inactivity.days` or the phase's `maxDays`). */
  readonly days: number;
  /** The last order or resume the inactivity clock counts from. */
  readonly lastActivityAt: number;
  /** When the phase began; the phase time limit counts from it. */
  readonly phaseStartedAt: number;
  readonly detail: string;
}

/** Per-rule state that moves with time and equity. */
export interface RuleState {
  /** Daily floor in force; -Infinity when the phase has no daily rule. */
  dailyFloor: number;
  /** Max-loss floor in force; -Infinity when the phase has no max-loss rule. */
  maxLossFloor: number;
  /** Highest equity (intraday trailing) or day-end balance (EOD trailing) seen in the phase; an intraday peak stops moving once the floor locks. */
  highWater: number;
  /** Trailing floor reached its lock; it moves no more. */
  floorLocked: boolean;
}

export interface AssessmentState {
  readonly id: string;
  readonly traderId: string;
  readonly tierId: string;
  readonly tierVersion: number;
  phaseIndex: number;
  status: AssessmentStatus;
  readonly createdAt: number;
  phaseStartedAt: number;
  startingBalance: number;
  /** Closed balance: starting balance plus realized P&L minus fees. */
  balance: number;
  positions: Record<string, Position>;
  /** Working (non-final) orders by engine order id. */
  orders: Record<string, Order>;
  /**
   * Client order ids of the recent accepted orders, to their engine order ids: a window of at least
   * `CLIENT_ORDER_ID_WINDOW` orders (the command journal dedupes durably). Snapshots from before the
   * window may also hold refused ids, as `rejected:<reason>`.
   */
  clientOrderIds: Record<string, string>;
  /** Orders numbered below this have had their client order ids forgotten (absent: none yet). */
  clientOrderIdsFrom?: number;
  nextOrderNo: number;
  /** Trading-day counter, advanced at each reset. */
  dayIndex: number;
  dayStartedAt: number;
  nextResetAt: number;
  dayStartBalance: number;
  /** Realized P&L (fees included) per trading day index. */
  dayPnl: Record<number, number>;
  /** Trading-day indices on which a position was opened. */
  tradingDays: number[];
  /** Positions opened in this phase. */
  tradeCount: number;
  lastActivityAt: number;
  /** The instant of the last clock deadline this actor handled (a reset, a window start, a time limit). */
  lastClockAt: number;
  /** Soft breach: the rule that locked trading until the next reset. */
  lockedBy: RuleId | undefined;
  rules: RuleState;
  /** The reason passing is blocked, last reported (avoids repeating the event). */
  passBlockedBy: string | undefined;
  /** The most recent violations (at most `MAX_VIOLATIONS`); every one is also an event. */
  violations: Violation[];
  /** Why the assessment expired, once it has (a time limit is not a violation). */
  expiry?: Expiry;
}

/** Commands a trader (or operator) sends to an assessment. */
export type Command =
  | {
      readonly kind: 'place';
      readonly clientOrderId: string;
      readonly symbol: string;
      readonly side: Side;
      readonly type: OrderType;
      readonly qty: number;
      readonly limitPrice?: number;
      readonly stopPrice?: number;
      readonly stopLoss?: number;
      readonly takeProfit?: number;
      readonly reduceOnly?: boolean;
      readonly tif?: TimeInForce;
    }
  | { readonly kind: 'modify'; readonly orderId: string; readonly qty?: number; readonly limitPrice?: number; readonly stopPrice?: number }
  | { readonly kind: 'cancel'; readonly orderId: string }
  | { readonly kind: 'close-position'; readonly symbol: string; readonly clientOrderId: string }
  | { readonly kind: 'flatten' }
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'abandon' };

interface Base {
  readonly assessmentId: string;
  readonly at: number;
}

/** Everything an actor can emit. */
export type AssessmentEvent = Base &
  (
    | {
        readonly type: 'assessment.created';
        readonly traderId: string;
        readonly tierId: string;
        readonly tierVersion: number;
        readonly phase: PhaseName;
        readonly balance: number;
      }
    | {
        readonly type: 'assessment.started';
        readonly phase: PhaseName;
        readonly balance: number;
        readonly dailyFloor: number;
        readonly maxLossFloor: number;
      }
    | {
        readonly type: 'assessment.day-started';
        readonly dayIndex: number;
        readonly balance: number;
        readonly equity: number;
        readonly dailyFloor: number;
        readonly maxLossFloor: number;
      }
    | { readonly type: 'assessment.phase-passed'; readonly phase: PhaseName; readonly nextPhase: PhaseName; readonly balance: number }
    | { readonly type: 'assessment.passed'; readonly phase: PhaseName; readonly balance: number }
    | { readonly type: 'assessment.failed'; readonly ruleId: RuleId; readonly balance: number }
    | { readonly type: 'assessment.expired'; readonly ruleId: RuleId; readonly balance: number; readonly expiry: Expiry }
    | { readonly type: 'assessment.paused' }
    | { readonly type: 'assessment.resumed' }
    | { readonly type: 'assessment.abandoned'; readonly balance: number }
    | { readonly type: 'assessment.trading-locked'; readonly ruleId: RuleId; readonly until: number }
    | { readonly type: 'assessment.trading-unlocked' }
    | { readonly type: 'assessment.pass-blocked'; readonly ruleId: RuleId; readonly detail: string }
    | { readonly type: 'rules.violation-detected'; readonly violation: Violation }
    | { readonly type: 'order.accepted'; readonly order: Order }
    | { readonly type: 'order.rejected'; readonly clientOrderId: string; readonly reason: RejectReason; readonly detail: string }
    | {
        readonly type: 'order.modified';
        readonly orderId: string;
        readonly qty: number;
        readonly limitPrice: number | undefined;
        readonly stopPrice: number | undefined;
      }
    | { readonly type: 'order.triggered'; readonly orderId: string; readonly price: number }
    | {
        readonly type: 'order.filled';
        readonly orderId: string;
        readonly clientOrderId: string;
        readonly symbol: string;
        readonly side: Side;
        readonly qty: number;
        readonly price: number;
        readonly fee: number;
        readonly remaining: number;
        readonly status: OrderStatus;
        readonly liquidation: boolean;
        readonly tickSeq: number;
      }
    | { readonly type: 'order.cancelled'; readonly orderId: string; readonly reason: CancelReason }
    | { readonly type: 'order.expired'; readonly orderId: string }
    | { readonly type: 'command.ignored'; readonly reason: RejectReason | 'DUPLICATE_CLIENT_ORDER_ID'; readonly detail: string }
    | { readonly type: 'position.opened'; readonly symbol: string; readonly qty: number; readonly avgEntry: number }
    | { readonly type: 'position.changed'; readonly symbol: string; readonly qty: number; readonly avgEntry: number }
    | { readonly type: 'position.closed'; readonly symbol: string; readonly realizedPnl: number; readonly exitPrice: number }
    | {
        readonly type: 'position.settled';
        readonly symbol: string;
        readonly qty: number;
        readonly payout: number;
        readonly realizedPnl: number;
      }
  );

export type AssessmentEventType = AssessmentEvent['type'];

/** An event before the actor stamps it with its assessment id and time. */
export type EventBody = AssessmentEvent extends infer E ? (E extends unknown ? Omit<E, 'assessmentId' | 'at'> : never) : never;
