/**
 * Seeded bot traders that drive demo assessments: market and limit entries
 * with stop-loss / take-profit brackets sized from the tier's rules, the odd
 * close, cancel and flatten. Bots learn their accounts' state from the
 * engine's events ({@link BotTraders.observe}), so cancels name real orders
 * and closes name real positions. Given the same seed, calls, quotes and
 * events, the commands are identical.
 */
import {
  DEFAULT_INSTRUMENTS,
  type AssessmentEvent,
  type Command,
  type Instrument,
  type Phase,
  type Quote,
  type RejectReason,
  type Tier,
} from '../actors/index.js';
import type { Random } from './random.js';

/** One assessment a bot trades. */
export interface BotAccount {
  readonly assessmentId: string;
  readonly tier: Tier;
}

/** A command for one assessment, ready to submit as an engine `command` input. */
export interface BotCommand {
  readonly assessmentId: string;
  readonly command: Command;
}

/** Options of {@link BotTraders}. */
export interface BotTradersOptions {
  /** Source of every random draw. @default none (required) */
  readonly random: Random;
  /** The accounts to trade, one bot each. @default none (required) */
  readonly accounts: readonly BotAccount[];
  /** Latest quote of a symbol; undefined when it does not trade (no data yet, or resolved). @default none (required) */
  readonly quote: (symbol: string) => Quote | undefined;
  /** Feed time from which bots start deciding, ms since epoch. @default none (required) */
  readonly startTime: number;
  /** Instruments the bots may trade; each bot keeps those of its tier's kinds. @default DEFAULT_INSTRUMENTS */
  readonly instruments?: readonly Instrument[];
  /** Mean decisions per bot per hour of feed time. @default 2 */
  readonly actionsPerHour?: number;
  /** Prefix of client order ids. @default 'bot' */
  readonly clientIdPrefix?: string;
}

/**
 * How a bot trades: share of the allowed risk it takes, how many symbols it
 * holds at once, and whether it sometimes trades without a stop-loss (only
 * where the tier allows) — the habit that fails most real assessments.
 */
interface Style {
  readonly riskShare: number;
  readonly maxOpen: number;
  readonly nakedShare: number;
}

interface Bot {
  readonly id: string;
  readonly tier: Tier;
  readonly style: Style;
  readonly symbols: readonly Instrument[];
  phase: Phase;
  balance: number;
  dailyFloor: number;
  maxLossFloor: number;
  live: boolean;
  locked: boolean;
  /** Told the market or the tier's calendar refuses entries now: wait for the next trading day. */
  waiting: boolean;
  /** Signed quantity per held symbol. */
  readonly positions: Map<string, number>;
  /** Resting entry orders: engine order id → symbol. */
  readonly working: Map<string, string>;
}

/** Refusals a person would answer by waiting for another day rather than retrying. */
const WAIT_REASONS: ReadonlySet<RejectReason> = new Set(['WEEKEND_WINDOW', 'BLACKOUT_WINDOW', 'TRADING_LOCKED', 'MARKET_CLOSED']);

/** Risk per trade when the tier sets no cap, % of balance. */
const DEFAULT_RISK_PCT = { linear: 1, binary: 5 } as const;

/** Seeded bot traders: see {@link BotTradersOptions}. */
export class BotTraders {
  readonly #random: Random;
  readonly #quote: (symbol: string) => Quote | undefined;
  readonly #meanGapMs: number;
  readonly #prefix: string;
  readonly #bots: Bot[] = [];
  readonly #byId = new Map<string, Bot>();
  /** Min-heap of bot indices by next decision time; ties by index keep the order deterministic. */
  readonly #heap: number[] = [];
  readonly #due: Float64Array;
  #orderNo = 0;

