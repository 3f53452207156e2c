import { positionEvidence, type AssessmentActor, type MarketView } from '../actors/index.js';
import type { StateDelta } from './inputs.js';

/** The live state of one assessment at the current marks, as pushed to its watchers. */
export function stateDelta(actor: AssessmentActor, market: MarketView, input: number, at: number): StateDelta {
  const s = actor.state;
  return {
    assessmentId: s.id,
    status: s.status,
    phase: actor.phase.name,
    startingBalance: s.startingBalance,
    balance: s.balance,
    equity: actor.figures(market).equity,
    dailyFloor: s.rules.dailyFloor,
    maxLossFloor: s.rules.maxLossFloor,
    positions: positionEvidence(s, market),
    workingOrders: Object.keys(s.orders).length,
    input,
    at,
  };
}
