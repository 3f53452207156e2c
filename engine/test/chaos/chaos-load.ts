/**
 * The load of a fault test, as the crash test drives it: ticks published to
 * a JetStream market stream (each retried with its message id until stored),
 * assessments created and market orders placed over the node's NATS intake,
 * every acknowledgement recorded with its journal position, and every order
 * whose outcome is unknown (no reply, or a transient refusal) offered again
 * with the same client order id until it is settled.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ensureMarketStream, marketSubjects, TickPublisher, intakeSubjects, type InspectReply } from '../../../transport/nats/index.js';
import type { IntakeResult, OutputEvent } from '../../index.js';

/** Options of {@link ChaosLoad}. */
export interface ChaosLoadOptions {
  readonly namespace: string;
  readonly group: string;
  readonly marketStream: string;
  readonly eventStream: string;
  /** Assessments the orders go to. */
  readonly assessments: number;
  /** NATS the driver uses (never through a fault). @default nats://127.0.0.1:4222 */
  readonly natsUrl?: string;
  /** Wait for an intake reply this long before the outcome counts as unknown. @default 3000 */
  readonly replyTimeoutMs?: number;
  /** Pause after each round of 5 ticks, ms (the tick rate is at most 5 per this). @default 10 */
  readonly tickPauseMs?: number;
}

/** An acknowledged order: where the node said it journaled it. */
export interface AckedOrder {
  readonly assessmentId: string;
  readonly clientOrderId: string;
  readonly position: number;
}

