"""Kernel tests: a closed form (gambler's ruin), the block length, and the rule
semantics of sim/README.md on hand-made paths."""
from __future__ import annotations

import math
import unittest
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jobs import daily, from_state, job, max_loss, phase, run_sequence
from vatic_sim import CHUNK_PATHS, simulate, split, stationary_block_length
from vatic_sim.summary import wilson
from vatic_sim.track import BlockSampler

Z999 = 3.2905267314919255  # two-sided 99.9%


def ruin_pass_probability(p: float, a: int, b: int) -> float:
    """P(reach +a before -b) for a ±1 walk with up-probability p, from 0."""
    if p == 0.5:
        return b / (a + b)
    r = (1 - p) / p
    return (1 - r ** b) / (1 - r ** (a + b))


class GamblersRuinTest(unittest.TestCase):
    """±1-unit trades, IID, static floor breached at -b units, target +a units."""

    GRID = [(0.5, 5, 5), (0.55, 6, 4), (0.45, 4, 6), (0.6, 3, 8), (0.5, 2, 9)]
    UNIT = 100.0
    START = 10_000.0

    def _job(self, p: float, a: int, b: int) -> dict:
        wins = round(p * 100)
        r = self.UNIT / self.START
        ph = phase(startingBalance=self.START, target=(a - 0.5) * self.UNIT,
                   maxLoss=max_loss((b - 0.5) * self.UNIT))
        return job([ph], seed=f'ruin-{p}-{a}-{b}', paths=20_000, returns=[r] * wins + [-r] * (100 - wins),
                   tradesPerDay=[3, 0, 5], horizon={'trades': 1_000}, fanPaths=0)

    def test_pass_probability_matches_closed_form(self):
        for p, a, b in self.GRID:
            with self.subTest(p=p, a=a, b=b):
                res = simulate(self._job(p, a, b))
                n = res['paths']
                self.assertLessEqual(res['outcomes']['undecided'], 2)
                ends = res['outcomes']
                self.assertEqual(ends['passed'] + ends['max-loss'] + ends['undecided'], n)
                ci = wilson(res['outcomes']['passed'], n, Z999)
                truth = ruin_pass_probability(p, a, b)
                self.assertTrue(ci['lo'] <= truth <= ci['hi'], f'{truth} outside [{ci["lo"]}, {ci["hi"]}]')

    def test_final_pnl_is_the_barrier_hit(self):
        res = simulate(self._job(0.5, 5, 5))
        self.assertAlmostEqual(res['finalPnl']['min'], -5 * self.UNIT, places=6)
        self.assertAlmostEqual(res['finalPnl']['max'], 5 * self.UNIT, places=6)


class BlockLengthTest(unittest.TestCase):
    def test_ar1_gets_longer_blocks_than_white_noise(self):
        rng = np.random.default_rng(7)
        noise = rng.standard_normal(2_000)
        ar = np.empty_like(noise)
        ar[0] = noise[0]
        for i in range(1, ar.size):
            ar[i] = 0.8 * ar[i - 1] + noise[i]
        white = stationary_block_length(noise)
        persistent = stationary_block_length(ar)
        self.assertLess(white, 3.0)
        self.assertGreater(persistent, 3 * white)
        self.assertGreater(persistent, 8.0)
        self.assertLessEqual(persistent, math.ceil(min(3 * math.sqrt(2_000), 2_000 / 3)))

    def test_degenerate_series_get_one(self):
        self.assertEqual(stationary_block_length([0.01] * 50), 1.0)
        self.assertEqual(stationary_block_length([0.01, -0.02]), 1.0)

    def test_block_job_reports_the_length_used(self):
        rng = np.random.default_rng(3)
        returns = list(np.cumsum(rng.standard_normal(500)) * 1e-4)
        auto = simulate(job(method='block', returns=returns, paths=200))
        self.assertGreater(auto['blockLength'], 1.0)
        self.assertEqual(auto['blockLength'], stationary_block_length(returns))
        self.assertEqual(simulate(job(method='block', blockLength=7.5, paths=200))['blockLength'], 7.5)
        self.assertIsNone(simulate(job(paths=200))['blockLength'])

    def test_stationary_bootstrap_mean_block_length(self):
        sampler = BlockSampler(np.arange(1_000, dtype=np.float64), np.random.default_rng(1), 5.0)
        draws = np.stack([sampler.draw(k, 20_000) for k in range(50)])
        continued = np.mean(draws[1:] == (draws[:-1] + 1) % 1_000)
        self.assertAlmostEqual(continued, 0.8, delta=0.01)


