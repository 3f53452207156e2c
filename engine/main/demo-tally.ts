/**
 * What `npm start` counts of the engine's events for its live summary
 * (start.ts); the demo's bot traders learn from the same stream.
 */
import type { BotTraders } from '../../sim/index.js';
import type { EngineOutput, OutputEvent } from '../index.js';

/** Counts the engine's events; the bots learn from the same stream. */
export class DemoTally implements EngineOutput {
  created = 0;
  accepted = 0;
  rejected = 0;
  fills = 0;
  violations = 0;
  passes = 0;
  failures = 0;
  passed = 0;
  failed = 0;
  ended = 0;
  quarantined = 0;
  bots: BotTraders | undefined;

  onEvents(events: readonly OutputEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'assessment.created':
          this.created++;
          break;
        case 'order.accepted':
          if (e.order.role === 'entry') this.accepted++;
          break;
        case 'order.rejected':
          this.rejected++;
          break;
        case 'order.filled':
          this.fills++;
          break;
        case 'rules.violation-detected':
          this.violations++;
          break;
        case 'assessment.phase-passed':
          this.passes++;
          break;
        case 'assessment.passed':
          this.passes++;
          this.passed++;
          this.ended++;
          break;
        case 'assessment.failed':
          this.failures++;
          this.failed++;
          this.ended++;
          break;
        case 'assessment.expired':
        case 'assessment.abandoned':
          this.ended++;
          break;
        case 'actor.quarantined':
          this.quarantined++;
          this.ended++;
          this.bots?.retire(e.assessmentId);
          break;
        default:
          break;
      }
      if (e.type !== 'actor.quarantined' && e.type !== 'engine.input-rejected') this.bots?.observe(e);
    }
  }
}
