/**
 * The simulation contract: what a job asks and what a result answers. The
 * local worker pool and the Ray Serve application (deploy/ray/) take the same
 * job and return the same result shape; this schema is the one source of it.
 * Every amount is in account currency; every fraction is of a balance.
 */
import { z } from 'zod';

/** How paths are drawn. */
export const Method = z.enum(['iid', 'block', 'parametric']);
export type Method = z.infer<typeof Method>;

/**
 * A phase's rules, reduced to the numbers a path judge needs (see
 * `compilePhases`). Nulls mean "the phase has no such rule".
 */
export const CompiledPhase = z
  .object({
    name: z.string(),
    startingBalance: z.number().positive(),
    /** Profit target as an amount above the starting balance. */
    target: z.number().positive().nullable(),
    targetBasis: z.enum(['balance', 'equity']),
    daily: z
      .object({
        /** Limit in currency when the tier states an amount or a percentage of the start. */
        amount: z.number().positive().nullable(),
        /** Percentage of the day's base, when the tier states `pctOf: 'base'`. */
        pctOfBase: z.number().positive().nullable(),
        basis: z.enum(['balance', 'balance-or-equity']),
        severity: z.enum(['hard', 'soft']),
      })
      .strict()
      .nullable(),
    maxLoss: z
      .object({
        amount: z.number().positive(),
        mode: z.enum(['static', 'eod-trailing', 'intraday-trailing']),
        /** Level (absolute) at which a trailing floor stops; null: never. */
        lockLevel: z.number().nullable(),
      })
      .strict()
      .nullable(),
    minTradingDays: z.number().int().min(0),
    minTrades: z.number().int().min(0),
    /** Best day's share of total profit allowed; null: no consistency rule. */
    consistency: z.number().gt(0).max(1).nullable(),
    /** Phase length limit in days; null: none. */
    maxDays: z.number().positive().nullable(),
    /** Expiry after this many days without a new trade; null: none. */
    inactivityDays: z.number().positive().nullable(),
  })
  .strict();
export type CompiledPhase = z.infer<typeof CompiledPhase>;

/** Merton jump-diffusion for the traded price, and the simple strategy that trades it. */
export const ParametricModel = z
  .object({
    /** Annual drift of the price (expected growth rate, jumps included). */
    mu: z.number(),
    /** Annual volatility of the diffusion. */
    sigma: z.number().positive(),
    /** Mean jumps per year. */
    jumpsPerYear: z.number().min(0).default(0),
    jumpMean: z.number().default(0),
    jumpStd: z.number().min(0).default(0),
    /** Signed notional of each trade as a multiple of the sizing base (2 = 2× long, -1 = 1× short). */
    exposure: z.number().refine((x) => x !== 0, 'exposure must not be 0'),
    /** How long each trade is held, in days. */
    holdDays: z.number().positive(),
    /** Monitoring steps per day while a trade is open; the equity between steps is bridged. */
    stepsPerDay: z.number().int().positive().max(1440).default(24),
    /** Round-trip fee as a fraction of the notional. */
    fee: z.number().min(0).default(0),
  })
  .strict();
export type ParametricModel = z.infer<typeof ParametricModel>;

/** Where a path starts when the question is "from here" (a live assessment). */
export const StartState = z
  .object({
    phaseIndex: z.number().int().min(0),
    balance: z.number(),
    /** Days since the phase started. */
    daysElapsed: z.number().min(0),
    /** Share of the current trading day already gone (0 at the reset). */
    dayFraction: z.number().min(0).lt(1).default(0),
    /** Days since the last trade. */
    daysSinceActivity: z.number().min(0),
    dailyFloor: z.number(),
    maxLossFloor: z.number(),
    highWater: z.number(),
    floorLocked: z.boolean(),
    tradingDays: z.number().int().min(0),
    trades: z.number().int().min(0),
    /** Realized P&L of each past day of the phase that booked any, and today's (null: nothing booked today). */
    pastDayPnl: z.array(z.number()),
    todayPnl: z.number().nullable(),
    tradedToday: z.boolean(),
    lockedToday: z.boolean(),
  })
  .strict();
export type StartState = z.infer<typeof StartState>;

/**
 * Figures a job may ask for beyond the outcome counts, the pass probability
 * and the breakdown (always answered). Each costs work on every path: the
 * drawdown's bookkeeping is a third of a bootstrap trade's cost.
 */
export const OUTPUTS = ['daysToPass', 'maxDrawdown', 'finalPnl', 'riskOfRuin', 'fan'] as const;
export const Output = z.enum(OUTPUTS);
export type Output = z.infer<typeof Output>;

