/**
 * What an intake request becomes before it is journaled: a create or a
 * parsed command of an assessment its shard knows, with the key its
 * duplicates are found by, or a refusal with its code.
 */
import { parseCommand, type Command } from '../../actors/index.js';
import type { IntakeRefusal, IntakeRequest } from '../node/intake.js';
import type { JournalInput } from '../node/ports.js';

/** The journal key of a create (a create is deduped per assessment). */
const CREATE_KEY = '__create';

/** An admitted request, or why not. */
export type Admission =
  | { readonly ok: true; readonly input: JournalInput; readonly clientOrderId: string | null }
  | { readonly ok: false; readonly code: IntakeRefusal; readonly message: string };

/**
 * Admit `req` into a shard whose assessments are `known` (a create adds its
 * id at once, so a second create in the same batch is refused), with the
 * tiers `tierIds`.
 */
export function admitIntake(req: IntakeRequest, known: Set<string>, tierIds: ReadonlySet<string>): Admission {
  if (req.kind === 'create') {
    if (known.has(req.assessmentId)) return refuse('DUPLICATE_ASSESSMENT', `assessment '${req.assessmentId}' already exists`);
    if (!tierIds.has(req.tierId)) return refuse('UNKNOWN_TIER', `no tier '${req.tierId}'`);
    if (typeof req.traderId !== 'string' || req.traderId === '') return refuse('INVALID_COMMAND', 'traderId must be a non-empty string');
    known.add(req.assessmentId);
    return {
      ok: true,
      input: { type: 'create', assessmentId: req.assessmentId, traderId: req.traderId, tierId: req.tierId },
      clientOrderId: CREATE_KEY,
    };
  }
  if (!known.has(req.assessmentId)) return refuse('UNKNOWN_ASSESSMENT', `no assessment '${req.assessmentId}' on this engine`);
  let command: Command;
  try {
    command = plainPlace(req.command) ?? parseCommand(req.command);
  } catch (err) {
    return refuse('INVALID_COMMAND', `invalid command: ${describe(err)}`);
  }
  return {
    ok: true,
    input: { type: 'command', assessmentId: req.assessmentId, command },
    clientOrderId: 'clientOrderId' in command ? command.clientOrderId : null,
  };
}

function refuse(code: IntakeRefusal, message: string): Admission {
  return { ok: false, code, message };
}

const idOk = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= 64;
const positive = (v: unknown): boolean => typeof v === 'number' && v > 0 && v < Infinity;
const optionalPositive = (v: unknown): boolean => v === undefined || positive(v);

/**
 * A place command that `parseCommand` certainly accepts, built as it builds
 * it (the same fields in the same order: actors/command-schema.ts), without
 * the schema's cost, for the most frequent request of all; undefined for
 * anything else, which the schema then judges (and refuses with its
 * message). It only takes plain objects whose every field is known and valid
 * and none undefined; the intake test holds it to the schema's answers over
 * generated commands.
 */
export function plainPlace(raw: unknown): Command | undefined {
  if (typeof raw !== 'object' || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  const o = raw as Record<string, unknown>;
  const { kind, clientOrderId, symbol, side, type, qty, limitPrice, stopPrice, stopLoss, takeProfit, reduceOnly, tif } = o;
  if (kind !== 'place' || !idOk(clientOrderId) || !idOk(symbol) || !positive(qty)) return undefined;
  if ((side !== 'buy' && side !== 'sell') || (type !== 'market' && type !== 'limit' && type !== 'stop')) return undefined;
  if (!optionalPositive(limitPrice) || !optionalPositive(stopPrice) || !optionalPositive(stopLoss) || !optionalPositive(takeProfit))
    return undefined;
  if ((reduceOnly !== undefined && typeof reduceOnly !== 'boolean') || (tif !== undefined && tif !== 'gtc' && tif !== 'day'))
    return undefined;
  const out: Record<string, unknown> = { kind, clientOrderId, symbol, side, type, qty };
  let fields = 6;
  if (limitPrice !== undefined) {
    out['limitPrice'] = limitPrice;
    fields++;
  }
  if (stopPrice !== undefined) {
    out['stopPrice'] = stopPrice;
    fields++;
  }
  if (stopLoss !== undefined) {
    out['stopLoss'] = stopLoss;
    fields++;
  }
  if (takeProfit !== undefined) {
    out['takeProfit'] = takeProfit;
    fields++;
  }
  if (reduceOnly !== undefined) {
    out['reduceOnly'] = reduceOnly;
    fields++;
  }
  if (tif !== undefined) {
    out['tif'] = tif;
    fields++;
  }
  // Every own field was one of these, defined: none unknown (the schema is strict), none undefined (it keeps those).
  if (Object.keys(o).length !== fields) return undefined;
  return out as unknown as Command;
}

function describe(err: unknown): string {
  const issues = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues;
  if (Array.isArray(issues)) return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  return err instanceof Error ? err.message : String(err);
}
