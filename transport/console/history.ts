/// <reference lib="dom" />
/**
 * What the console shows from the history read model: the equity curve and
 * the events up to the moment the page loads (so a reload starts with the
 * past, then goes on live), the report tab, and refusals in words.
 */
import type { AssessmentEvent } from '../../actors/index.js';
import { fmtMoney, fmtSigned } from './rules.js';
import { clock, el } from './view.js';

/** Fetches a JSON answer of the API with the trader's token (rejects on an error answer). */
export type Api = <T>(path: string, init?: RequestInit) => Promise<T>;

/** An event as the history (and the socket) carries it: with its identity. */
export type IdentifiedEvent = AssessmentEvent & { readonly input: number; readonly n: number };

/** A point of the history's equity series. */
export interface HistoryPoint {
  readonly t: number;
  readonly equity: number;
  readonly balance: number;
}

/** An event's identity, to show each event once whether the history or the socket brought it. */
export function identity(e: { input?: number; n?: number }): string | undefined {
  return typeof e.input === 'number' && typeof e.n === 'number' ? `${e.input}.${e.n}` : undefined;
}

/** The assessment's past: its equity series and its newest events (newest first); empty when the gateway keeps no history. */
export async function loadHistory(api: Api, id: string): Promise<{ points: HistoryPoint[]; events: IdentifiedEvent[] }> {
  const q = encodeURIComponent(id);
  const [equity, events] = await Promise.all([
    api<{ equity: { points: HistoryPoint[] } }>(`/v1/assessments/${q}/equity?points=300`).catch(() => undefined),
    api<{ events: IdentifiedEvent[] }>(`/v1/assessments/${q}/events?limit=200`).catch(() => undefined),
  ]);
  return { points: equity?.equity.points ?? [], events: events?.events ?? [] };
}

/** The fields of a stored report the tab shows. */
interface ReportView {
  readonly id: number;
  readonly kind: string;
  readonly trigger: string;
  readonly status: string | null;
  readonly body: {
    readonly asOf: number;
    readonly summary: {
      readonly decidingRule: { readonly ruleId: string; readonly kind: string; readonly detail: string } | null;
      readonly finalBalance: number | null;
      readonly phases: ReadonlyArray<{ readonly phase: string | null; readonly outcome: string }>;
    };
    readonly trades: { readonly count: number };
    readonly performance: {
      readonly netPnl: number;
      readonly winRate: number | null;
      readonly profitFactor: number | null;
      readonly expectancy: number | null;
      readonly sharpe: number | null;
      readonly sortino: number | null;
      readonly exposure: number;
      readonly tradesPerDay: number | null;
      readonly maxDrawdown: { readonly amount: number; readonly pct: number };
      readonly bestDay: { readonly pnl: number } | null;
      readonly worstDay: { readonly pnl: number } | null;
    };
    readonly risk: {
      readonly closestRule: string | null;
      readonly passProbability: ReadonlyArray<{ readonly at: number; readonly p: number | null }>;
    };
    readonly compliance: {
      readonly violations: ReadonlyArray<{ readonly ruleId: string; readonly at: number; readonly equity: number; readonly limit: number }>;
      readonly replay: { readonly commands: readonly string[]; readonly note: string };
    };
  };
}

const pct = (x: number | null, d = 1): string => (x === null ? '—' : `${(x * 100).toFixed(d)}%`);
const fixed = (x: number | null, d = 2): string => (x === null ? '—' : x.toFixed(d));

