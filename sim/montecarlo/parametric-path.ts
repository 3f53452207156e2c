/**
 * Parametric paths: a Merton jump-diffusion price and a strategy that holds
 * one position after another. Equity is judged at every monitoring step, and
 * inside a step through the exact law of the Brownian bridge's minimum and
 * maximum, so a floor is caught as a tick feed would catch it, not only at
 * the step's end. Jumps land at the end of their step.
 */
import type { ChunkRecords, KernelPlan, PathTally } from './path-tally.js';
import { recordFan } from './path-tally.js';
import { MINUTES_PER_DAY, type PathJudge } from './path-judge.js';
import type { Sfc32 } from './sfc32.js';

/** Judge one parametric path (see sim/README.md, "Parametric paths"). */
export function runParametricPath(plan: KernelPlan, judge: PathJudge, tally: PathTally, rng: Sfc32, rec: ChunkRecords): void {
  const m = plan.job.model!;
  const spd = m.stepsPerDay;
  const stepsPerTrade = Math.max(1, Math.round(m.holdDays * spd));
  const dtYears = 1 / spd / 365;
  const kappa = Math.exp(m.jumpMean + (m.jumpStd * m.jumpStd) / 2) - 1;
  const drift = (m.mu - (m.sigma * m.sigma) / 2 - m.jumpsPerYear * kappa) * dtYears;
  const vol = m.sigma * Math.sqrt(dtYears);
  const variance = vol * vol;
  const jumpRate = m.jumpsPerYear * dtYears;
  const compound = plan.compound;
  const horizon = plan.horizonDays * MINUTES_PER_DAY;
  const stepMinutes = MINUTES_PER_DAY / spd;
  // Steps sit on a grid aligned with the day, so day rolls fall between steps.
  let s = Math.ceil((plan.job.from?.dayFraction ?? 0) * spd - 1e-9);
  for (;;) {
    const t = s * stepMinutes;
    if (t >= horizon) {
      judge.clockAt(horizon);
      return;
    }
    if (tally.taken >= plan.horizonTrades) return;
    tally.taken++;
    const live = judge.verdict < 0 && !judge.clockAt(t) && !judge.locked;
    const notional = m.exposure * judge.base(compound);
    const ruinNotional = m.exposure * (compound ? plan.start0 + tally.ruinPnl : plan.start0);
    // An open can pass the phase by itself (equity target already met).
    let ended = !live || judge.open(t);
    let x = 0;
    for (let k = 0; k < stepsPerTrade; k++) {
      // Locked for the day without a verdict, time still has to pass (else the path never moves on).
      if (ended && !plan.trackRuin && !(judge.locked && judge.verdict < 0)) break;
      const tn = (s + 1) * stepMinutes;
      if (tn > horizon) {
        judge.clockAt(horizon);
        return;
      }
      let jump = 0;
      if (jumpRate > 0) for (let j = rng.poisson(jumpRate); j > 0; j--) jump += m.jumpMean + m.jumpStd * rng.normal();
      const xd = x + drift + vol * rng.normal();
      const d2 = (xd - x) * (xd - x);
      const bridgeLo = 0.5 * (x + xd - Math.sqrt(d2 - 2 * variance * Math.log(rng.positive())));
      const bridgeHi = 0.5 * (x + xd + Math.sqrt(d2 - 2 * variance * Math.log(rng.positive())));
      const xn = xd + jump;
      const eLo = Math.expm1(Math.min(bridgeLo, xn));
      const eHi = Math.expm1(Math.max(bridgeHi, xn));
      if (!ended) {
        const lo = notional > 0 ? notional * eLo : notional * eHi;
        const hi = notional > 0 ? notional * eHi : notional * eLo;
        ended = judge.mark(lo, hi, tn);
        tally.judged(lo, hi, judge.realized, ended);
        if (ended) tally.cum += judge.realized;
      }
      const ruinLo = ruinNotional > 0 ? ruinNotional * eLo : ruinNotional * eHi;
      if (tally.ruinPnl + ruinLo < plan.ruinLevel) tally.ruined = true;
      x = xn;
      s++;
      if (s % spd === 0 && judge.verdict < 0) judge.rollDay(ended ? 0 : notional * Math.expm1(x));
      if (!ended && judge.clockAt(tn)) {
        // Expiry flattens the open position at this step.
        judge.settle(notional * Math.expm1(x));
        tally.cum += judge.realized;
        ended = true;
      }
    }
    if (!ended) {
      const pnl = notional * Math.expm1(x) - m.fee * Math.abs(notional);
      judge.close(pnl, s * stepMinutes);
      tally.judged(pnl, pnl, pnl, false);
      tally.cum += pnl;
    }
    tally.ruinPnl += ruinNotional * Math.expm1(x) - m.fee * Math.abs(ruinNotional);
    if (tally.ruinPnl < plan.ruinLevel) tally.ruined = true;
    recordFan(plan, tally, rec, tally.cum);
    if (judge.verdict >= 0 && !plan.trackRuin) return;
  }
}
