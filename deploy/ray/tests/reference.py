"""A scalar reference of sim/README.md's "Life of a path", one path at a time in
plain Python, written apart from the vectorized kernel to check it: it draws
every day's trade count from ``tradesPerDay`` (quiet days included) instead of
skipping them, and keeps no arrays."""
from __future__ import annotations

import math
import random

OUTCOMES = ('passed', 'daily-loss', 'max-loss', 'phase-time-limit', 'inactivity', 'undecided')


class Account:
    """One phase's rule state."""

    def __init__(self, p: dict, t: float) -> None:
        self.p = p
        s = p['startingBalance']
        self.start = self.balance = self.high = s
        self.daily = self._daily_floor(s)
        ml = p['maxLoss']
        self.floor = s - ml['amount'] if ml else -math.inf
        self.locked_floor = ml is None or ml['mode'] == 'static'
        self.trades = self.days = 0
        self.traded_today = self.lock = False
        self.today = None
        self.past = []
        self.last = self.phase_start = t

    def _daily_floor(self, bal: float) -> float:
        d = self.p['daily']
        if d is None:
            return -math.inf
        return bal - (d['amount'] if d['amount'] is not None else bal * d['pctOfBase'] / 100)

    def trail(self) -> None:
        ml = self.p['maxLoss']
        if self.locked_floor:
            return
        lock = ml['lockLevel'] if ml['lockLevel'] is not None else math.inf
        self.floor = max(self.floor, min(self.high - ml['amount'], lock))
        if self.floor >= lock:
            self.locked_floor = True

    def roll(self) -> None:
        if self.today is not None:
            self.past.append(self.today)
        self.today = None
        self.traded_today = self.lock = False
        self.daily = self._daily_floor(self.balance)
        ml = self.p['maxLoss']
        if ml and ml['mode'] == 'eod-trailing':
            self.high = max(self.high, self.balance)
            self.trail()

    def clock(self, t: int) -> str | None:
        """Deadlines at minute ``t``, the earlier first as the engine fires them (inactivity on a tie)."""
        inact_at = self.last + self.p['inactivityDays'] * 1440 if self.p['inactivityDays'] is not None else float('inf')
        limit_at = self.phase_start + self.p['maxDays'] * 1440 if self.p['maxDays'] is not None else float('inf')
        if t >= inact_at and inact_at <= limit_at:
            return 'inactivity'
        if t >= limit_at:
            return 'phase-time-limit'
        return None

    def trade(self, t: float, r: float, compound: bool) -> tuple[str | None, float]:
        """Open, tick, book; the verdict ('pass' for a passed phase) and the P&L."""
        self.last = t
        self.trades += 1
        if not self.traded_today:
            self.days += 1
            self.traded_today = True
        pnl = r * (self.balance if compound else self.start)
        eq = self.balance + pnl
        ml = self.p['maxLoss']
        if ml and ml['mode'] == 'intraday-trailing' and eq > self.high:
            self.high = eq
            self.trail()
        verdict = None
        if eq < self.floor:
            verdict = 'max-loss'
        elif eq < self.daily:
            if self.p['daily']['severity'] == 'hard':
                verdict = 'daily-loss'
            else:
                self.lock = True
        self.balance = eq
        if pnl != 0:
            self.today = (self.today or 0.0) + pnl
        if verdict is None and not self.lock and self.passes():
            verdict = 'pass'
        return verdict, pnl

    def passes(self) -> bool:
        p = self.p
        if self.balance < self.start + p['target'] or self.trades < p['minTrades'] or self.days < p['minTradingDays']:
            return False
        if p['consistency'] is None:
            return True
        total = self.balance - self.start
        best = max(self.past + [self.today if self.today is not None else 0.0])
        return total > 0 and best / total <= p['consistency']


class Draws:
    """Returns by the job's bootstrap."""

    def __init__(self, job: dict, rng: random.Random, block_length: float | None) -> None:
        self.returns, self.rng, self.block = job['returns'], rng, block_length
        self.pos = None

    def next(self) -> float:
        n = len(self.returns)
        if self.block is None:
            return self.returns[self.rng.randrange(n)]
        if self.pos is None or self.rng.random() < 1 / self.block:
            self.pos = self.rng.randrange(n)
        else:
            self.pos = (self.pos + 1) % n
        return self.returns[self.pos]


def run_path(job: dict, rng: random.Random, block_length: float | None = None) -> dict:
    """One fresh path (no ``from``): outcome, pass day, final P&L, drawdown, ruin."""
    phases = job['phases']
    draws = Draws(job, rng, block_length)
    h_trades, h_days = job['horizon'].get('trades'), job['horizon'].get('days')
    first = phases[0]
    ruin_level = -(first['maxLoss']['amount'] if first['maxLoss'] else first['startingBalance'])
    idx, acc = 0, Account(phases[0], 0.0)
    out = {'outcome': None, 'day': 0, 'final': 0.0, 'dd': 0.0, 'ruined': False}
    cum = peak = dd = ruin = 0.0
    slots, day = 0, 0

    def settle(outcome: str, t: int | None = None) -> None:
        out.update(outcome=outcome, final=acc.balance - acc.start, dd=dd / first['startingBalance'])
        if outcome == 'passed':
            out['day'] = t // 1440 + 1

    while True:
        if h_days is not None and day >= h_days:
            break
        if day > 0 and out['outcome'] is None:
            acc.roll()
        stop = False
        for j in range(rng.choice(job['tradesPerDay'])):
            t = day * 1440 + j + 1
            if (h_trades is not None and slots >= h_trades) or (h_days is not None and t >= h_days * 1440):
                stop = True
                break
            slots += 1
            r = draws.next()
            ruin += r * (first['startingBalance'] + (ruin if job.get('sizing') == 'compound' else 0.0))
            out['ruined'] = out['ruined'] or ruin < ruin_level
            if out['outcome'] is not None:
                continue
            expired = acc.clock(t)
            if expired:
                settle(expired)
                continue
            if acc.lock:
                continue
            verdict, pnl = acc.trade(t, r, job.get('sizing') == 'compound')
            cum += pnl
            peak = max(peak, cum)
            dd = max(dd, peak - cum)
            if verdict == 'pass':
                idx += 1
                if idx == len(phases) or phases[idx]['target'] is None:
                    settle('passed', t)  # into a funded phase: passed, final P&L of the passed phase
                else:
                    acc = Account(phases[idx], t)
            elif verdict is not None:
                settle(verdict)
        if stop:
            break
        day += 1
    if out['outcome'] is None:
        if h_days is not None and not (h_trades is not None and slots >= h_trades):
            expired = acc.clock(h_days * 1440)
            if expired:
                settle(expired)
                return out
        settle('undecided')
    return out