/** Fill the report tab: the newest report's figures, or how to get one; the buttons call back. */
export function renderReport(box: HTMLElement, report: ReportView | undefined, actions: { make(): void; page(): void; csv(): void }): void {
  const button = (label: string, id: string, f: () => void): HTMLElement => {
    const b = el('button', { type: 'button', id, class: 'ghost' }, label);
    b.addEventListener('click', f);
    return b;
  };
  const bar = el(
    'div',
    { class: 'report-actions' },
    button('Make a report now', 'report-make', actions.make),
    button('Download the page (HTML)', 'report-page', actions.page),
    button('Download trades (CSV)', 'report-csv', actions.csv),
  );
  if (report === undefined) {
    box.replaceChildren(
      el(
        'p',
        { class: 'muted', id: 'report-none' },
        'No report yet: one is made when the assessment ends or passes a phase, or now with the button below.',
      ),
      bar,
    );
    return;
  }
  const b = report.body;
  const p = b.performance;
  const d = b.summary.decidingRule;
  const pass = b.risk.passProbability.filter((x) => x.p !== null);
  const rows: Array<[string, string]> = [
    ['Status', `${report.status ?? '—'} (${report.kind}, ${report.trigger}) as of ${clock(b.asOf)} UTC`],
    ['Deciding rule', d === null ? 'none yet' : `${d.ruleId} (${d.kind}): ${d.detail}`],
    ['Phases', b.summary.phases.map((x) => `${x.phase ?? '?'} ${x.outcome}`).join(' → ') || '—'],
    ['Final balance', fmtMoney(b.summary.finalBalance)],
    ['Net P&L (trades)', `${fmtSigned(p.netPnl)} over ${b.trades.count} trades`],
    ['Win rate · profit factor', `${pct(p.winRate)} · ${fixed(p.profitFactor)}`],
    ['Expectancy', p.expectancy === null ? '—' : fmtSigned(p.expectancy)],
    [
      'Best · worst day',
      `${p.bestDay === null ? '—' : fmtSigned(p.bestDay.pnl)} · ${p.worstDay === null ? '—' : fmtSigned(p.worstDay.pnl)}`,
    ],
    ['Max drawdown', `${fmtMoney(p.maxDrawdown.amount)} (${pct(p.maxDrawdown.pct, 2)})`],
    ['Sharpe · Sortino', `${fixed(p.sharpe)} · ${fixed(p.sortino)}`],
    ['Exposure · trades per day', `${pct(p.exposure)} · ${fixed(p.tradesPerDay)}`],
    ['Closest rule', b.risk.closestRule ?? '—'],
    ['Pass probability', pass.length === 0 ? '—' : `${pct(pass.at(-1)!.p)} at ${clock(pass.at(-1)!.at)} (${pass.length} days estimated)`],
  ];
  const violations =
    b.compliance.violations.length === 0
      ? el('p', { class: 'ok-note' }, 'No violation.')
      : el(
          'ul',
          { class: 'v-pos' },
          ...b.compliance.violations.map((v) =>
            el('li', {}, `${clock(v.at)} ${v.ruleId}: equity ${fmtMoney(v.equity)} below ${fmtMoney(v.limit)}`),
          ),
        );
  const replay =
    b.compliance.replay.commands.length === 0
      ? el('p', { class: 'muted' }, b.compliance.replay.note)
      : el('pre', { class: 'replay' }, b.compliance.replay.commands.join('\n'));
  box.replaceChildren(
    el('h3', { id: 'report-title' }, `Report #${report.id}`),
    el(
      'table',
      { class: 'table report-figures' },
      el('tbody', {}, ...rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v)))),
    ),
    el('h3', {}, 'Violations'),
    violations,
    el('h3', {}, 'Replay'),
    replay,
    bar,
  );
}

/** Save a text answer of the API as a file (the page's policy allows no frames or new windows of our own). */
export async function download(path: string, token: string, name: string): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok)
    throw new Error(
      `${res.status} ${((await res.json().catch(() => ({}))) as { error?: { message?: string } }).error?.message ?? res.statusText}`,
    );
  const url = URL.createObjectURL(await res.blob());
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The report tab of the open assessment: loads the newest report, makes one on request, saves the page or the trades. */
export class ReportTab {
  readonly #o: { api: Api; token: () => string; box: HTMLElement; status: (text: string) => void };
  #id: string | undefined;
  #report: ReportView | undefined;

  constructor(o: { api: Api; token: () => string; box: HTMLElement; status: (text: string) => void }) {
    this.#o = o;
  }

  /** Another assessment is open: forget the last one's report. */
  open(id: string): void {
    this.#id = id;
    this.#report = undefined;
  }

  /** Fetch the newest report of `id` (none yet is not an error) and draw it if `id` is still open. */
  async load(id: string): Promise<void> {
    let report: ReportView | undefined;
    try {
      report = (await this.#o.api<{ report: ReportView }>(`/v1/assessments/${encodeURIComponent(id)}/report`)).report;
    } catch {
      report = undefined;
    }
    if (this.#id !== id) return;
    this.#report = report;
    this.draw();
  }

  draw(): void {
    const id = this.#id;
    if (id === undefined) return;
    const q = encodeURIComponent(id);
    const fail = (err: unknown): void => this.#o.status(err instanceof Error ? err.message : String(err));
    renderReport(this.#o.box, this.#report, {
      make: () => {
        this.#o.status('making a report…');
        void this.#o
          .api(`/v1/assessments/${q}/report`, { method: 'POST' })
          .then(() => this.load(id))
          .then(() => this.#o.status(''), fail);
      },
      page: () => void download(`/v1/assessments/${q}/report.html`, this.#o.token(), `${id}-report.html`).catch(fail),
      csv: () => void download(`/v1/assessments/${q}/trades.csv`, this.#o.token(), `${id}-trades.csv`).catch(fail),
    });
  }
}
