// Presses the Temporal UI's "Request Cancellation" button on one workflow's page and confirms
// the dialog, as an operator would, in headless Chromium. Exits 0 once the UI accepted it.
// Usage: node ui_cancel.js <uiUrl> <workflowId> <screenshot.png>   (SHIP_CHROMIUM: the browser)
'use strict';
const { chromium } = require('playwright-core');

const [uiUrl, wid, shot] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.SHIP_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${uiUrl}/namespaces/default/workflows/${wid}`, { waitUntil: 'domcontentloaded' });
    const button = page.getByRole('button', { name: 'Request Cancellation' }).first();
    await button.waitFor({ timeout: 30000 });
    await button.click();
    const confirm = page.getByRole('button', { name: 'Confirm' }).filter({ visible: true }).first();
    await confirm.waitFor({ timeout: 10000 });
    await confirm.click();
    await page.waitForTimeout(1000); // let the request leave before the page closes
    await page.screenshot({ path: shot });
    console.log(JSON.stringify({ ok: true, wid }));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
