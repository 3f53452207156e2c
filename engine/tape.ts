/**
 * Tapes: JSON-lines files of ordered engine inputs. A tape is the engine as a
 * function: replaying it gives the same events every time, on any number of
 * workers. Format: docs/tape-format.md.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CommandSchema, parseTier, type Command } from '../actors/index.js';
import type { EngineInput, SequencedInput } from './inputs.js';

/** A time as ms since epoch or an ISO-8601 string with offset. */
const Time = z.union([
  z.number().int().nonnegative(),
  z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO-8601 time').transform((s) => Date.parse(s)),
]);

const Instrument = z.object({
  symbol: z.string().min(1).max(64), kind: z.enum(['linear', 'binary']), venue: z.string().default('tape'),
  minQty: z.number().positive().default(0.0001), market: z.string().optional(), outcome: z.string().optional(), closesAt: Time.optional(),
}).strict();

const Line = z.discriminatedUnion('type', [
  z.object({ type: z.literal('tier'), tier: z.unknown() }).strict(),
  z.object({ type: z.literal('instrument'), instrument: Instrument }).strict(),
  z.object({ type: z.literal('create'), assessmentId: z.string().min(1).max(64), traderId: z.string().min(1).max(64), tierId: z.string().min(1) }).strict(),
  z.object({
    type: z.literal('tick'), seq: z.number().int().positive(), ts: Time, symbol: z.string().min(1),
    bid: z.number().positive().finite(), ask: z.number().positive().finite(),
    bidSize: z.number().positive().optional(), askSize: z.number().positive().optional(),
  }).strict().refine((t) => t.ask >= t.bid, 'ask below bid'),
  z.object({ type: z.literal('command'), assessmentId: z.string().min(1), command: CommandSchema }).strict(),
  z.object({ type: z.literal('clock'), time: Time }).strict(),
  z.object({ type: z.literal('resolution'), seq: z.number().int().positive(), ts: Time, market: z.string().min(1), outcome: z.string().min(1) }).strict(),
]);

/** A tape line that does not parse; names the line and what is wrong with it. */
export class TapeError extends Error {
  readonly code = 'INVALID_TAPE';
  readonly line: number;
  constructor(line: number, message: string, options?: ErrorOptions) {
    super(`tape line ${line}: ${message}`, options);
    this.line = line;
    this.name = 'TapeError';
  }
}

/** Parse tape text. Blank lines and lines starting with `#` or `//` are comments. */
export function parseTape(text: string): SequencedInput[] {
  const out: SequencedInput[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.trim();
    if (raw === '' || raw.startsWith('#') || raw.startsWith('//')) continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new TapeError(n + 1, `not JSON (${(err as Error).message})`);
    }
    const parsed = Line.safeParse(json);
    if (!parsed.success) {
      throw new TapeError(n + 1, parsed.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; '));
    }
    const line = parsed.data;
    if (line.type === 'tier') {
      try {
        parseTier(line.tier);
      } catch (err) {
        throw new TapeError(n + 1, (err as Error).message, { cause: err });
      }
    }
    const input = (line.type === 'command' ? { ...line, command: line.command as Command } : line) as EngineInput;
    out.push({ i: out.length, input });
  }
  return out;
}

/** Read and parse a tape file. */
export function readTape(path: string): SequencedInput[] {
  return parseTape(readFileSync(path, 'utf8'));
}

/** Serialize inputs as tape text. */
export function formatTape(inputs: readonly EngineInput[]): string {
  return inputs.map((i) => JSON.stringify(i)).join('\n') + '\n';
}
