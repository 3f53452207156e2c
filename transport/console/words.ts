/**
 * Refusals in words for the console: the engine's reason codes as a trader
 * reads them, and the figures of its details with thousands separated
 * (the events themselves are left as the engine wrote them).
 */

const REASONS: Record<string, string> = {
  ASSESSMENT_NOT_ACTIVE: 'the assessment is not active',
  TRADING_LOCKED: 'trading is locked until the next reset',
  UNKNOWN_SYMBOL: 'unknown symbol',
  KIND_NOT_ALLOWED: 'this tier does not trade that kind of instrument',
  NO_MARKET_DATA: 'no quote yet for that symbol',
  MARKET_CLOSED: 'the market is closed',
  MARKET_RESOLVED: 'the market has resolved',
  INVALID_ORDER: 'the order is not valid',
  QTY_BELOW_MINIMUM: 'the quantity is below the minimum',
  INSUFFICIENT_MARGIN: 'not enough margin',
  RULE_WOULD_BE_BREACHED: 'it would break a rule',
  MISSING_STOP_LOSS: 'a stop loss is required',
  INVALID_STOP_LOSS: 'the stop loss is on the wrong side',
  RISK_PER_TRADE_EXCEEDED: 'it risks more than a trade may',
  MAX_QTY_EXCEEDED: 'over the position limit',
  MAX_NOTIONAL_EXCEEDED: 'over the notional limit',
  MAX_LEVERAGE_EXCEEDED: 'over the leverage limit',
  REDUCE_ONLY_WOULD_INCREASE: 'a reduce-only order would grow the position',
  NO_SHORT_BINARY: 'prediction shares cannot be sold short',
  BLACKOUT_WINDOW: 'inside a news blackout',
  WEEKEND_WINDOW: 'inside the weekend window',
  UNKNOWN_ORDER: 'no such working order',
  ORDER_NOT_WORKING: 'the order is no longer working',
  NOTHING_TO_CLOSE: 'no position to close',
  ACTOR_QUARANTINED: 'the assessment is quarantined',
  TOO_MANY_ORDERS: 'too many working orders',
  DUPLICATE_CLIENT_ORDER_ID: 'this order was already sent',
};

const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fine = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** Numbers in an engine detail as people write them: thousands separated, whole above 1,000. */
function readable(detail: string): string {
  return detail.replace(/-?\d+(?:\.\d+)?/g, (m) => {
    const x = Number(m);
    if (!Number.isFinite(x) || (Math.abs(x) < 1_000 && !m.includes('.'))) return m;
    return Math.abs(x) >= 1_000 ? whole.format(x) : fine.format(x);
  });
}

/** A refusal in words: "not enough margin: needs $1,995,449 margin, $74,678 free". */
export function reasonInWords(reason: string, detail: string): string {
  const words = REASONS[reason] ?? reason.toLowerCase().replaceAll('_', ' ');
  const margin = /^needs (\d+(?:\.\d+)?) margin, (-?\d+(?:\.\d+)?) free$/.exec(detail);
  if (margin !== null) return `${words}: needs $${whole.format(Number(margin[1]))} margin, $${whole.format(Number(margin[2]))} free`;
  return detail === '' ? words : `${words}: ${readable(detail)}`;
}
