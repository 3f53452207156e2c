/**
 * The total order of a node's inputs, rebuilt from its two logs: every
 * journal entry goes right after the market input its watermark names. A
 * from-scratch replay of these inputs is what every recovery must equal.
 */
import { createHash } from 'node:crypto';
import type { EngineInput } from '../inputs.js';
import type { JournalRecord, MarketInput } from './ports.js';

/** Merge market inputs (ascending seq) and journal records (ascending position) into engine input order. */
export function mergeInputs(market: readonly MarketInput[], journal: readonly JournalRecord[]): EngineInput[] {
  const out: EngineInput[] = [];
  let j = 0;
  for (const m of market) {
    while (j < journal.length && journal[j]!.tickWatermark < m.seq) out.push(journal[j++]!.input as EngineInput);
    out.push(m);
  }
  while (j < journal.length) out.push(journal[j++]!.input as EngineInput);
  return out;
}

/** An input with the event coordinate an engine node gives it. */
export interface CoordinatedInput {
  readonly input: EngineInput;
  /** A market input's seq; a journal entry's watermark (the seq it follows). */
  readonly at: number;
}

/**
 * {@link mergeInputs} with each input's event coordinate, as a live engine
 * node submits them: a replay that passes `at` to `Engine.submit` gives the
 * very events (ids included) the node published.
 */
export function mergeSequenced(market: readonly MarketInput[], journal: readonly JournalRecord[]): CoordinatedInput[] {
  const out: CoordinatedInput[] = [];
  let j = 0;
  const entry = (r: JournalRecord): CoordinatedInput => ({ input: r.input as EngineInput, at: r.tickWatermark });
  for (const m of market) {
    while (j < journal.length && journal[j]!.tickWatermark < m.seq) out.push(entry(journal[j++]!));
    out.push({ input: m, at: m.seq });
  }
  while (j < journal.length) out.push(entry(journal[j++]!));
  return out;
}

/** JSON with object keys sorted, so equal states give equal text whatever their construction order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return `__float:${String(v)}`;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** SHA-256 (hex) of a state's canonical JSON. */
export function stateDigest(state: unknown): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}
