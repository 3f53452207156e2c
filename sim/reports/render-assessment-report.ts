/**
 * An assessment report as one self-contained HTML page (the Monte Carlo
 * report is the model): inline CSS and SVG, no scripts, no external assets,
 * print rules for A4, so it can be saved, mailed or printed to PDF and read
 * the same. A pure function of the report: the same report, the same bytes.
 */
import { escapeHtml, formatNumber, formatPercent, formatSigned, PALETTE } from '../montecarlo/svg-charts.js';
import type { AssessmentReport } from './assessment-report.js';
import { dailyBars, equityChart, formatTime, headroomChart, passChart } from './report-charts.js';

/** Trades listed on the page (the newest); the rest are in the CSV. */
const PAGE_TRADES = 100;
/** Days listed on the page (the newest). */
const PAGE_DAYS = 60;

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:${PALETTE.ink};font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:960px;margin:0 auto;padding:28px 20px 36px}
h1{font-size:22px;line-height:1.25;margin:0 0 2px;font-weight:650}
.kicker{font-size:12px;letter-spacing:.06em;text-transform:uppercase;color:#57606a;margin:0 0 4px}
h2{font-size:16px;margin:0 0 2px;font-weight:620}
h3{font-size:14px;margin:14px 0 4px}
.note{color:#57606a;font-size:12.5px;margin:0 0 12px}
.inputs{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:8px 20px;margin:14px 0 0;padding:12px 16px;background:#fff;border:1px solid #e1e4e8;border-radius:8px}
.inputs dt{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:#6e7781}
.inputs dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:14px 16px;border-top:3px solid var(--accent,#8a8f96)}
.card .label{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:#57606a}
.card .value{font-size:24px;font-weight:650;line-height:1.2;margin:4px 0 2px;font-variant-numeric:tabular-nums}
.card .sub{font-size:12.5px;color:#57606a}
.panel{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 18px;margin-top:16px}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:12.5px;color:#3a3f45;margin:0 0 6px;padding:0;list-style:none}
.sw{display:inline-block;width:18px;height:0;border-top:2px solid;margin-right:6px;vertical-align:3px}
.sw.dash{border-top-style:dashed}
.empty{padding:20px;text-align:center;color:#6e7781;background:#fafbfc;border:1px dashed #d0d7de;border-radius:6px}
svg{display:block;width:100%;height:auto;overflow:visible}
svg text{font-family:inherit;font-size:12px;fill:#3a3f45}
svg .tick{fill:#57606a;font-variant-numeric:tabular-nums}
svg .axis-title{fill:#57606a;font-size:12px}
svg .grid{stroke:#eceef1;stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:12.5px}
th,td{padding:5px 8px;text-align:right;border-bottom:1px solid #eaecef;white-space:nowrap}
th{font-size:12px;color:#57606a;font-weight:600}
th:first-child,td:first-child,td.l,th.l{text-align:left}
td.wrap{white-space:normal;text-align:left}
.pos{color:#00694d}.neg{color:#a34400}
code,pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:6px;padding:10px 12px;white-space:pre-wrap;overflow-wrap:anywhere;margin:6px 0}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-size:12px;font-weight:650;text-transform:uppercase;letter-spacing:.05em;background:#e1e4e8}
.badge.passed{background:#d1f0e4;color:#00694d}.badge.failed,.badge.expired{background:#fbe3d5;color:#a34400}
footer{margin-top:16px;font-size:12px;color:#6e7781}
@media (max-width:640px){.cards{grid-template-columns:repeat(2,minmax(0,1fr))}.inputs{grid-template-columns:repeat(2,minmax(0,1fr))}.table-wrap{overflow-x:auto}}
@media print{@page{size:A4;margin:12mm}body{background:#fff;font-size:11px}main{max-width:none;padding:0}.panel,.card{break-inside:avoid;border-color:#ccc}table{font-size:10px}}
`;

const money = (x: number | null | undefined, d = 2): string => (x === null || x === undefined ? '—' : formatNumber(x, d));
const signed = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : formatSigned(x, 2));
const pct = (x: number | null | undefined, d = 1): string => (x === null || x === undefined ? '—' : formatPercent(x, d));
const cls = (x: number | null | undefined): string => (x === null || x === undefined || x === 0 ? '' : x > 0 ? 'pos' : 'neg');
const esc = (s: unknown): string => escapeHtml(String(s ?? '—'));
const duration = (ms: number | null): string => {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const h = ms / 3_600_000;
  return h >= 48 ? `${formatNumber(h / 24, 1)} days` : h >= 1 ? `${formatNumber(h, 1)} h` : `${formatNumber(ms / 60_000, 0)} min`;
};

function card(label: string, value: string, sub: string, accent: string): string {
  return `<div class="card" style="--accent:${accent}"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div></div>`;
}

function table(head: readonly string[], rows: readonly string[][]): string {
  return `<div class="table-wrap"><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table></div>`;
}

/** The report as a complete HTML document. */
export function renderAssessmentReport(r: AssessmentReport): string {
  const s = r.summary;
  const title = `Assessment report — ${r.assessmentId}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<header><p class="kicker">Assessment report</p><h1>${escapeHtml(r.assessmentId)} <span class="badge ${esc(s.status)}">${esc(s.status)}</span></h1>` +
      `<dl class="inputs">${[
        ['Tier', `${s.tier.name ?? s.tier.id ?? '—'} (${s.tier.id ?? '—'} v${s.tier.version ?? '—'})`],
        ['Trader', r.traderId ?? '—'],
        ['Trigger', r.trigger],
        ['Created', s.createdAt === null ? '—' : formatTime(s.createdAt)],
        ['Ended', s.endedAt === null ? 'still running' : formatTime(s.endedAt)],
        ['As of', formatTime(r.asOf)],
      ]
        .map(([k, v]) => `<div><dt>${k}</dt><dd>${escapeHtml(v!)}</dd></div>`)
        .join('')}</dl></header>`,
    headline(r),
    summarySection(r),
    equitySection(r),
    performanceSection(r),
    daysSection(r),
    riskSection(r),
    complianceSection(r),
    tradesSection(r),
    `<footer>Times are the feed's (the engine's clock), in UTC. Figures from the history read model: each domain event once, folded in order. Report version ${r.version}.</footer>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function headline(r: AssessmentReport): string {
  const p = r.performance;
  const s = r.summary;
  const ret = s.finalBalance !== null && s.startingBalance !== null ? s.finalBalance - s.startingBalance : null;
  return `<section class="cards" aria-label="Headline">${[
    card(
      'Final balance',
      money(s.finalBalance, 0),
      `${signed(ret)} on ${money(s.startingBalance, 0)}`,
      ret !== null && ret < 0 ? PALETTE.vermillion : PALETTE.green,
    ),
    card('Net P&amp;L (trades)', signed(p.netPnl), `${formatNumber(p.trades)} trades · fees ${money(p.fees)}`, PALETTE.blue),
    card('Win rate', pct(p.winRate), `profit factor ${p.profitFactor === null ? '—' : formatNumber(p.profitFactor, 2)}`, PALETTE.sky),
    card(
      'Max drawdown',
      money(p.maxDrawdown.amount),
      `${pct(p.maxDrawdown.pct, 2)} of its peak · ${duration(p.maxDrawdown.durationMs)}`,
      PALETTE.orange,
    ),
  ].join('')}</section>`;
}

function summarySection(r: AssessmentReport): string {
  const s = r.summary;
  const phases =
    s.phases.length === 0
      ? '<div class="empty">No phase started.</div>'
      : table(
          ['Phase', 'Started', 'Ended', 'Outcome', 'Start balance', 'End balance'],
          s.phases.map((p) => [
            `<td>${esc(p.phase)}</td>`,
            `<td>${formatTime(p.startedAt)}</td>`,
            `<td>${p.endedAt === null ? '—' : formatTime(p.endedAt)}</td>`,
            `<td>${esc(p.outcome)}</td>`,
            `<td>${money(p.startBalance)}</td>`,
            `<td>${money(p.endBalance)}</td>`,
          ]),
        );
  const d = s.decidingRule;
  const decided =
    d === null
      ? '<p class="note">No verdict yet: the assessment is still running.</p>'
      : `<h3>Deciding rule: ${esc(d.ruleId)} (${esc(d.kind)}) at ${formatTime(d.at)}</h3><p>${esc(d.detail)}</p>${d.evidence === null ? '' : `<pre>${escapeHtml(JSON.stringify(d.evidence, null, 2))}</pre>`}`;
  return `<section class="panel"><h2>Summary</h2><p class="note">The phase path and the rule that decided the assessment, with the engine's evidence.</p>${phases}${decided}</section>`;
}

function equitySection(r: AssessmentReport): string {
  const pts = r.equity.points;
  const intro = `<h2>Equity</h2><p class="note">Equity at the end of each ${duration(r.equity.resolutionMs)} bucket (positions marked at the bucket's last quotes), shaded down to the bucket's low; the closed balance; the floors in force. Dots are violations.</p>`;
  if (pts.length < 2) return `<section class="panel">${intro}<div class="empty">Not enough history for a chart.</div></section>`;
  const legend =
    `<ul class="legend"><li><span class="sw" style="border-color:${PALETTE.blue}"></span>Equity</li><li><span class="sw" style="border-color:#4a4f57"></span>Balance</li>` +
    `<li><span class="sw dash" style="border-color:${PALETTE.orange}"></span>Daily floor</li><li><span class="sw dash" style="border-color:${PALETTE.vermillion}"></span>Max-loss floor</li>` +
    `<li><span class="sw dash" style="border-color:${PALETTE.green}"></span>Target</li></ul>`;
  const chart = equityChart({
    t: pts.map((p) => p.t),
    equity: pts.map((p) => p.equity),
    low: pts.map((p) => p.low),
    balance: pts.map((p) => p.balance),
    dailyFloor: pts.map((p) => p.dailyFloor),
    maxLossFloor: pts.map((p) => p.maxLossFloor),
    target: null,
    marks: r.compliance.violations.map((v) => ({
      at: v.at,
      equity: v.equity,
      label: `${v.ruleId}: equity ${money(v.equity)} below ${money(v.limit)}`,
    })),
  });
  return `<section class="panel">${intro}${legend}${chart}</section>`;
}

function performanceSection(r: AssessmentReport): string {
  const p = r.performance;
  const day = (d: typeof p.bestDay): string => (d === null ? '—' : `${signed(d.pnl)} (${formatTime(d.startedAt).slice(0, 10)})`);
  const rows: Array<[string, string]> = [
    ['Trades (closed · open)', `${formatNumber(p.trades)} · ${formatNumber(p.openTrades)}`],
    ['Wins · losses', `${formatNumber(p.wins)} · ${formatNumber(p.losses)}`],
    ['Net P&amp;L of trades', signed(p.netPnl)],
    ['Realized P&amp;L of days', signed(p.realizedPnl)],
    ['Gross profit · gross loss', `${money(p.grossProfit)} · ${money(p.grossLoss)}`],
    ['Win rate', pct(p.winRate)],
    ['Profit factor', p.profitFactor === null ? '—' : formatNumber(p.profitFactor, 3)],
    ['Expectancy per trade', signed(p.expectancy)],
    ['Average win · average loss', `${signed(p.avgWin)} · ${signed(p.avgLoss)}`],
    ['Largest win · largest loss', `${signed(p.largestWin)} · ${signed(p.largestLoss)}`],
    ['Best day · worst day', `${day(p.bestDay)} · ${day(p.worstDay)}`],
    ['Days · trades per day', `${formatNumber(p.days)} · ${p.tradesPerDay === null ? '—' : formatNumber(p.tradesPerDay, 2)}`],
    ['Daily return mean · std', `${pct(p.dailyMean, 3)} · ${pct(p.dailyStd, 3)}`],
    [
      'Sharpe · Sortino (annualized)',
      `${p.sharpe === null ? '—' : formatNumber(p.sharpe, 2)} · ${p.sortino === null ? '—' : formatNumber(p.sortino, 2)}`,
    ],
    [
      'Max drawdown',
      `${money(p.maxDrawdown.amount)} (${pct(p.maxDrawdown.pct, 2)}) · ${duration(p.maxDrawdown.durationMs)}${p.maxDrawdown.amount > 0 && p.maxDrawdown.recoveredAt === null ? ', not recovered' : ''}`,
    ],
    ['Exposure · average holding', `${pct(p.exposure)} · ${duration(p.avgHoldingMs)}`],
    ['Fees', money(p.fees)],
  ];
  return `<section class="panel"><h2>Performance</h2><p class="note">${escapeHtml(p.convention)}</p>${table(
    ['Figure', 'Value'],
    rows.map(([k, v]) => [`<td>${k}</td>`, `<td>${v}</td>`]),
  )}</section>`;
}

function daysSection(r: AssessmentReport): string {
  const days = r.days;
  const intro =
    '<h2>Days</h2><p class="note">Realized P&amp;L per trading day (reset to reset) with the floors it opened with and its closing balance.</p>';
  if (days.length === 0) return `<section class="panel">${intro}<div class="empty">No trading day yet.</div></section>`;
  const chart = dailyBars(
    days.map((d) => ({ at: d.startedAt, pnl: d.realizedPnl, label: `${formatTime(d.startedAt).slice(0, 10)}: ${signed(d.realizedPnl)}` })),
  );
  const shown = days.slice(-PAGE_DAYS);
  const rows = shown.map((d) => [
    `<td>${d.phaseIndex}/${d.dayIndex}</td>`,
    `<td>${formatTime(d.startedAt)}</td>`,
    `<td>${money(d.startBalance)}</td>`,
    `<td>${money(d.dailyFloor)}</td>`,
    `<td>${money(d.maxLossFloor)}</td>`,
    `<td class="${cls(d.realizedPnl)}">${signed(d.realizedPnl)}</td>`,
    `<td>${formatNumber(d.tradesOpened)}</td>`,
    `<td>${money(d.endBalance)}</td>`,
  ]);
  const more =
    days.length > shown.length ? `<p class="note">The last ${shown.length} of ${days.length} days; all are in the JSON report.</p>` : '';
  return `<section class="panel">${intro}${chart}${more}${table(['Phase/day', 'Started', 'Opening balance', 'Daily floor', 'Max-loss floor', 'Realized', 'Trades', 'Closing balance'], rows)}</section>`;
}

function riskSection(r: AssessmentReport): string {
  const k = r.risk;
  const h = k.headroom;
  const chart =
    h.length < 2
      ? '<div class="empty">Not enough history for a chart.</div>'
      : `<ul class="legend"><li><span class="sw" style="border-color:${PALETTE.orange}"></span>Room to the daily floor</li><li><span class="sw" style="border-color:${PALETTE.vermillion}"></span>Room to the max-loss floor</li></ul>` +
        headroomChart(
          h.map((p) => p.t),
          h.map((p) => p.dailyRoom),
          h.map((p) => p.maxLossRoom),
        );
  const closest = [k.closest.daily, k.closest.maxLoss]
    .filter((c) => c !== null)
    .map((c) => [
      `<td>${esc(c!.ruleId)}${k.closestRule === c!.ruleId ? ' (closest)' : ''}</td>`,
      `<td class="${cls(c!.room)}">${signed(c!.room)}</td>`,
      `<td>${pct(c!.share, 2)}</td>`,
      `<td>${formatTime(c!.at)}</td>`,
      `<td>${money(c!.equity)}</td>`,
      `<td>${money(c!.floor)}</td>`,
      `<td>${c!.breached ? 'breached' : 'held'}</td>`,
    ]);
  const est = k.passProbability.filter((e) => e.p !== null) as Array<{ at: number; p: number; lo: number; hi: number }>;
  const pass =
    est.length < 2
      ? `<div class="empty">${k.passProbability.length === 0 ? 'No pass probability was estimated.' : 'Too few days with a result for a chart.'}</div>`
      : passChart(est);
  return (
    `<section class="panel"><h2>Risk</h2><p class="note">${escapeHtml(k.method)}</p>${chart}<h3>Closest approach to each floor</h3>` +
    `${closest.length === 0 ? '<div class="empty">No floor in this tier.</div>' : table(['Rule', 'Least room', 'Of the account', 'When', 'Equity', 'Floor', 'Outcome'], closest)}` +
    `<h3>Pass probability as of each day</h3>${pass}</section>`
  );
}

function complianceSection(r: AssessmentReport): string {
  const c = r.compliance;
  const v =
    c.violations.length === 0
      ? '<div class="empty">No violation.</div>'
      : table(
          ['#', 'When', 'Rule', 'Severity', 'Cause', 'Equity', 'Floor', 'Positions', 'Rule version'],
          c.violations.map((x) => [
            `<td>${x.no}</td>`,
            `<td>${formatTime(x.at)}</td>`,
            `<td>${esc(x.ruleId)}</td>`,
            `<td>${esc(x.severity)}</td>`,
            `<td class="wrap">${escapeHtml(cause(x.cause))}</td>`,
            `<td>${money(x.equity)}</td>`,
            `<td>${money(x.limit)}</td>`,
            `<td class="wrap">${escapeHtml(x.positions.map((p) => `${p.symbol} ${formatNumber(p.qty, 4)} @ ${money(p.avgEntry)} mark ${money(p.mark)} (${signed(p.unrealizedPnl)})`).join('; ') || 'flat')}</td>`,
            `<td>${esc(x.tierId)} v${x.tierVersion}</td>`,
          ]),
        );
  const e =
    c.episodes.length === 0
      ? '<div class="empty">No pass-blocked episode or soft lock.</div>'
      : table(
          ['Kind', 'From', 'To', 'Rule', 'Detail', 'Balance', 'Positions'],
          c.episodes.map((x) => [
            `<td>${esc(x.kind)}</td>`,
            `<td>${formatTime(x.at)}</td>`,
            `<td>${x.endedAt === null ? 'open' : formatTime(x.endedAt)}</td>`,
            `<td>${esc(x.ruleId)}</td>`,
            `<td class="wrap">${esc(x.detail)}</td>`,
            `<td>${money(x.balance)}</td>`,
            `<td class="wrap">${escapeHtml(x.positions.map((p) => `${p.symbol} ${formatNumber(p.qty, 4)} @ ${money(p.avgEntry)}`).join('; ') || 'flat')}</td>`,
          ]),
        );
  const replay =
    c.replay.commands.length === 0
      ? `<p class="note">${escapeHtml(c.replay.note)}</p>`
      : `<p class="note">${escapeHtml(c.replay.note)} Each record above is the line the replay prints with the same type, assessment, instant and figures.</p><pre>${escapeHtml(c.replay.commands.join('\n'))}</pre>`;
  return (
    `<section class="panel"><h2>Compliance</h2><p class="note">Every violation with the engine's evidence, every pass-blocked episode and soft lock, and the command that replays them.</p>` +
    `<h3>Violations</h3>${v}<h3>Episodes</h3>${e}<h3>Replay</h3>${replay}</section>`
  );
}

function cause(c: AssessmentReport['compliance']['violations'][number]['cause']): string {
  if (c.kind === 'tick') return `tick #${c.seq} ${c.symbol} ${money(c.bid)}/${money(c.ask)} at ${formatTime(c.ts)}`;
  if (c.kind === 'resolution') return `resolution #${c.seq} ${c.market} → ${c.outcome}`;
  return `${c.kind} at ${formatTime(c.time)}`;
}

function tradesSection(r: AssessmentReport): string {
  const t = r.trades.items.slice(-PAGE_TRADES);
  const intro = `<h2>Trades</h2><p class="note">${formatNumber(r.trades.count)} round trips (${formatNumber(r.trades.open)} open); the newest ${t.length} below. Every one: <code>GET /v1/assessments/${escapeHtml(encodeURIComponent(r.assessmentId))}/trades.csv</code>.</p>`;
  if (t.length === 0) return `<section class="panel">${intro}<div class="empty">No trade.</div></section>`;
  const rows = t.map((x) => [
    `<td>${x.no}</td>`,
    `<td class="l">${esc(x.symbol)}</td>`,
    `<td>${esc(x.side)}</td>`,
    `<td>${formatNumber(x.maxQty, 4)}</td>`,
    `<td>${money(x.entryPrice)}</td>`,
    `<td>${money(x.exitPrice)}</td>`,
    `<td>${formatTime(x.openedAt)}</td>`,
    `<td>${duration(x.closedAt === null ? null : x.closedAt - x.openedAt)}</td>`,
    `<td class="${cls(x.netPnl)}">${signed(x.netPnl)}</td>`,
    `<td>${money(x.fees)}</td>`,
    `<td>${esc(x.open ? 'open' : x.closedBy)}</td>`,
  ]);
  return `<section class="panel">${intro}${table(['#', 'Symbol', 'Side', 'Size', 'Entry', 'Exit', 'Opened', 'Held', 'Net P&amp;L', 'Fees', 'Closed by'], rows)}</section>`;
}