  constructor(options: BotTradersOptions) {
    const rate = options.actionsPerHour ?? 2;
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`BotTraders: actionsPerHour must be a positive number, got ${rate}`);
    this.#random = options.random;
    this.#quote = options.quote;
    this.#meanGapMs = 3_600_000 / rate;
    this.#prefix = options.clientIdPrefix ?? 'bot';
    const instruments = options.instruments ?? DEFAULT_INSTRUMENTS;
    this.#due = new Float64Array(options.accounts.length);
    for (const { assessmentId, tier } of options.accounts) {
      const bot: Bot = {
        id: assessmentId,
        tier,
        style: this.#drawStyle(),
        symbols: instruments.filter((i) => tier.kinds.includes(i.kind)),
        phase: tier.phases[0]!,
        balance: tier.phases[0]!.startingBalance,
        dailyFloor: -Infinity,
        maxLossFloor: -Infinity,
        live: true,
        locked: false,
        waiting: false,
        positions: new Map(),
        working: new Map(),
      };
      const index = this.#bots.push(bot) - 1;
      this.#byId.set(assessmentId, bot);
      this.#schedule(index, options.startTime + this.#random.exponential(this.#meanGapMs));
    }
  }

  /** Every decision due at or before feed time `now`, in time order; each yields at most one command. */
  commands(now: number): BotCommand[] {
    const out: BotCommand[] = [];
    while (this.#heap.length > 0 && this.#due[this.#heap[0]!]! <= now) {
      const index = this.#pop();
      const bot = this.#bots[index]!;
      if (!bot.live) continue; // ended: drop it from the schedule
      const command = bot.locked ? undefined : this.#decide(bot);
      if (command !== undefined) out.push({ assessmentId: bot.id, command });
      this.#schedule(index, this.#due[index]! + this.#random.exponential(this.#meanGapMs));
    }
    return out;
  }

  /** Learn from an engine event of one of the bots' assessments (others are ignored). */
  observe(e: AssessmentEvent): void {
    const bot = this.#byId.get(e.assessmentId);
    if (bot === undefined) return;
    switch (e.type) {
      case 'assessment.started':
        bot.phase = bot.tier.phases.find((p) => p.name === e.phase) ?? bot.phase;
        bot.positions.clear();
        bot.working.clear();
        ({ balance: bot.balance, dailyFloor: bot.dailyFloor, maxLossFloor: bot.maxLossFloor } = e);
        break;
      case 'assessment.day-started':
        bot.waiting = false;
        ({ balance: bot.balance, dailyFloor: bot.dailyFloor, maxLossFloor: bot.maxLossFloor } = e);
        break;
      case 'assessment.trading-locked':
      case 'assessment.trading-unlocked':
        bot.locked = e.type === 'assessment.trading-locked';
        break;
      case 'assessment.passed':
      case 'assessment.failed':
      case 'assessment.expired':
      case 'assessment.abandoned':
        bot.live = false;
        break;
      case 'order.rejected':
        if (WAIT_REASONS.has(e.reason)) bot.waiting = true;
        break;
      case 'order.accepted':
        if (e.order.role === 'entry' && e.order.type !== 'market' && !e.order.reduceOnly) bot.working.set(e.order.id, e.order.symbol);
        break;
      case 'order.filled':
        bot.balance -= e.fee;
        if (e.status === 'filled') bot.working.delete(e.orderId);
        break;
      case 'order.cancelled':
      case 'order.expired':
        bot.working.delete(e.orderId);
        break;
      case 'position.opened':
      case 'position.changed':
        bot.positions.set(e.symbol, e.qty);
        break;
      case 'position.closed':
      case 'position.settled':
        // Realized P&L lands in the balance when the position ends; close enough for sizing.
        bot.positions.delete(e.symbol);
        bot.balance += e.realizedPnl;
        break;
      default:
        break;
    }
  }

  /** Stop trading an assessment (e.g. the engine quarantined it). */
  retire(assessmentId: string): void {
    const bot = this.#byId.get(assessmentId);
    if (bot !== undefined) bot.live = false;
  }

  // -- decisions -----------------------------------------------------------------------

  #drawStyle(): Style {
    const r = this.#random.uniform();
    const u = this.#random.uniform();
    if (r < 0.5) return { riskShare: 0.2 + 0.3 * u, maxOpen: 1, nakedShare: 0 }; // careful
    if (r < 0.85) return { riskShare: 0.4 + 0.4 * u, maxOpen: 2, nakedShare: 0 }; // active
    return { riskShare: 0.8 + 0.2 * u, maxOpen: 3, nakedShare: 0.5 }; // gambler
  }

  #decide(bot: Bot): Command | undefined {
    const r = this.#random.uniform();
    const held = [...bot.positions.keys()];
    if (held.length + bot.working.size > 0 && r < 0.03) return { kind: 'flatten' };
    if (bot.working.size > 0 && r < 0.15) return { kind: 'cancel', orderId: this.#random.pick([...bot.working.keys()]) };
    if (held.length > 0 && r < 0.35) return { kind: 'close-position', symbol: this.#random.pick(held), clientOrderId: this.#nextId() };
    if (r < 0.85 && !bot.waiting && held.length + bot.working.size < bot.style.maxOpen) return this.#entry(bot);
    return undefined; // sit on its hands
  }

  #entry(bot: Bot): Command | undefined {
    const busy = new Set([...bot.positions.keys(), ...bot.working.values()]);
    const free = bot.symbols.filter((i) => !busy.has(i.symbol) && this.#quote(i.symbol) !== undefined);
    if (free.length === 0) return undefined;
    const inst = this.#random.pick(free);
    const quote = this.#quote(inst.symbol)!;
    return inst.kind === 'binary' ? this.#binaryEntry(bot, inst, quote) : this.#linearEntry(bot, inst, quote);
  }

  /**
   * At or past the profit target (passing waits on trading days or consistency): trade the minimum
   * size, as people do, so the days count without putting the target at risk.
   */
  #coasting(bot: Bot): boolean {
    const t = bot.phase.rules.profitTarget?.target;
    if (t === undefined) return false;
    const start = bot.phase.startingBalance;
    return bot.balance >= start + ('pct' in t ? (start * t.pct) / 100 : t.amount);
  }

  /** Largest loss this entry may risk: a share of the tier's cap, kept well inside the floors. */
  #riskBudget(bot: Bot, kind: Instrument['kind']): number {
    const capPct = bot.phase.rules.riskPerTrade?.maxPct ?? DEFAULT_RISK_PCT[kind];
    const cap = (bot.balance * capPct) / 100;
    // Every position the bot may hold at once could stop out the same day: together they keep half the room.
    const room = bot.balance - Math.max(bot.dailyFloor, bot.maxLossFloor);
    return Math.max(0, Math.min(cap * 0.95 * bot.style.riskShare, (room * 0.5) / bot.style.maxOpen));
  }

  #linearEntry(bot: Bot, inst: Instrument, quote: Quote): Command | undefined {
    const rnd = this.#random;
    const side = rnd.uniform() < 0.5 ? 'buy' : 'sell';
    const sign = side === 'buy' ? 1 : -1;
    const limit = rnd.uniform() < 0.4;
    // Limits rest up to 0.3% away from the touch; a market order fills at the touch.
    const touch = side === 'buy' ? quote.ask : quote.bid;
    const price = limit ? cents((side === 'buy' ? quote.bid : quote.ask) * (1 - sign * 0.003 * rnd.uniform())) : touch;
    const coasting = this.#coasting(bot);
    const naked = !coasting && !(bot.phase.rules.riskPerTrade?.requireStopLoss ?? false) && rnd.uniform() < bot.style.nakedShare;
    const stopDist = price * (0.002 + 0.01 * rnd.uniform());
    let qty: number;
    if (coasting) {
      qty = inst.minQty;
    } else if (naked) {
      qty = (bot.balance * (1 + 5 * rnd.uniform())) / price; // 1–6× balance in notional, no stop
    } else {
      qty = this.#riskBudget(bot, 'linear') / stopDist;
    }
    // Margin and the tier's position limits, with headroom so the engine accepts the order.
    const limits = bot.phase.rules.positionLimits;
    const maxQty = limits?.maxQty?.[inst.symbol] ?? limits?.maxQty?.['*'] ?? Infinity;
    qty = Math.min(qty, (0.25 * bot.balance * bot.tier.leverage) / price, 0.9 * maxQty, (0.8 * (limits?.maxNotional ?? Infinity)) / price);
    qty = roundDown(qty, inst.minQty);
    if (!(qty >= inst.minQty)) return undefined;
    const cmd = { kind: 'place', clientOrderId: this.#nextId(), symbol: inst.symbol, side, type: limit ? 'limit' : 'market', qty } as const;
    const extra: { limitPrice?: number; stopLoss?: number; takeProfit?: number; tif?: 'day' | 'gtc' } = {};
    if (limit) {
      extra.limitPrice = price;
      extra.tif = rnd.uniform() < 0.3 ? 'day' : 'gtc';
    }
    if (!naked) extra.stopLoss = cents(price - sign * stopDist);
    if (!naked && rnd.uniform() < 0.8) extra.takeProfit = cents(price + sign * stopDist * (1 + 1.5 * rnd.uniform()));
    if (naked && rnd.uniform() < 0.5) extra.takeProfit = cents(price + sign * stopDist * 2);
    return { ...cmd, ...extra };
  }

  #binaryEntry(bot: Bot, inst: Instrument, quote: Quote): Command | undefined {
    const rnd = this.#random;
    const limit = rnd.uniform() < 0.4;
    const price = limit ? mills(Math.max(0.001, quote.bid - 0.01 * rnd.uniform())) : quote.ask;
    if (price < 0.05 || price > 0.95) return undefined; // nearly decided: no edge left to buy
    const limits = bot.phase.rules.positionLimits;
    const gross = [...bot.positions.entries()].reduce((sum, [s, q]) => sum + Math.abs(q) * (this.#quote(s)?.bid ?? 0), 0);
    // A binary share risks its whole cost, so the budget is a cost.
    const cost = Math.min(this.#riskBudget(bot, 'binary'), 0.8 * ((limits?.maxNotional ?? Infinity) - gross), 0.3 * bot.balance);
    const qty = this.#coasting(bot) ? inst.minQty : roundDown(cost / price, inst.minQty);
    if (!(qty >= inst.minQty)) return undefined;
    const cmd: Command = {
      kind: 'place',
      clientOrderId: this.#nextId(),
      symbol: inst.symbol,
      side: 'buy',
      type: limit ? 'limit' : 'market',
      qty,
      ...(limit ? { limitPrice: price } : {}),
      ...(rnd.uniform() < 0.4 ? { stopLoss: mills(Math.max(0.001, price - 0.05 - 0.1 * rnd.uniform())) } : {}),
      ...(rnd.uniform() < 0.5 ? { takeProfit: mills(Math.min(0.99, price + 0.05 + 0.15 * rnd.uniform())) } : {}),
    };
    return cmd;
  }

  #nextId(): string {
    return `${this.#prefix}-${++this.#orderNo}`;
  }

  // -- schedule heap --------------------------------------------------------------------

  #before(a: number, b: number): boolean {
    const da = this.#due[a]!;
    const db = this.#due[b]!;
    return da < db || (da === db && a < b);
  }

  #schedule(index: number, at: number): void {
    this.#due[index] = at;
    const h = this.#heap;
    let i = h.push(index) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.#before(index, h[up]!)) break;
      h[i] = h[up]!;
      i = up;
    }
    h[i] = index;
  }

  #pop(): number {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length === 0) return top;
    let i = 0;
    for (let c = 1; c < h.length; i = c, c = 2 * i + 1) {
      if (c + 1 < h.length && this.#before(h[c + 1]!, h[c]!)) c++;
      if (!this.#before(h[c]!, last)) break;
      h[i] = h[c]!;
    }
    h[i] = last;
    return top;
  }
}

/** Round to whole cents, the linear feed's price grid. */
function cents(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Round to thousandths, the binary feed's price grid. */
function mills(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Round a quantity down to a whole multiple of `step`, free of float noise. */
function roundDown(qty: number, step: number): number {
  if (!Number.isFinite(qty) || qty <= 0) return 0;
  return Number((Math.floor(qty / step + 1e-9) * step).toPrecision(12));
}