const TRANSIENT = ['NOT_READY', 'NOT_OWNER', 'STOPPING', 'JOURNAL_UNAVAILABLE', 'DUPLICATE_CLIENT_ORDER_ID'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ticks and orders against one engine group; see the module comment. */
export class ChaosLoad {
  readonly acked = new Map<string, AckedOrder>();
  readonly unsettled = new Map<string, { assessmentId: string; command: { clientOrderId: string } }>();
  readonly ids: string[];
  /** Offers whose outcome was unknown and were made again. */
  retries = 0;
  /** Each acknowledgement: when it came (performance.now()) and how long after the order's first offer. */
  readonly ackLog: Array<{ readonly at: number; readonly latencyMs: number }> = [];
  readonly #firstOffer = new Map<string, number>();
  readonly #lastOffer = new Map<string, number>();
  /** Every offer: when it was made (performance.now()) and its outcome: 'ok', a refusal code, or 'no reply'. */
  readonly offers: Array<{ readonly at: number; readonly outcome: string }> = [];
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly #o: ChaosLoadOptions;
  readonly #publisher: TickPublisher;
  readonly #subjects: ReturnType<typeof intakeSubjects>;
  readonly #enc = new Encoder({ ignoreUndefined: true });
  readonly #dec = new Decoder();
  readonly #prices: Record<string, number> = { 'BTC-USD': 60_000, 'ETH-USD': 3_000, 'SOL-USD': 150 };
  #feedTime = Date.UTC(2026, 2, 2, 8, 0);
  #venueSeq = 0;
  #running = false;
  #error: Error | undefined;
  readonly #inFlight = new Set<string>();
  #loops: Array<Promise<void>> = [];

  private constructor(o: ChaosLoadOptions, nc: NatsConnection, jsm: JetStreamManager) {
    this.#o = o;
    this.nc = nc;
    this.js = jetstream(nc);
    this.jsm = jsm;
    this.#publisher = new TickPublisher(this.js, { namespace: o.namespace, timeoutMs: 2_000 });
    this.#subjects = intakeSubjects(o.group, o.namespace);
    this.ids = Array.from({ length: o.assessments }, (_, n) => `chaos-${String(n).padStart(3, '0')}`);
  }

  get namespace(): string {
    return this.#o.namespace;
  }
  /** The feed's current mid price of `symbol`. */
  price(symbol: string): number {
    return this.#prices[symbol] ?? NaN;
  }
  get group(): string {
    return this.#o.group;
  }
  get marketStream(): string {
    return this.#o.marketStream;
  }
  get eventStream(): string {
    return this.#o.eventStream;
  }

  /** Connect, make the market stream and publish the first clock; the tick loop starts now. */
  static async start(o: ChaosLoadOptions): Promise<ChaosLoad> {
    const nc = await connect({
      servers: o.natsUrl ?? 'nats://127.0.0.1:4222',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 200,
      name: 'chaos-driver',
    });
    const jsm = await jetstreamManager(nc);
    await ensureMarketStream(jsm, { name: o.marketStream, subjects: marketSubjects(o.namespace) });
    const load = new ChaosLoad(o, nc, jsm);
    await load.#publishOne(() => load.#publisher.publishClock(load.#feedTime));
    load.#running = true;
    load.#loops.push(load.#tickLoop());
    return load;
  }

  async inspect(): Promise<InspectReply> {
    return this.#dec.decode((await this.nc.request(this.#subjects.inspect, new Uint8Array(0), { timeout: 2_000 })).data) as InspectReply;
  }

  /** The market stream's last sequence. */
  async marketTail(): Promise<number> {
    return (await this.jsm.streams.info(this.#o.marketStream)).state.last_seq;
  }

  async createAssessments(): Promise<void> {
    for (const a of this.ids) {
      for (;;) {
        const r = await this.#offer({ kind: 'create', assessmentId: a, traderId: `trader-${a}`, tierId: 'one-step-50k' });
        if (r !== undefined && (r.ok || r.code === 'DUPLICATE_ASSESSMENT')) break;
        await sleep(50);
      }
    }
  }

  /** Start placing orders, one every ~15 ms, round robin over the assessments. */
  run(): void {
    this.#loops.push(this.#orderLoop());
  }

  /** Stop the loops and settle every order whose outcome is unknown. */
  async quiesce(timeoutMs = 120_000): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    if (this.#error !== undefined) throw this.#error;
    const end = Date.now() + timeoutMs;
    while (this.unsettled.size > 0) {
      if (Date.now() > end) throw new Error(`${this.unsettled.size} orders still unsettled`);
      for (const [k, r] of [...this.unsettled]) await this.#settle(k, r);
      if (this.unsettled.size > 0) await sleep(100);
    }
  }

  /** Fills on the event stream, by `assessment/input/n`, with how many times each was published. */
  async publishedFills(): Promise<Map<string, number>> {
    const published = new Map<string, number>();
    const last = (await this.jsm.streams.info(this.#o.eventStream).catch(() => undefined))?.state.last_seq ?? 0;
    if (last === 0) return published;
    const consumer = await this.js.consumers.get(this.#o.eventStream, { deliver_policy: DeliverPolicy.All });
    const msgs = await consumer.consume();
    for await (const m of msgs) {
      const e = this.#dec.decode(m.data) as OutputEvent;
      if (e.type === 'order.filled') {
        const k = `${e.assessmentId}/${e.input}/${e.n}`;
        published.set(k, (published.get(k) ?? 0) + 1);
      }
      if (m.seq >= last) break;
    }
    await msgs.close();
    return published;
  }

  async close(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops).catch(() => undefined);
    await this.jsm.streams.delete(this.#o.marketStream).catch(() => undefined);
    await this.jsm.streams.delete(this.#o.eventStream).catch(() => undefined);
    await this.nc.close();
  }

  async #offer(req: object): Promise<IntakeResult | undefined> {
    try {
      return this.#dec.decode(
        (await this.nc.request(this.#subjects.intake, this.#enc.encode(req), { timeout: this.#o.replyTimeoutMs ?? 3_000 })).data,
      ) as IntakeResult;
    } catch {
      return undefined; // no reply: outcome unknown, offered again with the same client order id
    }
  }

  async #settle(key: string, req: { assessmentId: string; command: { clientOrderId: string } }, minGapMs = 0): Promise<void> {
    if (this.#inFlight.has(key)) return;
    const lastAt = this.#lastOffer.get(key);
    if (lastAt !== undefined && performance.now() - lastAt < minGapMs) return;
    this.#lastOffer.set(key, performance.now());
    if (this.unsettled.has(key)) this.retries++;
    this.#inFlight.add(key);
    if (!this.#firstOffer.has(key)) this.#firstOffer.set(key, performance.now());
    const at = performance.now();
    const r = await this.#offer(req).finally(() => this.#inFlight.delete(key));
    this.offers.push({ at, outcome: r === undefined ? 'no reply' : r.ok ? 'ok' : r.code });
    if (r !== undefined && (r.ok || (r.code === 'DUPLICATE_CLIENT_ORDER_ID' && r.position !== undefined))) {
      const now = performance.now();
      if (!this.acked.has(key)) this.ackLog.push({ at: now, latencyMs: now - (this.#firstOffer.get(key) ?? now) });
      this.acked.set(key, { assessmentId: req.assessmentId, clientOrderId: req.command.clientOrderId, position: r.position! });
      this.#firstOffer.delete(key);
      this.#lastOffer.delete(key);
      this.unsettled.delete(key);
    } else if (r !== undefined && !TRANSIENT.includes(r.code)) {
      throw new Error(`unexpected refusal ${r.code}: ${r.message}`);
    } else {
      this.unsettled.set(key, req);
    }
  }

  async #publishOne(fn: () => Promise<unknown>): Promise<void> {
    for (;;) {
      try {
        await fn();
        return;
      } catch {
        await sleep(100); // the same message (same msg id) again until it is stored
      }
    }
  }

  async #tickLoop(): Promise<void> {
    const symbols = Object.keys(this.#prices);
    while (this.#running) {
      for (let k = 0; k < 5; k++) {
        this.#feedTime += 200;
        const seq = ++this.#venueSeq;
        const symbol = symbols[seq % 3]!;
        this.#prices[symbol]! *= 1 + (Math.sin(seq * 0.37) + Math.sin(seq * 0.011)) * 0.0015;
        const p = this.#prices[symbol]!;
        const tick = { venue: 'coinbase', symbol, ts: this.#feedTime, bid: p * 0.9999, ask: p * 1.0001, venueSeq: seq };
        await this.#publishOne(() => this.#publisher.publishTick(tick));
        if (seq % 50 === 0) {
          const at = this.#feedTime;
          await this.#publishOne(() => this.#publisher.publishClock(at));
        }
      }
      await sleep(this.#o.tickPauseMs ?? 10);
    }
  }

  async #orderLoop(): Promise<void> {
    const symbols = Object.keys(this.#prices);
    let n = 0;
    const pending = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      const q = p
        .catch((err: unknown) => {
          this.#error ??= err as Error;
          this.#running = false;
        })
        .finally(() => pending.delete(q));
      pending.add(q);
    };
    while (this.#running) {
      const i = n++;
      const assessmentId = this.ids[i % this.ids.length]!;
      const symbol = symbols[i % 3]!;
      const side = Math.floor(i / this.ids.length) % 2 === 0 ? 'buy' : 'sell';
      const p = this.#prices[symbol]!;
      const qty = symbol === 'BTC-USD' ? 0.05 : symbol === 'ETH-USD' ? 1 : 20;
      const command = {
        kind: 'place',
        clientOrderId: `o-${i}`,
        symbol,
        side,
        type: 'market',
        qty,
        stopLoss: Number((side === 'buy' ? p * 0.97 : p * 1.03).toFixed(2)),
      };
      track(this.#settle(`${assessmentId}/o-${i}`, { kind: 'command', assessmentId, command } as never));
      await sleep(15);
      // Orders of unknown outcome again, each at most once a second (a long cut would otherwise be a request storm).
      if (this.unsettled.size > 0 && i % 20 === 0) for (const [k, r] of [...this.unsettled]) track(this.#settle(k, r, 1_000));
    }
    await Promise.allSettled([...pending]);
  }
}
