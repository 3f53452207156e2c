/**
 * Tiers are data: a rule set with parameters per phase, validated at load.
 * A tier carries a `version`; every violation cites the version it was judged by.
 */
import { z } from 'zod';

/** An amount of account currency, or a percentage of a base (the phase's starting balance unless stated). */
export const Limit = z.union([
  z.object({ pct: z.number().positive().max(100) }).strict(),
  z.object({ amount: z.number().positive() }).strict(),
]);
export type Limit = z.infer<typeof Limit>;

const HhMm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time of day as HH:MM');

/** A point in the week, in the tier's time zone. `day`: 0 = Sunday … 6 = Saturday. */
const WeekPoint = z.object({ day: z.number().int().min(0).max(6), time: HhMm }).strict();

export const ProfitTargetParams = z
  .object({
    target: Limit,
    /** `balance`: closed P&L only (FTMO); `equity`: includes open P&L, passing flattens. */
    basis: z.enum(['balance', 'equity']).default('balance'),
  })
  .strict();

export const DailyLossParams = z
  .object({
    limit: Limit,
    /** Floor base at the reset: prior day-end balance, or the higher of balance and equity. */
    basis: z.enum(['balance', 'balance-or-equity']).default('balance'),
    /** A `pct` limit is a share of the phase's starting balance, or of the day's base. */
    pctOf: z.enum(['start', 'base']).default('start'),
    /** `hard` fails the assessment; `soft` flattens and locks trading until the next reset. */
    severity: z.enum(['hard', 'soft']).default('hard'),
  })
  .strict();

export const MaxLossParams = z
  .object({
    limit: Limit,
    /** static: start − limit; eod-trailing: highest day-end balance − limit; intraday-trailing: peak equity − limit. */
    mode: z.enum(['static', 'eod-trailing', 'intraday-trailing']).default('static'),
    /** Where a trailing floor stops: never, at the starting balance, or the starting balance plus an amount. */
    lock: z.union([z.literal('none'), z.literal('start'), z.object({ startPlus: z.number() }).strict()]).default('none'),
  })
  .strict();

export const RiskPerTradeParams = z
  .object({
    /** Largest loss to the stop-loss, as a percentage of balance. */
    maxPct: z.number().positive().max(100),
    /**
     * Reject linear entry orders that carry no stop-loss, and a cancel or resize of a stop that would
     * leave part of a position uncovered.
     */
    requireStopLoss: z.boolean().default(false),
    /**
     * What a position's risk is judged on. `current`: its working stops as they stand (nearest first,
     * up to the position's size). `farthest`: never less than the loss to the farthest stop ever set for
     * the position, so tightening a stop gives no room back (a firm that judges the farthest stop-loss).
     * @default 'current'
     */
    basis: z.enum(['current', 'farthest']).default('current'),
  })
  .strict();

export const PositionLimitsParams = z
  .object({
    /** Largest absolute position per symbol (contracts or shares); `*` applies to unlisted symbols. */
    maxQty: z.record(z.string(), z.number().positive()).optional(),
    /** Largest gross notional across all positions, account currency. */
    maxNotional: z.number().positive().optional(),
    /** Largest gross notional over equity. */
    maxLeverage: z.number().positive().optional(),
  })
  .strict();

export const PhaseRules = z
  .object({
    profitTarget: ProfitTargetParams.optional(),
    dailyLoss: DailyLossParams.optional(),
    maxLoss: MaxLossParams.optional(),
    riskPerTrade: RiskPerTradeParams.optional(),
    positionLimits: PositionLimitsParams.optional(),
    minTradingDays: z.object({ days: z.number().int().positive() }).strict().optional(),
    minTrades: z.object({ count: z.number().int().positive() }).strict().optional(),
    /** Best day's profit at most this share of total profit; blocks passing, never fails. */
    consistency: z
      .object({ maxBestDayShare: z.number().gt(0).max(1) })
      .strict()
      .optional(),
    /** Expire after this many days without a new order. */
    inactivity: z.object({ days: z.number().positive() }).strict().optional(),
    /**
     * Positions must be flat during this weekly window; orders are refused inside it and working orders
     * do not fill inside it. `protectiveFills`: reduce-only orders (stop-loss, take-profit) still fill
     * inside the window (@default true); false holds them too, as news rules that forbid SL/TP fills do.
     */
    weekendFlat: z
      .object({
        from: WeekPoint,
        to: WeekPoint,
        action: z.enum(['flatten', 'breach']).default('flatten'),
        protectiveFills: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /**
     * Absolute windows (news) in which new orders that add exposure are refused and working orders do not
     * fill. `protectiveFills`: reduce-only orders (stop-loss, take-profit) still fill inside (@default true).
     */
    blackouts: z
      .array(
        z
          .object({
            from: z.number(),
            to: z.number(),
            symbols: z.array(z.string()).optional(),
            label: z.string().optional(),
            protectiveFills: z.boolean().default(true),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type PhaseRules = z.infer<typeof PhaseRules>;

export const Phase = z
  .object({
    name: z.enum(['challenge', 'verification', 'funded']),
    startingBalance: z.number().positive(),
    /** The phase expires if not passed within this many days. */
    maxDays: z.number().positive().optional(),
    rules: PhaseRules,
  })
  .strict();
export type Phase = z.infer<typeof Phase>;

export const TierSchema = z
  .object({
    id: z.string().min(1).max(64),
    version: z.number().int().positive(),
    name: z.string(),
    currency: z.literal('USD').default('USD'),
    /** IANA time zone of the trading day. */
    timezone: z.string().default('UTC'),
    /** Local time at which the trading day rolls. */
    resetTime: HhMm.default('00:00'),
    /** Instrument kinds this tier may trade. */
    kinds: z
      .array(z.enum(['linear', 'binary']))
      .min(1)
      .default(['linear']),
    /** Leverage cap for linear instruments (margin = notional / leverage). */
    leverage: z.number().positive().default(10),
    /** Fees as a fraction of fill notional, per instrument kind. */
    fees: z
      .object({ linear: z.number().min(0).default(0.0005), binary: z.number().min(0).default(0) })
      .strict()
      .default({ linear: 0.0005, binary: 0 }),
    /**
     * Whether `pause` closes open positions and cancels working orders at once. Otherwise a pause only
     * refuses new orders and modifies: positions and working orders stay, and are judged, while paused.
     * @default false
     */
    flattenOnPause: z.boolean().default(false),
    phases: z.array(Phase).min(1),
  })
  .strict()
  .superRefine((tier, ctx) => {
    if (!isValidTimeZone(tier.timezone))
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone '${tier.timezone}'` });
  });

/** A validated tier. */
export type Tier = z.infer<typeof TierSchema>;

/** Raised when a tier definition does not validate; the message lists every problem. */
export class InvalidTierError extends Error {
  readonly code = 'INVALID_TIER';
  constructor(id: string, issues: string, options?: ErrorOptions) {
    super(`invalid tier '${id}': ${issues}`, options);
    this.name = 'InvalidTierError';
  }
}

/** Validate untrusted tier data; throws {@link InvalidTierError} naming every bad field. */
export function parseTier(data: unknown): Tier {
  const result = TierSchema.safeParse(data);
  if (result.success) return result.data;
  const id = typeof data === 'object' && data !== null && 'id' in data ? String((data as { id: unknown }).id) : '?';
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new InvalidTierError(id, issues);
}

/** Resolve a limit against its base. */
export function limitAmount(limit: Limit, base: number): number {
  return 'pct' in limit ? (base * limit.pct) / 100 : limit.amount;
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
