/**
 * An assessment's orders: pre-trade validation, the order state machine, and
 * matching against the latest quote (buys at the ask, sells at the bid, capped
 * by displayed size when the tick carries it). Brackets become reduce-only
 * OCO children as their entry fills.
 */
import type { Instrument, MarketView, Quote } from './market.js';
import { applyFill, figures, QTY_EPSILON } from './portfolio.js';
import {
  isProtectiveStop,
  protectiveStops,
  recordFarthestStop,
  type OrderIntent,
  type ProtectiveStop,
  type Refusal,
  type Rule,
  type RuleContext,
} from './rules/index.js';
import type { Tier } from './tier.js';
import type { AssessmentState, CancelReason, Command, EventBody, Order, RejectReason } from './types.js';

/**
 * Client order ids an actor remembers for deduplication: the ids of at least this many most recent
 * orders (at most twice as many); older ones are forgotten, refused ones never kept. The command
 * journal dedupes client order ids durably. @default 1000
 */
export const CLIENT_ORDER_ID_WINDOW = 1_000;

/**
 * Working orders an assessment may hold: a new order beyond this is refused TOO_MANY_ORDERS, except
 * a reduce-only market order (a close), refused only at twice the cap. @default 200
 */
export const MAX_WORKING_ORDERS = 200;

/** What the order book needs from its actor. */
export interface Desk {
  readonly ctx: RuleContext;
  readonly rules: readonly Rule[];
  emit(e: EventBody): void;
}

type PlaceCommand = Extract<Command, { kind: 'place' }>;

/** The prices of a place command that are set: a command leaves an unset price out rather than holding `undefined`. */
function defined(prices: {
  limitPrice: number | undefined;
  stopPrice: number | undefined;
  stopLoss: number | undefined;
  takeProfit: number | undefined;
}) {
  const out: { limitPrice?: number; stopPrice?: number; stopLoss?: number; takeProfit?: number } = {};
  if (prices.limitPrice !== undefined) out.limitPrice = prices.limitPrice;
  if (prices.stopPrice !== undefined) out.stopPrice = prices.stopPrice;
  if (prices.stopLoss !== undefined) out.stopLoss = prices.stopLoss;
  if (prices.takeProfit !== undefined) out.takeProfit = prices.takeProfit;
  return out;
}

function reject(desk: Desk, clientOrderId: string, reason: RejectReason, detail: string): void {
  desk.emit({ type: 'order.rejected', clientOrderId, reason, detail });
}

function feeRate(tier: Tier, inst: Instrument): number {
  return inst.kind === 'binary' ? tier.fees.binary : tier.fees.linear;
}

/**
 * Validate a placement without side effects; returns the refusal or the order's instrument and intent.
 * `replaces`: the working order a modify would replace, judged as if it were gone.
 */
