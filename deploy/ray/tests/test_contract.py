"""The job and result contract: validation errors name the field, and the
summary is NumPy's statistics of the per-path arrays."""
from __future__ import annotations

import math
import unittest

import numpy as np

from jobs import daily, from_state, job, max_loss, phase
from vatic_sim import JobError, simulate, validate_job
from vatic_sim.summary import Z95, distribution, drawdown_histogram, fan_chart, wilson

RESULT_KEYS = {'paths', 'seed', 'method', 'blockLength', 'outcomes', 'pass', 'breakdown', 'daysToPass', 'maxDrawdown',
               'finalPnl', 'riskOfRuin', 'drawdownHistogram', 'fan', 'engine', 'elapsedMs'}
OUTCOME_KEYS = {'passed', 'daily-loss', 'max-loss', 'phase-time-limit', 'inactivity', 'undecided'}
DIST_KEYS = {'n', 'mean', 'std', 'min', 'max', 'p5', 'p25', 'p50', 'p75', 'p95', 'p99'}


class ValidationTest(unittest.TestCase):
    def assertRefused(self, bad: dict, field: str, code: str = 'INVALID_JOB'):
        with self.assertRaises(JobError) as caught:
            simulate(bad)
        self.assertIsInstance(caught.exception, ValueError)
        self.assertEqual(caught.exception.code, code)
        self.assertIn(field, caught.exception.message)

    def test_bad_fields_are_named(self):
        no_seed = job()
        del no_seed['seed']
        self.assertRefused(no_seed, 'seed')
        self.assertRefused(job(paths=0), 'paths')
        self.assertRefused(job(paths=1.5), 'paths')
        self.assertRefused(job(paths=True), 'paths')
        self.assertRefused(job(method='bayes'), 'method')
        self.assertRefused(job(returns=[0.1, -1.0]), 'returns[1]')
        self.assertRefused(job(returns=[]), 'returns')
        self.assertRefused(job(tradesPerDay=[0, 0]), 'tradesPerDay')
        self.assertRefused(job(tradesPerDay=[1, 1001]), 'tradesPerDay[1]')
        self.assertRefused(job(horizon={}), 'horizon')
        self.assertRefused(job(horizon={'trades': 0}), 'horizon.trades')
        self.assertRefused(job(blockLength=0.5), 'blockLength')
        self.assertRefused(job(fanPaths=2_001), 'fanPaths')
        self.assertRefused(job(extra=1), 'extra')
        self.assertRefused(dict(job(), phases=[]), 'phases')
        self.assertRefused(job([phase(daily=daily(-5))]), 'phases[0].daily.amount')
        self.assertRefused(job([phase(), phase(maxLoss=max_loss(100, 'weekly'))]), 'phases[1].maxLoss.mode')
        self.assertRefused(job([phase(consistency=1.5)]), 'phases[0].consistency')
        self.assertRefused(job([phase(surprise=True)]), 'phases[0].surprise')
        self.assertRefused(job(**{'from': from_state(phaseIndex=1)}), 'from.phaseIndex')
        self.assertRefused(job(**{'from': from_state(pastDayPnl=[1, 'x'])}), 'from.pastDayPnl[1]')
        self.assertRefused(job(**{'from': from_state(dayFraction=1)}), 'from.dayFraction')
        self.assertRefused(job(ruin='yes'), 'ruin')
        self.assertRefused([1, 2], 'job')

    def test_parametric_is_unsupported_here(self):
        model = {'mu': 0.1, 'sigma': 0.2, 'exposure': 1, 'holdDays': 1}
        self.assertRefused(job(method='parametric', returns=[], model=model), 'parametric', 'UNSUPPORTED_METHOD')
        self.assertRefused(job(method='parametric', returns=[]), 'model')  # invalid before unsupported

    def test_defaults_are_filled_in(self):
        valid = validate_job(job())
        self.assertEqual((valid['sizing'], valid['fanPaths'], valid['blockLength'], valid['ruin']),
                         ('fixed', 200, None, True))
        self.assertEqual(validate_job(job(**{'from': from_state()}))['from']['dayFraction'], 0)


