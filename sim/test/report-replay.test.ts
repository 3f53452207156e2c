/**
 * For every example tape, what `npm run replay` prints and what the report
 * of each assessment says agree: the same violations with the same evidence,
 * the same round trips closed at the same prices and P&L, the same verdict;
 * the report names the replay command; and its HTML page is self-contained.
 * The replay CLI runs as a subprocess; the history is a scratch Postgres
 * database fed with the events the replay printed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseTier, presetTiers, type Tier } from '../../actors/index.js';
import { readTape, type OutputEvent } from '../../engine/index.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import { PgHistoryReader, PgHistoryStore, PgReportStore, type HistoryEvent } from '../../persistence/index.js';
import { eventSubject } from '../../transport/nats/index.js';
import { replaySource } from '../reports/compliance.js';
import { renderAssessmentReport } from '../reports/render-assessment-report.js';
import { ReportService } from '../reports/report-service.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TAPES = readdirSync(new URL('../../tapes/', import.meta.url))
  .filter((f) => f.endsWith('.jsonl'))
  .sort();
const skip = await serviceGate('postgres', '127.0.0.1', 5432);

describe('reports of the example tapes against what the replay prints', { skip }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  for (const tape of TAPES) {
    test(`${tape}: the report's violations, trades and verdict are the replay's`, async () => {
      const path = `tapes/${tape}`;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'engine/main/replay.ts', path, '--no-states', '--workers', '1'], {
        cwd: ROOT,
        maxBuffer: 64 << 20,
      });
      const printed = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as OutputEvent & Record<string, unknown>);
      const tiers: Tier[] = [
        ...presetTiers(),
        ...readTape(`${ROOT}${path}`).flatMap((s) => (s.input.type === 'tier' ? [parseTier(s.input.tier)] : [])),
      ];
      const store = new PgHistoryStore(db.sql);
      await store.clear();
      await store.ingest(printed.filter((e) => 'assessmentId' in e && eventSubject(e.type) !== undefined) as unknown as HistoryEvent[]);
      const service = new ReportService({
        reader: new PgHistoryReader(db.sql),
        store: new PgReportStore(db.sql),
        tiers: () => tiers,
        replay: (id) => replaySource(id, path, false),
      });
      const ids = [...new Set(printed.filter((e) => e.type === 'assessment.created').map((e) => e.assessmentId))];
      assert.ok(ids.length > 0);
      for (const id of ids) {
        const mine = printed.filter((e) => e.assessmentId === id);
        const report = (await service.build(id, 'request'))!;
        assert.deepEqual(report.compliance.replay.commands, [`npm run replay -- ${path} --no-states`]);

        const violations = mine
          .filter((e) => e.type === 'rules.violation-detected')
          .map((e) => (e as Extract<OutputEvent, { type: 'rules.violation-detected' }>).violation);
        assert.deepEqual(
          report.compliance.violations.map((v) => ({
            ruleId: v.ruleId,
            severity: v.severity,
            tierId: v.tierId,
            tierVersion: v.tierVersion,
            phase: v.phase,
            at: v.at,
            cause: v.cause,
            equity: v.equity,
            balance: v.balance,
            limit: v.limit,
            value: v.value,
            positions: v.positions,
            detail: v.detail,
          })),
          violations,
          `${id}: violations`,
        );
        for (const v of report.compliance.violations) {
          assert.ok(
            mine.some(
              (e) =>
                e.type === v.expect.type &&
                e.at === v.expect.at &&
                (e as { violation?: { equity: number } }).violation?.equity === v.expect.equity,
            ),
            `${id}: the replay prints the line the report expects`,
          );
        }
        // Each closed round trip is a position.closed (or settled) line of the replay, in order.
        const closes = mine.filter((e) => e.type === 'position.closed' || e.type === 'position.settled');
        const closed = report.trades.items.filter((t) => !t.open);
        assert.equal(closed.length, closes.length, `${id}: round trips`);
        closed.forEach((t, k) => {
          const e = closes[k] as Record<string, unknown>;
          assert.equal(t.symbol, e['symbol']);
          assert.equal(t.closedAt, e['at']);
          assert.equal(t.grossPnl, e['realizedPnl'], `${id}: trade ${t.no} P&L`);
          if (e['type'] === 'position.closed') assert.equal(t.exitPrice, e['exitPrice']);
          else assert.equal(t.exitPrice, e['payout']);
        });
        const fills = mine.filter((e) => e.type === 'order.filled');
        assert.equal(report.trades.items.reduce((n, t) => n + t.fills, 0) >= fills.length, true, `${id}: every fill is in a trade`);
        // The verdict and the final balance.
        const end = [...mine]
          .reverse()
          .find((e) => ['assessment.passed', 'assessment.failed', 'assessment.expired', 'assessment.abandoned'].includes(e.type));
        assert.equal(report.summary.status, end === undefined ? 'active' : end.type.slice('assessment.'.length), `${id}: status`);
        if (end?.type === 'assessment.failed') {
          assert.equal(report.summary.decidingRule?.ruleId, end['ruleId']);
          assert.deepEqual(
            report.summary.decidingRule?.evidence,
            violations.findLast((v) => v.ruleId === end['ruleId']),
          );
        }
        if (end !== undefined) assert.equal(report.summary.finalBalance, end['balance']);
        const dayStarts = mine.filter((e) => e.type === 'assessment.day-started');
        for (const d of dayStarts) {
          const row = report.days.find((x) => x.dayIndex === d['dayIndex']);
          assert.equal(row?.startBalance, d['balance'], `${id}: day ${String(d['dayIndex'])} opening balance`);
        }
        const html = renderAssessmentReport(report);
        assert.match(html, /^<!DOCTYPE html>/);
        assert.doesNotMatch(html, /<script|src="http|href="http|@import/i, 'self-contained');
        assert.equal(renderAssessmentReport(report), html, 'the same report renders the same bytes');
        assert.ok(html.includes(`npm run replay -- ${path} --no-states`));
      }
    });
  }
});