export const SimulationJob = z
  .object({
    /** Seed string; the same seed gives the same numbers on any number of workers. */
    seed: z.string().min(1).max(200),
    paths: z.number().int().min(1).max(20_000_000),
    method: Method,
    /** Mean block length for `block`; omitted: chosen by Politis–White (2004, corrected 2009). */
    blockLength: z.number().min(1).optional(),
    /** `fixed`: a trade's P&L is its return × the phase's starting balance; `compound`: × the balance before it. */
    sizing: z.enum(['fixed', 'compound']).default('fixed'),
    /** Trade P&L as fractions of the balance they were sized on, in the order they closed. */
    returns: z.array(z.number().finite().gt(-1)).max(1_000_000).default([]),
    /** Trades per calendar day of the history, quiet days (0) included. */
    tradesPerDay: z.array(z.number().int().min(0).max(1000)).min(1).max(100_000),
    model: ParametricModel.optional(),
    /** Where each path stops if no verdict came first (at least one of the two). */
    horizon: z
      .object({ trades: z.number().int().positive().optional(), days: z.number().positive().optional() })
      .strict()
      .refine((h) => h.trades !== undefined || h.days !== undefined, 'horizon needs trades or days'),
    phases: z.array(CompiledPhase).min(1).max(3),
    from: StartState.optional(),
    /**
     * Trade on to the horizon after the verdict, for the risk of ruin. `false`
     * ends each path at its verdict (much faster on long horizons); the risk of
     * ruin is then null.
     */
    ruin: z.boolean().default(true),
    /** Paths (the first ones) whose equity curves are kept for the fan chart. */
    fanPaths: z.number().int().min(0).max(2_000).default(200),
    /**
     * The figures to compute; omitted: all of them. A figure left out is null
     * in the result (the fan: empty), and its work is not done: `[]` answers
     * only the pass probability and the breakdown. `riskOfRuin` needs `ruin`
     * too, and `fan` needs `fanPaths`.
     */
    outputs: z.array(Output).max(OUTPUTS.length).optional(),
  })
  .strict()
  .superRefine((job, ctx) => {
    if (job.method !== 'parametric' && job.returns.length === 0)
      ctx.addIssue({ code: 'custom', path: ['returns'], message: `method '${job.method}' needs at least one trade return` });
    if (job.method === 'parametric' && job.model === undefined)
      ctx.addIssue({ code: 'custom', path: ['model'], message: "method 'parametric' needs a model" });
    if (!job.tradesPerDay.some((n) => n > 0)) ctx.addIssue({ code: 'custom', path: ['tradesPerDay'], message: 'no day with a trade' });
    if (job.from !== undefined && job.from.phaseIndex >= job.phases.length)
      ctx.addIssue({ code: 'custom', path: ['from', 'phaseIndex'], message: 'no such phase' });
  });
export type SimulationJob = z.infer<typeof SimulationJob>;
export type SimulationJobInput = z.input<typeof SimulationJob>;

/**
 * How a path ends. Codes are stored per path as a byte; `undecided`: the
 * horizon came first.
 */
export const OUTCOMES = ['passed', 'daily-loss', 'max-loss', 'phase-time-limit', 'inactivity', 'undecided'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** A probability with its Wilson 95% interval. */
export const Estimate = z.object({ p: z.number(), lo: z.number(), hi: z.number() }).strict();
export type Estimate = z.infer<typeof Estimate>;

/** Distribution summary; percentiles interpolate linearly (NumPy's default). */
export const Distribution = z
  .object({
    n: z.number(),
    mean: z.number(),
    std: z.number(),
    min: z.number(),
    max: z.number(),
    p5: z.number(),
    p25: z.number(),
    p50: z.number(),
    p75: z.number(),
    p95: z.number(),
    p99: z.number(),
  })
  .strict();
export type Distribution = z.infer<typeof Distribution>;

export const Histogram = z.object({ edges: z.array(z.number()), counts: z.array(z.number()) }).strict();
export type Histogram = z.infer<typeof Histogram>;

export const SimulationResult = z
  .object({
    paths: z.number(),
    seed: z.string(),
    method: Method,
    /** Mean block length used (block bootstrap only). */
    blockLength: z.number().nullable(),
    /** Paths per outcome. */
    outcomes: z.record(z.enum(OUTCOMES), z.number()),
    pass: Estimate,
    /** Probability of each way to end, with intervals. */
    breakdown: z.record(z.enum(OUTCOMES), Estimate),
    /** Days from the start to the pass, over passing paths (null when none passed, or when not asked for). */
    daysToPass: Distribution.nullable(),
    /** Largest peak-to-trough fall of equity during the assessment, as a fraction of the starting balance (null when not asked for). */
    maxDrawdown: Distribution.nullable(),
    /** Balance minus the starting balance of the phase the path ended in (null when not asked for). */
    finalPnl: Distribution.nullable(),
    /** Probability that equity touches the first phase's max-loss floor (held static) within the horizon, trading on regardless of verdicts. */
    riskOfRuin: Estimate.nullable(),
    /** Of `maxDrawdown` (null with it). */
    drawdownHistogram: Histogram.nullable(),
    /** Equity quantiles (p5, p25, p50, p75, p95) at each trade index over the recorded paths, and a few of those paths. */
    fan: z
      .object({
        steps: z.array(z.number()),
        bands: z
          .object({
            p5: z.array(z.number()),
            p25: z.array(z.number()),
            p50: z.array(z.number()),
            p75: z.array(z.number()),
            p95: z.array(z.number()),
          })
          .strict(),
        samples: z.array(z.array(z.number())),
      })
      .strict(),
    /** Where it ran: `local` (worker threads) or `ray`. */
    engine: z.enum(['local', 'ray']),
    elapsedMs: z.number(),
  })
  .strict();
export type SimulationResult = z.infer<typeof SimulationResult>;
