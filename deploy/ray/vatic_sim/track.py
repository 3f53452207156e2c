"""Per-path clock, return draws and the risk-of-ruin tracker.

Every path of a chunk takes one trade slot per kernel step, so slot ``k`` is
the same for all of them. The :class:`Track` owns what runs to the horizon
whatever the verdict: the day and minute of each slot, the drawn return, and
the ruin account (cumulative P&L of every slot, verdicts and locks ignored,
against the first phase's max-loss amount held static).

Quiet days are skipped in one draw: after a day's trades, the number of days
until the next day with trades is geometric (the share of history days with
a trade), and that day's count is uniform over the history's non-zero
counts. This is the same law as drawing every day's count from
``tradesPerDay``; a flat account's day roll is idempotent, so rolling over
several days at once is the same as rolling over each.
"""
from __future__ import annotations

import numpy as np

from .plan import FAN_STEPS, MINUTES_PER_DAY, Plan


class IidSampler:
    """Returns drawn uniformly from the history."""

    def __init__(self, returns: np.ndarray, rng: np.random.Generator) -> None:
        self.returns = returns
        self.rng = rng

    def draw(self, k: int, size: int) -> np.ndarray:
        """One return per path for slot ``k``."""
        return self.returns[self.rng.integers(0, self.returns.size, size)]

    def compact(self, keep: np.ndarray) -> None:
        """Drop the state of finished paths (none to drop)."""


class BlockSampler:
    """Stationary bootstrap (Politis & Romano 1994) with mean block length ``L``."""

    def __init__(self, returns: np.ndarray, rng: np.random.Generator, block_length: float) -> None:
        self.returns = returns
        self.rng = rng
        self.p_new = 1.0 / block_length
        self.pos: np.ndarray | None = None

    def draw(self, k: int, size: int) -> np.ndarray:
        """A new block with probability 1/L (always at the first draw), else the next return, circularly."""
        n = self.returns.size
        if self.pos is None:
            self.pos = self.rng.integers(0, n, size)
        else:
            self.pos += 1
            self.pos[np.flatnonzero(self.pos == n)] = 0
            new = np.flatnonzero(self.rng.random(size) < self.p_new)
            if new.size:
                self.pos[new] = self.rng.integers(0, n, new.size)
        return self.returns[self.pos]

    def compact(self, keep: np.ndarray) -> None:
        """Keep the block positions of the paths still running."""
        if self.pos is not None:
            self.pos = self.pos[keep]


class SequenceSampler:
    """A fixed return per slot for every path (hand-made tests)."""

    def __init__(self, sequence: list[float]) -> None:
        self.sequence = np.asarray(sequence, dtype=np.float64)

    def draw(self, k: int, size: int) -> np.ndarray:
        return np.full(size, self.sequence[k % self.sequence.size])

    def compact(self, keep: np.ndarray) -> None:
        """Stateless."""


def make_sampler(plan: Plan, rng: np.random.Generator):
    """The sampler of the job's bootstrap method."""
    if plan.block_length is not None:
        return BlockSampler(plan.returns, rng, plan.block_length)
    return IidSampler(plan.returns, rng)


class Track:
    """Clock, returns and ruin account of the paths of one chunk still inside the horizon.

    Times are whole minutes from the start of day 0: trade ``j`` of day ``d``
    is at ``d * 1440 + j + 1``, and on day 0 of a live assessment at
    ``now + j + 1`` (trades that would fall after midnight do not happen).
    """

    def __init__(self, plan: Plan, n: int, rng: np.random.Generator, sampler, fan_len: np.ndarray) -> None:
        self.plan = plan
        self.rng = rng
        self.sampler = sampler
        self.fan_len = fan_len
        self.orig = np.arange(n)
        self.next_t = np.full(n, plan.start.now + 1, dtype=np.int64)  # minute of the next trade
        self.left = self._first_day(n)
        self.first_roll = self.next_t > MINUTES_PER_DAY
        self.ruin_pnl = np.zeros(n)
        self.ruined = np.zeros(n, dtype=bool)

    def _first_day(self, n: int) -> np.ndarray:
        """Day 0's count (from ``tradesPerDay``, cut at midnight), or the first later day with trades."""
        plan = self.plan
        counts = np.minimum(plan.trades_per_day[self.rng.integers(0, plan.trades_per_day.size, n)],
                            MINUTES_PER_DAY - 1 - plan.start.now)
        quiet = np.flatnonzero(counts <= 0)
        if quiet.size:
            self.next_t[quiet] = self.rng.geometric(plan.p_trading_day, quiet.size) * MINUTES_PER_DAY + 1
            counts[quiet] = self._day_counts(quiet.size)
        return counts

    def _day_counts(self, size: int) -> np.ndarray:
        days = self.plan.positive_days
        return days[self.rng.integers(0, days.size, size)]

    def _next_days(self) -> np.ndarray:
        """Move paths whose day has no trade left to their next day with trades; return who rolled.

        A day's trades end before midnight, so the day of the last one is ``(next_t - 2) // 1440``."""
        rolled = self.left == 0
        rows = np.flatnonzero(rolled)
        if rows.size:
            day = (self.next_t[rows] - 2) // MINUTES_PER_DAY + self.rng.geometric(self.plan.p_trading_day, rows.size)
            self.next_t[rows] = day * MINUTES_PER_DAY + 1
            self.left[rows] = self._day_counts(rows.size)
        return rolled

    def step(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Advance every path by slot ``k``: (minute, return, day rolled before it, inside the day
        horizon or None without one)."""
        rolled = self.first_roll if k == 0 else self._next_days()
        t = self.next_t.astype(np.float64)
        r = self.sampler.draw(k, t.size)
        live = None if self.plan.horizon_minutes is None else t < self.plan.horizon_minutes
        if self.plan.ruin:
            self._ruin(k, r, live)
        self.left -= 1
        self.next_t += 1
        return t, r, rolled, live

    def _ruin(self, k: int, r: np.ndarray, live: np.ndarray | None) -> None:
        """Book every slot on the ruin account (locks and verdicts ignored); ruin is strictly below the level."""
        plan = self.plan
        base = plan.start0 + self.ruin_pnl if plan.compound else plan.start0
        self.ruin_pnl += r * base if live is None else r * base * live
        below = self.ruin_pnl < plan.ruin_level
        self.ruined |= below if live is None else below & live
        if self.fan_len.size and k < FAN_STEPS:
            recorded = self.orig < self.fan_len.size
            rows = np.flatnonzero(recorded if live is None else recorded & live)
            self.fan_len[self.orig[rows]] = k + 1

    def compact(self, keep: np.ndarray, ruined_out: np.ndarray) -> np.ndarray:
        """Drop finished paths (saving their ruin flag); return old row -> new row (-1: dropped)."""
        gone = np.flatnonzero(~keep)
        ruined_out[self.orig[gone]] = self.ruined[gone]
        rows = np.flatnonzero(keep)
        for name in ('orig', 'next_t', 'left', 'ruin_pnl', 'ruined'):
            setattr(self, name, getattr(self, name)[rows])
        self.sampler.compact(rows)
        remap = np.full(keep.size, -1, dtype=np.int64)
        remap[rows] = np.arange(rows.size)
        return remap

    def finish(self, ruined_out: np.ndarray) -> None:
        """Save the ruin flag of every path still held."""
        ruined_out[self.orig] = self.ruined
