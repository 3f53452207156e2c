/**
 * Small pieces every venue session shares: parse a frame without throwing,
 * turn a normalizer's refusal into a counted hold, split a subscription list
 * into messages of a venue's size.
 */
import { MalformedVenueMessageError, UnknownInstrumentError } from './normalized-quote.js';
import type { SessionContext } from './venue-protocol.js';

/** The frame as JSON, or undefined after holding it as `MALFORMED_MESSAGE`. */
export function parseFrame(ctx: SessionContext, data: string): unknown {
  try {
    return JSON.parse(data);
  } catch (err) {
    ctx.hold('MALFORMED_MESSAGE', `not JSON (${(err as Error).message}): ${data.slice(0, 120)}`);
    return undefined;
  }
}

/**
 * Run a normalizer call; its refusals (malformed, out of range, crossed,
 * unknown instrument) are held with their reason. Other errors propagate.
 */
export function normalizing<T>(ctx: SessionContext, instrumentId: string | undefined, fn: () => T[]): T[] {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MalformedVenueMessageError) ctx.hold(err.reason, err.message, instrumentId);
    else if (err instanceof UnknownInstrumentError) ctx.hold('UNKNOWN_INSTRUMENT', err.message);
    else throw err;
    return [];
  }
}

/** `items` in consecutive chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(items.slice(i, i + Math.max(1, size)));
  return out;
}

/** A string field of an object-like value, if it is one. */
export function field(value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** A number field of an object-like value, if it is one. */
export function numberField(value: unknown, name: string): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[name];
  return typeof v === 'number' ? v : undefined;
}
