// Opens the Temporal UI in headless Chromium, finds the given OrderWorkflow runs in the
// workflow list, opens each, and checks that its activities' inputs and results show as
// readable JSON (not base64 payloads). Prints one JSON line with what it saw; exits 1 on a
// failed check. The first run is found through the workflow list, the others opened by URL.
// Usage: node temporal_ui.js <uiUrl> <screenshotDir> <workflowId>[:ACT1,ACT2..]...
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [uiUrl, shotDir, ...specs] = process.argv.slice(2);
const NS = 'default';

function fail(msg) { throw new Error(msg); }

// JSON objects shown in the page's code blocks (the UI renders decoded json/plain payloads).
async function jsonBlocks(page) {
  const texts = await page.locator('pre, code, .cm-content').allInnerTexts();
  const out = [];
  for (const t of texts) {
    const s = t.trim();
    if (!s.startsWith('{')) continue;
    try { out.push(JSON.parse(s)); } catch (e) { /* a truncated one-line preview */ }
  }
  return out;
}

async function findInList(page, wid) {
  const query = encodeURIComponent(`WorkflowId="${wid}"`);
  for (let i = 0; i < 6; i++) {
    await page.goto(`${uiUrl}/namespaces/${NS}/workflows?query=${query}`, { waitUntil: 'domcontentloaded' });
    const link = page.locator(`a:has-text("${wid}")`).first();
    try {
      await link.waitFor({ timeout: 8000 });
    } catch (e) {
      continue; // visibility is eventually consistent: load the list again
    }
    const row = page.locator('tr, [role="row"]', { hasText: wid }).first();
    const rowText = (await row.count()) ? await row.innerText() : '';
    return { link, rowText };
  }
  fail(`workflow ${wid} not found in the UI's workflow list`);
}

async function checkRun(page, wid, activities, shot, viaList) {
  if (viaList) {
    const { link, rowText } = await findInList(page, wid);
    if (!rowText.includes('OrderWorkflow')) fail(`list row of ${wid} does not show OrderWorkflow: ${rowText}`);
    await link.click();
    await page.waitForURL(new RegExp(`/workflows/${wid}`));
  } else {
    await page.goto(`${uiUrl}/namespaces/${NS}/workflows/${wid}`, { waitUntil: 'domcontentloaded' });
  }
  await page.getByText('Event History').first().waitFor();
  const summary = await page.innerText('body');
  if (!summary.includes('OrderWorkflow')) fail('workflow page does not name OrderWorkflow');
  if (!/COMPLETED/i.test(summary)) fail(`${wid} is not shown as completed`);
  await page.getByText('Event History').first().click();
  await page.locator('tr', { hasText: 'Activity Task Scheduled' }).first().waitFor();
  const seen = {};
  for (const act of activities) {
    const row = page.locator('tr', { hasText: 'Activity Task Scheduled' }).filter({ hasText: act }).first();
    if (await row.count() === 0) fail(`${wid}: no ${act} activity in the event history`);
    await row.scrollIntoViewIfNeeded();
    const isInput = b => b.sagaId === wid && 'customerId' in b;
    const before = (await jsonBlocks(page)).filter(isInput).length;
    await row.click();  // expands the activity: scheduled (input), started, completed (result)
    await page.waitForTimeout(400);
    const after = (await jsonBlocks(page)).filter(isInput).length;
    if (after <= before) fail(`${wid}: ${act} shows no readable JSON input/result when expanded`);
    seen[act] = after - before;
    await row.click();  // collapse again
    await page.waitForTimeout(300);
  }
  // Results: the completed activities of the first step carry what it learned (orderId).
  const first = page.locator('tr', { hasText: 'Activity Task Scheduled' }).filter({ hasText: activities[0] }).first();
  await first.click();
  await page.waitForTimeout(400);
  const blocks = await jsonBlocks(page);
  if (!blocks.some(b => b.sagaId === wid && Number.isInteger(b.orderId)))
    fail(`${wid}: ${activities[0]} result with orderId is not readable JSON`);
  // The workflow result, decoded.
  if (!blocks.some(b => b.workflowId === wid && typeof b.success === 'boolean'))
    fail(`${wid}: workflow result is not readable JSON`);
  // Picture: the last activity checked (ConfirmPayment, or CancelOrder after a compensation)
  // expanded, with its input and result.
  await first.click();
  await page.waitForTimeout(300);
  const last = page.locator('tr', { hasText: 'Activity Task Scheduled' })
    .filter({ hasText: activities[activities.length - 1] }).first();
  await last.click();
  await last.scrollIntoViewIfNeeded();
  await page.waitForTimeout(500);
  await page.screenshot({ path: shot, fullPage: false });
  return { workflowId: wid, activities: seen, screenshot: shot };
}

(async () => {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ship-chromium-'));
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.SHIP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1600, height: 1300 },
  });
  ctx.setDefaultTimeout(20000);
  const results = [];
  let rc = 0;
  try {
    const page = await ctx.newPage();
    for (const [i, spec] of specs.entries()) {
      const [wid, acts] = spec.split(':');
      const activities = (acts || 'CreateOrder').split(',');
      results.push(await checkRun(page, wid, activities, path.join(shotDir, `temporal-ui-${i}.png`), i === 0));
    }
  } catch (e) {
    console.error(String(e && e.stack || e));
    rc = 1;
  } finally {
    await ctx.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ ok: rc === 0, results }));
  process.exit(rc);
})();
