/// <reference lib="dom" />
/**
 * Rendering for the console: small builders that turn the assessment's
 * figures, positions, rule meters, violations and events into DOM. No
 * framework: each panel is rebuilt from data (they are small), and text
 * always goes through textContent, never HTML.
 */
import type { AssessmentEvent, Expiry, PositionEvidence, Violation } from '../../actors/index.js';
import type { KernelEvent } from '../../engine/index.js';
import { fmtMoney, fmtSigned, type Meter } from './rules.js';
import { reasonInWords } from './words.js';

type Child = Node | string | null | undefined | false;

/** Create an element with attributes (`class`, `data-*`, …) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** The element with this id; the page is static, so a missing one is a bug worth failing on. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`console page has no #${id}`);
  return e as T;
}

/** Engine time as `HH:MM:SS` UTC (the engine's clock, not the browser's). */
/** Sets an element's text, and its class when given. */
export function setText(id: string, text: string, cls?: string): void {
  const e = byId(id);
  e.textContent = text;
  if (cls !== undefined) e.className = cls;
}

export function clock(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString().slice(11, 19) : '—';
}

/** Quantities: as many decimals as they carry, up to 6. */
export function fmtQty(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 6 });
}

/** Profit and loss colour class. */
export function pnlClass(n: number): string {
  return n > 0 ? 'pos' : n < 0 ? 'neg' : '';
}

/** An assessment row of GET /v1/assessments. */
export interface AssessmentRow {
  readonly id: string;
  readonly tierId: string;
  readonly status: string;
  readonly phaseIndex: number;
  readonly balance: number;
}

/** The trader's assessments, the picked one marked. */
export function renderAssessments(
  ul: HTMLElement,
  rows: readonly AssessmentRow[],
  selected: string | undefined,
  tierName: (id: string) => string,
  pick: (id: string) => void,
): void {
  ul.replaceChildren(
    ...rows.map((r) => {
      const li = el(
        'li',
        { class: r.id === selected ? 'item selected' : 'item', 'data-assessment': r.id, tabindex: '0', role: 'button' },
        el('div', { class: 'item-top' }, el('span', { class: 'item-id' }, r.id), el('span', { class: `badge ${r.status}` }, r.status)),
        el('div', { class: 'item-sub' }, el('span', {}, tierName(r.tierId)), el('span', { class: 'num' }, fmtMoney(r.balance))),
      );
      li.addEventListener('click', () => pick(r.id));
      li.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') pick(r.id);
      });
      return li;
    }),
  );
  if (rows.length === 0) ul.replaceChildren(el('li', { class: 'muted' }, 'No assessments for this trader.'));
}

/** Open positions with marks; each row can be closed at market. */
export function renderPositions(tbody: HTMLElement, positions: readonly PositionEvidence[], close: (symbol: string) => void): void {
  if (positions.length === 0) {
    tbody.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: '7' }, 'Flat: no open positions.')));
    return;
  }
  tbody.replaceChildren(
    ...positions.map((p) => {
      const btn = el('button', { class: 'mini', type: 'button', title: `Close ${p.symbol} at market` }, 'Close');
      btn.addEventListener('click', () => close(p.symbol));
      return el(
        'tr',
        { 'data-symbol': p.symbol },
        el('td', { class: 'sym' }, p.symbol),
        el('td', { class: p.qty > 0 ? 'side buy' : 'side sell' }, p.qty > 0 ? 'LONG' : 'SHORT'),
        el('td', { class: 'num' }, fmtQty(p.qty)),
        el('td', { class: 'num' }, fmtMoney(p.avgEntry)),
        el('td', { class: 'num' }, fmtMoney(p.mark)),
        el('td', { class: `num ${pnlClass(p.unrealizedPnl)}` }, fmtSigned(p.unrealizedPnl)),
        el('td', { class: 'act' }, btn),
      );
    }),
  );
}

/** One bar per rule. */
export function renderMeters(box: HTMLElement, ms: readonly Meter[]): void {
  if (ms.length === 0) {
    box.replaceChildren(el('p', { class: 'muted' }, 'Pick an assessment to see its rules.'));
    return;
  }
  box.replaceChildren(
    ...ms.map((m) => {
      const bar = el('div', { class: `bar ${m.tone}` });
      bar.style.width = `${(m.fill * 100).toFixed(1)}%`; // CSSOM, not a style attribute: allowed by the CSP
      return el(
        'div',
        { class: 'meter', 'data-rule': m.id },
        el('div', { class: 'meter-head' }, el('span', {}, m.label), el('span', { class: `num ${m.tone}` }, m.value)),
        el('div', { class: 'track' }, bar),
        el('div', { class: 'meter-detail' }, m.detail),
      );
    }),
  );
}

