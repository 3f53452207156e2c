/// <reference lib="dom" />
/**
 * The equity curve, drawn by hand in SVG: equity as a line over a shaded
 * area, closed balance as a dashed step, and the rule levels (daily floor,
 * max-loss floor, profit target) as labelled lines, or as edge markers when
 * they lie far outside the curve's range. The x axis is the engine's time
 * (the feed's): the history loaded with the page and the live deltas share it.
 */
import { fmtMoney } from './rules.js';

const NS = 'http://www.w3.org/2000/svg';
/** Points kept: enough for a session at a glance, small enough to redraw every frame. */
const MAX_POINTS = 600;
const PAD = { left: 8, right: 84, top: 14, bottom: 22 };

interface Point {
  readonly t: number;
  readonly equity: number;
  readonly balance: number;
}

/** A rule level to draw. */
export interface Level {
  readonly label: string;
  readonly value: number;
  readonly tone: 'danger' | 'warn' | 'target';
}

function node<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The 1-2-5 step at or above `raw`. */
function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** Feed time in UTC: the time of day, with the date when the curve spans more than a day. */
function clock(t: number, withDate: boolean): string {
  const iso = new Date(t).toISOString();
  return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
}

/** Draws into one `<svg>`; call {@link push} per change and {@link render} once per animation frame. */
export class EquityChart {
  readonly #svg: SVGSVGElement;
  #points: Point[] = [];
  #levels: Level[] = [];

  constructor(svg: SVGSVGElement) {
    this.#svg = svg;
  }

  /** Points on the curve. */
  get size(): number {
    return this.#points.length;
  }

  /** Forget the curve (another assessment was picked). */
  reset(): void {
    this.#points = [];
    this.#levels = [];
  }