class RuleSemanticsTest(unittest.TestCase):
    """Hand-made paths: the k-th trade slot returns the k-th number (start 10,000)."""

    def test_soft_lock_skips_the_rest_of_the_day(self):
        rule = [phase(target=5_000, daily=daily(500, severity='soft'))]
        path = run_sequence([-0.06, 0.1, 0.1], rule, trades_per_day=[3])
        self.assertEqual(path.outcome, 'undecided')
        self.assertEqual(path.final_pnl, -600)
        self.assertEqual(path.fan, [0, -600, -600, -600])  # skipped slots count towards the horizon
        next_day = run_sequence([-0.06, 0.1, 0.1, 0.1], rule, trades_per_day=[3])
        self.assertEqual(next_day.final_pnl, 400)  # the lock ends at the day roll

    def test_hard_daily_floor_fails(self):
        path = run_sequence([-0.06, 0.1], [phase(daily=daily(500))], trades_per_day=[3])
        self.assertEqual(path.outcome, 'daily-loss')
        self.assertEqual(path.final_pnl, -600)  # the breach realizes the trade's P&L

    def test_daily_floor_pct_of_base_is_set_at_the_roll(self):
        rule = [phase(target=5_000, daily=daily(pct=5))]
        self.assertEqual(run_sequence([0.1, -0.06], rule).outcome, 'daily-loss')  # floor 11,000 - 550
        self.assertEqual(run_sequence([0.1, -0.05], rule).outcome, 'undecided')

    def test_static_floor_breaches_strictly_below(self):
        rule = [phase(maxLoss=max_loss(1_000))]
        self.assertEqual(run_sequence([-0.05, -0.05], rule).outcome, 'undecided')  # equity == floor
        self.assertEqual(run_sequence([-0.05, -0.0501], rule).outcome, 'max-loss')

    def test_max_loss_wins_over_daily_loss(self):
        rule = [phase(maxLoss=max_loss(500), daily=daily(500))]
        self.assertEqual(run_sequence([-0.06], rule).outcome, 'max-loss')

    def test_eod_trailing_floor_follows_day_end_balance_and_locks(self):
        trades = [0.15, 0.1, -0.24, -0.02]
        locked = run_sequence(trades, [phase(target=50_000, maxLoss=max_loss(1_000, 'eod-trailing', 10_000))])
        self.assertEqual(locked.outcome, 'max-loss')  # floor locked at 10,000: breached at 9,900 only
        self.assertEqual(locked.final_pnl, -100)
        free = run_sequence(trades, [phase(target=50_000, maxLoss=max_loss(1_000, 'eod-trailing'))])
        self.assertEqual(free.outcome, 'max-loss')  # floor 11,500 after day 2: breached at 10,100
        self.assertEqual(free.final_pnl, 100)

    def test_eod_trailing_ignores_intraday_peaks(self):
        rule = [phase(target=50_000, maxLoss=max_loss(1_000, 'eod-trailing'))]
        self.assertEqual(run_sequence([0.15, -0.1], rule, trades_per_day=[2]).outcome, 'undecided')

    def test_intraday_trailing_floor_follows_equity(self):
        rule = [phase(target=50_000, maxLoss=max_loss(1_000, 'intraday-trailing'))]
        path = run_sequence([0.1, -0.11], rule, trades_per_day=[2])
        self.assertEqual(path.outcome, 'max-loss')  # peak 11,000 -> floor 10,000, equity 9,900
        capped = [phase(target=50_000, maxLoss=max_loss(1_000, 'intraday-trailing', 9_500))]
        self.assertEqual(run_sequence([0.1, -0.11], capped, trades_per_day=[2]).outcome, 'undecided')

    def test_consistency_blocks_the_pass_until_the_best_day_is_small_enough(self):
        self.assertEqual(run_sequence([0.1, 0.1], [phase()]).pass_day, 1)
        path = run_sequence([0.1, 0.1], [phase(consistency=0.5)])
        self.assertEqual((path.outcome, path.pass_day), ('passed', 2))  # 1,000 / 2,000 <= 0.5
        self.assertEqual(run_sequence([0.1, 0.09], [phase(consistency=0.5)]).outcome, 'undecided')

    def test_zero_pnl_trade_is_a_trading_day_without_a_day_entry(self):
        path = run_sequence([0.0, 0.1], [phase(minTradingDays=2)])
        self.assertEqual((path.outcome, path.pass_day), ('passed', 2))
        self.assertEqual(run_sequence([0.0, 0.1], [phase(minTradingDays=2, consistency=0.5)]).outcome, 'undecided')

    def test_trading_days_count_days_not_trades(self):
        path = run_sequence([0.04, 0.04, 0.04, 0.0], [phase(minTradingDays=2)], trades_per_day=[3])
        self.assertEqual((path.outcome, path.pass_day, len(path.fan)), ('passed', 2, 5))

    def test_a_new_phase_counts_its_own_days_and_best_day(self):
        days = [phase(), phase(name='verification', minTradingDays=2)]
        path = run_sequence([0.1, 0.05, 0.05, 0.0], days, trades_per_day=[2])
        self.assertEqual((path.outcome, path.pass_day), ('passed', 2))  # day 1 counts for the new phase
        best = [phase(minTradingDays=2), phase(name='verification', consistency=0.5)]
        path = run_sequence([0.15, 0.0, 0.06, 0.06], best)
        self.assertEqual((path.outcome, path.pass_day), ('passed', 4))  # the first phase's 1,500 day is gone
        counts = [phase(minTradingDays=2), phase(name='verification', minTradingDays=2)]
        path = run_sequence([0.1, 0.0, 0.1, 0.0], counts)
        self.assertEqual((path.outcome, path.pass_day), ('passed', 4))  # day 2 is its first trading day

    def test_min_trades(self):
        path = run_sequence([0.1, 0.0, 0.0], [phase(minTrades=3)], trades_per_day=[3])
        self.assertEqual((path.outcome, path.pass_day, path.fan[-1]), ('passed', 1, 1_000))

    def test_phase_hand_over_and_funded_pass(self):
        phases = [phase(minTradingDays=2), phase(name='verification', target=500), phase(name='funded', target=None)]
        path = run_sequence([0.1, 0.0, 0.03, 0.03], phases)
        self.assertEqual((path.outcome, path.pass_day), ('passed', 4))
        self.assertEqual(path.final_pnl, 600)  # the passed phase's: the funded phase is not entered
        self.assertEqual(path.fan[-1], 1_600)  # cumulative P&L over the phases

    def test_compound_sizing(self):
        path = run_sequence([0.1, 0.1], [phase(target=5_000)], sizing='compound')
        self.assertAlmostEqual(path.final_pnl, 2_100)

    def test_inactivity_and_time_limit(self):
        stale = from_state(daysSinceActivity=4.9999)
        self.assertEqual(run_sequence([0.0], [phase(inactivityDays=5)], **{'from': stale}).outcome, 'inactivity')
        both = from_state(daysSinceActivity=4.9999, daysElapsed=29.9999)
        self.assertEqual(run_sequence([0.0], [phase(inactivityDays=5, maxDays=30)], **{'from': both}).outcome,
                         'inactivity')  # inactivity first when both are due
        old = from_state(daysElapsed=29.9999)
        self.assertEqual(run_sequence([0.0], [phase(maxDays=30)], **{'from': old}).outcome, 'phase-time-limit')

    def test_from_state_clock_starts_at_now(self):
        late = from_state(dayFraction=0.999)  # minute 1439: no trade fits before midnight
        self.assertEqual(run_sequence([0.1], [phase()], **{'from': late}).pass_day, 2)
        self.assertEqual(run_sequence([0.1], [phase()], **{'from': from_state()}).pass_day, 1)
        recent = from_state(dayFraction=0.5, daysSinceActivity=4.9)  # ages count back from now (minute 720)
        self.assertEqual(run_sequence([0.0], [phase(inactivityDays=5)], **{'from': recent}).outcome, 'undecided')
        self.assertEqual(run_sequence([0.0], [phase(inactivityDays=4.9)], **{'from': recent}).outcome, 'inactivity')

    def test_equity_target_passes_at_the_open_that_completes_the_counts(self):
        seq = [0.1, -0.05]
        on_equity = run_sequence(seq, [phase(targetBasis='equity', minTrades=2)], trades_per_day=[2])
        self.assertEqual((on_equity.outcome, on_equity.final_pnl, on_equity.fan), ('passed', 1_000, [0, 1_000, 1_000]))
        on_balance = run_sequence(seq, [phase(minTrades=2)], trades_per_day=[2])
        self.assertEqual((on_balance.outcome, on_balance.final_pnl), ('undecided', 500))

    def test_starting_in_a_phase_without_target_never_passes(self):
        self.assertEqual(run_sequence([0.5, 0.5], [phase(target=None)]).outcome, 'undecided')

    def test_clock_is_judged_at_the_end_of_a_day_horizon(self):
        judged = run_sequence([0.0] * 5, [phase(maxDays=2.5)], horizon={'days': 3})
        self.assertEqual(judged.outcome, 'phase-time-limit')
        self.assertEqual(len(judged.fan), 4)  # trades on days 0, 1 and 2
        self.assertEqual(run_sequence([0.0] * 5, [phase(maxDays=3.5)], horizon={'days': 3}).outcome, 'undecided')
        quiet = run_sequence([0.0] * 5, [phase(inactivityDays=2)], horizon={'days': 3})
        self.assertEqual(quiet.outcome, 'undecided')  # a trade every day

    def test_ruin_tracker_ignores_verdicts(self):
        rule = [phase(daily=daily(500), maxLoss=max_loss(1_000))]
        path = run_sequence([-0.06, -0.05], rule)
        self.assertEqual((path.outcome, path.ruined), ('daily-loss', True))
        self.assertFalse(run_sequence([-0.06, 0.05], rule).ruined)
        self.assertFalse(run_sequence([-0.05, -0.05], [phase(maxLoss=max_loss(1_000))]).ruined)  # strictly below
        self.assertTrue(run_sequence([-0.05, -0.0501], [phase(maxLoss=max_loss(1_000))]).ruined)
        live = from_state(balance=10_500, maxLossFloor=9_700)  # level: the live floor; sized on the live balance
        self.assertTrue(run_sequence([-0.077], [phase(maxLoss=max_loss(1_000))], **{'from': live}).ruined)
        self.assertFalse(run_sequence([-0.075], [phase(maxLoss=max_loss(1_000))], **{'from': live}).ruined)

    def test_drawdown_is_over_the_first_start_until_the_verdict(self):
        path = run_sequence([0.05, -0.08, 0.2, -0.5], [phase(target=1_500)], trades_per_day=[4])
        self.assertEqual(path.outcome, 'passed')
        self.assertAlmostEqual(path.drawdown, 0.08)

    def test_from_state_carries_days_and_locks(self):
        live = from_state(balance=10_900, pastDayPnl=[900], highWater=10_900, tradingDays=1, trades=1)
        self.assertEqual(run_sequence([0.01], [phase(consistency=0.5)], **{'from': live}).outcome, 'undecided')
        path = run_sequence([0.01, 0.08], [phase(consistency=0.5)], trades_per_day=[2], **{'from': live})
        self.assertEqual((path.outcome, path.pass_day, path.fan[0]), ('passed', 1, 0))  # P&L counts from now
        locked = from_state(lockedToday=True, dailyFloor=9_500)
        path = run_sequence([0.1, 0.1], [phase(daily=daily(500, severity='soft'))], trades_per_day=[1],
                            **{'from': locked})
        self.assertEqual((path.outcome, path.pass_day), ('passed', 2))


class DeterminismTest(unittest.TestCase):
    def test_cutting_a_job_into_ranges_changes_nothing(self):
        j = job([phase(daily=daily(150), maxLoss=max_loss(400))], paths=3 * CHUNK_PATHS + 123, fanPaths=50,
                method='block', blockLength=3)
        whole = simulate(j)

        def threads(fn, plan, ranges):
            with ThreadPoolExecutor(3) as pool:
                return list(reversed(list(pool.map(lambda r: fn(plan, *r), ranges))))

        cut = simulate(j, threads, parts=3)
        whole.pop('elapsedMs'), cut.pop('elapsedMs')
        self.assertEqual(whole, cut)
        self.assertEqual(split(3 * CHUNK_PATHS + 123, 3), [(0, 1), (1, 3), (3, 4)])
        self.assertEqual(split(10, 8), [(0, 1)])

    def test_same_seed_same_numbers(self):
        j = job(paths=5_000, method='block', blockLength=4)
        a, b = simulate(j), simulate(j)
        a.pop('elapsedMs'), b.pop('elapsedMs')
        self.assertEqual(a, b)
        self.assertNotEqual(simulate(dict(j, seed='other'))['finalPnl'], a['finalPnl'])


if __name__ == '__main__':
    unittest.main()
