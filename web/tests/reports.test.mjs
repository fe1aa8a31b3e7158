// End-to-end tests of the Reports and Settings pages (issue #5): a real
// `secmo serve` whose SMTP server is a closed port (so every e-mail fails and
// the failure must show in the dashboard), and real Chromium.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { accessLine, ADMIN_PASSWORD, freePort, hits, launch, login, Server, shot, watchedPage } from './harness.mjs';

const ATTACKER = '203.0.113.150';
const PAYLOAD = '<img src=x onerror=alert(document.domain)>';
let server, browser, admin, incident, reportId, smtpPort;

async function waitApi(check, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${server.output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** No element a payload could have created, no handler attribute, nothing ran. */
async function assertInert(page) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll('main *')) {
      for (const a of e.getAttributeNames()) if (/^on/i.test(a)) out.push(`${e.tagName} ${a}`);
      if (/^(SCRIPT|IFRAME|OBJECT|EMBED|IMG|SVG|VIDEO|AUDIO)$/i.test(e.tagName)) out.push(e.tagName);
    }
    return out;
  });
  assert.deepEqual(bad, []);
  assert.deepEqual(await hits(page), []);
  assert.deepEqual(page.errors, []);
}

before(async () => {
  smtpPort = await freePort(); // free = closed: nothing listens there
  server = await Server.start({
    config: `
[smtp]
host = "127.0.0.1"
port = ${smtpPort}
security = "none"
from = "secmo@example.org"

[reports]
enabled = false
recipients = ["soc@example.org"]
language = "en"
`,
  });
  browser = await launch();
  admin = await server.client('admin', ADMIN_PASSWORD);
  let text = '';
  for (let i = 0; i < 40; i++) text += accessLine(`198.51.100.${20 + (i % 5)}`, ['/', '/products', '/cart', '/about'][i % 4]);
  for (let i = 0; i < 6; i++) {
    text += accessLine(ATTACKER, `/products?id=${i}%27%20UNION%20SELECT%20username,password%20FROM%20users--`, { ua: PAYLOAD, ref: PAYLOAD });
  }
  server.append('access', text);
  incident = await waitApi(async () => (await admin.call('GET', `/api/incidents?ip=${ATTACKER}`)).json?.items?.[0], `the incident of ${ATTACKER}`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('reports', () => {
  test('generate a report from the UI: refused addresses, then listed, opened, with the incident, the attacker and the evidence as text', async () => {
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    const form = page.getByRole('form', { name: 'Generate a report' });
    await form.getByLabel('Period').selectOption('1h');
    await form.getByLabel('Language').selectOption('en');
    // Addresses are checked before anything is sent.
    await form.getByLabel(/Send to/).fill('soc@example.org, not-an-address');
    await form.getByRole('button', { name: 'Generate report' }).click();
    await page.getByRole('alert').filter({ hasText: 'not-an-address' }).waitFor();
    assert.equal((await admin.call('GET', '/api/reports')).json.items.length, 0, 'nothing generated');
    await form.getByLabel(/Send to/).fill('');
    await form.getByRole('button', { name: 'Generate report' }).click();
    const done = page.getByRole('status').filter({ hasText: /Report #\d+ generated/ });
    await done.waitFor({ timeout: 30000 });
    reportId = Number((await done.textContent()).match(/Report #(\d+)/)[1]);
    const meta = (await admin.call('GET', '/api/reports')).json.items[0];
    assert.equal(meta.id, reportId);
    assert.equal(meta.trigger, 'manual');
    assert.ok(meta.incidents >= 1, `incidents: ${meta.incidents}`);
    const table = page.locator('[data-testid=reports-table]');
    await table.getByRole('link', { name: `Report #${reportId}` }).waitFor();
    assert.ok(await table.getByText(meta.threat_level, { exact: true }).first().isVisible());
    await shot(page, 'reports');

    await table.getByRole('link', { name: `Report #${reportId}` }).click();
    await page.getByRole('heading', { level: 1 }).filter({ hasText: `Report #${reportId}` }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/reports/${reportId}`);
    const incidents = page.locator('[data-testid=report-incidents]');
    await incidents.getByText(incident.title).first().waitFor();
    assert.equal(await page.textContent('[data-testid=report-threat]'), meta.threat_level);
    const attacker = page.locator('[data-testid=report-attackers]').getByRole('link', { name: ATTACKER });
    await attacker.waitFor();
    assert.equal(await attacker.getAttribute('href'), `/ips/${ATTACKER}`);
    // Response steps are an ordered list; the evidence keeps the payload as text.
    assert.ok(await incidents.locator('ol.response li').count() >= 1, 'response steps');
    await incidents.locator('pre.raw').filter({ hasText: PAYLOAD }).first().waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await shot(page, 'report');
    await assertInert(page);
    // The attacker link pivots to the IP view.
    await attacker.click();
    await page.getByRole('heading', { name: `IP ${ATTACKER}` }).waitFor();
    await page.close();
  });

  test('download links answer 200 with the right type, as attachments, in the chosen language', async () => {
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.goto(`${server.base}/reports/${reportId}`);
    const group = page.getByRole('group', { name: 'Download' });
    await group.getByRole('link', { name: 'PDF' }).waitFor();
    await group.getByLabel('Download language').selectOption('de');
    const links = await group.getByRole('link').evaluateAll((as) => as.map((a) => ({ label: a.textContent, href: a.getAttribute('href'), download: a.hasAttribute('download') })));
    assert.deepEqual(links.map((l) => l.label), ['HTML', 'PDF', 'CSV', 'JSON', 'Text']);
    const types = { HTML: /text\/html/, PDF: /application\/pdf/, CSV: /text\/csv/, JSON: /application\/json/, Text: /text\/plain/ };
    for (const l of links) {
      assert.ok(l.download, `${l.label} is a download`);
      assert.match(l.href, /lang=de/);
      // Fetched by the page: the session cookie is what authorises it.
      const r = await page.evaluate(async (href) => {
        const res = await fetch(href);
        const buf = new Uint8Array(await res.arrayBuffer());
        return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), head: String.fromCharCode(...buf.slice(0, 5)), text: new TextDecoder().decode(buf) };
      }, l.href);
      assert.equal(r.status, 200, `${l.label}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.type, types[l.label], `${l.label}: ${r.type}`);
      assert.match(r.disposition ?? '', /attachment/, `${l.label}: ${r.disposition}`);
      if (l.label === 'PDF') assert.equal(r.head, '%PDF-');
      if (l.label === 'JSON') assert.ok(JSON.parse(r.text), 'valid JSON');
      if (l.label === 'HTML') assert.ok(!r.text.includes(PAYLOAD), 'the payload is escaped in the HTML report');
    }
    // Without the session the files are refused.
    assert.equal((await fetch(`${server.base}${links[0].href}`)).status, 401);
    await page.close();
  });

  test('"Send now" queues an e-mail; the failing SMTP server is visible: banner, nav badge, outbox error, retry, test message', async () => {
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.goto(`${server.base}/reports/${reportId}`);
    const send = page.getByRole('form', { name: 'Send this report' });
    await send.getByLabel('Send by e-mail to').fill('bad address');
    await send.getByRole('button', { name: 'Send now' }).click();
    await page.getByRole('alert').filter({ hasText: 'Not an e-mail address' }).waitFor();
    await send.getByLabel('Send by e-mail to').fill('ciso@example.org');
    await send.getByLabel('Language of the e-mail').selectOption('es');
    await send.getByRole('button', { name: 'Send now' }).click();
    await page.getByRole('status').filter({ hasText: /Queued 1 e-mail to ciso@example\.org \(Español\)/ }).waitFor();
    // The SMTP port is closed: the message fails and waits for a retry.
    await waitApi(async () => (await admin.call('GET', '/api/notifications')).json?.outbox_counts?.failing > 0, 'a failing outbox entry', 30000);
    const entry = (await admin.call('GET', '/api/notifications/outbox?status=pending')).json.items.find((e) => e.target.includes('ciso@example.org'));
    assert.ok(entry && entry.last_error, `failing entry: ${JSON.stringify(entry)}`);

    await page.goto(`${server.base}/settings`);
    const banner = page.locator('[data-testid=delivery-alert]');
    await banner.waitFor();
    assert.match(await banner.textContent(), /not being delivered/);
    assert.match(await banner.textContent(), /Last error \(email to /);
    await page.locator('[data-testid=nav-delivery-alert]').waitFor();
    const row = page.locator('[data-testid=outbox-table] tr', { hasText: 'ciso@example.org' });
    await row.waitFor();
    assert.match(await row.getAttribute('class'), /failing/);
    assert.match(await row.textContent(), /failing/);
    assert.ok((await row.locator('code.err').textContent()).length > 0, 'the last error is shown');
    // Filters go to the server.
    await page.getByRole('group', { name: 'Outbox filter' }).getByRole('button', { name: 'Sent' }).click();
    await page.locator('[data-testid=outbox-table] tr', { hasText: 'ciso@example.org' }).waitFor({ state: 'detached' });
    await page.getByRole('group', { name: 'Outbox filter' }).getByRole('button', { name: 'Pending' }).click();
    await row.waitFor();
    // Retry now: due at once (and fails again).
    const attempts = entry.attempts;
    await row.getByRole('button', { name: /Retry/ }).click();
    await page.getByRole('status').filter({ hasText: `Message #${entry.id} will be retried now` }).waitFor();
    await waitApi(async () => (await admin.call('GET', '/api/notifications/outbox?status=pending')).json.items.find((e) => e.id === entry.id && e.attempts > attempts)
      ?? (await admin.call('GET', '/api/notifications/outbox?status=dead')).json.items.find((e) => e.id === entry.id), 'the retry', 30000);
    // A test message through the e-mail channel.
    const email = page.locator('[data-testid=channels-table] tr[data-channel=email]');
    assert.match(await email.textContent(), new RegExp(`127\\.0\\.0\\.1.*${smtpPort}|configured`));
    await email.getByRole('button', { name: 'Send test' }).click();
    await page.getByRole('status').filter({ hasText: /Queued test message #\d+ via email/ }).waitFor();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('[data-testid=outbox-table] .kind', { hasText: /^test$/ }).first().waitFor();
    await page.waitForTimeout(300);
    await shot(page, 'settings');
    assert.match(await page.textContent('main'), /secmo\.toml/);
    await assertInert(page);
    await page.close();
  });

  test('a viewer reads and downloads reports but cannot generate, send, retry or test; the API refuses too', async () => {
    const r = await admin.call('POST', '/api/users', { name: 'rita', role: 'viewer', password: 'viewer-password-2' });
    assert.equal(r.status, 200, r.text);
    const page = await watchedPage(browser.ctx);
    await login(page, server.base, 'rita', 'viewer-password-2');
    await page.goto(`${server.base}/reports`);
    await page.locator('[data-testid=reports-table]').getByRole('link', { name: `Report #${reportId}` }).waitFor();
    assert.equal(await page.getByRole('form', { name: 'Generate a report' }).count(), 0, 'no generate form');
    assert.equal(await page.getByRole('button', { name: /Generate/ }).count(), 0);
    await page.goto(`${server.base}/reports/${reportId}`);
    await page.locator('[data-testid=report-incidents]').getByText(incident.title).first().waitFor();
    assert.ok(await page.getByRole('group', { name: 'Download' }).getByRole('link', { name: 'PDF' }).isVisible());
    assert.equal(await page.getByRole('form', { name: 'Send this report' }).count(), 0, 'no send form');
    await page.goto(`${server.base}/settings`);
    await page.locator('[data-testid=outbox-table]').waitFor();
    assert.equal(await page.getByRole('button', { name: /Retry|Send test/ }).count(), 0, 'no admin buttons');
    const codes = await page.evaluate(async (id) => {
      const me = await (await fetch('/api/auth/me')).json();
      const h = { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token };
      const out = [];
      out.push((await fetch('/api/reports', { method: 'POST', headers: h, body: JSON.stringify({ since: '1h' }) })).status);
      out.push((await fetch(`/api/reports/${id}/send`, { method: 'POST', headers: h, body: JSON.stringify({ to: ['x@example.org'] }) })).status);
      out.push((await fetch('/api/notifications/test', { method: 'POST', headers: h, body: JSON.stringify({ channel: 'email' }) })).status);
      return out;
    }, reportId);
    assert.deepEqual(codes, [403, 403, 403]);
    await assertInert(page);
    await page.close();
  });

  test('with the CSP bypassed the report still renders the payload as text (the rendering alone is safe)', async () => {
    const open = await launch({ bypassCSP: true });
    try {
      const page = await watchedPage(open.ctx);
      await login(page, server.base);
      await page.goto(`${server.base}/reports/${reportId}`);
      await page.locator('[data-testid=report-incidents] pre.raw').filter({ hasText: PAYLOAD }).first().waitFor();
      await page.goto(`${server.base}/settings`);
      await page.locator('[data-testid=outbox-table]').waitFor();
      await page.waitForTimeout(300);
      await assertInert(page);
    } finally { await open.close(); }
  });

  test('phone width: the reports, report and settings pages do not scroll sideways', async () => {
    const page = await watchedPage(browser.ctx);
    await login(page, server.base);
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [p, ready] of [['/reports', '[data-testid=reports-table]'], [`/reports/${reportId}`, '[data-testid=report-incidents]'], ['/settings', '[data-testid=outbox-table]']]) {
      await page.goto(`${server.base}${p}`);
      await page.locator(ready).waitFor();
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${p} is ${overflow} px wider than the phone`);
    }
    assert.deepEqual(await hits(page), []);
    await page.close();
  });
});
