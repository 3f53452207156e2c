/**
 * The HTTP routes of history and reports (trades, fills, days, equity,
 * events, the report as JSON and HTML, the trades as CSV, and the operator's
 * report list and regeneration): answered for the assessment's own trader or
 * an operator, paged within bounds (sim/reports/history-api.ts). Without a
 * history service they answer 503.
 */
import type { HistoryApi } from '../../sim/index.js';
import { HttpError } from './errors.js';
import type { HttpApiOptions } from './http-api-options.js';
import { RawAnswer } from './http-json.js';
import { asker, type HttpRouter } from './http-router.js';

/** Registers the history and report routes on the router. */
export function historyRoutes(r: HttpRouter, o: HttpApiOptions): void {
  const history = (): HistoryApi => {
    if (o.history === undefined) throw new HttpError(503, 'HISTORY_DISABLED', 'history and reports are not configured on this gateway');
    return o.history;
  };
  r.route('trades', async (ctx) => {
    const p = await r.principal(ctx);
    return history().trades(asker(p), ctx.params[0]!, ctx.query);
  });
  r.route('tradesCsv', async (ctx) => {
    const p = await r.principal(ctx);
    return new RawAnswer('text/csv; charset=utf-8', await history().tradesCsv(asker(p), ctx.params[0]!, ctx.query));
  });
  r.route('fills', async (ctx) => {
    const p = await r.principal(ctx);
    return history().fills(asker(p), ctx.params[0]!, ctx.query);
  });
  r.route('days', async (ctx) => {
    const p = await r.principal(ctx);
    return history().days(asker(p), ctx.params[0]!, ctx.query);
  });
  r.route('equity', async (ctx) => {
    const p = await r.principal(ctx);
    return history().equity(asker(p), ctx.params[0]!, ctx.query);
  });
  r.route('events', async (ctx) => {
    const p = await r.principal(ctx);
    return history().events(asker(p), ctx.params[0]!, ctx.query);
  });
  r.route('report', async (ctx) => {
    const p = await r.principal(ctx);
    return history().report(asker(p), ctx.params[0]!);
  });
  r.route('reportHtml', async (ctx) => {
    const p = await r.principal(ctx);
    return new RawAnswer('text/html; charset=utf-8', await history().reportHtml(asker(p), ctx.params[0]!));
  });
  r.route('requestReport', async (ctx) => {
    const p = await r.principal(ctx);
    return history().requestReport(asker(p), ctx.params[0]!);
  });
  r.route('operatorReports', async (ctx) => {
    const p = await r.principal(ctx);
    if (!p.roles.has('operator')) throw new HttpError(403, 'FORBIDDEN', 'operators only');
    return history().listReports(asker(p), ctx.query);
  });
  r.route('regenerateReport', async (ctx) => {
    const p = await r.principal(ctx);
    if (!p.roles.has('operator')) throw new HttpError(403, 'FORBIDDEN', 'operators only');
    return history().regenerate(asker(p), ctx.params[0]!);
  });
}
