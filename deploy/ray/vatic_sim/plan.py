"""A validated job reduced to the numbers the vectorized kernel reads.

Phase rules become small NumPy tables indexed by phase (a rule a phase does
not have becomes a neutral value: floors at -inf, deadlines at +inf), and
the path's start (the first phase, or a live assessment's ``from`` state)
becomes scalars that every path of a chunk starts from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .block_length import stationary_block_length

INF = math.inf
MODES = {'static': 0, 'eod-trailing': 1, 'intraday-trailing': 2}

# Outcome codes, in the order of OUTCOMES in simulation-spec.ts.
OUTCOMES = ('passed', 'daily-loss', 'max-loss', 'phase-time-limit', 'inactivity', 'undecided')
PASSED, DAILY_LOSS, MAX_LOSS, TIME_LIMIT, INACTIVITY, UNDECIDED = range(6)

MINUTES_PER_DAY = 1440  # the clock counts whole minutes from the start of day 0 (times compare exactly)
FAN_STEPS = 250


def _phase_row(p: dict) -> dict:
    """One phase's numbers (neutral values where the phase has no such rule)."""
    start = p['startingBalance']
    daily, ml = p['daily'], p['maxLoss']
    return {
        'start': start,
        'has_tgt': p['target'] is not None,
        'tgt_abs': start + p['target'] if p['target'] is not None else INF,
        'eq_tgt': p['target'] is not None and p['targetBasis'] == 'equity',
        'has_daily': daily is not None,
        'd_amt': (daily['amount'] or 0.0) if daily else 0.0,
        'd_pct': (daily['pctOfBase'] or 0.0) / 100.0 if daily else 0.0,
        'soft': bool(daily and daily['severity'] == 'soft'),
        'has_ml': ml is not None,
        'ml_amt': ml['amount'] if ml else 0.0,
        'mode': MODES[ml['mode']] if ml else 0,
        'lock': ml['lockLevel'] if ml and ml['lockLevel'] is not None else INF,
        'min_td': p['minTradingDays'],
        'min_tr': p['minTrades'],
        'has_cons': p['consistency'] is not None,
        'cons': p['consistency'] if p['consistency'] is not None else INF,
        'max_days': p['maxDays'] * MINUTES_PER_DAY if p['maxDays'] is not None else INF,
        'inact': p['inactivityDays'] * MINUTES_PER_DAY if p['inactivityDays'] is not None else INF,
    }


def daily_floor_at_start(row: dict, balance: float) -> float:
    """The daily floor a phase sets at its start (or a day roll) for a balance."""
    if not row['has_daily']:
        return -INF
    return balance - (row['d_amt'] + balance * row['d_pct'])


@dataclass
class StartState:
    """Where every path of the job starts (scalars; times in minutes from the start of day 0)."""
    phase: int
    balance: float
    daily_floor: float
    ml_floor: float
    high_water: float
    floor_locked: bool
    trades: int
    trading_days: int
    traded_today: bool
    today_pnl: float
    today_has: bool
    past_best: float
    locked: bool
    last_activity: float
    phase_start: float
    now: int


@dataclass
class Plan:
    """Everything the chunk kernel needs, derived once per job."""
    job: dict
    tables: dict = field(default_factory=dict)
    uniform: dict = field(default_factory=dict)
    returns: np.ndarray = None
    block_length: float | None = None
    trades_per_day: np.ndarray = None
    positive_days: np.ndarray = None
    p_trading_day: float = 1.0
    start: StartState = None
    start0: float = 0.0
    ruin: bool = True
    ruin_level: float = 0.0
    compound: bool = False
    max_trades: int | None = None
    horizon_minutes: float | None = None
    fan_paths: int = 0
    flags: dict = field(default_factory=dict)

    @property
    def n_phases(self) -> int:
        return len(self.job['phases'])

    def par(self, name: str, ph: np.ndarray):
        """A phase parameter for each path: a scalar when every phase agrees, else a gather."""
        if name in self.uniform:
            return self.uniform[name]
        return self.tables[name][ph]

    def row(self, index: int) -> dict:
        """One phase's parameters as Python scalars."""
        return {k: v[index].item() for k, v in self.tables.items()}