  /** Append a point at engine time `t`; an earlier one (the history overlapping live figures) is ignored; an unchanged figure only extends the curve after a quiet second of feed time. */
  push(t: number, equity: number, balance: number): void {
    const last = this.#points[this.#points.length - 1];
    if (!Number.isFinite(t) || (last !== undefined && t < last.t)) return;
    if (last !== undefined && last.equity === equity && last.balance === balance && t - last.t < 1_000) return;
    this.#points.push({ t, equity, balance });
    if (this.#points.length > MAX_POINTS) this.#points.splice(0, this.#points.length - MAX_POINTS);
  }

  /** Put the history's points under the curve: they come first, the live points after the last of them stay. */
  seed(points: readonly Point[]): void {
    if (points.length === 0) return;
    const end = points[points.length - 1]!.t;
    this.#points = [...points.filter((p) => Number.isFinite(p.t)), ...this.#points.filter((p) => p.t > end)];
    if (this.#points.length > MAX_POINTS) this.#points.splice(0, this.#points.length - MAX_POINTS);
  }

  setLevels(levels: Level[]): void {
    this.#levels = levels.filter((l) => Number.isFinite(l.value));
  }

  render(): void {
    const svg = this.#svg;
    const w = Math.max(200, svg.clientWidth);
    const h = Math.max(120, svg.clientHeight);
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.replaceChildren();
    const pts = this.#points;
    if (pts.length === 0) {
      svg.append(node('text', { x: w / 2, y: h / 2, class: 'empty', 'text-anchor': 'middle' }, 'Loading history and live figures…'));
      return;
    }
    // Range: the curve, plus any level close enough that showing it does not flatten the curve.
    let lo = Math.min(...pts.map((p) => Math.min(p.equity, p.balance)));
    let hi = Math.max(...pts.map((p) => Math.max(p.equity, p.balance)));
    const span0 = Math.max(hi - lo, Math.abs(hi) * 0.002, 1);
    const near = this.#levels.filter((l) => l.value > lo - span0 * 2 && l.value < hi + span0 * 2);
    for (const l of near) {
      lo = Math.min(lo, l.value);
      hi = Math.max(hi, l.value);
    }
    const pad = Math.max((hi - lo) * 0.12, span0 * 0.25);
    // Round the range to a 1-2-5 step, so the axis reads 50,100.00 and not 50,086.75.
    const step = niceStep((hi - lo + 2 * pad) / 4);
    lo = Math.floor((lo - pad) / step) * step;
    hi = Math.ceil((hi + pad) / step) * step;
    const x0 = PAD.left;
    const x1 = w - PAD.right;
    const y0 = PAD.top;
    const y1 = h - PAD.bottom;
    const t0 = pts[0]!.t;
    const span = Math.max(1, pts[pts.length - 1]!.t - t0);
    const X = (i: number): number => x0 + ((x1 - x0) * (pts[i]!.t - t0)) / span;
    const Y = (v: number): number => y1 - ((y1 - y0) * (v - lo)) / (hi - lo);

    const defs = node('defs', {});
    const grad = node('linearGradient', { id: 'eq-fill', x1: 0, y1: 0, x2: 0, y2: 1 });
    grad.append(
      node('stop', { offset: '0%', 'stop-color': '#3b82f6', 'stop-opacity': 0.35 }),
      node('stop', { offset: '100%', 'stop-color': '#3b82f6', 'stop-opacity': 0 }),
    );
    defs.append(grad);
    svg.append(defs);

    // Grid with price labels on the right axis.
    const lastY = Y(pts[pts.length - 1]!.equity);
    for (let v = lo; v <= hi + step / 2; v += step) {
      const y = Y(v);
      svg.append(node('line', { x1: x0, x2: x1, y1: y, y2: y, class: 'grid' }));
      if (Math.abs(y - lastY) > 12) svg.append(node('text', { x: x1 + 6, y: y + 4, class: 'axis' }, fmtMoney(v))); // the last-value tag covers it
    }
    const dated = span > 86_400_000;
    svg.append(
      node('text', { x: x0, y: h - 6, class: 'axis' }, clock(t0, dated)),
      node('text', { x: x1, y: h - 6, class: 'axis', 'text-anchor': 'end' }, `${clock(pts[pts.length - 1]!.t, dated)} UTC (feed)`),
    );

    let stackAbove = 0;
    let stackBelow = 0;
    for (const l of this.#levels) {
      if (l.value >= lo && l.value <= hi) {
        const y = Y(l.value);
        svg.append(
          node('line', { x1: x0, x2: x1, y1: y, y2: y, class: `level ${l.tone}` }),
          node('text', { x: x0 + 4, y: y - 4, class: `level-label ${l.tone}` }, `${l.label} ${fmtMoney(l.value)}`),
        );
      } else {
        // Far away: an edge marker says where it is without squashing the curve.
        const above = l.value > hi;
        const y = above ? y0 + 10 + 13 * stackAbove++ : y1 - 4 - 13 * stackBelow++;
        svg.append(
          node(
            'text',
            { x: x1 - 4, y, class: `level-label ${l.tone}`, 'text-anchor': 'end' },
            `${above ? '\u25B2' : '\u25BC'} ${l.label} ${fmtMoney(l.value)}`,
          ),
        );
      }
    }

    const line = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${X(i).toFixed(1)},${Y(p.equity).toFixed(1)}`).join('');
    // Balance moves only on fills: a step, not a slope.
    const stepPath = pts.map((p, i) => (i === 0 ? `M${X(0).toFixed(1)},` : `H${X(i).toFixed(1)}V`) + Y(p.balance).toFixed(1)).join('');
    svg.append(
      node('path', { d: `${line}L${X(pts.length - 1).toFixed(1)},${y1}L${X(0).toFixed(1)},${y1}Z`, class: 'area', fill: 'url(#eq-fill)' }),
      node('path', { d: stepPath, class: 'balance' }),
      node('path', { d: line, class: 'equity' }),
    );
    // Last value tag on the axis, as trading screens do.
    const last = pts[pts.length - 1]!;
    const ly = Y(last.equity);
    svg.append(
      node('circle', { cx: X(pts.length - 1), cy: ly, r: 3, class: 'last-dot' }),
      node('rect', { x: x1 + 2, y: ly - 9, width: PAD.right - 4, height: 18, rx: 3, class: 'last-tag' }),
      node('text', { x: x1 + 6, y: ly + 4, class: 'last-text' }, fmtMoney(last.equity)),
    );
  }
}
