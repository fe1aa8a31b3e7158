// End-to-end tests of the dashboard: a real `secmo serve` and real Chromium.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { accessLine, ADMIN_PASSWORD, hits, launch, login, Server, shot, syslogTime, watchedPage } from './harness.mjs';

let server, browser, admin;

before(async () => {
  server = await Server.start();
  browser = await launch();
  admin = await server.client('admin', ADMIN_PASSWORD);
  // Some background traffic so charts and tables have something to show.
  let bg = '';
  for (let i = 0; i < 60; i++) {
    bg += accessLine(`198.51.100.${10 + (i % 7)}`, ['/', '/products', '/cart', '/login', '/search?q=shoes'][i % 5], { status: [200, 200, 304, 404, 200][i % 5], ref: i % 3 ? 'https://www.example.org/page' : '-' });
  }
  server.append('access', bg);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function waitApi(check, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('dashboard', () => {
  test('serves the app with a strict CSP, long-cached hashed assets and client-side routes', async () => {
    const r = await fetch(`${server.base}/incidents/1`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await r.text();
    assert.doesNotMatch(html, /<script>|<style|style=/, 'no inline script or style');
    const js = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
    const a = await fetch(`${server.base}${js}`);
    assert.equal(a.status, 200);
    assert.match(a.headers.get('cache-control'), /max-age=31536000/);
    assert.match(a.headers.get('content-type'), /javascript/);
    assert.equal((await fetch(`${server.base}/assets/missing-abc.js`)).status, 404);
    const api = await fetch(`${server.base}/api/nope`);
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type'), /json/);
  });

  test('login: wrong password is refused; name and role are shown; logout returns to the login form', async () => {
    const page = await watchedPage(browser.ctx);
    await page.goto(`${server.base}/`);
    await shot(page, 'login');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await page.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
    await login(page, server.base);
    const who = await page.textContent('[data-testid=whoami]');
    assert.match(who, /admin/);
    assert.match(who, /admin/);
    assert.ok(await page.getByRole('link', { name: 'Admin' }).isVisible(), 'admins see the Admin page');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('input[name=username]');
    const me = await page.evaluate(() => fetch('/api/auth/me').then((r) => r.status));
    assert.equal(me, 401, 'the session is gone');
    assert.deepEqual(await hits(page), []);
    await page.close();
  });

  test('an attack appended to a watched log appears on the overview within 5 s, without reload', async () => {
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.waitForSelector('.kpi-value');
    await page.evaluate(() => { window.__loaded = 'same page'; });
    const before = await page.locator('[data-testid=overview-incidents] tbody tr').count().catch(() => 0);
    server.append('access', accessLine('203.0.113.66', "/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--", { ua: 'sqlmap/1.7.2#stable (https://sqlmap.org)' }));
    const t0 = Date.now();
    await page.locator('[data-testid=overview-incidents]').getByText('203.0.113.66').first().waitFor({ timeout: 5000 });
    const took = Date.now() - t0;
    assert.ok(took <= 5000, `took ${took} ms`);
    assert.equal(await page.evaluate(() => window.__loaded), 'same page', 'no reload happened');
    assert.ok((await page.locator('[data-testid=overview-incidents] tbody tr').count()) >= Math.min(before + 1, 8));
    assert.match(await page.textContent('[data-testid=kpi-open]'), /[1-9]/);
    await page.waitForTimeout(1200);
    await shot(page, 'overview');
    assert.deepEqual(await hits(page), []);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('an incident moves through its workflow: triage, assign, note, checklist, investigate, contain, resolve, close', async () => {
    server.append('access', accessLine('203.0.113.77', '/download?file=../../../../etc/passwd'));
    const inc = await waitApi(async () => (await admin.call('GET', '/api/incidents?ip=203.0.113.77')).json?.items?.[0], 'the incident of 203.0.113.77');
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.goto(`${server.base}/incidents`);
    await page.locator('[data-testid=incidents-table]').getByRole('link', { name: `#${inc.id}`, exact: true }).click();
    await page.getByRole('heading', { level: 1 }).filter({ hasText: `#${inc.id}` }).waitFor();
    const status = () => page.locator('.head-badges .badge[class*="st-"]').textContent();
    assert.equal(await status(), 'new');
    await page.getByRole('button', { name: 'Triage: true positive' }).click();
    await page.getByRole('status').filter({ hasText: 'Triaged as true positive' }).waitFor();
    assert.equal(await status(), 'triaged');
    await page.getByLabel('Assignee').fill('alice');
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Assigned to alice' }).waitFor();
    await page.getByLabel('Add a note').fill('Checked the web server: the file was not served.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.locator('.note-text').filter({ hasText: 'the file was not served' }).waitFor();
    const box = page.locator('.checklist input[type=checkbox]').first();
    if (await box.count()) {
      await box.click();
      await page.getByRole('status').filter({ hasText: 'Step done' }).waitFor();
      assert.ok(await box.isChecked());
    }
    for (const [button, st] of [['Investigate', 'investigating'], ['Contain', 'contained'], ['Resolve', 'resolved']]) {
      await page.getByRole('toolbar', { name: 'Workflow' }).getByRole('button', { name: button, exact: true }).click();
      await page.locator('.head-badges').getByText(st, { exact: true }).waitFor();
    }
    await shot(page, 'incident');
    await page.getByRole('toolbar', { name: 'Workflow' }).getByRole('button', { name: 'Close', exact: true }).click();
    await page.locator('.head-badges').getByText('closed', { exact: true }).waitFor();
    const d = (await admin.call('GET', `/api/incidents/${inc.id}`)).json;
    assert.equal(d.status, 'closed');
    assert.equal(d.verdict, 'true_positive');
    assert.equal(d.assignee, 'alice');
    assert.equal(d.notes.length, 1);
    const actions = d.activity.map((a) => a.action);
    for (const a of ['verdict', 'assign', 'note']) assert.ok(actions.includes(a), `activity has ${a}: ${actions}`);
    assert.ok(actions.filter((a) => a === 'status').length >= 4, `status changes recorded: ${actions}`);
    // The whole timeline is on the page.
    assert.ok(await page.locator('.timeline li').count() >= 6);
    assert.deepEqual(await hits(page), []);
    await page.close();
  });

  test('block an IP from an incident, then unblock it on the Blocked IPs page; block by hand with reason and expiry', async () => {
    server.append('access', accessLine('203.0.113.88', "/search?q=%3Cscript%3Ealert(1)%3C/script%3E"));
    const inc = await waitApi(async () => (await admin.call('GET', '/api/incidents?ip=203.0.113.88')).json?.items?.[0], 'the incident of 203.0.113.88');
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.goto(`${server.base}/incidents/${inc.id}`);
    await page.getByLabel('Block duration').selectOption('7d');
    await page.getByRole('button', { name: 'Block 203.0.113.88' }).click();
    await page.getByRole('status').filter({ hasText: 'Blocked 203.0.113.88' }).waitFor();
    let blocks = (await admin.call('GET', '/api/blocks')).json;
    const b = blocks.find((x) => x.net.startsWith('203.0.113.88'));
    assert.ok(b, 'the block exists');
    assert.equal(b.incident_id, inc.id);
    assert.ok(b.expires_ms > Date.now() + 6 * 86400e3 && b.expires_ms < Date.now() + 8 * 86400e3, 'expires in 7 days');
    await page.locator('.timeline').getByText('203.0.113.88/32 blocked').waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Blocked IPs' }).click();
    const table = page.locator('[data-testid=blocks-table]');
    await table.getByText('203.0.113.88/32').waitFor();
    // Block a network by hand.
    await page.fill('input[name=block-ip]', '192.0.2.0/24');
    await page.fill('input[name=block-reason]', 'credential stuffing from this range');
    await page.selectOption('select[name=block-duration]', '1h');
    await page.getByRole('button', { name: 'Block', exact: true }).click();
    await table.getByText('credential stuffing from this range').waitFor();
    blocks = (await admin.call('GET', '/api/blocks')).json;
    const manual = blocks.find((x) => x.net === '192.0.2.0/24');
    assert.ok(manual && manual.reason === 'credential stuffing from this range' && manual.expires_ms < Date.now() + 3700e3);
    await shot(page, 'blocks');
    await page.getByRole('button', { name: 'Unblock 203.0.113.88/32' }).click();
    await page.getByRole('status').filter({ hasText: 'Unblocked 203.0.113.88/32' }).waitFor();
    await table.getByText('203.0.113.88/32').waitFor({ state: 'detached' });
    blocks = (await admin.call('GET', '/api/blocks')).json;
    assert.ok(!blocks.some((x) => x.net.startsWith('203.0.113.88')), 'the block is lifted');
    // The allowlist refuses blocks of allowlisted addresses, shown as an error.
    await page.fill('input[name=block-ip]', '127.0.0.1');
    await page.getByRole('button', { name: 'Block', exact: true }).click();
    await page.getByRole('alert').waitFor();
    assert.deepEqual(await hits(page), []);
    await page.close();
  });

  test('upload a log in Analyze and see its results; discarded by default, kept on request', async () => {
    const file = path.join(os.tmpdir(), `secmo-upload-${process.pid}.log`);
    let text = '';
    for (let i = 0; i < 30; i++) text += accessLine('203.0.113.99', `/login.php?user=admin%27%20OR%20%271%27=%271&n=${i}`, { ua: 'sqlmap/1.7' });
    for (let i = 0; i < 20; i++) text += accessLine('198.51.100.3', `/products/${i}`);
    fs.writeFileSync(file, text);
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.goto(`${server.base}/analyze`);
    await page.setInputFiles('[data-testid=analyze-file]', file);
    await page.getByText(path.basename(file)).waitFor();
    const count0 = (await admin.call('GET', '/api/incidents?ip=203.0.113.99')).json.items.length;
    await page.getByRole('button', { name: 'Analyze', exact: true }).click();
    await page.locator('[data-testid=analyze-report]').waitFor({ timeout: 20000 });
    const level = await page.textContent('[data-testid=threat-level]');
    assert.match(level, /high|critical|medium/);
    await page.locator('[data-testid=analyze-report] .alert-block').first().waitFor();
    assert.ok(await page.getByText('Discarded: nothing was stored.').isVisible());
    await page.locator('pre.raw').filter({ hasText: '203.0.113.99' }).first().waitFor();
    await shot(page, 'analyze');
    assert.equal((await admin.call('GET', '/api/incidents?ip=203.0.113.99')).json.items.length, count0, 'nothing kept');
    await page.getByLabel('keep: record the alerts as incidents').check();
    await page.getByRole('button', { name: 'Analyze', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Kept' }).waitFor({ timeout: 20000 });
    assert.ok((await admin.call('GET', '/api/incidents?ip=203.0.113.99')).json.items.length > count0, 'kept as incidents');
    // Pasting works as well.
    await page.getByLabel('Log text').fill(accessLine('203.0.113.98', '/?q=..%2F..%2Fetc%2Fpasswd'));
    await page.getByLabel('keep: record the alerts as incidents').uncheck();
    await page.getByRole('button', { name: 'Analyze', exact: true }).click();
    await page.locator('pre.raw').filter({ hasText: '203.0.113.98' }).first().waitFor({ timeout: 20000 });
    fs.rmSync(file);
    assert.deepEqual(await hits(page), []);
    await page.close();
  });

  test('a viewer sees no buttons they cannot use, and the API refuses their changes', async () => {
    const r = await admin.call('POST', '/api/users', { name: 'vera', role: 'viewer', password: 'viewer-password-1' });
    assert.equal(r.status, 200, r.text);
    const inc = (await admin.call('GET', '/api/incidents?limit=1')).json.items[0];
    const page = await watchedPage(browser.ctx);
    await login(page, server.base, 'vera', 'viewer-password-1');
    assert.match(await page.textContent('[data-testid=whoami]'), /vera\s*viewer/);
    assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0, 'no Admin page');
    await page.goto(`${server.base}/incidents/${inc.id}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: `#${inc.id}` }).waitFor();
    assert.equal(await page.getByRole('toolbar', { name: 'Workflow' }).count(), 0, 'no workflow buttons');
    assert.equal(await page.getByRole('button', { name: /Block|Assign|Add note|Triage|Resolve|Close|Investigate|Contain/ }).count(), 0);
    assert.ok(await page.locator('.checklist input').evaluateAll((els) => els.every((e) => e.disabled)));
    await shot(page, 'incident-viewer');
    await page.goto(`${server.base}/blocks`);
    await page.getByRole('heading', { name: 'Blocked IPs' }).waitFor();
    await page.locator('[data-testid=blocks-table], .state').first().waitFor();
    assert.equal(await page.locator('input[name=block-ip]').count(), 0, 'no block form');
    assert.equal(await page.getByRole('button', { name: /Unblock|Block|Remove|allowlist/i }).count(), 0);
    await page.goto(`${server.base}/analyze`);
    assert.equal(await page.getByLabel('keep: record the alerts as incidents').count(), 0, 'cannot keep uploads');
    await page.goto(`${server.base}/ips/203.0.113.66`);
    await page.getByRole('heading', { name: 'IP 203.0.113.66' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Block|Unblock/ }).count(), 0);
    // The API refuses, with the browser's own session and CSRF token.
    const refused = await page.evaluate(async (id) => {
      const me = await (await fetch('/api/auth/me')).json();
      const h = { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token };
      const codes = [];
      codes.push((await fetch(`/api/incidents/${id}`, { method: 'PATCH', headers: h, body: JSON.stringify({ status: 'resolved' }) })).status);
      codes.push((await fetch(`/api/incidents/${id}/block`, { method: 'POST', headers: h, body: '{}' })).status);
      codes.push((await fetch('/api/blocks', { method: 'POST', headers: h, body: JSON.stringify({ ip: '192.0.2.77' }) })).status);
      codes.push((await fetch('/api/unblock', { method: 'POST', headers: h, body: JSON.stringify({ ip: '192.0.2.0/24' }) })).status);
      codes.push((await fetch('/api/allowlist', { method: 'POST', headers: h, body: JSON.stringify({ ip: '192.0.2.9' }) })).status);
      codes.push((await fetch('/api/users', { method: 'POST', headers: h, body: JSON.stringify({ name: 'x', role: 'admin', password: 'xxxxxxxxxx' }) })).status);
      codes.push((await fetch('/api/analyze?keep=true', { method: 'POST', headers: h, body: JSON.stringify({ text: 'x' }) })).status);
      return codes;
    }, inc.id);
    assert.deepEqual(refused, [403, 403, 403, 403, 403, 403, 403]);
    const after = (await admin.call('GET', `/api/incidents/${inc.id}`)).json;
    assert.equal(after.status, inc.status, 'unchanged');
    assert.ok(!(await admin.call('GET', '/api/blocks')).json.some((b) => b.net === '192.0.2.77/32'));
    await page.close();
  });

  test('live events stream in, pause and resume, and an IP click pivots to the IP view', async () => {
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.goto(`${server.base}/events`);
    await page.locator('[data-testid=events-table]').waitFor();
    server.append('access', accessLine('198.51.100.201', '/live-check-one'));
    await page.locator('[data-testid=events-table]').getByText('/live-check-one').waitFor({ timeout: 5000 });
    await page.getByRole('button', { name: /Pause/ }).click();
    server.append('access', accessLine('198.51.100.202', '/live-check-two'));
    await page.waitForTimeout(2500);
    assert.equal(await page.locator('[data-testid=events-table]').getByText('/live-check-two').count(), 0, 'paused');
    await page.getByRole('button', { name: /Resume/ }).click();
    await page.locator('[data-testid=events-table]').getByText('/live-check-two').waitFor();
    // Filters go to the server.
    await page.getByLabel('IP').fill('198.51.100.201');
    await page.getByLabel('IP').press('Enter');
    await page.waitForFunction(() => !document.body.innerText.includes('/live-check-two'));
    await shot(page, 'events');
    await page.locator('[data-testid=events-table]').getByRole('link', { name: '198.51.100.201' }).first().click();
    await page.getByRole('heading', { name: 'IP 198.51.100.201' }).waitFor();
    await page.locator('[data-testid=ip-events]').getByText('/live-check-one').waitFor();
    await page.goto(`${server.base}/ips/203.0.113.66`);
    await page.locator('[data-testid=ip-events]').waitFor();
    await shot(page, 'ip');
    assert.deepEqual(await hits(page), []);
    await page.close();
  });

  test('sources, admin (token shown once), reports and settings pages render; phone width and keyboard work', async () => {
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.goto(`${server.base}/sources`);
    const src = page.locator('[data-testid=sources-table]');
    for (const n of ['web', 'auth', 'app']) await src.getByText(n, { exact: true }).waitFor();
    await shot(page, 'sources');
    await page.goto(`${server.base}/admin`);
    await page.locator('[data-testid=users-table]').getByText('vera').waitFor();
    await page.getByRole('form', { name: 'Create an API token' }).getByLabel('Name').fill('ci-export');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.locator('[data-testid=token-secret]').textContent();
    assert.ok(secret.length > 20);
    const ok = await fetch(`${server.base}/api/stats`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(ok.status, 200, 'the token shown works');
    await shot(page, 'admin');
    await page.reload();
    await page.locator('[data-testid=users-table]').waitFor();
    assert.equal(await page.locator('[data-testid=token-secret]').count(), 0, 'shown once');
    assert.ok(!(await page.content()).includes(secret));
    for (const p of ['reports', 'settings']) {
      await page.goto(`${server.base}/${p}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
    }
    await page.goto(`${server.base}/incidents`);
    await page.locator('[data-testid=incidents-table]').waitFor();
    await shot(page, 'incidents');
    // Keyboard: the skip link, then the navigation.
    await page.goto(`${server.base}/`);
    await page.locator('.kpi-value').first().waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    let reached = false;
    for (let i = 0; i < 12 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement.textContent === 'Incidents');
    }
    assert.ok(reached, 'the Incidents link is reachable by keyboard');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    // Phone width: no horizontal scrolling of the page; the menu opens.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.base}/`);
    await page.locator('.kpi-value').first().waitFor();
    await page.waitForTimeout(500);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page is ${overflow} px wider than the phone`);
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Blocked IPs' }).click();
    await page.getByRole('heading', { name: 'Blocked IPs' }).waitFor();
    await page.goto(`${server.base}/`);
    await page.locator('.kpi-value').first().waitFor();
    await shot(page, 'overview-phone');
    assert.deepEqual(await hits(page), []);
    await page.close();
  });
});