function cause(v: Violation): string {
  const c = v.cause;
  switch (c.kind) {
    case 'tick':
      return `tick #${c.seq} ${c.symbol} bid ${fmtMoney(c.bid)} / ask ${fmtMoney(c.ask)} at ${clock(c.ts)}`;
    case 'clock':
      return `clock at ${clock(c.time)}`;
    case 'command':
      return `command at ${clock(c.time)}`;
    case 'resolution':
      return `resolution #${c.seq} ${c.market} → ${c.outcome}`;
  }
}

/** A time limit that ended the assessment: its instants, not money figures. */
function expiryBox(x: Expiry): HTMLElement {
  return el(
    'div',
    { class: 'violation hard', 'data-rule': x.ruleId },
    el(
      'div',
      { class: 'v-head' },
      el('span', { class: 'v-rule' }, x.ruleId),
      el('span', { class: 'badge failed' }, 'expired'),
      el('span', { class: 'muted' }, clock(x.deadline)),
    ),
    el('div', { class: 'v-detail' }, x.detail),
    el(
      'dl',
      { class: 'v-grid' },
      el('dt', {}, 'deadline'),
      el('dd', {}, clock(x.deadline)),
      el('dt', {}, 'limit'),
      el('dd', { class: 'num' }, `${x.days} days`),
      el('dt', {}, 'last activity'),
      el('dd', {}, clock(x.lastActivityAt)),
      el('dt', {}, 'phase start'),
      el('dd', {}, clock(x.phaseStartedAt)),
    ),
  );
}

/** Violations, newest first, each with the evidence the engine recorded; an expiry first when there is one. */
export function renderViolations(box: HTMLElement, vs: readonly Violation[], expiry?: Expiry): void {
  if (vs.length === 0 && expiry === undefined) {
    box.replaceChildren(el('p', { class: 'muted ok-note' }, 'No violations.'));
    return;
  }
  box.replaceChildren(
    ...(expiry === undefined ? [] : [expiryBox(expiry)]),
    ...[...vs]
      .reverse()
      .map((v) =>
        el(
          'div',
          { class: `violation ${v.severity}`, 'data-rule': v.ruleId },
          el(
            'div',
            { class: 'v-head' },
            el('span', { class: 'v-rule' }, v.ruleId),
            el('span', { class: `badge ${v.severity === 'hard' ? 'failed' : 'paused'}` }, v.severity),
            el('span', { class: 'muted' }, `${clock(v.at)} · ${v.phase}`),
          ),
          el('div', { class: 'v-detail' }, v.detail),
          el(
            'dl',
            { class: 'v-grid' },
            el('dt', {}, 'limit'),
            el('dd', { class: 'num' }, fmtMoney(v.limit)),
            el('dt', {}, 'value'),
            el('dd', { class: 'num neg' }, fmtMoney(v.value)),
            el('dt', {}, 'equity'),
            el('dd', { class: 'num' }, fmtMoney(v.equity)),
            el('dt', {}, 'balance'),
            el('dd', { class: 'num' }, fmtMoney(v.balance)),
          ),
          el('div', { class: 'v-cause' }, `cause: ${cause(v)}`),
          v.positions.length === 0
            ? el('div', { class: 'v-cause' }, 'positions: flat at that instant')
            : el(
                'ul',
                { class: 'v-pos' },
                ...v.positions.map((p) =>
                  el(
                    'li',
                    {},
                    `${p.symbol} ${fmtQty(p.qty)} @ ${fmtMoney(p.avgEntry)} · mark ${fmtMoney(p.mark)} · `,
                    el('span', { class: pnlClass(p.unrealizedPnl) }, fmtSigned(p.unrealizedPnl)),
                  ),
                ),
              ),
          el('div', { class: 'muted v-tier' }, `${v.tierId} v${v.tierVersion}`),
        ),
      ),
  );
}

