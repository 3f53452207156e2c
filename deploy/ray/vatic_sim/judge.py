"""The rule judge of one chunk of paths, vectorized over the paths still
without a verdict.

Each step judges one trade slot for every undecided path, in the engine's
order (sim/README.md, "Life of a path"): the day roll when the path's day
changed, the clock (the earlier of inactivity and the phase time limit), then the trade:
open (unless a soft daily lock holds), the equity tick (intraday-trailing
peak, max-loss floor, daily floor), the booking, and the pass check with the
hand-over to the next phase. A verdict writes the path's records; decided
rows are dropped when half of them are.

Speed notes: work on a sparse subset goes through index arrays
(``flatnonzero``), never boolean fancy indexing; dense updates are
arithmetic on masks rather than ``np.where`` (unpredictable branches).
"""
from __future__ import annotations

import numpy as np

from .plan import (DAILY_LOSS, FAN_STEPS, INACTIVITY, INF, MAX_LOSS, MINUTES_PER_DAY, PASSED, TIME_LIMIT,
                   UNDECIDED, Plan, StartState)

STATE = ('orig', 'trow', 'alive', 'ph', 'bal', 'dfl', 'mlf', 'hw', 'flk', 'ntr', 'ntd', 'trd', 'tpn',
         'thas', 'pbest', 'lck', 'lact', 'pst', 'cum', 'peak', 'mdd')
FAR = 1e300  # "minus infinity" for a masked maximum that must not produce NaN


class Records:
    """Per-path results of one chunk, and the fan of its first recorded paths.

    A fan row holds cumulative P&L after each trade slot up to ``fan_last``
    (the verdict); ``fan_len`` counts the slots the path took (to the horizon
    while the ruin account runs), over which the last value holds.
    """

    def __init__(self, n: int, fan_paths: int) -> None:
        self.outcome = np.full(n, UNDECIDED, dtype=np.uint8)
        self.pass_day = np.zeros(n, dtype=np.int64)
        self.final_pnl = np.zeros(n)
        self.drawdown = np.zeros(n)
        self.ruined = np.zeros(n, dtype=bool)
        self.fan_paths = min(fan_paths, n)
        self.fan = np.zeros((self.fan_paths, FAN_STEPS + 1))
        self.fan_len = np.zeros(self.fan_paths, dtype=np.int64)
        self.fan_last = np.zeros(self.fan_paths, dtype=np.int64)


