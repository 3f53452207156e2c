/**
 * JSON text that keeps non-finite numbers, in the tagged form of
 * persistence/snapshot-codec.ts (and the journal, checkpoints and history): ±Infinity and NaN become {"__float": "-Infinity"}.
 * Tagged text is valid JSON, so it can be stored in a jsonb column.
 */

const TAG = '__float';

/** Encode any JSON-like value, tagging non-finite numbers. */
export function encodeJson(value: unknown): string {
  // Plain JSON.stringify writes a non-finite number as null; the engine's
  // states hold no nulls of their own, so text without one needs no tagging
  // pass (which costs several times the stringify). Text with one is redone.
  const plain = JSON.stringify(value);
  if (plain === undefined || !plain.includes('null')) return plain;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [TAG]: String(v) } : v));
}

/** Decode text written by {@link encodeJson} (also jsonb's text output of it). */
export function decodeJson<T = unknown>(text: string): T {
  // Most texts hold no tagged number: skip the reviver, which costs more than the parse.
  if (!text.includes(`"${TAG}"`)) return JSON.parse(text) as T;
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && TAG in v && Object.keys(v).length === 1) {
      return Number((v as Record<string, string>)[TAG]);
    }
    return v;
  }) as T;
}