function validate(desk: Desk, cmd: PlaceCommand, replaces?: string): Refusal | { inst: Instrument; quote: Quote; intent: OrderIntent } {
  const { state, tier, market, now } = desk.ctx;
  if (state.status !== 'active') return { reason: 'ASSESSMENT_NOT_ACTIVE', detail: `assessment is ${state.status}` };
  if (state.lockedBy !== undefined)
    return { reason: 'TRADING_LOCKED', detail: `trading is locked by ${state.lockedBy} until the next reset` };
  if (replaces === undefined) {
    const working = Object.keys(state.orders).length;
    const cap = cmd.reduceOnly === true && cmd.type === 'market' ? 2 * MAX_WORKING_ORDERS : MAX_WORKING_ORDERS;
    if (working >= cap) return { reason: 'TOO_MANY_ORDERS', detail: `${working} orders are working, at most ${cap}` };
  }
  const inst = market.instrument(cmd.symbol);
  if (inst === undefined) return { reason: 'UNKNOWN_SYMBOL', detail: `unknown symbol '${cmd.symbol}'` };
  if (!tier.kinds.includes(inst.kind))
    return { reason: 'KIND_NOT_ALLOWED', detail: `tier '${tier.id}' does not trade ${inst.kind} instruments` };
  if (inst.market !== undefined && market.resolution(inst.market) !== undefined)
    return { reason: 'MARKET_RESOLVED', detail: `market ${inst.market} has resolved` };
  if (inst.closesAt !== undefined && now >= inst.closesAt)
    return { reason: 'MARKET_CLOSED', detail: `${inst.symbol} closed at ${new Date(inst.closesAt).toISOString()}` };
  if (!(Number.isFinite(cmd.qty) && cmd.qty > 0))
    return { reason: 'INVALID_ORDER', detail: `quantity must be a positive number, got ${cmd.qty}` };
  if (cmd.qty < inst.minQty) return { reason: 'QTY_BELOW_MINIMUM', detail: `quantity ${cmd.qty} is below the minimum ${inst.minQty}` };
  const px = cmd.type === 'limit' ? cmd.limitPrice : cmd.type === 'stop' ? cmd.stopPrice : undefined;
  if (cmd.type !== 'market' && !(px !== undefined && Number.isFinite(px) && px > 0))
    return { reason: 'INVALID_ORDER', detail: `a ${cmd.type} order needs a positive ${cmd.type === 'limit' ? 'limitPrice' : 'stopPrice'}` };
  if (inst.kind === 'binary' && px !== undefined && px >= 1)
    return { reason: 'INVALID_ORDER', detail: 'binary prices lie between 0 and 1' };
  const quote = market.quote(cmd.symbol);
  if (quote === undefined) return { reason: 'NO_MARKET_DATA', detail: `no quote for ${cmd.symbol} yet` };
  if (inst.closesAt !== undefined && quote.ts >= inst.closesAt)
    return { reason: 'MARKET_CLOSED', detail: `${inst.symbol} closed at ${new Date(inst.closesAt).toISOString()}` };
  const price = px ?? (cmd.side === 'buy' ? quote.ask : quote.bid);
  const current = state.positions[cmd.symbol]?.qty ?? 0;
  const reduceOnly = cmd.reduceOnly === true;
  if (reduceOnly && !(cmd.side === 'buy' ? current < -QTY_EPSILON : current > QTY_EPSILON)) {
    return {
      reason: 'REDUCE_ONLY_WOULD_INCREASE',
      detail: `a reduce-only ${cmd.side} of ${cmd.qty} does not reduce the position of ${current}`,
    };
  }
  // Reduce-only is clipped to the position, as exchanges do: it can close the position, never open the other side.
  const effectiveQty = reduceOnly ? Math.min(cmd.qty, Math.abs(current)) : cmd.qty;
  const projectedQty = current + (cmd.side === 'buy' ? effectiveQty : -effectiveQty);
  if (inst.kind === 'binary' && projectedQty < -QTY_EPSILON)
    return { reason: 'NO_SHORT_BINARY', detail: `selling ${cmd.qty} shares of ${cmd.symbol} exceeds the ${current} held` };
  const sl = cmd.stopLoss;
  if (sl !== undefined && !(Number.isFinite(sl) && (cmd.side === 'buy' ? sl < price : sl > price) && sl > 0)) {
    return {
      reason: 'INVALID_STOP_LOSS',
      detail: `stop-loss ${sl} must lie ${cmd.side === 'buy' ? 'below' : 'above'} the entry price ${price}`,
    };
  }
  const tp = cmd.takeProfit;
  if (tp !== undefined && !(Number.isFinite(tp) && (cmd.side === 'buy' ? tp > price : tp < price) && tp > 0)) {
    return {
      reason: 'INVALID_ORDER',
      detail: `take-profit ${tp} must lie ${cmd.side === 'buy' ? 'above' : 'below'} the entry price ${price}`,
    };
  }
  const fee = effectiveQty * price * feeRate(tier, inst);
  const intent: OrderIntent = {
    instrument: inst,
    side: cmd.side,
    qty: effectiveQty,
    price,
    stopLoss: sl,
    reduceOnly,
    projectedQty,
    fee,
    replaces,
  };
  const fig = figures(state, market, tier.leverage);
  const added = Math.max(0, Math.abs(projectedQty) - Math.abs(current));
  if (added > 0) {
    const margin = inst.kind === 'binary' ? added * price : (added * price) / tier.leverage;
    // Open gains do not fund new exposure (a binary share is paid in cash); open losses reduce it.
    const free = Math.min(fig.equity, fig.balance) - fig.usedMargin - fee;
    if (margin > free) return { reason: 'INSUFFICIENT_MARGIN', detail: `needs ${margin.toFixed(2)} margin, ${free.toFixed(2)} free` };
  }
  for (const rule of desk.rules) {
    const refusal = rule.checkOrder?.(desk.ctx, intent, fig);
    if (refusal !== undefined) return refusal;
  }
  if (isProtectiveStop(state, cmd)) {
    // A stop on the position's closing side, placed or moved: the position's risk is judged with it.
    const refusal = judgeProtection(desk, cmd.symbol, [
      ...protectiveStops(state, cmd.symbol, replaces),
      { stopPrice: cmd.stopPrice!, qty: cmd.qty },
    ]);
    if (refusal !== undefined) return refusal;
  }
  return { inst, quote, intent };
}

