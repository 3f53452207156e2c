/**
 * Two stories the demo's console trader owns before the live feed starts,
 * so the console has a failed and a passed assessment, each with its
 * history and report, from the first minute: a prologue of four feed days
 * (designed quotes through the market log, orders through the journal, as
 * everything else) ending before the synthetic feed begins.
 *
 * - `demo-story-fail` buys 50 ETH; ETH falls 3% within the hour and equity
 *   crosses the 5% daily floor: failed, with the violation's evidence.
 * - `demo-story-pass` buys 5 BTC before a rise and banks +11.7% on day one;
 *   the pass is blocked by the 4-trading-day minimum until a small trade on
 *   each of the next three days counts them, and the challenge is passed.
 */
import type { Command } from '../../actors/index.js';
import type { IntakeResult } from '../index.js';

/** The story accounts, by id. */
export const STORY_IDS = ['demo-story-fail', 'demo-story-pass'] as const;

const HOUR = 3_600_000;
const MIN = 60_000;

type MarketInput = { type: 'tick'; symbol: string; ts: number; bid: number; ask: number } | { type: 'clock'; time: number };

export interface StoryPorts {
  /** Publish a market input to the node's market log. */
  publish(input: MarketInput): void;
  /** Wait until the node applied everything published. */
  caughtUp(): Promise<void>;
  offer(
    request:
      | { kind: 'create'; assessmentId: string; traderId: string; tierId: string }
      | { kind: 'command'; assessmentId: string; command: Command },
  ): Promise<IntakeResult>;
}

/**
 * Run the prologue from `start` (which must be at least 4.5 days before the
 * live feed and after any earlier input). Accounts that exist already (a
 * restart on the same DATA_DIR) are left as they are.
 */
export async function runStories(p: StoryPorts, traderId: string, start: number): Promise<void> {
  let clock = start;
  const at = async (time: number): Promise<void> => {
    // A clock beat every hour on the way, so each reset fires at its own instant.
    for (let t = Math.floor(clock / HOUR) * HOUR + HOUR; t < time; t += HOUR) p.publish({ type: 'clock', time: t });
    clock = time;
    p.publish({ type: 'clock', time });
  };
  const tick = (symbol: string, bid: number): void =>
    p.publish({ type: 'tick', symbol, ts: clock, bid, ask: bid + (symbol === 'BTC-USD' ? 10 : 1) });
  const order = async (assessmentId: string, clientOrderId: string, side: 'buy' | 'sell', symbol: string, qty: number): Promise<void> => {
    await p.caughtUp();
    await p.offer({ kind: 'command', assessmentId, command: { kind: 'place', clientOrderId, symbol, side, type: 'market', qty } });
  };
  await at(start);
  tick('BTC-USD', 58_000);
  tick('ETH-USD', 3_000);
  await p.caughtUp();
  for (const id of STORY_IDS) await p.offer({ kind: 'create', assessmentId: id, traderId, tierId: 'two-step-100k' });
  await at(start + MIN);
  await order('demo-story-pass', 'story-buy', 'buy', 'BTC-USD', 5);
  await order('demo-story-fail', 'story-buy', 'buy', 'ETH-USD', 50);
  // ETH slides 3.5% in the first hour (the fail); BTC climbs 2,400 over six hours (the pass's first day).
  for (let k = 1; k <= 24; k++) {
    await at(start + MIN + k * 15 * MIN);
    if (k <= 6) tick('ETH-USD', 3_000 - 18 * k);
    tick('BTC-USD', 58_000 + 100 * k - (k % 3 === 0 ? 30 : 0));
  }
  await order('demo-story-pass', 'story-bank', 'sell', 'BTC-USD', 5);
  // One small round trip on each of the next three trading days (Prague resets), each a counted trading day.
  for (let day = 1; day <= 3; day++) {
    await at(start + day * 24 * HOUR + 2 * HOUR);
    tick('BTC-USD', 60_400);
    await order('demo-story-pass', `story-day${day}-in`, 'buy', 'BTC-USD', 0.01);
    await at(clock + 5 * MIN);
    tick('BTC-USD', 60_400);
    await order('demo-story-pass', `story-day${day}-out`, 'sell', 'BTC-USD', 0.01);
  }
  await p.caughtUp();
}
