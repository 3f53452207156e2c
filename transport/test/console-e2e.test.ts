/**
 * The trader console end to end: a real engine node and gateway serving the
 * bundled console, driven in headless Chromium through playwright-core.
 * Needs Postgres (the harness's journal) and /usr/bin/chromium; skipped with
 * the reason outside CI when either is missing, failed in CI.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { presetTiers } from '../../actors/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { createSharedState, type SharedState } from '../../persistence/index.js';
import type { GatewayEngine } from '../server/gateway.js';
import { httpApi, TraderIndex } from '../server/http-api.js';
import { ConsoleAssets } from '../server/static-assets.js';
import { TokenVerifier } from '../server/token-verifier.js';
import { SECRET, startHarness, token, type Harness } from './gateway-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

/** Skip reason when Chromium is missing; in CI a missing browser is a failure, not a skip. */
function chromiumGate(): false | string {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}; CI requires it`);
  return `${reason}: browser test skipped outside CI`;
}

const skip = (await serviceGate('postgres', '127.0.0.1', 5432)) || chromiumGate();
const OWNERS: Array<[string, string]> = [
  ['alice-1', 'alice'],
  ['alice-2', 'alice'],
  ['bob-1', 'bob'],
];

describe('the trader console in a browser', { skip }, () => {
  let h: Harness;
  let shared: SharedState;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let price = 60_000;
  const pageErrors: string[] = [];

  /** Publish a tick and remember the price, so orders can be sized against it. */
  const tick = async (p: number): Promise<void> => {
    price = p;
    await h.tick(p);
  };
  const text = (selector: string): Promise<string> => page.locator(selector).innerText();

  before(async () => {
    const owners = new TraderIndex();
    for (const [id, trader] of OWNERS) owners.add(trader, id);
    shared = await createSharedState();
    const assets = await ConsoleAssets.create();
    // The harness builds the node; the API reaches it through this late binding.
    let harness: Harness | undefined;
    const engine: GatewayEngine = { state: (id) => harness!.node.state(id), offer: (r) => harness!.node.offer(r) };
    const routes = httpApi({
      engine,
      verifier: await TokenVerifier.create({ secret: SECRET }),
      registry: new Registry(),
      tiers: presetTiers(),
      owners,
      leaderboard: shared.leaderboard,
      idempotency: shared.idempotency,
      log: pino({ level: 'silent' }),
      shards: () => harness!.node.engine.shards(),
      assets,
    });
    h = harness = await startHarness(OWNERS, { gateway: { routes, authTimeoutMs: 5_000 } });
    base = `http://127.0.0.1:${h.gateway.port}`;
    profile = await mkdtemp(join(tmpdir(), 'vatic-console-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      deviceScaleFactor: 1,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await context?.close();
    await h?.stop();
    await shared?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  test('the gateway serves the page, its stylesheet and its bundled script with a content security policy', async () => {
    const res = await page.goto(`${base}/`);
    assert.equal(res?.status(), 200);
    const headers = res!.headers();
    assert.match(headers['content-type'] ?? '', /^text\/html; charset=utf-8/);
    const csp = headers['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.ok(csp.includes(`connect-src 'self' ws://127.0.0.1:${h.gateway.port} wss://127.0.0.1:${h.gateway.port}`), csp);
    for (const [path, type] of [
      ['/console.js', /^text\/javascript/],
      ['/console.css', /^text\/css/],
    ] as const) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type') ?? '', type);
      const again = await fetch(`${base}${path}`, { headers: { 'if-none-match': r.headers.get('etag')! } });
      assert.equal(again.status, 304, `${path} revalidates by etag`);
    }
    assert.equal(await text('#conn-state'), 'SIGNED OUT');
  });

  test('a trader signs in with a token and sees only their own assessments', async () => {
    await page.fill('#token', await token('alice', { expiresIn: '15m' }));
    await page.click('#signin');
    await page.waitForSelector('#conn[data-state="live"]');
    assert.deepEqual(await page.locator('[data-assessment]').evaluateAll((els) => els.map((e) => e.getAttribute('data-assessment'))), [
      'alice-1',
      'alice-2',
    ]);
    assert.equal(await text('#trader'), 'alice');
  });

  test('a token in the URL fragment signs in at once and is dropped from the address bar', async () => {
    const tab = await context.newPage();
    try {
      await tab.goto(`${base}/#token=${await token('alice', { expiresIn: '15m' })}`);
      await tab.waitForSelector('#conn[data-state="live"]');
      assert.equal(new URL(tab.url()).hash, '');
      assert.equal(await tab.locator('[data-assessment]').count(), 2);
    } finally {
      await tab.close();
    }
  });

  test('picking an assessment streams it live with its seq, epoch and rule meters', async () => {
    await page.click('[data-assessment="alice-1"]');
    await page.waitForFunction(
      () => document.getElementById('acct-id')?.textContent === 'alice-1' && document.getElementById('seq')?.textContent !== '—',
    );
    assert.equal(await text('#epoch'), String(h.node.epoch));
    assert.equal(await text('#balance'), '50,000.00');
    assert.equal(await text('#acct-status'), 'ACTIVE');
    const rules = await page.locator('[data-rule]').evaluateAll((els) => els.map((e) => e.getAttribute('data-rule')));
    assert.deepEqual(rules, ['daily-loss', 'max-loss', 'profit-target', 'min-trading-days']);
    assert.match(await text('[data-rule="profit-target"]'), /55,000\.00/);
    assert.match(await text('[data-rule="min-trading-days"]'), /0 \/ 3/);
  });

  test('a market order with a stop loss from the ticket is acknowledged with its journal position, then filled into a position row', async () => {
    await page.fill('#ticket [name="qty"]', '0.25');
    await page.fill('#ticket [name="stopLoss"]', '58000');
    await page.click('#ticket-submit');
    const order = page.locator('#blotter .order').first();
    await order.locator('.o-ack', { hasText: /journal #\d+/ }).waitFor();
    const cid = await order.getAttribute('data-cid');
    assert.match(cid ?? '', /^web-[a-z0-9]+-[0-9a-f]{12}$/);
    await tick(60_100);
    await order.locator('.state', { hasText: 'filled' }).waitFor();
    const row = page.locator('#positions-body tr[data-symbol="BTC-USD"]');
    await row.waitFor();
    assert.match(await row.innerText(), /LONG\s+0\.25\s+60,\d{3}\.\d\d/);
    assert.match(await text('#working'), /^[1-9]/, 'the stop loss works as an order');
  });

  test("an order without the stop loss the tier requires shows the engine's rejection reason", async () => {
    // Adding to the long without a stop: the gateway journals it, the engine refuses it.
    await page.fill('#ticket [name="stopLoss"]', '');
    await page.fill('#ticket [name="qty"]', '0.05');
    await page.click('#ticket-submit');
    const order = page.locator('#blotter .order').first();
    await order.locator('.state', { hasText: 'rejected' }).waitFor();
    assert.match(await order.locator('.o-note').innerText(), /^MISSING_STOP_LOSS: /);
    assert.match(await order.locator('.o-ack').innerText(), /journal #\d+/);
    // Reducing the long needs no stop, and a sell from the ticket fills.
    await page.click('label[for="side-sell"]');
    assert.equal(await text('#ticket-submit'), 'SELL');
    await page.click('#ticket-submit');
    await tick(price + 50);
    await page.locator('#blotter .order').first().locator('.state', { hasText: 'filled' }).waitFor();
    await page.locator('#positions-body tr[data-symbol="BTC-USD"] td:nth-child(3)', { hasText: '0.2' }).waitFor();
    await page.click('label[for="side-buy"]');
  });

  test('ticks move the equity on the page and draw the curve', async () => {
    const before = await text('#equity');
    await tick(60_600);
    await page.waitForFunction((b) => document.getElementById('equity')?.textContent !== b, before);
    assert.notEqual(await text('#equity'), before);
    // A seeded walk, so the screenshot shows a curve and not a line.
    let p = price;
    let seed = 7;
    for (let i = 0; i < 70; i++) {
      seed = (seed * 16_807) % 2_147_483_647;
      p = Math.round(p + (seed / 2_147_483_647 - 0.47) * 90);
      await tick(p);
      await new Promise((r) => setTimeout(r, 25));
    }
    await page.waitForFunction(() => (document.querySelector('#chart path.equity')?.getAttribute('d')?.split('L').length ?? 0) > 30);
    const unrealized = await text('#positions-body tr[data-symbol="BTC-USD"] td:nth-child(6)');
    assert.match(unrealized, /^[+\u2212]?[\d,]+\.\d\d$/);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console.png') });
    assert.deepEqual(pageErrors, []);
  });

  test('a gap through the daily floor shows the violation with its evidence and the failed status', async () => {
    await page.click('[data-assessment="alice-2"]');
    await page.waitForFunction(() => document.getElementById('acct-id')?.textContent === 'alice-2');
    await page.click('label[for="side-buy"]');
    // Size the trade inside the 2% risk-per-trade limit, then gap far below the stop.
    await page.fill('#ticket [name="qty"]', '0.9');
    await page.fill('#ticket [name="stopLoss"]', String(price - 1_000));
    await page.click('#ticket-submit');
    await page
      .locator('#blotter .order')
      .first()
      .locator('.o-ack', { hasText: /journal #\d+/ })
      .waitFor();
    await tick(price);
    await page.locator('#positions-body tr[data-symbol="BTC-USD"]').waitFor();
    await tick(price - 3_000);
    const violation = page.locator('#violations .violation[data-rule="daily-loss"]');
    await violation.waitFor();
    const evidence = await violation.innerText();
    assert.match(evidence, /limit\s+48,500\.00/);
    assert.match(evidence, /cause: tick #\d+ BTC-USD bid/);
    await page.locator('#acct-status', { hasText: /failed/i }).waitFor();
    await page.locator('[data-assessment="alice-2"] .badge', { hasText: /failed/i }).waitFor();
    // The trading-day count comes from a fresh state over HTTP after the position opened.
    await page.locator('[data-rule="min-trading-days"]', { hasText: '1 / 3' }).waitFor();
    await page.locator('#events [data-type="rules.violation-detected"]').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'console-violation.png') });
    assert.deepEqual(pageErrors, []);
  });
});
