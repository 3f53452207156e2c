/**
 * Bot traders for the cluster test: each one a trader with its own
 * assessment, connected to one of the gateways over the WebSocket protocol
 * (the typed client, msgpack), placing market orders back to back, each
 * with its own client order id. An order is retried with the same id until
 * it is settled: after `UNAVAILABLE` (the gateway's deadline passed while the
 * shard moved) or another transient refusal, after a timeout, and after the
 * connection dropped (a gateway killed: the bot reconnects to the next live
 * one). Every acknowledgement is kept with its journal position and the time
 * it arrived, by shard, for the pause figures.
 */
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { ProtocolError, VaticClient, type SocketConstructor } from '../../../transport/client/index.js';
import type { OrderOp } from '../../../transport/protocol/index.js';
import { shardOf } from '../../index.js';
import type { AckedOrder } from './replay-verifier.js';

/** Options of {@link BotTraders}. */
export interface BotTradersOptions {
  /** WebSocket URLs of the gateways now running (asked at every connect). */
  readonly gateways: () => readonly string[];
  /** HS256 secret the gateways verify tokens with. */
  readonly secret: string;
  /** Trader `i` is `<prefix>t<i>` with assessment `<prefix>a<i>`. */
  readonly prefix: string;
  readonly traders: number;
  /** Pause after each settled order, ms. @default 100 */
  readonly pauseMs?: number;
  /** Longest wait for an order's answer before its outcome counts as unknown (above the gateways' command deadline). @default 15_000 */
  readonly answerTimeoutMs?: number;
  /** Current prices (the tick feed's), for stop losses. */
  readonly price: (symbol: string) => number;
}

/** Refusals that leave an order unsettled: it is offered again with the same id. */
const TRANSIENT = new Set([
  'UNAVAILABLE',
  'NOT_OWNER',
  'NOT_READY',
  'STOPPING',
  'JOURNAL_UNAVAILABLE',
  'DRAINING',
  'RATE_LIMITED',
  'TIMEOUT',
  'CLOSED',
  'INTERNAL',
]);
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bots; see the module comment. */
export class BotTraders {
  /** Acknowledged orders by `assessment/clientOrderId`, with when the ack came and how long after the first offer (ms). */
  readonly acked = new Map<string, AckedOrder & { readonly at: number; readonly latencyMs: number }>();
  /** Acknowledgement arrival times by shard (performance.now(), ascending). */
  readonly answers = new Map<number, number[]>();
  /** Answers that settled nothing, by code, and settled refusals, by code. */
  readonly transient = new Map<string, number>();
  readonly refused = new Map<string, number>();
  /**
   * Orders answered `DUPLICATE_CLIENT_ORDER_ID` on a retry (an earlier offer was journaled but its answer was lost,
   * e.g. with its gateway): accepted, at a position the answer did not say; the journal must hold them.
   */
  readonly duplicates: Array<{ readonly assessmentId: string; readonly clientOrderId: string }> = [];
  reconnects = 0;
  /** Orders offered again after an unknown or transient outcome. */
  retries = 0;
  readonly #o: BotTradersOptions;
  #running = false;
  #loops: Array<Promise<void>> = [];
  readonly #clients = new Set<VaticClient>();

  constructor(o: BotTradersOptions) {
    this.#o = o;
  }

  /** Assessment and trader of bot `i`. */
  assessmentOf(i: number): string {
    return `${this.#o.prefix}a${i}`;
  }
  traderOf(i: number): string {
    return `${this.#o.prefix}t${i}`;
  }

  /** Start every bot. */
  start(): void {
    this.#running = true;
    for (let i = 0; i < this.#o.traders; i++) this.#loops.push(this.#bot(i));
  }

  /** Stop placing new orders; resolves when every bot has settled the order it holds. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    for (const c of this.#clients) c.close();
  }

  /** Acknowledged so far. */
  get ackCount(): number {
    return this.acked.size;
  }

  async #token(traderId: string): Promise<string> {
    return new SignJWT({ roles: ['trader'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(traderId)
      .setIssuer('vatic')
      .setAudience('vatic-gateway')
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(this.#o.secret));
  }

  async #connect(i: number, attempt: number): Promise<VaticClient> {
    const token = await this.#token(this.traderOf(i));
    for (let k = attempt; ; k++) {
      const urls = this.#o.gateways();
      if (urls.length > 0) {
        try {
          const c = await VaticClient.connect(urls[(i + k) % urls.length]!, token, {
            WebSocket: WebSocket as unknown as SocketConstructor,
            timeoutMs: this.#o.answerTimeoutMs ?? 15_000,
          });
          this.#clients.add(c);
          return c;
        } catch {
          // that gateway is down or not up yet: the next one
        }
      }
      await sleep(100);
    }
  }

  async #bot(i: number): Promise<void> {
    const assessmentId = this.assessmentOf(i);
    const shard = shardOf(assessmentId);
    let client: VaticClient | undefined;
    let attempt = 0;
    for (let n = 0; this.#running; n++) {
      const symbol = SYMBOLS[(i + n) % 3]!;
      const side = n % 2 === 0 ? 'buy' : 'sell';
      const p = this.#o.price(symbol);
      const qty = symbol === 'BTC-USD' ? 0.01 : symbol === 'ETH-USD' ? 0.2 : 4;
      const order: OrderOp = {
        op: 'place',
        clientOrderId: `b${i}-${n}`,
        symbol,
        side,
        type: 'market',
        qty,
        stopLoss: Number((side === 'buy' ? p * 0.97 : p * 1.03).toFixed(2)),
      };
      // One order, until settled (acknowledged or refused for good), even past stop().
      const first = performance.now();
      for (let tries = 0; ; tries++) {
        if (tries > 0) this.retries++;
        if (client === undefined || client.closed !== undefined) {
          if (client !== undefined) {
            this.#clients.delete(client);
            this.reconnects++;
          }
          client = await this.#connect(i, attempt++);
        }
        try {
          const position = await client.order(assessmentId, order);
          const at = performance.now();
          this.acked.set(`${assessmentId}/${order.clientOrderId}`, {
            assessmentId,
            clientOrderId: order.clientOrderId,
            position,
            at,
            latencyMs: at - first,
          });
          let list = this.answers.get(shard);
          if (list === undefined) this.answers.set(shard, (list = []));
          list.push(at);
          break;
        } catch (err) {
          const code = err instanceof ProtocolError ? err.code : 'ERROR';
          if (code === 'DUPLICATE_CLIENT_ORDER_ID' && tries > 0) this.duplicates.push({ assessmentId, clientOrderId: order.clientOrderId });
          if (!TRANSIENT.has(code)) {
            this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
            break;
          }
          this.transient.set(code, (this.transient.get(code) ?? 0) + 1);
          if (code === 'TIMEOUT') client.close(); // the answer may still come: a fresh connection for the retry
          await sleep(Math.min(1_000, 50 * 2 ** Math.min(tries, 4)));
        }
      }
      if ((this.#o.pauseMs ?? 100) > 0) await sleep(this.#o.pauseMs ?? 100);
    }
  }
}
