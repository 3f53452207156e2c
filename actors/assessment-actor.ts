/**
 * The assessment actor: deterministic logic over ordered inputs (ticks,
 * commands, clock, resolutions). No I/O, no wall clock, no randomness: time
 * and market state arrive through {@link ActorEnv}. The actor mutates its own
 * state in place for speed; that state is plain data and is its snapshot.
 */
import { nextReset } from './calendar.js';
import type { MarketView } from './market.js';
import {
  cancelAll,
  cancelClosed,
  cancelOrder,
  cancelRequested,
  closeAtQuote,
  matchSymbol,
  modifyOrder,
  nextClose,
  placeOrder,
  type Desk,
} from './order-book.js';
import { rollDay } from './roll-day.js';
import { figures, positionEvidence, settlePosition, type Figures } from './portfolio.js';
import { rulesFor, type Breach, type Rule, type RuleContext } from './rules/index.js';
import type { Phase, Tier } from './tier.js';
import type { AssessmentEvent, AssessmentState, CancelReason, Cause, Command, EventBody, Expiry, RuleId } from './types.js';

/** Violations kept in the state, the most recent ones (every one is also emitted). @default 100 */
export const MAX_VIOLATIONS = 100;

/** What the actor reads from outside for one input. */
export interface ActorEnv {
  readonly market: MarketView;
  /** The engine's time: the latest timestamp of any input so far (clock, tick, resolution). */
  readonly now: number;
  /** Receives every event, in order. */
  readonly emit: (event: AssessmentEvent) => void;
}

/** Parameters of a new assessment. */
export interface CreateAssessment {
  readonly assessmentId: string;
  readonly traderId: string;
}

/** Thresholds the engine's index needs to know when this actor must look again. */
export interface Watch {
  /** Equity loss this actor can absorb before a floor is crossed (may be ≤ 0). */
  readonly lossRoom: number;
  /** Equity gain after which a trailing peak or a target needs attention (Infinity if none). */
  readonly gainRoom: number;
}

export class AssessmentActor {
  readonly state: AssessmentState;
  readonly tier: Tier;
  #rules: Rule[];
  #env: ActorEnv | undefined;
  /** The figures of this step's last evaluation while no event followed it (the state they describe is current). */
  #settled: Figures | undefined;

  private constructor(state: AssessmentState, tier: Tier) {
    if (state.tierId !== tier.id || state.tierVersion !== tier.version) {
      throw new Error(`assessment ${state.id} is judged by tier ${state.tierId} v${state.tierVersion}, not ${tier.id} v${tier.version}`);
    }
    this.state = state;
    this.tier = tier;
    this.#rules = rulesFor(this.phase.rules, this.phase.maxDays);
  }