class Judge:
    """Rule state of the undecided paths of a chunk (struct of arrays)."""

    def __init__(self, plan: Plan, n: int, rec: Records) -> None:
        self.plan = plan
        self.rec = rec
        self.flags = plan.flags
        self._cache: dict = {}
        s: StartState = plan.start
        self.orig = np.arange(n)
        self.trow = np.arange(n)
        self.ph = np.full(n, s.phase, dtype=np.int64)
        full = lambda v, dt=np.float64: np.full(n, v, dtype=dt)  # noqa: E731
        self.alive = full(True, bool)
        self.bal, self.dfl = full(s.balance), full(s.daily_floor)
        self.mlf, self.hw = full(s.ml_floor), full(s.high_water)
        self.flk, self.trd, self.thas, self.lck = full(s.floor_locked, bool), full(s.traded_today, bool), \
            full(s.today_has, bool), full(s.locked, bool)
        self.ntr, self.ntd = full(s.trades, np.int64), full(s.trading_days, np.int64)
        self.tpn, self.pbest = full(s.today_pnl), full(s.past_best)
        self.lact, self.pst = full(s.last_activity), full(s.phase_start)
        self.cum, self.peak, self.mdd = full(0.0), full(0.0), full(0.0)

    # -- bookkeeping ---------------------------------------------------------

    def par(self, name: str):
        """A phase parameter for every row (a scalar when all phases agree); cached until phases change."""
        if name in self.plan.uniform:
            return self.plan.uniform[name]
        if name not in self._cache:
            self._cache[name] = self.plan.tables[name][self.ph]
        return self._cache[name]

    def par_at(self, name: str, rows: np.ndarray):
        """A phase parameter for the given rows."""
        if name in self.plan.uniform:
            return self.plan.uniform[name]
        return self.plan.tables[name][self.ph[rows]]

    @property
    def count(self) -> int:
        """Rows still undecided."""
        return int(np.count_nonzero(self.alive))

    def _finalize(self, mask: np.ndarray, code: int, t=None) -> None:
        """Give the undecided rows in ``mask`` their verdict and write their records."""
        rows = np.flatnonzero(mask & self.alive)
        if rows.size == 0:
            return
        o = self.orig[rows]
        self.rec.outcome[o] = code
        self.rec.final_pnl[o] = self.bal[rows] - self.plan.tables['start'][self.ph[rows]]
        self.rec.drawdown[o] = self.mdd[rows] / self.plan.start0
        if code == PASSED:
            self.rec.pass_day[o] = t[rows].astype(np.int64) // MINUTES_PER_DAY + 1
        self.alive[rows] = False

    def compact(self, remap: np.ndarray | None = None) -> None:
        """Keep only the undecided rows; ``remap`` maps tracker rows after the tracker compacted."""
        keep = np.flatnonzero(self.alive)
        for name in STATE:
            setattr(self, name, getattr(self, name)[keep])
        if remap is not None:
            self.trow = remap[self.trow]
        self._cache.clear()

    def finish(self) -> None:
        """The horizon of trades came first: the rest stay undecided."""
        self._finalize(self.alive.copy(), UNDECIDED)

    # -- rules ---------------------------------------------------------------

    def _trail(self, rows: np.ndarray) -> None:
        """Raise trailing floors to min(highWater - limit, lock), never down; lock them at the lock level."""
        rows = rows[~self.flk[rows]]
        if rows.size == 0:
            return
        lock = self.par_at('lock', rows)
        floor = np.maximum(self.mlf[rows], np.minimum(self.hw[rows] - self.par_at('ml_amt', rows), lock))
        self.mlf[rows] = floor
        self.flk[rows] = floor >= lock

    def _roll(self, m: np.ndarray) -> None:
        """The day roll of the rows in mask ``m``: today's P&L becomes a past day's, new daily floor,
        EOD trail, locks end."""
        had = np.flatnonzero(m & self.thas)
        self.pbest[had] = np.maximum(self.pbest[had], self.tpn[had])
        self.tpn *= ~m
        keep = ~m
        self.thas &= keep
        self.trd &= keep
        self.lck &= keep
        if not (self.flags['daily'] or self.flags['eod']):
            return
        rows = np.flatnonzero(m)
        bal = self.bal[rows]
        if self.flags['daily']:
            floor = bal - (self.par_at('d_amt', rows) + bal * self.par_at('d_pct', rows))
            self.dfl[rows] = np.where(self.par_at('has_daily', rows), floor, -INF)
        if self.flags['eod']:
            eod = rows[np.broadcast_to(self.par_at('has_ml', rows) & (self.par_at('mode', rows) == 1), rows.shape)]
            self.hw[eod] = np.maximum(self.hw[eod], self.bal[eod])
            self._trail(eod)

    def _clock(self, mask: np.ndarray, t) -> None:
        """Deadlines due at time ``t``, the earlier first as the engine fires them (inactivity on a tie)."""
        inact_at = self.lact + self.par('inact') if self.flags['inact'] else INF
        limit_at = self.pst + self.par('max_days') if self.flags['max_days'] else INF
        if self.flags['inact']:
            self._finalize(mask & (t >= inact_at) & (inact_at <= limit_at), INACTIVITY)
        if self.flags['max_days']:
            self._finalize(mask & (t >= limit_at), TIME_LIMIT)

    def _horizon_end(self, ended: np.ndarray) -> None:
        """The day horizon came: judge the clock at its end, the rest stay undecided."""
        self._clock(ended, self.plan.horizon_minutes)
        self._finalize(ended, UNDECIDED)

    def _passing(self, cand: np.ndarray) -> np.ndarray:
        """Rows (indices) whose phase passes now: target, minimum days and trades, consistency."""
        ok = cand & (self.bal >= self.par('tgt_abs'))
        if not ok.any():
            return np.empty(0, dtype=np.int64)
        rows = np.flatnonzero(ok)
        met = (self.ntr[rows] >= self.par_at('min_tr', rows)) & (self.ntd[rows] >= self.par_at('min_td', rows))
        if self.flags['cons']:
            total = self.bal[rows] - self.par_at('start', rows)
            best = np.maximum(self.pbest[rows], np.where(self.thas[rows], self.tpn[rows], 0.0))
            with np.errstate(divide='ignore', invalid='ignore'):
                ratio = best / total
            met &= ~np.asarray(self.par_at('has_cons', rows)) | ((total > 0) & (ratio <= self.par_at('cons', rows)))
        return rows[met]

    def _hand_over(self, rows: np.ndarray, t: np.ndarray) -> None:
        """Passed phases: passing the last one, or into one without a target (funded), passes the
        path (its final P&L stays the passed phase's); otherwise the next phase starts fresh."""
        nxt = self.ph[rows] + 1
        tb = self.plan.tables
        done = nxt >= self.plan.n_phases
        done[~done] = ~tb['has_tgt'][nxt[~done]]
        self._finalize(self._mask(rows[done]), PASSED, t)
        rows, nxt = rows[~done], nxt[~done]
        if rows.size == 0:
            return
        start = tb['start'][nxt]
        self.ph[rows] = nxt
        self._cache.clear()
        self.bal[rows] = self.hw[rows] = start
        self.dfl[rows] = np.where(tb['has_daily'][nxt], start - (tb['d_amt'][nxt] + start * tb['d_pct'][nxt]), -INF)
        self.mlf[rows] = np.where(tb['has_ml'][nxt], start - tb['ml_amt'][nxt], -INF)
        self.flk[rows] = ~tb['has_ml'][nxt] | (tb['mode'][nxt] == 0)
        self.ntr[rows] = self.ntd[rows] = 0
        self.trd[rows] = self.thas[rows] = self.lck[rows] = False
        self.tpn[rows] = 0.0
        self.pbest[rows] = -INF
        self.lact[rows] = self.pst[rows] = t[rows]

    def _mask(self, rows: np.ndarray) -> np.ndarray:
        m = np.zeros(self.alive.size, dtype=bool)
        m[rows] = True
        return m

    def _open(self, take: np.ndarray, t: np.ndarray) -> None:
        """Open the trades: activity time, trade count, trading day."""
        if self.flags['inact']:
            np.maximum(self.lact, t - FAR * ~take, out=self.lact)
        self.ntr += take
        self.ntd += take & ~self.trd
        self.trd |= take

    def _pass_at_open(self, take: np.ndarray, t: np.ndarray) -> np.ndarray:
        """With an equity target already met, the open can complete the counts: the
        phase passes at once, flat (the engine passes and closes at that tick)."""
        passing = self._passing(take & self.par('eq_tgt'))
        if passing.size == 0:
            return take
        take = take.copy()
        take[passing] = False
        self._hand_over(passing, t)
        return take

    def _trade(self, take: np.ndarray, t: np.ndarray, r: np.ndarray) -> None:
        """Open, tick, book and judge the trade of the rows in ``take``."""
        self._open(take, t)
        if self.flags['eq_tgt']:
            take = self._pass_at_open(take, t)
        base = self.bal if self.plan.compound else self.par('start')
        pnl = r * base * take
        eq = self.bal + pnl
        if self.flags['intraday']:
            up = np.flatnonzero(take & (eq > self.hw))
            up = up[np.broadcast_to(self.par_at('has_ml', up) & (self.par_at('mode', up) == 2), up.shape)]
            self.hw[up] = eq[up]
            self._trail(up)
        mlb = take & (eq < self.mlf)
        dlb = take & (eq < self.dfl) & ~mlb if self.flags['daily'] else None
        self.bal = eq
        self.cum += pnl
        np.maximum(self.peak, self.cum, out=self.peak)
        np.maximum(self.mdd, self.peak - self.cum, out=self.mdd)
        self.tpn += pnl
        self.thas |= pnl != 0
        self._finalize(mlb, MAX_LOSS)
        cand = take & ~mlb
        if dlb is not None and dlb.any():
            soft = self.par('soft')
            self._finalize(dlb & ~soft, DAILY_LOSS)
            self.lck |= dlb & soft
            cand &= ~dlb
        passing = self._passing(cand)
        if passing.size:
            self._hand_over(passing, t)

    def _record_fan(self, slot: np.ndarray, k: int) -> None:
        """Cumulative P&L after slot ``k`` of the recorded paths that took it."""
        if self.rec.fan_paths == 0 or k + 1 > FAN_STEPS:
            return
        rows = np.flatnonzero(slot & (self.orig < self.rec.fan_paths))
        if rows.size:
            o = self.orig[rows]
            self.rec.fan[o, k + 1] = self.cum[rows]
            self.rec.fan_last[o] = k + 1
            self.rec.fan_len[o] = np.maximum(self.rec.fan_len[o], k + 1)

    def step(self, k: int, t_all: np.ndarray, r_all: np.ndarray, rolled_all: np.ndarray, live_all) -> None:
        """Judge trade slot ``k`` of every undecided row (tracker arrays are indexed through ``trow``)."""
        t = t_all[self.trow]
        if live_all is not None:
            ended = self.alive & ~live_all[self.trow]
            if ended.any():
                self._horizon_end(ended)
        rolled = self.alive & rolled_all[self.trow]
        if rolled.any():
            self._roll(rolled)
        slot = self.alive.copy()  # the slot is taken even if the clock ends the path at it
        self._clock(self.alive, t)
        take = self.alive & ~self.lck
        if take.any():
            self._trade(take, t, r_all[self.trow])
        self._record_fan(slot, k)
