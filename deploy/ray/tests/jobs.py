"""Job builders and a deterministic path runner shared by the tests."""
from __future__ import annotations

import copy
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vatic_sim import build_plan, run_chunk, validate_job  # noqa: E402
from vatic_sim.plan import OUTCOMES  # noqa: E402
from vatic_sim.track import SequenceSampler  # noqa: E402


def phase(**overrides) -> dict:
    """A 10,000 phase with a 1,000 target and no other rule, with overrides."""
    p = {
        'name': 'phase', 'startingBalance': 10_000, 'target': 1_000, 'targetBasis': 'balance', 'daily': None,
        'maxLoss': None, 'minTradingDays': 0, 'minTrades': 0, 'consistency': None, 'maxDays': None,
        'inactivityDays': None,
    }
    p.update(overrides)
    return p


def daily(amount=None, pct=None, severity='hard') -> dict:
    """A daily-loss rule by amount or percentage of the day's base."""
    return {'amount': amount, 'pctOfBase': pct, 'basis': 'balance', 'severity': severity}


def max_loss(amount, mode='static', lock=None) -> dict:
    """A max-loss rule."""
    return {'amount': amount, 'mode': mode, 'lockLevel': lock}


def job(phases=None, **overrides) -> dict:
    """A small valid IID job."""
    j = {
        'seed': 'test', 'paths': 1_000, 'method': 'iid', 'returns': [0.01, -0.01], 'tradesPerDay': [1],
        'horizon': {'trades': 20}, 'phases': phases or [phase()],
    }
    j.update(overrides)
    return j


def from_state(**overrides) -> dict:
    """A live assessment at the start of its first phase (10,000), with overrides."""
    s = {
        'phaseIndex': 0, 'balance': 10_000, 'daysElapsed': 0, 'daysSinceActivity': 0, 'dailyFloor': -1e9,
        'maxLossFloor': -1e9, 'highWater': 10_000, 'floorLocked': False, 'tradingDays': 0, 'trades': 0,
        'pastDayPnl': [], 'todayPnl': None, 'tradedToday': False, 'lockedToday': False,
    }
    s.update(overrides)
    return s


class Path:
    """The records of one deterministic path."""

    def __init__(self, rec) -> None:
        self.outcome = OUTCOMES[int(rec.outcome[0])]
        self.pass_day = int(rec.pass_day[0])
        self.final_pnl = float(rec.final_pnl[0])
        self.drawdown = float(rec.drawdown[0])
        self.ruined = bool(rec.ruined[0])
        self.fan = [float(v) for v in rec.fan[0][: int(rec.fan_len[0]) + 1]]


def run_sequence(returns: list[float], phases: list[dict], trades_per_day=(1,), horizon=None, **extra) -> Path:
    """Run one path whose k-th trade slot returns ``returns[k]`` (days of fixed length)."""
    j = job(copy.deepcopy(phases), paths=1, tradesPerDay=list(trades_per_day),
            horizon=horizon or {'trades': len(returns)}, fanPaths=1, **extra)
    plan = build_plan(validate_job(j))
    rec = run_chunk(plan, 1, np.random.default_rng(0), 1, SequenceSampler(returns))
    return Path(rec)
