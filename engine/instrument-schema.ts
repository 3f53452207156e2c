/**
 * The one schema of an instrument definition, for every door that takes one
 * from outside: a tape's `instrument` line, and an instrument message on the
 * market stream (published ahead of its ticks by the market-data role).
 */
import { z } from 'zod';
import type { Instrument } from '../actors/index.js';

/** A time as ms since epoch or an ISO-8601 string with offset. */
export const TimeSchema = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO-8601 time')
    .transform((s) => Date.parse(s)),
]);

/** An instrument definition: symbol, kind, and for a binary share its market, outcome and close. */
export const InstrumentSchema = z
  .object({
    symbol: z.string().min(1).max(64),
    kind: z.enum(['linear', 'binary']),
    venue: z.string().max(64).default('tape'),
    minQty: z.number().positive().default(0.0001),
    market: z.string().min(1).max(64).optional(),
    outcome: z.string().min(1).max(64).optional(),
    closesAt: TimeSchema.optional(),
  })
  .strict();

/**
 * Parses an instrument definition from untrusted input: the instrument, or
 * the reason it is refused (the fields and what is wrong with them).
 */
export function parseInstrument(
  value: unknown,
): { readonly ok: true; readonly instrument: Instrument } | { readonly ok: false; readonly reason: string } {
  const r = InstrumentSchema.safeParse(value);
  if (!r.success) return { ok: false, reason: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  const { market, outcome, closesAt, ...rest } = r.data;
  const instrument: Instrument = {
    ...rest,
    ...(market === undefined ? {} : { market }),
    ...(outcome === undefined ? {} : { outcome }),
    ...(closesAt === undefined ? {} : { closesAt }),
  };
  return { ok: true, instrument };
}

/**
 * Two definitions of one symbol agree when every field that changes a verdict
 * is the same; `venue` is informational (a tape's BTC-USD is Coinbase's).
 */
export function sameInstrument(a: Instrument, b: Instrument): boolean {
  return (
    a.symbol === b.symbol &&
    a.kind === b.kind &&
    a.minQty === b.minQty &&
    a.market === b.market &&
    a.outcome === b.outcome &&
    a.closesAt === b.closesAt
  );
}
