"""Per-path arrays to the ``SimulationResult`` (sim/README.md, "Summary").

Probabilities carry Wilson score 95% intervals; distributions use NumPy's
population ``std`` and default (linear) ``percentile``; the drawdown
histogram is ``numpy.histogram`` with 40 bins over ``[0, max]``; the fan
holds p5..p95 of the recorded paths' equity at each trade index up to the
horizon's trade count (at most 250)
(a path that stopped keeps its last value) and the first 20 of them.
"""
from __future__ import annotations

import math

import numpy as np

from .plan import FAN_STEPS, OUTCOMES, PASSED

Z95 = 1.959963984540054
PERCENTILES = (5, 25, 50, 75, 95, 99)
FAN_BANDS = (5, 25, 50, 75, 95)
HISTOGRAM_BINS = 40
FAN_SAMPLES = 20


def wilson(k: int, n: int, z: float = Z95) -> dict:
    """Share ``k / n`` with its Wilson score interval."""
    if n <= 0:
        return {'p': 0.0, 'lo': 0.0, 'hi': 1.0}
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return {'p': p, 'lo': max(0.0, center - half), 'hi': min(1.0, center + half)}


def distribution(x: np.ndarray) -> dict:
    """n, mean, population std, min, max and linear-interpolated percentiles of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    q = np.percentile(x, PERCENTILES)
    out = {'n': int(x.size), 'mean': float(x.mean()), 'std': float(x.std()), 'min': float(x.min()),
           'max': float(x.max())}
    out.update({f'p{p}': float(v) for p, v in zip(PERCENTILES, q)})
    return out


def drawdown_histogram(drawdown: np.ndarray) -> dict:
    """40 equal bins from 0 to the largest drawdown, counted as ``numpy.histogram`` does
    (no drawdown at all: bins up to 1e-9, as the local pool does)."""
    top = float(drawdown.max())
    counts, edges = np.histogram(drawdown, bins=HISTOGRAM_BINS, range=(0.0, top if top > 0 else 1e-9))
    return {'edges': [float(e) for e in edges], 'counts': [int(c) for c in counts]}


def fan_chart(fan: np.ndarray, fan_len: np.ndarray, fan_last: np.ndarray, start_balance: float, max_trades: int | None = None) -> dict:
    """Equity quantiles per trade index over the recorded paths, and the first few of them.

    Trade indices run to the horizon's trade count (at most 250, and 250
    for a day horizon), as the local pool draws them; a row holds its value
    after its last written index (``fan_last``).
    """
    if fan.shape[0] == 0:
        empty: list = []
        return {'steps': empty, 'bands': {f'p{p}': [] for p in FAN_BANDS}, 'samples': []}
    last = int(min(max_trades if max_trades is not None else FAN_STEPS, FAN_STEPS))
    cols = np.arange(last + 1)
    held = fan[np.arange(fan.shape[0])[:, None], np.minimum(cols[None, :], fan_last[:, None])] + start_balance
    bands = np.percentile(held, FAN_BANDS, axis=0)
    return {
        'steps': [int(c) for c in cols],
        'bands': {f'p{p}': [float(v) for v in row] for p, row in zip(FAN_BANDS, bands)},
        'samples': [[float(v) for v in row] for row in held[:FAN_SAMPLES]],
    }


def summarize(plan, arrays: dict, elapsed_ms: float) -> dict:
    """The ``SimulationResult`` dict (engine ``ray``) from the job's per-path arrays."""
    job = plan.job
    outcome = arrays['outcome']
    n = int(outcome.size)
    counts = np.bincount(outcome, minlength=len(OUTCOMES))
    passed_days = arrays['pass_day'][outcome == PASSED]
    return {
        'paths': n,
        'seed': job['seed'],
        'method': job['method'],
        'blockLength': plan.block_length,
        'outcomes': {name: int(counts[i]) for i, name in enumerate(OUTCOMES)},
        'pass': wilson(int(counts[PASSED]), n),
        'breakdown': {name: wilson(int(counts[i]), n) for i, name in enumerate(OUTCOMES)},
        'daysToPass': distribution(passed_days) if passed_days.size else None,
        'maxDrawdown': distribution(arrays['drawdown']),
        'finalPnl': distribution(arrays['final_pnl']),
        'riskOfRuin': wilson(int(np.count_nonzero(arrays['ruined'])), n) if plan.ruin else None,
        'drawdownHistogram': drawdown_histogram(arrays['drawdown']),
        'fan': fan_chart(arrays['fan'], arrays['fan_len'], arrays['fan_last'], plan.start0, plan.max_trades),
        'engine': 'ray',
        'elapsedMs': float(elapsed_ms),
    }