function judgeProtection(desk: Desk, symbol: string, after: readonly ProtectiveStop[]): Refusal | undefined {
  const change = { symbol, before: protectiveStops(desk.ctx.state, symbol), after };
  for (const rule of desk.rules) {
    const refusal = rule.checkProtection?.(desk.ctx, change);
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}

/** Place an order: idempotent by client order id; refusals are events, never exceptions. */
export function placeOrder(desk: Desk, cmd: PlaceCommand): void {
  const { state, now } = desk.ctx;
  const known = state.clientOrderIds[cmd.clientOrderId];
  if (known !== undefined) {
    desk.emit({
      type: 'command.ignored',
      reason: 'DUPLICATE_CLIENT_ORDER_ID',
      detail: `client order id '${cmd.clientOrderId}' already used (${known})`,
    });
    return;
  }
  const v = validate(desk, cmd);
  if ('reason' in v) {
    reject(desk, cmd.clientOrderId, v.reason, v.detail);
    return;
  }
  const order: Order = {
    id: `o${state.nextOrderNo++}`,
    clientOrderId: cmd.clientOrderId,
    symbol: cmd.symbol,
    side: cmd.side,
    type: cmd.type,
    qty: cmd.qty,
    filledQty: 0,
    avgFillPrice: 0,
    limitPrice: cmd.limitPrice,
    stopPrice: cmd.stopPrice,
    triggered: false,
    reduceOnly: v.intent.reduceOnly,
    tif: cmd.tif ?? 'gtc',
    status: 'accepted',
    role: 'entry',
    stopLoss: cmd.stopLoss,
    takeProfit: cmd.takeProfit,
    parentId: undefined,
    createdAt: now,
  };
  remember(state, cmd.clientOrderId, order.id);
  state.lastActivityAt = now;
  desk.emit({ type: 'order.accepted', order: { ...order } });
  order.status = 'working';
  state.orders[order.id] = order;
  recordFarthestStop(desk.ctx, order.symbol);
  matchOrder(desk, order, v.quote, v.inst);
}

/** Remember a client order id, forgetting those of orders more than a window older (deterministic: by order number). */
function remember(state: AssessmentState, clientOrderId: string, orderId: string): void {
  state.clientOrderIds[clientOrderId] = orderId;
  const n = Number(orderId.slice(1));
  if (n - (state.clientOrderIdsFrom ?? 0) < 2 * CLIENT_ORDER_ID_WINDOW) return;
  const from = n - CLIENT_ORDER_ID_WINDOW;
  for (const cid in state.clientOrderIds) {
    const v = state.clientOrderIds[cid]!;
    // Refused ids (older snapshots) carry no order number: forgotten too.
    if (!(v.startsWith('o') && Number(v.slice(1)) > from)) delete state.clientOrderIds[cid];
  }
  state.clientOrderIdsFrom = from;
}

/** Change quantity or prices of a working order. */
export function modifyOrder(desk: Desk, cmd: Extract<Command, { kind: 'modify' }>): void {
  const order = desk.ctx.state.orders[cmd.orderId];
  if (order === undefined) {
    desk.emit({ type: 'command.ignored', reason: 'UNKNOWN_ORDER', detail: `no working order '${cmd.orderId}'` });
    return;
  }
  const qty = cmd.qty ?? order.qty;
  const bad =
    !(qty > order.filledQty + QTY_EPSILON) ||
    (cmd.limitPrice !== undefined && !(cmd.limitPrice > 0 && order.type === 'limit')) ||
    (cmd.stopPrice !== undefined && !(cmd.stopPrice > 0 && order.type === 'stop' && !order.triggered));
  if (bad) {
    desk.emit({
      type: 'command.ignored',
      reason: 'INVALID_ORDER',
      detail: `cannot modify ${order.id} that way (qty ${qty}, filled ${order.filledQty}, type ${order.type})`,
    });
    return;
  }
  // The modified order must pass every pre-trade check a new order would (margin, position limits, risk).
  const v = validate(
    desk,
    {
      kind: 'place',
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      qty: qty - order.filledQty,
      ...defined({
        limitPrice: cmd.limitPrice ?? order.limitPrice,
        stopPrice: cmd.stopPrice ?? order.stopPrice,
        stopLoss: order.stopLoss,
        takeProfit: order.takeProfit,
      }),
      reduceOnly: order.reduceOnly,
      tif: order.tif,
    },
    order.id,
  );
  if ('reason' in v) {
    desk.emit({ type: 'command.ignored', reason: v.reason, detail: `cannot modify ${order.id}: ${v.detail}` });
    return;
  }
  order.qty = qty;
  if (cmd.limitPrice !== undefined) order.limitPrice = cmd.limitPrice;
  if (cmd.stopPrice !== undefined) order.stopPrice = cmd.stopPrice;
  recordFarthestStop(desk.ctx, order.symbol);
  desk.emit({ type: 'order.modified', orderId: order.id, qty, limitPrice: order.limitPrice, stopPrice: order.stopPrice });
  const quote = desk.ctx.market.quote(order.symbol);
  const inst = desk.ctx.market.instrument(order.symbol);
  if (quote !== undefined && inst !== undefined) matchOrder(desk, order, quote, inst);
}

/** A trader's cancel: a stop protecting a position leaves only if the position's risk allows it. */
export function cancelRequested(desk: Desk, order: Order): void {
  if (isProtectiveStop(desk.ctx.state, order)) {
    const refusal = judgeProtection(desk, order.symbol, protectiveStops(desk.ctx.state, order.symbol, order.id));
    if (refusal !== undefined) {
      desk.emit({ type: 'command.ignored', reason: refusal.reason, detail: `cannot cancel ${order.id}: ${refusal.detail}` });
      return;
    }
  }
  cancelOrder(desk, order, 'REQUESTED');
}

/** Take a working order off the book. */
export function cancelOrder(desk: Desk, order: Order, reason: CancelReason): void {
  order.status = 'cancelled';
  delete desk.ctx.state.orders[order.id];
  desk.emit({ type: 'order.cancelled', orderId: order.id, reason });
}

/** Cancel every working order (optionally of one symbol). */
export function cancelAll(desk: Desk, reason: CancelReason, symbol?: string): void {
  for (const id in desk.ctx.state.orders) {
    const order = desk.ctx.state.orders[id]!;
    if (symbol === undefined || order.symbol === symbol) cancelOrder(desk, order, reason);
  }
}

/**
 * Match the working orders of one symbol against its latest quote, in order of arrival.
 * Judged at the later of the engine clock and the tick's stamp: a tick stamped after its
 * market's close, or inside a window that forbids trading, fills nothing.
 */
export function matchSymbol(desk: Desk, symbol: string): void {
  const quote = desk.ctx.market.quote(symbol);
  const inst = desk.ctx.market.instrument(symbol);
  if (quote === undefined || inst === undefined) return;
  const at = Math.max(desk.ctx.now, quote.ts);
  if (inst.closesAt !== undefined && at >= inst.closesAt) return;
  for (const id in desk.ctx.state.orders) {
    const order = desk.ctx.state.orders[id];
    if (order === undefined || order.symbol !== symbol || holdsFill(desk, order, at)) continue;
    matchOrder(desk, order, quote, inst);
  }
}

function holdsFill(desk: Desk, order: Order, at: number): boolean {
  for (const rule of desk.rules) if (rule.holdsFill?.(desk.ctx, order, at) === true) return true;
  return false;
}

/** Cancel the working orders of markets that have closed by now, before `before` (trading stops at `closesAt`). */
export function cancelClosed(desk: Desk, before = Infinity): void {
  const { state, market, now } = desk.ctx;
  for (const id in state.orders) {
    const order = state.orders[id]!;
    const closesAt = market.instrument(order.symbol)?.closesAt;
    if (closesAt !== undefined && closesAt <= now && closesAt < before) cancelOrder(desk, order, 'MARKET_CLOSED');
  }
}

/** The earliest close of a market this account has working orders on (Infinity if none). */
export function nextClose(state: AssessmentState, market: MarketView): number {
  let t = Infinity;
  for (const id in state.orders) {
    const closesAt = market.instrument(state.orders[id]!.symbol)?.closesAt;
    if (closesAt !== undefined && closesAt < t) t = closesAt;
  }
  return t;
}

function matchOrder(desk: Desk, order: Order, quote: Quote, inst: Instrument): void {
  const buy = order.side === 'buy';
  const touch = buy ? quote.ask : quote.bid;
  if (order.type === 'stop' && !order.triggered) {
    if (buy ? touch < order.stopPrice! : touch > order.stopPrice!) return;
    order.triggered = true;
    desk.emit({ type: 'order.triggered', orderId: order.id, price: touch });
  } else if (order.type === 'limit' && (buy ? touch > order.limitPrice! : touch < order.limitPrice!)) {
    return;
  }
  let qty = Math.min(order.qty - order.filledQty, (buy ? quote.askSize : quote.bidSize) ?? Infinity);
  if (order.reduceOnly) {
    const pos = desk.ctx.state.positions[order.symbol]?.qty ?? 0;
    const reducible = (buy ? pos < 0 : pos > 0) ? Math.abs(pos) : 0;
    if (reducible < QTY_EPSILON) {
      cancelOrder(desk, order, 'POSITION_CLOSED');
      return;
    }
    qty = Math.min(qty, reducible);
  }
  if (qty > QTY_EPSILON) fill(desk, order, qty, touch, quote.seq, inst, false);
}

/** Fill (part of) an order at a price, booking the position change and bracket children. */
export function fill(desk: Desk, order: Order, qty: number, price: number, tickSeq: number, inst: Instrument, liquidation: boolean): void {
  const { state, tier, now } = desk.ctx;
  const fee = qty * price * feeRate(tier, inst);
  const outcome = applyFill(state, order.symbol, order.side, qty, price, fee, now);
  order.avgFillPrice = (order.avgFillPrice * order.filledQty + price * qty) / (order.filledQty + qty);
  order.filledQty += qty;
  const remaining = order.qty - order.filledQty;
  order.status = remaining < QTY_EPSILON ? 'filled' : 'partially-filled';
  if (order.status === 'filled') delete state.orders[order.id];
  desk.emit({
    type: 'order.filled',
    orderId: order.id,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    qty,
    price,
    fee,
    remaining: Math.max(0, remaining),
    status: order.status,
    liquidation,
    tickSeq,
  });
  if (outcome.closed) desk.emit({ type: 'position.closed', symbol: order.symbol, realizedPnl: outcome.closedPnl, exitPrice: price });
  const pos = outcome.position;
  if (outcome.opened && pos !== undefined) {
    state.tradeCount++;
    if (!state.tradingDays.includes(state.dayIndex)) state.tradingDays.push(state.dayIndex);
    desk.emit({ type: 'position.opened', symbol: pos.symbol, qty: pos.qty, avgEntry: pos.avgEntry });
  } else if (!outcome.closed && pos !== undefined) {
    desk.emit({ type: 'position.changed', symbol: pos.symbol, qty: pos.qty, avgEntry: pos.avgEntry });
  }
  if (order.role === 'entry' && (order.stopLoss !== undefined || order.takeProfit !== undefined)) syncBracket(desk, order);
  if (order.parentId !== undefined) settleOco(desk, order, qty);
  dropStaleReduceOnly(desk, order.symbol);
}

/**
 * Close a whole position at once at the current quote, whatever its displayed
 * size (a flatten or a liquidation), through a market order of its own. The
 * order is never working, so it is not built: this emits what {@link fill}
 * would for it (a flash move liquidates thousands of accounts in one tick).
 */
export function closeAtQuote(desk: Desk, symbol: string, liquidation: boolean): void {
  const { state, market, tier, now } = desk.ctx;
  const pos = state.positions[symbol]!;
  const quote = market.quote(symbol);
  const price = quote === undefined ? pos.avgEntry : pos.qty > 0 ? quote.bid : quote.ask;
  const n = state.nextOrderNo++;
  const side = pos.qty > 0 ? 'sell' : 'buy';
  const qty = Math.abs(pos.qty);
  const fee = qty * price * feeRate(tier, market.instrument(symbol)!);
  const outcome = applyFill(state, symbol, side, qty, price, fee, now);
  desk.emit({
    type: 'order.filled',
    orderId: `o${n}`,
    clientOrderId: `${liquidation ? 'liquidation' : 'flatten'}-${n}`,
    symbol,
    side,
    qty,
    price,
    fee,
    remaining: 0,
    status: 'filled',
    liquidation,
    tickSeq: quote?.seq ?? 0,
  });
  // The whole position at its own size closes it and never flips it; `fill`'s other outcomes cannot occur.
  if (outcome.closed) desk.emit({ type: 'position.closed', symbol, realizedPnl: outcome.closedPnl, exitPrice: price });
  else if (outcome.position !== undefined)
    desk.emit({ type: 'position.changed', symbol, qty: outcome.position.qty, avgEntry: outcome.position.avgEntry });
  dropStaleReduceOnly(desk, symbol);
}

/** Keep a bracket's reduce-only children sized to what the entry has filled. */
function syncBracket(desk: Desk, entry: Order): void {
  const { state, now } = desk.ctx;
  const legs: Array<['stop-loss' | 'take-profit', number | undefined]> = [
    ['stop-loss', entry.stopLoss],
    ['take-profit', entry.takeProfit],
  ];
  for (const [role, price] of legs) {
    if (price === undefined) continue;
    const children = Object.values(state.orders).filter((o) => o.parentId === entry.id);
    const child = children.find((o) => o.role === role);
    if (child !== undefined) {
      // The legs together may close no more than the entry opened.
      const siblingFilled = children.filter((o) => o !== child).reduce((sum, o) => sum + o.filledQty, 0);
      child.qty = entry.filledQty - siblingFilled;
      desk.emit({ type: 'order.modified', orderId: child.id, qty: child.qty, limitPrice: child.limitPrice, stopPrice: child.stopPrice });
      continue;
    }
    const order: Order = {
      id: `o${state.nextOrderNo++}`,
      clientOrderId: `${entry.clientOrderId}:${role === 'stop-loss' ? 'sl' : 'tp'}`,
      symbol: entry.symbol,
      side: entry.side === 'buy' ? 'sell' : 'buy',
      type: role === 'stop-loss' ? 'stop' : 'limit',
      qty: entry.filledQty,
      filledQty: 0,
      avgFillPrice: 0,
      limitPrice: role === 'take-profit' ? price : undefined,
      stopPrice: role === 'stop-loss' ? price : undefined,
      triggered: false,
      reduceOnly: true,
      tif: 'gtc',
      status: 'working',
      role,
      stopLoss: undefined,
      takeProfit: undefined,
      parentId: entry.id,
      createdAt: now,
    };
    state.orders[order.id] = order;
    desk.emit({ type: 'order.accepted', order: { ...order } });
  }
  recordFarthestStop(desk.ctx, entry.symbol);
}

/** One bracket child filling shrinks (or, once filled, cancels) its sibling. */
function settleOco(desk: Desk, child: Order, qty: number): void {
  for (const id in desk.ctx.state.orders) {
    const sibling = desk.ctx.state.orders[id]!;
    if (sibling.parentId !== child.parentId || sibling.id === child.id) continue;
    if (child.status === 'filled') {
      cancelOrder(desk, sibling, 'OCO_SIBLING_FILLED');
    } else {
      sibling.qty = Math.max(sibling.filledQty, sibling.qty - qty);
      desk.emit({
        type: 'order.modified',
        orderId: sibling.id,
        qty: sibling.qty,
        limitPrice: sibling.limitPrice,
        stopPrice: sibling.stopPrice,
      });
    }
  }
}

/** Reduce-only orders whose position is gone (or flipped) can never fill: cancel them. */
function dropStaleReduceOnly(desk: Desk, symbol: string): void {
  const pos = desk.ctx.state.positions[symbol]?.qty ?? 0;
  for (const id in desk.ctx.state.orders) {
    const o = desk.ctx.state.orders[id]!;
    if (o.symbol !== symbol || !o.reduceOnly) continue;
    const reduces = o.side === 'buy' ? pos < -QTY_EPSILON : pos > QTY_EPSILON;
    if (!reduces) cancelOrder(desk, o, 'POSITION_CLOSED');
  }
}
