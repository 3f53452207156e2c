/// <reference lib="dom" />
/**
 * The trader's console in the browser (bundled by static-assets.ts): sign in
 * with a bearer token, pick an assessment, then watch it live over protocol v1
 * (msgpack) through the typed client library, which numbers frames and
 * resumes after gaps. Orders go out on the same socket; lists and tier rules
 * come from the HTTP API, and so does the past: the equity curve and events
 * up to the page's load come from the history, then the socket goes on live
 * (every event shown once, by its identity), on the feed's clock. The
 * report tab shows the newest report and saves it as a page or CSV.
 */
import { encode } from '@msgpack/msgpack';
import type { AssessmentEvent, AssessmentState, Violation, Tier } from '../../actors/index.js';
import type { KernelEvent, StateDelta } from '../../engine/index.js';
import { ProtocolError, VaticClient, type SocketConstructor } from '../client/index.js';
import { drawAccount } from './account-panel.js';
import { EquityChart } from './chart.js';
import { identity, loadHistory, ReportTab } from './history.js';
import { reasonInWords } from './words.js';
import { Blotter, readTicket, syncTicketForm } from './ticket.js';
import { byId, el, logEvent, renderAssessments, setText, type AssessmentRow } from './view.js';

type ConnState = 'signed-out' | 'connecting' | 'live' | 'resuming' | 'closed';

/** Everything the page knows; the panels are drawn from it. */
const app = {
  token: '',
  client: undefined as VaticClient | undefined,
  traderId: '',
  tiers: new Map<string, Tier>(),
  rows: [] as AssessmentRow[],
  selected: undefined as string | undefined,
  state: undefined as AssessmentState | undefined,
  delta: undefined as StateDelta | undefined,
  violations: [] as Violation[],
  reconnects: 0,
  dirty: false,
  /** Identities of the events shown, so the history and the socket never show one twice. */
  seen: new Set<string>(),
  /** The gateway keeps the history and reports (said by GET /v1/assessments). */
  history: false,
};

const chart = new EquityChart(byId('chart') as unknown as SVGSVGElement);
const reports = new ReportTab({
  api: (p, i) => api(p, i),
  token: () => app.token,
  box: byId('report-view'),
  status: (t) => setText('report-status', t),
});
const blotter = new Blotter(byId('blotter'));
const events = byId('events');

