/**
 * Round trips as CSV (RFC 4180: a header, comma-separated, CRLF line ends,
 * quoted where a field needs it). Times are ISO 8601 UTC; numbers as
 * JavaScript writes them (exact round trip); empty for none.
 */
import type { TradeRow } from '../../persistence/index.js';

const COLUMNS: Array<[string, (t: TradeRow) => string | number | boolean | null]> = [
  ['no', (t) => t.no],
  ['phase_index', (t) => t.phaseIndex],
  ['symbol', (t) => t.symbol],
  ['side', (t) => t.side],
  ['open', (t) => t.open],
  ['opened_at', (t) => iso(t.openedAt)],
  ['closed_at', (t) => (t.closedAt === null ? null : iso(t.closedAt))],
  ['holding_s', (t) => (t.closedAt === null ? null : (t.closedAt - t.openedAt) / 1000)],
  ['max_qty', (t) => t.maxQty],
  ['entry_qty', (t) => t.entryQty],
  ['entry_price', (t) => t.entryPrice],
  ['exit_qty', (t) => t.exitQty],
  ['exit_price', (t) => t.exitPrice],
  ['gross_pnl', (t) => t.grossPnl],
  ['fees', (t) => t.fees],
  ['net_pnl', (t) => t.netPnl],
  ['closed_by', (t) => t.closedBy],
  ['fills', (t) => t.fills],
  ['stop_loss', (t) => t.stopLoss],
  ['take_profit', (t) => t.takeProfit],
  ['daily_floor_at_open', (t) => t.dailyFloor],
  ['max_loss_floor_at_open', (t) => t.maxLossFloor],
  ['balance_at_open', (t) => t.balanceAtOpen],
];

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function field(v: string | number | boolean | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The CSV text of `trades` (header included). */
export function tradesCsv(trades: readonly TradeRow[]): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const t of trades) lines.push(COLUMNS.map(([, get]) => field(get(t))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