class SummaryTest(unittest.TestCase):
    def test_distribution_is_numpy(self):
        x = np.random.default_rng(5).standard_normal(10_001) * 3 + 1
        d = distribution(x)
        self.assertEqual(set(d), DIST_KEYS)
        for p in (5, 25, 50, 75, 95, 99):
            self.assertEqual(d[f'p{p}'], float(np.percentile(x, p)))
        self.assertEqual((d['n'], d['mean'], d['std'], d['min'], d['max']),
                         (x.size, float(x.mean()), float(np.std(x)), float(x.min()), float(x.max())))

    def test_wilson(self):
        k, n = 37, 250
        p = k / n
        center = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
        half = Z95 / (1 + Z95 ** 2 / n) * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n))
        w = wilson(k, n)
        self.assertAlmostEqual(w['lo'], center - half, places=15)
        self.assertAlmostEqual(w['hi'], center + half, places=15)
        self.assertEqual(wilson(0, 10)['lo'], 0.0)
        self.assertAlmostEqual(wilson(10, 10)['hi'], 1.0, places=15)

    def test_histogram_is_numpy(self):
        dd = np.random.default_rng(2).random(1_000) * 0.1
        h = drawdown_histogram(dd)
        counts, edges = np.histogram(dd, bins=40, range=(0, dd.max()))
        self.assertEqual(h['counts'], counts.tolist())
        self.assertEqual(h['edges'], edges.tolist())
        self.assertEqual(sum(h['counts']), 1_000)  # the largest value lands in the closed last bin
        flat = drawdown_histogram(np.zeros(5))
        self.assertEqual((flat['edges'][0], flat['edges'][-1], flat['counts'][0]), (0.0, 1e-9, 5))

    def test_fan_runs_to_the_slots_taken_after_the_verdict(self):
        fan = np.zeros((2, 251))
        fan[0, :3] = [0, 10, 20]
        chart = fan_chart(fan, np.array([5, 0]), np.array([2, 0]), 0.0, 5)
        self.assertEqual(chart['samples'][0], [0, 10, 20, 20, 20, 20])
        # A day horizon (no trade count) draws the fan to 250 trades, as the local pool does.
        self.assertEqual(len(fan_chart(fan, np.array([5, 0]), np.array([2, 0]), 0.0)['steps']), 251)

    def test_fan_holds_the_last_value(self):
        fan = np.zeros((3, 251))
        fan[0, :4] = [0, 10, 20, 30]
        fan[1, :2] = [0, -5]
        fan[2, :1] = [0]
        chart = fan_chart(fan, np.array([3, 1, 0]), np.array([3, 1, 0]), 100.0, 3)
        self.assertEqual(chart['steps'], [0, 1, 2, 3])
        self.assertEqual(chart['samples'], [[100, 110, 120, 130], [100, 95, 95, 95], [100, 100, 100, 100]])
        held = np.array(chart['samples'])
        self.assertEqual(chart['bands']['p50'], np.percentile(held, 50, axis=0).tolist())

    def test_result_shape(self):
        res = simulate(job([phase(daily=daily(300), maxLoss=max_loss(600))], paths=3_000, fanPaths=25))
        self.assertEqual(set(res), RESULT_KEYS)
        self.assertEqual(set(res['outcomes']), OUTCOME_KEYS)
        self.assertEqual(set(res['breakdown']), OUTCOME_KEYS)
        self.assertEqual(sum(res['outcomes'].values()), 3_000)
        self.assertEqual(set(res['maxDrawdown']), DIST_KEYS)
        self.assertEqual((res['engine'], res['method'], res['seed']), ('ray', 'iid', 'test'))
        self.assertEqual(len(res['drawdownHistogram']['edges']), 41)
        self.assertEqual(len(res['fan']['samples']), 20)
        self.assertEqual(len(res['fan']['steps']), len(res['fan']['bands']['p95']))
        self.assertLessEqual(res['fan']['steps'][-1], 20)
        self.assertEqual(res['pass'], res['breakdown']['passed'])

    def test_without_the_ruin_account(self):
        j = job([phase(target=300, daily=daily(300), maxLoss=max_loss(300))], paths=20_000, fanPaths=30,
                horizon={'trades': 200})
        on, off = simulate(j), simulate(dict(j, ruin=False))
        self.assertIsNone(off['riskOfRuin'])
        self.assertIsNotNone(on['riskOfRuin'])
        # The fan runs to the horizon's trade count either way; without the ruin account paths hold their verdict's value.
        self.assertEqual(on['fan']['steps'][-1], 200)
        self.assertEqual(off['fan']['steps'][-1], 200)
        self.assertTrue(all(row[-1] == row[-2] for row in off['fan']['samples']))
        for o in OUTCOME_KEYS:  # the same law either way
            a, b = on['breakdown'][o]['p'], off['breakdown'][o]['p']
            self.assertLessEqual(abs(a - b), 4 * math.sqrt(max(a * (1 - a), 1e-4) * 2 / 20_000), o)

    def test_days_to_pass_is_null_without_passes(self):
        res = simulate(job([phase(target=1e9)], paths=100))
        self.assertIsNone(res['daysToPass'])
        self.assertEqual(res['outcomes']['undecided'], 100)

    def test_fan_is_empty_without_recorded_paths(self):
        res = simulate(job(paths=50, fanPaths=0))
        self.assertEqual(res['fan'], {'steps': [], 'bands': {f'p{p}': [] for p in (5, 25, 50, 75, 95)}, 'samples': []})


if __name__ == '__main__':
    unittest.main()
