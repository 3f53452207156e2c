/**
 * A composed engine node driven like `npm start` drives its demo, only
 * faster and finite: the seeded synthetic feed through the node's market log
 * (JetStream or the in-process bus), demo accounts created and traded by the
 * bot traders through the journal, a clock beat every feed minute. The feed
 * is released in steps, each applied before the bots decide, so a run is the
 * same run every time.
 */
import { DEFAULT_INSTRUMENTS, presetTiers, type Quote, type Tier } from '../../actors/index.js';
import type { ComposedNode } from '../../engine/main/compose-node.js';
import type { EngineOutput, OutputEvent } from '../../engine/index.js';
import { BotTraders, Random } from '../../sim/index.js';
import { SyntheticFeed } from '../../transport/market-data/index.js';
import { until } from '../../engine/testing/index.js';

export const FEED_START = Date.UTC(2025, 0, 6, 22, 0);

/** Passes the node's events to the bots (set once they exist). */
export class BotsOutput implements EngineOutput {
  bots: BotTraders | undefined;
  onEvents(events: readonly OutputEvent[]): void {
    for (const e of events) if (e.type !== 'actor.quarantined' && e.type !== 'engine.input-rejected') this.bots?.observe(e);
  }
}

export interface ScenarioOptions {
  readonly accounts: number;
  /** Feed time to run, ms. */
  readonly feedMs: number;
  readonly seed: string;
  /** Mean time between two ticks of one symbol, feed ms. @default 20_000 */
  readonly meanIntervalMs?: number;
  /** Bot decisions per account per feed hour. @default 6 */
  readonly actionsPerHour?: number;
  readonly tiers?: readonly Tier[];
}

/** Wait until the node has applied everything its market log holds. */
export async function caughtUp(c: ComposedNode, deadlineMs = 60_000): Promise<void> {
  const tail = await c.marketTail();
  await until(() => c.node.lastSeq >= tail, {
    what: `the node to apply the market log to seq ${tail}`,
    deadlineMs,
    intervalMs: 5,
    detail: () => `node stuck at seq ${c.node.lastSeq}`,
  });
  await c.node.engine.barrier();
}

/** Run the scenario on `c` (its outputs must include `bots`). Resolves with the accounts. */
export async function runScenario(
  c: ComposedNode,
  bots: BotsOutput,
  o: ScenarioOptions,
): Promise<Array<{ assessmentId: string; traderId: string; tier: Tier }>> {
  const tiers = o.tiers ?? presetTiers();
  const instruments = DEFAULT_INSTRUMENTS;
  const markets = [...new Set(instruments.flatMap((i) => (i.market === undefined ? [] : [i.market])))];
  const feed = new SyntheticFeed({
    seed: o.seed,
    instruments,
    startTime: FEED_START,
    meanIntervalMs: o.meanIntervalMs ?? 20_000,
    markets: Object.fromEntries(markets.map((m, k) => [m, { resolveAfterMs: (k + 1) * 8 * 3_600_000 }])),
  });
  const publish = async (input: Parameters<NonNullable<ComposedNode['memoryMarket']>['publish']>[0]): Promise<void> => {
    if (c.memoryMarket !== undefined) return void c.memoryMarket.publish(input);
    const pub = c.tickPublisher!;
    const venue = (s: string) => instruments.find((i) => i.symbol === s || i.market === s)?.venue ?? 'synthetic';
    if (input.type === 'tick')
      await pub.publishTick({
        venue: venue(input.symbol),
        symbol: input.symbol,
        ts: input.ts,
        bid: input.bid,
        ask: input.ask,
        bidSize: input.bidSize,
        askSize: input.askSize,
      });
    else if (input.type === 'clock') await pub.publishClock(input.time);
    else await pub.publishResolution({ venue: venue(input.market), market: input.market, outcome: input.outcome, ts: input.ts });
  };
  const accounts = Array.from({ length: o.accounts }, (_, n) => ({
    assessmentId: `h-${String(n + 1).padStart(4, '0')}`,
    traderId: `trader-${n % 3}`,
    tier: tiers[n % tiers.length]!,
  }));
  const quotes = new Map<string, Quote>();
  bots.bots = new BotTraders({
    random: new Random(`${o.seed}:bots`),
    accounts,
    quote: (s) => quotes.get(s),
    instruments,
    startTime: FEED_START,
    actionsPerHour: o.actionsPerHour ?? 6,
  });
  await c.node.ready;
  await publish({ type: 'clock', time: FEED_START });
  await caughtUp(c);
  for (const a of accounts) {
    const r = await c.node.offer({ kind: 'create', assessmentId: a.assessmentId, traderId: a.traderId, tierId: a.tier.id });
    if (!r.ok) throw new Error(`create ${a.assessmentId}: ${r.code}`);
  }
  await c.node.engine.barrier();
  let next = feed.next();
  for (let minute = FEED_START + 60_000; minute <= FEED_START + o.feedMs; minute += 60_000) {
    const sent: Promise<void>[] = [];
    while (!feed.done && (next.type === 'tick' ? next.tick.ts : next.resolution.ts) <= minute) {
      if (next.type === 'tick') {
        const { seq: _seq, ...t } = next.tick;
        sent.push(publish({ type: 'tick', ...t }));
        quotes.set(t.symbol, { seq: next.tick.seq, ts: t.ts, bid: t.bid, ask: t.ask, bidSize: t.bidSize, askSize: t.askSize });
      } else {
        sent.push(
          publish({ type: 'resolution', market: next.resolution.market, outcome: next.resolution.outcome, ts: next.resolution.ts }),
        );
        for (const i of instruments) if (i.market === next.resolution.market) quotes.delete(i.symbol);
      }
      next = feed.next();
    }
    sent.push(publish({ type: 'clock', time: minute }));
    await Promise.all(sent);
    await caughtUp(c);
    for (const cmd of bots.bots.commands(minute))
      await c.node.offer({ kind: 'command', assessmentId: cmd.assessmentId, command: cmd.command });
    await c.node.engine.barrier();
  }
  return accounts;
}