function setConn(s: ConnState, detail = ''): void {
  byId('conn').dataset['state'] = s;
  byId('conn-state').textContent = detail === '' ? s.replace('-', ' ') : `${s} · ${detail}`;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${app.token}` } });
  const body = (await res.json()) as T & { error?: { code: string; message: string } };
  if (!res.ok) throw new ProtocolError(body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? res.statusText);
  return body;
}

function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
}

// -- sign in and the assessment list ------------------------------------------------

async function signIn(token: string): Promise<void> {
  app.token = token.trim();
  setText('signin-error', '');
  try {
    const [tiers, list] = await Promise.all([
      api<{ tiers: Tier[] }>('/v1/tiers'),
      api<{ assessments: AssessmentRow[]; history?: boolean }>('/v1/assessments'),
    ]);
    for (const t of tiers.tiers) app.tiers.set(t.id, t);
    app.rows = list.assessments;
    app.history = list.history === true;
  } catch (err) {
    app.token = '';
    setText('signin-error', err instanceof Error ? err.message : String(err));
    return;
  }
  sessionStorage.setItem('vatic.token', app.token); // survives a reload of this tab only
  document.body.classList.add('signed-in');
  drawList();
  // After a reload, the assessment that was open; a trader with one assessment gets it at once.
  const last = sessionStorage.getItem('vatic.selected');
  const initial = app.rows.find((r) => r.id === last)?.id ?? (app.rows.length === 1 ? app.rows[0]!.id : undefined);
  await connect();
  if (initial !== undefined) await pick(initial);
}

function signOut(): void {
  sessionStorage.removeItem('vatic.token');
  sessionStorage.removeItem('vatic.selected');
  app.token = '';
  app.selected = undefined;
  app.client?.close();
  app.client = undefined;
  location.hash = '';
  location.reload();
}

function drawList(): void {
  renderAssessments(
    byId('assessments'),
    app.rows,
    app.selected,
    (id) => app.tiers.get(id)?.name ?? id,
    (id) => void pick(id),
  );
}

// -- the socket -----------------------------------------------------------------------

async function connect(): Promise<void> {
  setConn('connecting');
  let client: VaticClient;
  try {
    client = await VaticClient.connect(wsUrl(), app.token, { WebSocket: window.WebSocket as unknown as SocketConstructor });
  } catch (err) {
    const auth = err instanceof ProtocolError && err.code === 'AUTH_FAILED';
    setConn('closed', err instanceof Error ? err.message : String(err));
    if (!auth) retry();
    return;
  }
  app.client = client;
  app.reconnects = 0;
  app.traderId = client.traderId;
  setText('trader', client.traderId);
  setConn('live');
  ping();
  void client.whenClosed().then((c) => {
    if (app.client !== client) return;
    app.client = undefined;
    setConn('closed', `${c.code} ${c.reason}`.trim());
    if (c.code !== 1008 && app.token !== '') retry(); // 1008: the server refused us; retrying would not help
  });
  if (app.selected !== undefined) await subscribe(app.selected);
}

function retry(): void {
  const wait = Math.min(10_000, 500 * 2 ** app.reconnects++);
  setTimeout(() => void connect(), wait);
}

/** Stop a stream on the server: the library has no unsubscribe, so send the frame as it would. */
function unsubscribe(id: string): void {
  app.client?.sendRaw(encode({ t: 'unsub', id: `u-${Date.now()}`, assessmentId: id }));
}

async function pick(id: string): Promise<void> {
  if (id === app.selected) return;
  if (app.selected !== undefined) unsubscribe(app.selected);
  app.selected = id;
  sessionStorage.setItem('vatic.selected', id);
  app.state = undefined;
  app.delta = undefined;
  app.violations = [];
  app.seen.clear();
  reports.open(id);
  chart.reset();
  events.replaceChildren();
  blotter.clear();
  drawList();
  syncTicket();
  const past = app.history ? loadHistory(api, id) : Promise.resolve({ points: [], events: [] });
  await subscribe(id);
  const { points, events: older } = await past;
  if (app.selected !== id) return;
  // The curve starts with the history; live deltas after its last point carry it on.
  chart.seed(points);
  // Events the socket has not shown yet, below the live ones (the list is newest first).
  for (const e of older) {
    const key = identity(e);
    if (key === undefined || app.seen.has(key)) continue;
    app.seen.add(key);
    logEvent(events, e.at, undefined, e, true);
  }
  // A report exists once the assessment ended or passed a phase (or one was asked for: the tab looks then).
  const row = app.rows.find((r) => r.id === id);
  if (app.history && row !== undefined && (row.phaseIndex > 0 || !['active', 'paused'].includes(row.status))) void reports.load(id);
  redraw();
}

async function subscribe(id: string): Promise<void> {
  const client = app.client;
  if (client === undefined) return;
  const mine = (): boolean => app.selected === id && app.client === client;
  try {
    await client.subscribe(id, {
      onSnapshot: (state) => mine() && onSnapshot(state as AssessmentState),
      onDelta: (d) => mine() && onDelta(d as StateDelta),
      onEvent: (e, at) => mine() && onEvent(e as AssessmentEvent | KernelEvent, at.seq),
      onGap: (g) => mine() && setConn('resuming', `gap: expected #${g.expected}, got #${g.got}`),
      onReport: (r) => {
        if (!mine()) return;
        logLine(`report #${r.reportId} ready (${r.trigger}): see the Report tab`, 'good');
        void reports.load(id);
      },
    });
  } catch (err) {
    logLine(`subscribe refused: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function logLine(text: string, tone: 'bad' | 'good' = 'bad'): void {
  events.prepend(el('li', { class: `ev ${tone}` }, el('span', { class: 'ev-text' }, text)));
}

// -- live figures ---------------------------------------------------------------------

function onSnapshot(s: AssessmentState): void {
  app.state = s;
  app.violations = [...s.violations];
  // Until the first delta, equity is the balance plus nothing we can mark (at the actor's last clock instant).
  if (app.delta === undefined && Object.keys(s.positions).length === 0 && (s.status === 'active' || s.status === 'paused'))
    chart.push(s.lastClockAt, s.balance, s.balance);
  setConn('live');
  redraw();
}

function onDelta(d: StateDelta): void {
  app.delta = d;
  const row = app.rows.find((r) => r.id === d.assessmentId);
  if (row !== undefined && (row.status !== d.status || row.balance !== d.balance)) {
    app.rows = app.rows.map((r) => (r === row ? { ...r, status: d.status, balance: d.balance } : r));
    drawList();
  }
  chart.push(d.at, d.equity, d.balance);
  if (byId('conn').dataset['state'] === 'resuming') setConn('live');
  redraw();
}

/** Events after which the trading-day count or phase may have moved: worth a fresh state from the API. */
const REFETCH = new Set([
  'position.opened',
  'assessment.day-started',
  'assessment.phase-passed',
  'assessment.passed',
  'assessment.failed',
  'assessment.expired',
  'assessment.trading-locked',
  'assessment.trading-unlocked',
]);
let refetchTimer: ReturnType<typeof setTimeout> | undefined;

function onEvent(e: AssessmentEvent | KernelEvent, seq: number): void {
  const key = identity(e as { input?: number; n?: number });
  if (key !== undefined) {
    if (app.seen.has(key)) return;
    app.seen.add(key);
  }
  logEvent(events, e.at, seq, e);
  if (e.type === 'rules.violation-detected') app.violations.push(e.violation);
  if (e.type !== 'engine.input-rejected' && e.type !== 'actor.quarantined') blotter.onEvent(e);
  if (REFETCH.has(e.type) && app.selected !== undefined) {
    const id = app.selected;
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(() => {
      void api<{ assessment: AssessmentState }>(`/v1/assessments/${encodeURIComponent(id)}`).then(
        (r) => {
          if (app.selected !== id) return;
          app.state = r.assessment;
          app.violations = [...r.assessment.violations];
          app.rows = app.rows.map((x) =>
            x.id === id ? { ...x, status: r.assessment.status, balance: r.assessment.balance, phaseIndex: r.assessment.phaseIndex } : x,
          );
          drawList();
          redraw();
        },
        () => undefined,
      );
    }, 150);
  }
  redraw();
}

/** Coalesce redraws to one per animation frame: deltas may come faster than the screen. */
function redraw(): void {
  if (app.dirty) return;
  app.dirty = true;
  requestAnimationFrame(() => {
    app.dirty = false;
    draw();
  });
}

function draw(): void {
  const pos = app.client !== undefined && app.selected !== undefined ? app.client.position(app.selected) : undefined;
  drawAccount(
    {
      state: app.state,
      delta: app.delta,
      violations: app.violations,
      tier: app.state === undefined ? undefined : app.tiers.get(app.state.tierId),
      position: pos,
      gaps: app.client?.gaps ?? 0,
    },
    chart,
    closePosition,
  );
}

// -- orders ---------------------------------------------------------------------------

async function send(order: Parameters<VaticClient['order']>[1], cid: string | undefined): Promise<void> {
  const client = app.client;
  const id = app.selected;
  if (client === undefined || id === undefined) return setText('ticket-error', 'not connected');
  try {
    const position = await client.order(id, order);
    if (cid !== undefined) blotter.acked(cid, position);
  } catch (err) {
    const code = err instanceof ProtocolError ? err.code : 'ERROR';
    if (cid !== undefined)
      blotter.set(
        cid,
        'refused',
        'bad',
        err instanceof ProtocolError ? reasonInWords(err.code, err.message) : err instanceof Error ? err.message : code,
      );
    else setText('ticket-error', err instanceof Error ? err.message : String(err));
  }
}

function closePosition(symbol: string): void {
  const cid = `web-close-${Date.now().toString(36)}`;
  void send({ op: 'close-position', symbol, clientOrderId: cid }, undefined);
}

const ticket = byId<HTMLFormElement>('ticket');
ticket.addEventListener('submit', (ev) => {
  ev.preventDefault();
  setText('ticket-error', '');
  const r = readTicket(ticket);
  if ('error' in r) return setText('ticket-error', r.error);
  blotter.sent(r.order);
  void send(r.order, r.order.clientOrderId);
});
function syncTicket(): void {
  syncTicketForm(ticket, app.selected !== undefined);
}
ticket.addEventListener('change', syncTicket);
ticket.addEventListener('input', syncTicket);
for (const [tab, view] of [
  ['tab-live', 'live-view'],
  ['tab-report', 'report-tab'],
] as const) {
  byId(tab).addEventListener('click', () => {
    for (const [t, v] of [
      ['tab-live', 'live-view'],
      ['tab-report', 'report-tab'],
    ] as const) {
      byId(t).classList.toggle('active', t === tab);
      byId(t).setAttribute('aria-selected', String(t === tab));
      byId(v).hidden = v !== view;
    }
    if (tab === 'tab-report' && app.selected !== undefined) {
      if (app.history) void reports.load(app.selected);
      else setText('report-status', 'this gateway keeps no history or reports');
    }
  });
}
syncTicket();
byId('flatten').addEventListener('click', () => void send({ op: 'flatten' }, undefined));

// -- start ----------------------------------------------------------------------------

byId('signin').addEventListener('click', () => void signIn(byId<HTMLTextAreaElement>('token').value));
byId('signout').addEventListener('click', signOut);
window.addEventListener('resize', redraw);
function ping(): void {
  void app.client?.ping().then(
    (ms) => setText('rtt', `${ms} ms`),
    () => undefined,
  );
}
setInterval(ping, 5_000);

// `#token=…` signs in at once (handy from a CLI that prints a link); the fragment is dropped so it is not left on screen.
const fragment = new URLSearchParams(location.hash.slice(1)).get('token');
if (fragment !== null) history.replaceState(null, '', location.pathname + location.search);
const saved = fragment ?? sessionStorage.getItem('vatic.token');
setConn('signed-out');
chart.render();
if (saved !== null && saved !== '') void signIn(saved);
