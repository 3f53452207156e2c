/**
 * An assessment report's page prints to PDF in headless Chromium (the
 * report's own print rules: A4, backgrounds kept), with its charts and text
 * in it. Needs Postgres (the history) and /usr/bin/chromium; skipped with the
 * reason outside CI when either is missing, failed in CI.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseTier, presetTiers } from '../../actors/index.js';
import { runInputs, readTape } from '../../engine/index.js';
import { createTestDatabase, serviceGate } from '../../engine/testing/index.js';
import { PgHistoryReader, PgHistoryStore, PgReportStore, type HistoryEvent } from '../../persistence/index.js';
import { eventSubject } from '../../transport/nats/index.js';
import { replaySource } from '../reports/compliance.js';
import { DEFAULT_CHROMIUM, printPdf } from '../reports/print-pdf.js';
import { renderAssessmentReport } from '../reports/render-assessment-report.js';
import { ReportService } from '../reports/report-service.js';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

function chromiumGate(): false | string {
  if (existsSync(DEFAULT_CHROMIUM)) return false;
  const reason = `${DEFAULT_CHROMIUM} is missing (apt-get install -y chromium)`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}; CI requires it`);
  return `${reason}: PDF test skipped outside CI`;
}
const skip = (await serviceGate('postgres', '127.0.0.1', 5432)) || chromiumGate();

test('a report page prints to a multi-page A4 PDF in headless Chromium', { skip }, async () => {
  const db = await createTestDatabase();
  try {
    const tape = readTape(fileURLToPath(new URL('../../tapes/pass-after-min-days.jsonl', import.meta.url)));
    const { events, engine } = await runInputs(
      tape.map((x) => x.input),
      { workers: 1, tiers: presetTiers() },
    );
    await engine.stop();
    await new PgHistoryStore(db.sql).ingest(events.filter((e) => eventSubject(e.type) !== undefined) as unknown as HistoryEvent[]);
    const tiers = [...presetTiers(), ...tape.flatMap((x) => (x.input.type === 'tier' ? [parseTier(x.input.tier)] : []))];
    const service = new ReportService({
      reader: new PgHistoryReader(db.sql),
      store: new PgReportStore(db.sql),
      tiers: () => tiers,
      replay: (id) => replaySource(id, 'tapes/pass-after-min-days.jsonl', false),
    });
    const report = (await service.build('acc-mindays', 'assessment.passed'))!;
    const html = renderAssessmentReport(report);
    const pdf = await printPdf(html);
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(join(ARTIFACTS, 'report.pdf'), pdf);
    await writeFile(join(ARTIFACTS, 'report.html'), html);
    const text = pdf.toString('latin1');
    assert.equal(text.slice(0, 5), '%PDF-');
    const pages = [...text.matchAll(/\/Type\s*\/Page[^s]/g)].length;
    assert.ok(pages >= 2, `${pages} pages`);
    const box = /\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/.exec(text);
    assert.ok(box, 'a page size');
    assert.ok(Math.abs(Number(box[1]) - 595.92) < 2 && Math.abs(Number(box[2]) - 842.88) < 2, `A4 (${box[1]} × ${box[2]} pt)`);
    assert.ok(pdf.byteLength > 20_000, `${pdf.byteLength} bytes: text and charts were drawn`);
  } finally {
    await db.drop();
  }
});