def _tables(phases: list[dict]) -> tuple[dict, dict]:
    rows = [_phase_row(p) for p in phases]
    tables = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    uniform = {k: v[0].item() for k, v in tables.items() if np.all(v == v[0])}
    return tables, uniform


def _fresh_start(plan: Plan, index: int) -> StartState:
    row = plan.row(index)
    s = row['start']
    return StartState(
        phase=index, balance=s, daily_floor=daily_floor_at_start(row, s),
        ml_floor=s - row['ml_amt'] if row['has_ml'] else -INF, high_water=s,
        floor_locked=not row['has_ml'] or row['mode'] == 0, trades=0, trading_days=0, traded_today=False,
        today_pnl=0.0, today_has=False, past_best=-INF, locked=False, last_activity=0.0, phase_start=0.0, now=0)


def _from_start(plan: Plan, f: dict) -> StartState:
    """A live assessment's state. Now is ``dayFraction`` into day 0; the ages
    (``daysElapsed``, ``daysSinceActivity``) count back from now."""
    row = plan.row(f['phaseIndex'])
    now = round(f['dayFraction'] * MINUTES_PER_DAY)
    return StartState(
        phase=f['phaseIndex'], balance=f['balance'],
        daily_floor=f['dailyFloor'] if row['has_daily'] else -INF,
        ml_floor=f['maxLossFloor'] if row['has_ml'] else -INF, high_water=f['highWater'],
        floor_locked=f['floorLocked'] or not row['has_ml'] or row['mode'] == 0,
        trades=f['trades'], trading_days=f['tradingDays'], traded_today=f['tradedToday'],
        today_pnl=f['todayPnl'] or 0.0, today_has=f['todayPnl'] is not None,
        past_best=max(f['pastDayPnl']) if f['pastDayPnl'] else -INF,
        locked=f['lockedToday'], last_activity=now - round(f['daysSinceActivity'] * MINUTES_PER_DAY),
        phase_start=now - round(f['daysElapsed'] * MINUTES_PER_DAY), now=now)


def _flags(tables: dict) -> dict:
    """Which rule families any phase has: the kernel skips the others' vector work."""
    return {
        'daily': bool(tables['has_daily'].any()),
        'soft': bool(tables['soft'].any()),
        'eod': bool(np.any(tables['has_ml'] & (tables['mode'] == 1))),
        'intraday': bool(np.any(tables['has_ml'] & (tables['mode'] == 2))),
        'cons': bool(tables['has_cons'].any()),
        'eq_tgt': bool(tables['eq_tgt'].any()),
        'max_days': bool(np.isfinite(tables['max_days']).any()),
        'inact': bool(np.isfinite(tables['inact']).any()),
    }


def build_plan(job: dict) -> Plan:
    """Derive the kernel's plan from a validated bootstrap job."""
    plan = Plan(job=job)
    plan.tables, plan.uniform = _tables(job['phases'])
    plan.flags = _flags(plan.tables)
    plan.returns = np.asarray(job['returns'], dtype=np.float64)
    if job['method'] == 'block':
        given = job['blockLength']
        plan.block_length = float(given) if given is not None else stationary_block_length(plan.returns)
    tpd = np.asarray(job['tradesPerDay'], dtype=np.int64)
    plan.trades_per_day = tpd
    plan.positive_days = tpd[tpd > 0]
    plan.p_trading_day = plan.positive_days.size / tpd.size
    f = job['from']
    plan.start = _from_start(plan, f) if f is not None else _fresh_start(plan, 0)
    first = plan.row(plan.start.phase)
    plan.start0 = plan.start.balance
    plan.ruin = job['ruin']
    if f is not None and first['has_ml']:
        plan.ruin_level = f['maxLossFloor'] - plan.start0
    else:
        plan.ruin_level = -(first['ml_amt'] if first['has_ml'] else first['start'])
    plan.compound = job['sizing'] == 'compound'
    plan.max_trades = job['horizon']['trades']
    days = job['horizon']['days']
    plan.horizon_minutes = days * MINUTES_PER_DAY if days is not None else None
    plan.fan_paths = min(job['fanPaths'], job['paths'])
    return plan
