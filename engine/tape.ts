/**
 * Tapes: JSON-lines files of ordered engine inputs. A tape is the engine as a
 * function: replaying it gives the same events every time, on any number of
 * workers. Format, ordering and validation rules: docs/tape-format.md.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CommandSchema, DEFAULT_INSTRUMENTS, parseTier, type Command, type Instrument } from '../actors/index.js';
import type { EngineInput, SequencedInput } from './inputs.js';
import { MarketRegistry, type MarketInputRefusal } from './market-validation.js';
import { InstrumentSchema, TimeSchema } from './instrument-schema.js';

const Time = TimeSchema;

const Line = z.discriminatedUnion('type', [
  z.object({ type: z.literal('tier'), tier: z.unknown() }).strict(),
  z.object({ type: z.literal('instrument'), instrument: InstrumentSchema }).strict(),
  z
    .object({
      type: z.literal('create'),
      assessmentId: z.string().min(1).max(64),
      traderId: z.string().min(1).max(64),
      tierId: z.string().min(1),
    })
    .strict(),
  z
    .object({
      type: z.literal('tick'),
      seq: z.number().int().positive(),
      ts: Time,
      symbol: z.string().min(1),
      // Prices and sizes are checked by the instrument's kind (validateQuote), with a reason code.
      bid: z.number(),
      ask: z.number(),
      bidSize: z.number().optional(),
      askSize: z.number().optional(),
    })
    .strict(),
  z.object({ type: z.literal('command'), assessmentId: z.string().min(1), command: CommandSchema }).strict(),
  z.object({ type: z.literal('clock'), time: Time }).strict(),
  z
    .object({
      type: z.literal('resolution'),
      seq: z.number().int().positive(),
      ts: Time,
      market: z.string().min(1),
      outcome: z.string().min(1),
    })
    .strict(),
]);

/**
 * Why a tape line was refused: a market-input refusal shared with every other
 * door, or one of the tape's own rules.
 */
export type TapeRefusal =
  | MarketInputRefusal
  /** Not JSON, or a field missing or of the wrong type. */
  | 'MALFORMED_LINE'
  /** A tier definition that does not validate. */
  | 'INVALID_TIER'
  /** A tick or resolution whose `seq` is not above every earlier one. */
  | 'SEQ_NOT_INCREASING'
  /** A clock line earlier than the clock line before it. */
  | 'CLOCK_BACKWARDS';

/** A tape line that does not parse; names the line, the reason code and what is wrong with it. */
export class TapeError extends Error {
  readonly code = 'INVALID_TAPE';
  readonly line: number;
  readonly reason: TapeRefusal;
  constructor(line: number, message: string, options?: ErrorOptions & { reason?: TapeRefusal }) {
    const reason = options?.reason ?? 'MALFORMED_LINE';
    super(`tape line ${line}: ${reason === 'MALFORMED_LINE' ? '' : `${reason}: `}${message}`, options);
    this.line = line;
    this.reason = reason;
    this.name = 'TapeError';
  }
}

/** Options of {@link parseTape}. */
export interface ParseTapeOptions {
  /** Instruments known before the tape's own `instrument` lines. @default DEFAULT_INSTRUMENTS (what the engine knows) */
  readonly instruments?: Iterable<Instrument>;
}

/**
 * Parse tape text. Blank lines and lines starting with `#` or `//` are comments.
 * Every market line is validated as the engine would (`validateQuote` for the
 * symbol's instrument kind, resolutions against known markets), `seq` must
 * strictly increase across ticks and resolutions, and clock times must not go
 * back: the first offending line throws a {@link TapeError} with its reason.
 */
export function parseTape(text: string, options: ParseTapeOptions = {}): SequencedInput[] {
  const out: SequencedInput[] = [];
  const market = new MarketRegistry(options.instruments ?? DEFAULT_INSTRUMENTS);
  let lastSeq = 0;
  let lastClock = -Infinity;
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
    const refuse = (reason: TapeRefusal, message: string): never => {
      throw new TapeError(n + 1, message, { reason });
    };
    switch (line.type) {
      case 'tier':
        try {
          parseTier(line.tier);
        } catch (err) {
          throw new TapeError(n + 1, (err as Error).message, { cause: err, reason: 'INVALID_TIER' });
        }
        break;
      case 'instrument':
        market.add(line.instrument as Instrument);
        break;
      case 'tick': {
        const reason = market.checkTick(line);
        if (reason !== undefined)
          refuse(
            reason,
            `tick ${line.symbol} bid ${line.bid} ask ${line.ask}${line.bidSize === undefined ? '' : ` bidSize ${line.bidSize}`}${line.askSize === undefined ? '' : ` askSize ${line.askSize}`}`,
          );
        if (line.seq <= lastSeq) refuse('SEQ_NOT_INCREASING', `seq ${line.seq} after seq ${lastSeq}`);
        lastSeq = line.seq;
        break;
      }
      case 'resolution': {
        const reason = market.checkResolution(line);
        if (reason !== undefined) refuse(reason, `resolution of ${line.market} to ${line.outcome}`);
        if (line.seq <= lastSeq) refuse('SEQ_NOT_INCREASING', `seq ${line.seq} after seq ${lastSeq}`);
        lastSeq = line.seq;
        market.resolve(line.market, line.outcome);
        break;
      }
      case 'clock':
        if (line.time < lastClock)
          refuse(
            'CLOCK_BACKWARDS',
            `clock ${new Date(line.time).toISOString()} before the previous clock line's ${new Date(lastClock).toISOString()}`,
          );
        lastClock = line.time;
        break;
      default:
        break;
    }
    const input = (line.type === 'command' ? { ...line, command: line.command as Command } : line) as EngineInput;
    out.push({ i: out.length, input });
  }
  return out;
}

/** Read and parse a tape file (see {@link parseTape}). */
export function readTape(path: string, options: ParseTapeOptions = {}): SequencedInput[] {
  return parseTape(readFileSync(path, 'utf8'), options);
}

/** Serialize inputs as tape text. */
export function formatTape(inputs: readonly EngineInput[]): string {
  return `${inputs.map((i) => JSON.stringify(i)).join('\n')}\n`;
}