  /** Open a new assessment in its tier's first phase. */
  static create(params: CreateAssessment, tier: Tier, env: ActorEnv): AssessmentActor {
    const first = tier.phases[0]!;
    const state: AssessmentState = {
      id: params.assessmentId,
      traderId: params.traderId,
      tierId: tier.id,
      tierVersion: tier.version,
      phaseIndex: 0,
      status: 'active',
      createdAt: env.now,
      phaseStartedAt: env.now,
      startingBalance: first.startingBalance,
      balance: first.startingBalance,
      positions: {},
      orders: {},
      clientOrderIds: {},
      nextOrderNo: 1,
      dayIndex: 0,
      dayStartedAt: env.now,
      nextResetAt: nextReset(env.now, tier.timezone, tier.resetTime),
      dayStartBalance: first.startingBalance,
      dayPnl: {},
      tradingDays: [],
      tradeCount: 0,
      lastActivityAt: env.now,
      lastClockAt: env.now,
      lockedBy: undefined,
      rules: { dailyFloor: -Infinity, maxLossFloor: -Infinity, highWater: first.startingBalance, floorLocked: false },
      passBlockedBy: undefined,
      violations: [],
    };
    const actor = new AssessmentActor(state, tier);
    actor.#run(env, () => {
      actor.#emit({
        type: 'assessment.created',
        traderId: state.traderId,
        tierId: tier.id,
        tierVersion: tier.version,
        phase: first.name,
        balance: state.balance,
      });
      actor.#startPhase();
    });
    return actor;
  }

  /** Rebuild an actor from its persisted state (a deep copy is taken). */
  static restore(state: AssessmentState, tier: Tier): AssessmentActor {
    return new AssessmentActor(structuredClone(state), tier);
  }

  /** A deep copy of the state: the persisted snapshot. */
  snapshot(): AssessmentState {
    return structuredClone(this.state);
  }

  get phase(): Phase {
    return this.tier.phases[this.state.phaseIndex]!;
  }

  /** Whether inputs can still change this assessment. */
  get live(): boolean {
    return this.state.status === 'active' || this.state.status === 'paused';
  }

  // -- INPUTS -----------------------------------------------------------------

  /** A trader or operator command. */
  onCommand(cmd: Command, env: ActorEnv): void {
    this.#run(env, () => this.#command(cmd));
  }

  /** A tick on `cause.symbol`: match its orders, then judge equity at this exact tick (paused accounts too). */
  onTick(cause: Extract<Cause, { kind: 'tick' }>, env: ActorEnv): void {
    if (!this.live) return;
    // The hot path of a shard (every tick that crosses a band): no closure, and no desk unless an order can match.
    this.#env = env;
    this.#settled = undefined;
    try {
      if (hasOrderOn(this.state, cause.symbol)) matchSymbol(this.#desk(), cause.symbol);
      this.#evaluate(cause);
    } finally {
      this.#env = undefined;
    }
  }

  /**
   * Time advanced to `env.now`: fire every deadline up to it (resets, market
   * closes, window starts, time limits), each as of its own time and in time order, so the
   * verdicts do not depend on how often the clock is seen. Does nothing when
   * no deadline is due: calling it more often changes no state.
   */
  onClock(env: ActorEnv): void {
    let fired = -Infinity;
    for (;;) {
      const due = this.nextDeadline(env.market);
      if (due > env.now || due <= fired) break; // each firing moves every deadline past its instant
      fired = Math.max(due, this.state.lastClockAt);
      this.#run({ market: env.market, now: fired, emit: env.emit }, () => this.#fire(fired));
    }
  }

  /** A prediction market resolved: settle its shares at 1 or 0 and stop trading them. */
  onResolution(cause: Extract<Cause, { kind: 'resolution' }>, env: ActorEnv): void {
    this.#run(env, () => {
      for (const symbol in this.state.positions) {
        const inst = env.market.instrument(symbol);
        if (inst?.market !== cause.market) continue;
        const qty = this.state.positions[symbol]!.qty;
        const payout = inst.outcome === cause.outcome ? 1 : 0;
        const pnl = settlePosition(this.state, symbol, payout);
        this.#emit({ type: 'position.settled', symbol, qty, payout, realizedPnl: pnl });
      }
      for (const id in this.state.orders) {
        const order = this.state.orders[id]!;
        if (env.market.instrument(order.symbol)?.market === cause.market) cancelOrder(this.#desk(), order, 'MARKET_RESOLVED');
      }
      this.#evaluate(cause);
    });
  }

  // -- QUERIES FOR THE ENGINE ---------------------------------------------------

  /** Current balance, equity and exposure. */
  figures(market: MarketView): Figures {
    return figures(this.state, market, this.tier.leverage);
  }

  /** How far equity may move before this actor must be evaluated again. */
  watch(market: MarketView, fig: Figures = this.figures(market)): Watch {
    // Target reached on equity but passing blocked: any tick may change the verdict.
    if (this.state.passBlockedBy !== undefined && this.phase.rules.profitTarget?.basis === 'equity') return { lossRoom: 0, gainRoom: 0 };
    const ctx = this.#ctx(market);
    let floor = -Infinity;
    let ceiling = Infinity;
    for (const rule of this.#rules) {
      if (rule.id === this.state.lockedBy) continue;
      const f = rule.floor?.(ctx);
      if (f !== undefined && f > floor) floor = f;
      const c = rule.watchAbove?.(ctx);
      if (c !== undefined && c < ceiling) ceiling = c;
    }
    return { lossRoom: fig.equity - floor, gainRoom: ceiling - fig.equity };
  }

  /**
   * The figures the last step judged, if that step changed nothing after judging them (it emitted no event
   * since), else undefined; taken once. Only right after the step, at the same quotes: the engine re-derives
   * the actor's price bands from them instead of marking its positions again.
   */
  takeSettledFigures(): Figures | undefined {
    const fig = this.#settled;
    this.#settled = undefined;
    return fig;
  }

  /** The next instant at which the clock alone can change this actor. */
  nextDeadline(market: MarketView): number {
    if (!this.live) return Infinity;
    let t = Math.min(this.state.nextResetAt, nextClose(this.state, market));
    const ctx = this.#ctx(market);
    for (const rule of this.#rules) {
      if (rule.id === 'inactivity' && this.state.status === 'paused') continue; // a pause is not inactivity
      const d = rule.nextDeadline?.(ctx);
      if (d !== undefined && d < t) t = d;
    }
    return t;
  }

  // -- INTERNALS -------------------------------------------------------------------

  #run(env: ActorEnv, body: () => void): void {
    this.#env = env;
    this.#settled = undefined;
    try {
      body();
    } finally {
      this.#env = undefined;
    }
  }

  #ctx(market: MarketView = this.#env!.market): RuleContext {
    return { state: this.state, tier: this.tier, phase: this.phase, market, now: this.#env?.now ?? this.state.lastClockAt };
  }

  #desk(): Desk {
    return { ctx: this.#ctx(), rules: this.#rules, emit: (e) => this.#emit(e) };
  }

  #figures(): Figures {
    return figures(this.state, this.#env!.market, this.tier.leverage);
  }

  #emit(body: EventBody): void {
    this.#settled = undefined; // an event means a change: the figures judged before it may be stale
    // Stamp the body in place: it is a fresh literal at every call site.
    const env = this.#env!;
    const e = body as { assessmentId?: string; at?: number };
    e.assessmentId = this.state.id;
    e.at = env.now;
    env.emit(e as AssessmentEvent);
  }

  #command(cmd: Command): void {
    const s = this.state;
    const desk = this.#desk();
    switch (cmd.kind) {
      case 'place':
        placeOrder(desk, cmd);
        break;
      case 'modify':
        modifyOrder(desk, cmd);
        break;
      case 'cancel': {
        const order = s.orders[cmd.orderId];
        if (order === undefined)
          this.#emit({ type: 'command.ignored', reason: 'UNKNOWN_ORDER', detail: `no working order '${cmd.orderId}'` });
        else cancelRequested(desk, order);
        break;
      }
      case 'close-position': {
        const pos = s.positions[cmd.symbol];
        if (pos === undefined) {
          this.#emit({ type: 'command.ignored', reason: 'NOTHING_TO_CLOSE', detail: `no position in ${cmd.symbol}` });
          break;
        }
        placeOrder(desk, {
          kind: 'place',
          clientOrderId: cmd.clientOrderId,
          symbol: cmd.symbol,
          side: pos.qty > 0 ? 'sell' : 'buy',
          type: 'market',
          qty: Math.abs(pos.qty),
          reduceOnly: true,
        });
        break;
      }
      case 'flatten':
        if (s.status !== 'active')
          this.#emit({ type: 'command.ignored', reason: 'ASSESSMENT_NOT_ACTIVE', detail: `assessment is ${s.status}` });
        else this.#flatten(false, 'FLATTEN');
        break;
      case 'pause':
      case 'resume': {
        const from = cmd.kind === 'pause' ? 'active' : 'paused';
        if (s.status !== from) {
          this.#emit({
            type: 'command.ignored',
            reason: 'ASSESSMENT_NOT_ACTIVE',
            detail: `cannot ${cmd.kind} an assessment that is ${s.status}`,
          });
          break;
        }
        // A pause refuses new orders; what is open stays open and judged, unless the tier flattens on pause
        // (then the flatten's own costs are judged before the pause takes effect).
        if (cmd.kind === 'pause' && this.tier.flattenOnPause) {
          this.#flatten(false, 'FLATTEN');
          this.#evaluate({ kind: 'command', time: this.#env!.now });
          if (s.status !== 'active') break;
        }
        s.status = cmd.kind === 'pause' ? 'paused' : 'active';
        if (cmd.kind === 'resume') s.lastActivityAt = this.#env!.now; // a pause does not count as inactivity
        this.#emit(cmd.kind === 'pause' ? { type: 'assessment.paused' } : { type: 'assessment.resumed' });
        if (cmd.kind === 'resume') this.#evaluate({ kind: 'command', time: this.#env!.now }); // passing waits for the resume
        break;
      }
      case 'abandon':
        if (!this.live) {
          this.#emit({ type: 'command.ignored', reason: 'ASSESSMENT_NOT_ACTIVE', detail: `assessment is ${s.status}` });
          break;
        }
        this.#flatten(true, 'FLATTEN'); // a forced close: its fills are liquidations
        s.status = 'abandoned';
        this.#emit({ type: 'assessment.abandoned', balance: s.balance });
        break;
    }
    if (cmd.kind === 'place' || cmd.kind === 'modify' || cmd.kind === 'close-position' || cmd.kind === 'flatten')
      this.#evaluate({ kind: 'command', time: this.#env!.now });
  }

  /** Judge equity against every floor, then the pass conditions. */
  #evaluate(cause: Cause): void {
    if (!this.live) return;
    const fig = this.#figures();
    const ctx = this.#ctx();
    const breaches: Breach[] = [];
    for (const rule of this.#rules) {
      if (rule.id === this.state.lockedBy) continue;
      const b = rule.onEquity?.(ctx, fig);
      if (b !== undefined) breaches.push(b);
    }
    if (breaches.length > 0) this.#breach(breaches, cause, fig);
    else {
      this.#settled = fig;
      this.#checkPass(fig);
    }
  }

  /** @param fig the figures the breaches were judged on, when the caller has them (nothing changed since) */
  #breach(breaches: Breach[], cause: Cause, fig: Figures = this.#figures()): void {
    const s = this.state;
    const evidence = positionEvidence(s, this.#env!.market);
    for (const b of breaches) {
      if (b.silent === true) continue;
      const violation = {
        ruleId: b.ruleId,
        severity: b.severity,
        tierId: this.tier.id,
        tierVersion: this.tier.version,
        phase: this.phase.name,
        at: this.#env!.now,
        cause,
        equity: fig.equity,
        balance: fig.balance,
        limit: b.limit,
        value: b.value,
        positions: evidence,
        detail: b.detail,
      };
      s.violations.push(violation);
      if (s.violations.length > MAX_VIOLATIONS) s.violations.splice(0, s.violations.length - MAX_VIOLATIONS);
      this.#emit({ type: 'rules.violation-detected', violation });
    }
    const worst = breaches.find((b) => b.outcome === 'fail') ?? breaches.find((b) => b.outcome === 'lock') ?? breaches[0]!;
    this.#flatten(true, worst.outcome === 'flatten' ? 'FLATTEN' : 'BREACH');
    if (worst.outcome === 'fail') {
      s.status = 'failed';
      this.#emit({ type: 'assessment.failed', ruleId: worst.ruleId, balance: s.balance });
    } else if (worst.outcome === 'lock') {
      s.lockedBy = worst.ruleId;
      this.#emit({ type: 'assessment.trading-locked', ruleId: worst.ruleId, until: s.nextResetAt });
      this.#evaluate(cause); // the liquidation's costs can cross another floor (the locking rule is skipped)
    } else {
      this.#evaluate(cause); // a forced flatten's costs can cross a floor themselves
    }
  }

  /** Cancel every order and close every position at the current quotes. */
  #flatten(liquidation: boolean, reason: CancelReason): void {
    const desk = this.#desk();
    cancelAll(desk, reason);
    for (const symbol in this.state.positions) closeAtQuote(desk, symbol, liquidation);
  }

  #checkPass(fig: Figures): void {
    const s = this.state;
    if (s.status !== 'active' || s.lockedBy !== undefined || this.phase.rules.profitTarget === undefined) return;
    const ctx = this.#ctx();
    let blocked: { id: RuleId; detail: string } | undefined;
    for (const rule of this.#rules) {
      const check = rule.passCheck?.(ctx, fig);
      if (check === undefined || check.met) continue;
      if (rule.id === 'profit-target') {
        s.passBlockedBy = undefined;
        return;
      }
      blocked ??= { id: rule.id, detail: check.detail };
    }
    if (blocked !== undefined) {
      if (s.passBlockedBy !== blocked.id) {
        s.passBlockedBy = blocked.id;
        this.#emit({ type: 'assessment.pass-blocked', ruleId: blocked.id, detail: blocked.detail });
      }
      return;
    }
    this.#flatten(false, 'PHASE_ENDED');
    const next = this.tier.phases[s.phaseIndex + 1];
    if (next === undefined) {
      s.status = 'passed';
      this.#emit({ type: 'assessment.passed', phase: this.phase.name, balance: s.balance });
      return;
    }
    this.#emit({ type: 'assessment.phase-passed', phase: this.phase.name, nextPhase: next.name, balance: s.balance });
    s.phaseIndex++;
    s.phaseStartedAt = this.#env!.now;
    s.startingBalance = next.startingBalance;
    s.balance = next.startingBalance;
    s.dayStartBalance = next.startingBalance;
    s.dayPnl = {};
    s.tradingDays = [];
    s.tradeCount = 0;
    s.passBlockedBy = undefined;
    s.lastActivityAt = this.#env!.now;
    s.rules = { dailyFloor: -Infinity, maxLossFloor: -Infinity, highWater: next.startingBalance, floorLocked: false };
    this.#rules = rulesFor(next.rules, next.maxDays);
    this.#startPhase();
  }

  #startPhase(): void {
    const ctx = this.#ctx();
    for (const rule of this.#rules) rule.onPhaseStart?.(ctx);
    const r = this.state.rules;
    this.#emit({
      type: 'assessment.started',
      phase: this.phase.name,
      balance: this.state.balance,
      dailyFloor: r.dailyFloor,
      maxLossFloor: r.maxLossFloor,
    });
  }

  /** The clock at `t`, an instant at which a deadline falls: market closes and the day roll, then equity, then the time rules. */
  #fire(t: number): void {
    const cause: Cause = { kind: 'clock', time: t };
    if (this.live) cancelClosed(this.#desk(), this.state.nextResetAt); // closes before the reset come first
    while (this.live && t >= this.state.nextResetAt) rollDay(this.#ctx(), this.#rules, this.#figures(), (e) => this.#emit(e));
    if (this.live) cancelClosed(this.#desk());
    this.#evaluate(cause);
    if (this.live) {
      for (const rule of this.#rules) {
        if (rule.id === 'inactivity' && this.state.status === 'paused') continue; // a pause is not inactivity
        const verdict = rule.onClock?.(this.#ctx(), this.#figures());
        if (verdict === undefined) continue;
        if ('deadline' in verdict) this.#expire(verdict);
        else this.#breach([verdict], cause);
        if (!this.live) break;
      }
    }
    this.state.lastClockAt = t;
  }

  /** A time limit ran out: close out at the current quotes and end the assessment as expired. */
  #expire(expiry: Expiry): void {
    const s = this.state;
    this.#flatten(true, 'BREACH');
    s.status = 'expired';
    s.expiry = expiry;
    this.#emit({ type: 'assessment.expired', ruleId: expiry.ruleId, balance: s.balance, expiry: { ...expiry } });
  }
}

/** Whether any working order is on `symbol` (matching a tick of another symbol's orders does nothing). */
function hasOrderOn(state: AssessmentState, symbol: string): boolean {
  for (const id in state.orders) if (state.orders[id]!.symbol === symbol) return true;
  return false;
}
