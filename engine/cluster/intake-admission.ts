/**
 * What an intake request becomes before it is journaled: a create or a
 * parsed command of an assessment its shard knows, with the key its
 * duplicates are found by, or a refusal with its code.
 */
import { parseCommand } from '../../actors/index.js';
import type { IntakeRefusal, IntakeRequest } from '../node/engine-node.js';
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
  const refuse = (code: IntakeRefusal, message: string): Admission => ({ ok: false, code, message });
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
  let command: ReturnType<typeof parseCommand>;
  try {
    command = parseCommand(req.command);
  } catch (err) {
    return refuse('INVALID_COMMAND', `invalid command: ${describe(err)}`);
  }
  return {
    ok: true,
    input: { type: 'command', assessmentId: req.assessmentId, command },
    clientOrderId: 'clientOrderId' in command ? command.clientOrderId : null,
  };
}

function describe(err: unknown): string {
  const issues = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues;
  if (Array.isArray(issues)) return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  return err instanceof Error ? err.message : String(err);
}
