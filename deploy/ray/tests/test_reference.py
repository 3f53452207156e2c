"""The vectorized kernel against the scalar reference (tests/reference.py) on
jobs that use every rule at once: the outcome law must agree (two-sample
chi-square at 0.1%), and so must the means of the per-path records."""
from __future__ import annotations

import math
import random
import unittest

import numpy as np

from jobs import daily, job, max_loss, phase
from reference import OUTCOMES, run_path
from vatic_sim import build_plan, simulate, validate_job

CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52}
KERNEL_PATHS = 60_000
REFERENCE_PATHS = 6_000


def chi_square(a: list[int], b: list[int]) -> tuple[float, int]:
    """Two-sample chi-square statistic over the non-empty categories, and its degrees of freedom."""
    na, nb = sum(a), sum(b)
    stat, cells = 0.0, 0
    for x, y in zip(a, b):
        pooled = (x + y) / (na + nb)
        if pooled == 0:
            continue
        cells += 1
        stat += (x / na - y / nb) ** 2 / (pooled * (1 / na + 1 / nb))
    return stat, cells - 1


def close(kernel_mean: float, ref: list[float], kernel_std: float, kernel_n: int) -> bool:
    """Means agree within 4.5 combined standard errors."""
    if not ref:
        return True
    se = math.sqrt(np.var(ref) / len(ref) + kernel_std ** 2 / kernel_n)
    return abs(kernel_mean - float(np.mean(ref))) <= 4.5 * se + 1e-12


def every_rule_job(**overrides) -> dict:
    rets = list(np.random.default_rng(11).normal(0.003, 0.012, 300))
    phases = [
        phase(target=800, daily=daily(400, severity='soft'), maxLoss=max_loss(900, 'eod-trailing', 10_000),
              minTradingDays=3, consistency=0.6, maxDays=20, inactivityDays=4),
        phase(startingBalance=20_000, target=900, daily=daily(pct=4),
              maxLoss=max_loss(1_500, 'intraday-trailing', 20_300), maxDays=25, minTrades=5),
        phase(target=None, maxLoss=max_loss(1_000)),
    ]
    j = job(phases, paths=KERNEL_PATHS, returns=rets, tradesPerDay=[0, 1, 3, 0, 0, 2, 6],
            horizon={'days': 30}, fanPaths=0)
    j.update(overrides)
    return j


class ReferenceTest(unittest.TestCase):
    def compare(self, j: dict) -> None:
        res = simulate(j)
        valid = validate_job(j)
        block = build_plan(valid).block_length
        rng = random.Random(j['seed'])
        ref = [run_path(valid, rng, block) for _ in range(REFERENCE_PATHS)]
        counts = [sum(1 for r in ref if r['outcome'] == o) for o in OUTCOMES]
        stat, dof = chi_square([res['outcomes'][o] for o in OUTCOMES], counts)
        self.assertLess(stat, CHI2_999[dof], f'kernel {res["outcomes"]} vs reference {counts}')
        n = res['paths']
        ruin = sum(r['ruined'] for r in ref) / len(ref)
        self.assertLess(abs(res['riskOfRuin']['p'] - ruin), 4.5 * math.sqrt(ruin * (1 - ruin) / len(ref) + 1e-6) + 1e-9)
        self.assertTrue(close(res['finalPnl']['mean'], [r['final'] for r in ref], res['finalPnl']['std'], n))
        self.assertTrue(close(res['maxDrawdown']['mean'], [r['dd'] for r in ref], res['maxDrawdown']['std'], n))
        if res['daysToPass'] is not None:
            days = [r['day'] for r in ref if r['outcome'] == 'passed']
            self.assertTrue(close(res['daysToPass']['mean'], days, res['daysToPass']['std'], res['daysToPass']['n']))

    def test_every_rule_with_a_day_horizon(self):
        self.compare(every_rule_job())

    def test_block_bootstrap_compound_and_a_trade_horizon(self):
        j = every_rule_job(method='block', blockLength=6, sizing='compound', horizon={'trades': 60}, seed='b')
        j['phases'][0]['daily']['severity'] = 'hard'
        self.compare(j)

    def test_both_horizons_and_static_floors(self):
        j = every_rule_job(horizon={'trades': 40, 'days': 12}, seed='c')
        j['phases'][0]['maxLoss'] = max_loss(700)
        self.compare(j)


if __name__ == '__main__':
    unittest.main()