/** One line for an event, and how loudly to show it. */
export function describeEvent(e: AssessmentEvent | KernelEvent): { text: string; tone: 'info' | 'good' | 'bad' | 'warn' } {
  switch (e.type) {
    case 'order.accepted':
      return {
        text: `accepted ${e.order.role} ${e.order.side} ${fmtQty(e.order.qty)} ${e.order.symbol} ${e.order.type}${e.order.limitPrice === undefined ? '' : ` @ ${fmtMoney(e.order.limitPrice)}`}${e.order.stopPrice === undefined ? '' : ` stop ${fmtMoney(e.order.stopPrice)}`} (${e.order.clientOrderId})`,
        tone: 'info',
      };
    case 'order.rejected':
      return { text: `rejected ${e.clientOrderId}: ${reasonInWords(e.reason, e.detail)}`, tone: 'bad' };
    case 'order.filled':
      return {
        text: `filled ${e.side} ${fmtQty(e.qty)} ${e.symbol} @ ${fmtMoney(e.price)} fee ${fmtMoney(e.fee)}${e.liquidation ? ' (liquidation)' : ''}`,
        tone: 'good',
      };
    case 'order.cancelled':
      return { text: `cancelled ${e.orderId}: ${e.reason}`, tone: 'info' };
    case 'order.modified':
      return { text: `modified ${e.orderId}: qty ${fmtQty(e.qty)}`, tone: 'info' };
    case 'order.triggered':
      return { text: `triggered ${e.orderId} @ ${fmtMoney(e.price)}`, tone: 'warn' };
    case 'order.expired':
      return { text: `expired ${e.orderId}`, tone: 'info' };
    case 'position.opened':
      return { text: `opened ${e.symbol} ${fmtQty(e.qty)} @ ${fmtMoney(e.avgEntry)}`, tone: 'info' };
    case 'position.changed':
      return { text: `position ${e.symbol} now ${fmtQty(e.qty)} @ ${fmtMoney(e.avgEntry)}`, tone: 'info' };
    case 'position.closed':
      return {
        text: `closed ${e.symbol} @ ${fmtMoney(e.exitPrice)} realized ${fmtSigned(e.realizedPnl)}`,
        tone: e.realizedPnl >= 0 ? 'good' : 'bad',
      };
    case 'position.settled':
      return { text: `settled ${e.symbol} payout ${fmtMoney(e.payout)} realized ${fmtSigned(e.realizedPnl)}`, tone: 'info' };
    case 'rules.violation-detected':
      return { text: `VIOLATION ${e.violation.ruleId} (${e.violation.severity}): ${e.violation.detail}`, tone: 'bad' };
    case 'assessment.failed':
      return { text: `assessment FAILED on ${e.ruleId}, balance ${fmtMoney(e.balance)}`, tone: 'bad' };
    case 'assessment.expired':
      return { text: `assessment EXPIRED on ${e.ruleId} at its deadline ${clock(e.expiry.deadline)}: ${e.expiry.detail}`, tone: 'bad' };
    case 'assessment.passed':
      return { text: `assessment PASSED, balance ${fmtMoney(e.balance)}`, tone: 'good' };
    case 'assessment.phase-passed':
      return { text: `phase ${e.phase} passed → ${e.nextPhase}`, tone: 'good' };
    case 'assessment.trading-locked':
      return { text: `trading locked by ${e.ruleId} until ${clock(e.until)}`, tone: 'warn' };
    case 'assessment.pass-blocked':
      return { text: `pass blocked by ${e.ruleId}: ${e.detail}`, tone: 'warn' };
    case 'assessment.day-started':
      return { text: `day ${e.dayIndex} started, daily floor ${fmtMoney(e.dailyFloor)}`, tone: 'info' };
    case 'command.ignored':
      return { text: `command ignored: ${reasonInWords(e.reason, e.detail)}`, tone: 'warn' };
    case 'engine.input-rejected':
      return { text: `input rejected: ${e.reason} ${e.detail}`, tone: 'bad' };
    case 'actor.quarantined':
      return { text: `assessment quarantined: ${e.error}`, tone: 'bad' };
    default:
      return { text: e.type.replace('assessment.', ''), tone: 'info' };
  }
}

/** Events kept on the page. */
const MAX_EVENTS = 200;

/**
 * Add an event line: a live one on top (newest first), one from the history
 * (`older`, no stream seq) at the bottom, while there is room.
 */
export function logEvent(ol: HTMLElement, at: number, seq: number | undefined, e: AssessmentEvent | KernelEvent, older = false): void {
  if (older && ol.childElementCount >= MAX_EVENTS) return;
  const d = describeEvent(e);
  const li = el(
    'li',
    { class: `ev ${d.tone}${older ? ' past' : ''}`, 'data-type': e.type },
    el('span', { class: 'ev-time' }, clock(at)),
    el('span', { class: 'ev-seq' }, seq === undefined ? 'hist' : `#${seq}`),
    el('span', { class: 'ev-type' }, e.type),
    el('span', { class: 'ev-text' }, d.text),
  );
  if (older) ol.append(li);
  else ol.prepend(li);
  while (ol.childElementCount > MAX_EVENTS) ol.lastElementChild?.remove();
}
