/**
 * Tier presets modelled on rule sets prop firms publish. They are plain data,
 * validated like any tier a tape or the database brings.
 */
import { parseTier, type Tier } from './tier.js';

const RAW_PRESETS: readonly unknown[] = [
  {
    // Two-step: 10% then 5% target on closed balance, 5% daily on prior day-end balance, 10% static.
    id: 'two-step-100k',
    version: 1,
    name: 'Two-Step 100K',
    timezone: 'Europe/Prague',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 30,
    fees: { linear: 0.0004, binary: 0 },
    phases: [
      {
        name: 'challenge',
        startingBalance: 100_000,
        rules: {
          profitTarget: { target: { pct: 10 }, basis: 'balance' },
          dailyLoss: { limit: { pct: 5 }, basis: 'balance', severity: 'hard' },
          maxLoss: { limit: { pct: 10 }, mode: 'static' },
          minTradingDays: { days: 4 },
          inactivity: { days: 30 },
        },
      },
      {
        name: 'verification',
        startingBalance: 100_000,
        rules: {
          profitTarget: { target: { pct: 5 }, basis: 'balance' },
          dailyLoss: { limit: { pct: 5 }, basis: 'balance', severity: 'hard' },
          maxLoss: { limit: { pct: 10 }, mode: 'static' },
          minTradingDays: { days: 4 },
          inactivity: { days: 30 },
        },
      },
      {
        name: 'funded',
        startingBalance: 100_000,
        rules: {
          dailyLoss: { limit: { pct: 5 }, basis: 'balance', severity: 'hard' },
          maxLoss: { limit: { pct: 10 }, mode: 'static' },
          inactivity: { days: 30 },
        },
      },
    ],
  },
  {
    // One-step: EOD-trailing 6% max loss that locks at the starting balance, best-day consistency 50%.
    id: 'one-step-50k',
    version: 1,
    name: 'One-Step 50K',
    timezone: 'Europe/Prague',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 20,
    phases: [
      {
        name: 'challenge',
        startingBalance: 50_000,
        rules: {
          profitTarget: { target: { pct: 10 }, basis: 'balance' },
          dailyLoss: { limit: { pct: 3 }, basis: 'balance', severity: 'hard' },
          maxLoss: { limit: { pct: 6 }, mode: 'eod-trailing', lock: 'start' },
          consistency: { maxBestDayShare: 0.5 },
          minTradingDays: { days: 3 },
          riskPerTrade: { maxPct: 2, requireStopLoss: true },
        },
      },
      {
        name: 'funded',
        startingBalance: 50_000,
        rules: {
          dailyLoss: { limit: { pct: 3 }, basis: 'balance', severity: 'hard' },
          maxLoss: { limit: { pct: 6 }, mode: 'eod-trailing', lock: 'start' },
        },
      },
    ],
  },
  {
    // Futures-style: intraday trailing on equity (open P&L included) locking at start + $100,
    // soft daily loss with a 17:00 Chicago reset, contract caps, flat over the weekend.
    id: 'intraday-trail-50k',
    version: 1,
    name: 'Intraday Trailing 50K',
    timezone: 'America/Chicago',
    resetTime: '17:00',
    kinds: ['linear'],
    leverage: 10,
    phases: [
      {
        name: 'challenge',
        startingBalance: 50_000,
        rules: {
          profitTarget: { target: { amount: 3_000 }, basis: 'equity' },
          dailyLoss: { limit: { amount: 1_000 }, basis: 'balance', severity: 'soft' },
          maxLoss: { limit: { amount: 2_500 }, mode: 'intraday-trailing', lock: { startPlus: 100 } },
          positionLimits: { maxQty: { 'BTC-USD': 5, 'ETH-USD': 50, '*': 1_000 } },
          consistency: { maxBestDayShare: 0.4 },
          minTradingDays: { days: 5 },
          weekendFlat: { from: { day: 5, time: '15:45' }, to: { day: 0, time: '17:00' }, action: 'flatten' },
        },
      },
    ],
  },
  {
    // Prediction markets: binary shares only, 20% target, 8% daily on the higher of balance and equity, 20% static.
    id: 'prediction-10k',
    version: 1,
    name: 'Prediction Markets 10K',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['binary'],
    fees: { linear: 0, binary: 0.001 },
    phases: [
      {
        name: 'challenge',
        startingBalance: 10_000,
        rules: {
          profitTarget: { target: { pct: 20 }, basis: 'balance' },
          dailyLoss: { limit: { pct: 8 }, basis: 'balance-or-equity', severity: 'hard' },
          maxLoss: { limit: { pct: 20 }, mode: 'static' },
          riskPerTrade: { maxPct: 10 },
          positionLimits: { maxNotional: 8_000 },
          minTradingDays: { days: 3 },
        },
      },
    ],
  },
];

/** The shipped presets, validated. */
export function presetTiers(): Tier[] {
  return RAW_PRESETS.map(parseTier);
}
