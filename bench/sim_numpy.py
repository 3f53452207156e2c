"""NumPy baseline for the Monte Carlo bench: pass probability of an assessment
under a simplified rule set, as fast as plain vectorized NumPy allows.

    python3 bench/sim_numpy.py --paths 1000000 --trades 100 --seed 1 --returns-file history.json

``history.json``: ``{"returns": [...], "tradesPerDay": [...], "startingBalance":
100000, "dailyLimit": 5000, "maxLoss": 10000, "target": 10000}``.

Each path takes ``--trades`` trades, each an IID draw from ``returns`` sized
on the starting balance, with the number of trades of each day drawn from
``tradesPerDay``. Judged after every trade, in this order:

- static max loss: balance < start - maxLoss fails the path;
- daily loss: balance < (balance at the day's start) - dailyLimit fails it
  (the daily floor is reset at every day boundary);
- target: balance >= start + target passes it.

Quiet days (0 trades) change nothing under these rules, so day lengths are
drawn from the non-zero counts (the same law for the trading days).

Speed: paths are processed in chunks (``--chunk``, default 65,536; 16,384
measures the same on the bench machine) with every buffer allocated once; the
loop is over trades, every operation a vector over the chunk, written in place
(``out=``). ``np.take`` gets ``mode='clip'``: with the default ``'raise'`` and
an ``out`` array NumPy takes into a temporary copy, which at this size costs
more than the rest of the step. The daily floor is tracked as the day's P&L against
``-dailyLimit`` (a zeroing at day boundaries instead of a gather/scatter of
balances); a decided path's balance becomes NaN, so no comparison ever fires
for it again and no mask of live paths is kept. Every path still draws all
its trades, so the work is exactly paths x trades draws. Timing excludes
start-up and loading the file; the figure is the median of ``--repeat`` runs
(each from the same seed, so each gives the same pass probability).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

REQUIRED = ('returns', 'tradesPerDay', 'startingBalance', 'dailyLimit', 'maxLoss', 'target')


class History:
    """The bench's inputs as the arrays and thresholds the loop reads."""

    def __init__(self, raw: dict) -> None:
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise ValueError(f'returns file lacks {", ".join(missing)}')
        start = float(raw['startingBalance'])
        self.pnl = np.asarray(raw['returns'], dtype=np.float64) * start
        counts = np.asarray(raw['tradesPerDay'], dtype=np.int64)
        self.day_lengths = counts[counts > 0]
        if self.pnl.size == 0 or self.day_lengths.size == 0:
            raise ValueError('need at least one return and one day with a trade')
        self.start = start
        self.static_floor = start - float(raw['maxLoss'])
        self.neg_daily_limit = -float(raw['dailyLimit'])
        self.target = start + float(raw['target'])


class Buffers:
    """Per-chunk arrays, allocated once and reused by every chunk."""

    def __init__(self, size: int) -> None:
        self.balance = np.empty(size)
        self.day_pnl = np.empty(size)
        self.pnl = np.empty(size)
        self.next_day = np.empty(size, dtype=np.int64)
        self.event = np.empty(size, dtype=bool)
        self.other = np.empty(size, dtype=bool)

    def views(self, n: int):
        return (self.balance[:n], self.day_pnl[:n], self.pnl[:n], self.next_day[:n], self.event[:n],
                self.other[:n])


def run_chunk(h: History, rng: np.random.Generator, n: int, trades: int, buf: Buffers) -> int:
    """Simulate ``n`` paths of ``trades`` trades; return how many passed."""
    balance, day_pnl, pnl, next_day, event, other = buf.views(n)
    balance.fill(h.start)
    day_pnl.fill(0.0)
    np.take(h.day_lengths, rng.integers(0, h.day_lengths.size, n), out=next_day, mode='clip')
    size = h.pnl.size
    passed = 0
    for k in range(trades):
        if k:
            np.equal(next_day, k, out=event)
            new_day = np.flatnonzero(event)
            if new_day.size:
                day_pnl[new_day] = 0.0
                next_day[new_day] = h.day_lengths[rng.integers(0, h.day_lengths.size, new_day.size)] + k
        np.take(h.pnl, rng.integers(0, size, n), out=pnl, mode='clip')
        np.add(balance, pnl, out=balance)
        np.add(day_pnl, pnl, out=day_pnl)
        np.less(balance, h.static_floor, out=event)
        np.less(day_pnl, h.neg_daily_limit, out=other)
        np.logical_or(event, other, out=event)
        np.greater_equal(balance, h.target, out=other)
        np.logical_or(event, other, out=event)
        decided = np.flatnonzero(event)
        if decided.size:
            passed += int(np.count_nonzero(other[decided]))
            balance[decided] = np.nan
            day_pnl[decided] = np.nan
    return passed


def run(h: History, paths: int, trades: int, seed: int, chunk: int) -> tuple[float, int]:
    """One timed run over all chunks: (seconds, paths passed)."""
    buf = Buffers(min(chunk, paths))
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    passed = 0
    for lo in range(0, paths, chunk):
        passed += run_chunk(h, rng, min(chunk, paths - lo), trades, buf)
    return time.perf_counter() - began, passed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='NumPy baseline: IID bootstrap pass probability, simplified rules.')
    parser.add_argument('--paths', type=int, default=1_000_000)
    parser.add_argument('--trades', type=int, default=100)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--returns-file', required=True)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--chunk', type=int, default=65_536)
    args = parser.parse_args(argv)
    if args.paths < 1 or args.trades < 1 or args.repeat < 1 or args.chunk < 1:
        parser.error('--paths, --trades, --repeat and --chunk must be positive')
    with open(args.returns_file, encoding='utf-8') as f:
        history = History(json.load(f))
    runs = []
    passed = 0
    for _ in range(args.repeat):
        seconds, passed = run(history, args.paths, args.trades, args.seed, args.chunk)
        runs.append(args.paths / seconds)
    print(json.dumps({
        'pathsPerSecond': statistics.median(runs), 'runs': runs, 'passProbability': passed / args.paths,
        'paths': args.paths, 'trades': args.trades, 'chunk': args.chunk,
    }), flush=True)


if __name__ == '__main__':
    try:
        main()
    except (OSError, ValueError) as exc:
        print(f'sim_numpy: {exc}', file=sys.stderr)
        sys.exit(2)
