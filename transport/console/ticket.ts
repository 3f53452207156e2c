/// <reference lib="dom" />
/**
 * The order ticket: reads the form into a protocol `place` order with a fresh
 * client order id, and follows each order sent from it through its answers:
 * the gateway's ack (journal position) or refusal, then the engine's
 * accepted / rejected / filled events for the same client order id.
 */
import type { AssessmentEvent } from '../../actors/index.js';
import type { OrderOp } from '../protocol/index.js';
import { fmtMoney } from './rules.js';
import { byId, el, fmtQty, setText } from './view.js';
import { reasonInWords } from './words.js';

type Place = Extract<OrderOp, { op: 'place' }>;

/** A fresh client order id: unique per click, so a retry is a new order and a duplicate is the journal's to refuse. */
export function newClientOrderId(): string {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b); // also in non-secure contexts, unlike randomUUID
  return `web-${Date.now().toString(36)}-${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

function num(form: HTMLFormElement, name: string): number | undefined {
  const v = (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? '';
  return v === '' ? undefined : Number(v);
}

/** The form as an order, or the reason it is not one yet. */
export function readTicket(form: HTMLFormElement): { order: Place } | { error: string } {
  const f = form.elements;
  const symbol = (f.namedItem('symbol') as HTMLInputElement).value.trim();
  const side = (form.querySelector('input[name="side"]:checked') as HTMLInputElement | null)?.value === 'sell' ? 'sell' : 'buy';
  const type = (f.namedItem('type') as HTMLSelectElement).value === 'limit' ? 'limit' : 'market';
  const qty = num(form, 'qty');
  const limitPrice = type === 'limit' ? num(form, 'limitPrice') : undefined;
  const stopLoss = num(form, 'stopLoss');
  const takeProfit = num(form, 'takeProfit');
  if (symbol === '') return { error: 'symbol is required' };
  if (qty === undefined || !(qty > 0) || !Number.isFinite(qty)) return { error: 'quantity must be more than 0' };
  if (type === 'limit' && (limitPrice === undefined || !(limitPrice > 0))) return { error: 'a limit order needs a positive limit price' };
  for (const [name, v] of [
    ['stop loss', stopLoss],
    ['take profit', takeProfit],
  ] as const) {
    if (v !== undefined && !(v > 0 && Number.isFinite(v))) return { error: `${name} must be a positive price` };
  }
  return {
    order: {
      op: 'place',
      clientOrderId: newClientOrderId(),
      symbol,
      side,
      type,
      qty,
      ...(limitPrice === undefined ? {} : { limitPrice }),
      ...(stopLoss === undefined ? {} : { stopLoss }),
      ...(takeProfit === undefined ? {} : { takeProfit }),
    },
  };
}

/** One line of the ticket's blotter. */
function summary(o: Place): string {
  return `${o.side.toUpperCase()} ${fmtQty(o.qty)} ${o.symbol} ${o.type === 'limit' ? `LMT ${fmtMoney(o.limitPrice)}` : 'MKT'}${o.stopLoss === undefined ? '' : ` · SL ${fmtMoney(o.stopLoss)}`}${o.takeProfit === undefined ? '' : ` · TP ${fmtMoney(o.takeProfit)}`}`;
}

/** Entries the blotter keeps. */
const KEEP = 6;

/** The orders sent from this ticket, newest first, each with where it stands. */
export class Blotter {
  readonly #box: HTMLElement;
  readonly #rows = new Map<string, { row: HTMLElement; state: HTMLElement; ack: HTMLElement; note: HTMLElement }>();

  constructor(box: HTMLElement) {
    this.#box = box;
  }

  /** Forget the orders shown (another assessment was picked). */
  clear(): void {
    this.#rows.clear();
    this.#box.replaceChildren();
  }

  /** An order was sent. */
  sent(o: Place): void {
    const state = el('span', { class: 'state pending' }, 'sending');
    const ack = el('span', { class: 'o-ack' });
    const note = el('span', { class: 'o-note' }, o.clientOrderId);
    const row = el(
      'div',
      { class: 'order', 'data-cid': o.clientOrderId },
      el('div', { class: 'o-head' }, el('span', { class: `o-sum ${o.side}` }, summary(o)), state),
      el('div', { class: 'o-foot' }, note, ack),
    );
    this.#rows.set(o.clientOrderId, { row, state, ack, note });
    this.#box.prepend(row);
    while (this.#box.childElementCount > KEEP) {
      const last = this.#box.lastElementChild as HTMLElement;
      this.#rows.delete(last.dataset['cid'] ?? '');
      last.remove();
    }
  }

  /**
   * The gateway acknowledged: the order is in the journal at `position`. The
   * engine's events may overtake the ack, so it never overwrites a later state.
   */
  acked(cid: string, position: number): void {
    const r = this.#rows.get(cid);
    if (r === undefined) return;
    r.ack.textContent = `journal #${position}`;
    if (r.state.textContent === 'sending') this.set(cid, 'acked', 'ack');
  }

  /** Set an order's state; `note` replaces the line under it when given. */
  set(cid: string, state: string, tone: 'pending' | 'ack' | 'good' | 'bad', note?: string): void {
    const r = this.#rows.get(cid);
    if (r === undefined) return;
    r.state.textContent = state;
    r.state.className = `state ${tone}`;
    if (note !== undefined) {
      r.note.textContent = note;
      r.note.title = note; // the line is cut to one row; the full text on hover
    }
  }

  /** Follow the engine's events for orders of this ticket. */
  onEvent(e: AssessmentEvent): void {
    switch (e.type) {
      case 'order.accepted':
        if (e.order.role === 'entry')
          this.set(
            e.order.clientOrderId,
            e.order.type === 'market' ? 'working' : 'resting',
            'ack',
            `${e.order.clientOrderId} · order ${e.order.id}`,
          );
        break;
      case 'order.rejected':
        this.set(e.clientOrderId, 'rejected', 'bad', `${e.reason}: ${reasonInWords(e.reason, e.detail)}`);
        break;
      case 'order.filled':
        this.set(
          e.clientOrderId,
          e.remaining > 0 ? 'partial' : 'filled',
          'good',
          `${e.clientOrderId} · ${fmtQty(e.qty)} @ ${fmtMoney(e.price)} · fee ${fmtMoney(e.fee)}`,
        );
        break;
      default:
        break;
    }
  }
}

/** Keeps the ticket consistent with its fields: a quantity of zero or less is refused here, the limit price only for limits, the button's side. */
export function syncTicketForm(ticket: HTMLFormElement, canSend: boolean): void {
  // A quantity of zero or less is refused here, before anything is sent.
  const qty = Number((ticket.elements.namedItem('qty') as HTMLInputElement).value);
  const bad = !(qty > 0) || !Number.isFinite(qty);
  (ticket.elements.namedItem('qty') as HTMLInputElement).setCustomValidity(bad ? 'quantity must be more than 0' : '');
  setText('ticket-error', bad ? 'quantity must be more than 0' : '');
  const submit = byId<HTMLButtonElement>('ticket-submit');
  submit.disabled = bad || !canSend;
  const limit = (ticket.elements.namedItem('type') as HTMLSelectElement).value === 'limit';
  (ticket.elements.namedItem('limitPrice') as HTMLInputElement).disabled = !limit;
  const sell = (ticket.querySelector('input[name="side"]:checked') as HTMLInputElement | null)?.value === 'sell';
  byId('ticket-submit').className = sell ? 'submit sell' : 'submit buy';
  byId('ticket-submit').textContent = sell ? 'Sell' : 'Buy';
}
