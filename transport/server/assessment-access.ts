/**
 * Which assessments a session may read and trade: its trader's own, or any
 * for the operator role. Unknown and foreign ids get the same answer.
 */
import type { AssessmentState } from '../../actors/index.js';
import type { GatewayOptions } from './gateway-options.js';
import type { Session } from './session.js';

/** The gateway's ownership check, remembered per session once passed. */
export class AssessmentAccess {
  readonly #o: GatewayOptions;

  constructor(o: GatewayOptions) {
    this.#o = o;
  }

  /** The assessment's state when the session may access it (read from the engine), else undefined. */
  async read(s: Session, assessmentId: string): Promise<AssessmentState | undefined> {
    return this.allowed(s, assessmentId, await this.#o.engine.state(assessmentId));
  }

  /** `state` when the session may access it; a refusal is counted and logged. */
  allowed(s: Session, assessmentId: string, state: AssessmentState | undefined): AssessmentState | undefined {
    if (s.principal === undefined) return undefined;
    if (state !== undefined && (state.traderId === s.principal.traderId || s.principal.roles.has('operator'))) {
      (s.owned ??= new Set()).add(assessmentId);
      return state;
    }
    this.#o.metrics.forbidden.inc();
    this.#o.log.warn({ conn: s.id, trader: s.principal.traderId, assessment: assessmentId }, 'access to an assessment refused');
    return undefined;
  }
}
