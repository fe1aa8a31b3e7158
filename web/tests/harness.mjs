// Test harness: a real `secmo serve` (temp data dir, watched temp logs, free
// port) and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const screenshots = path.join(repo, 'docs/screenshots');
export const ADMIN_PASSWORD = 'e2e-admin-password-42';
export const CHROMIUM = process.env.SECMO_CHROMIUM || '/usr/bin/chromium';

export function secmoBinary() {
  const candidates = [
    process.env.SECMO_BIN,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'release/secmo'),
    path.join(repo, 'target/release/secmo'),
  ].filter(Boolean);
  const bin = candidates.find((p) => fs.existsSync(p));
  if (!bin) {
    throw new Error(`the secmo release binary is missing (looked at ${candidates.join(', ')}): build it with \`cargo build --release --locked -p secmo\` (scripts/test does) or set SECMO_BIN`);
  }
  return bin;
}

export function requireChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get update && apt-get install -y chromium\` (or set SECMO_CHROMIUM)`);
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Apache/nginx combined-log time: 22/Nov/2026:04:00:19 +0000 */
export function clf(d = new Date()) {
  const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${m}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
/** Syslog time (local, no year): Nov 22 04:00:19 */
export function syslogTime(d = new Date()) {
  const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const p = (n) => String(n).padStart(2, '0');
  return `${m} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
export function accessLine(ip, target, { status = 200, ua = 'Mozilla/5.0', ref = '-', method = 'GET', when } = {}) {
  return `${ip} - - [${clf(when)}] "${method} ${target} HTTP/1.1" ${status} 512 "${ref}" "${ua}"\n`;
}

export class Server {
  /** `config`: TOML appended to the generated secmo.toml (e.g. `[smtp]` tables). */
  static async start({ config = '' } = {}) {
    const s = new Server();
    s.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secmo-web-e2e-'));
    s.logs = { access: path.join(s.dir, 'access.log'), auth: path.join(s.dir, 'auth.log'), app: path.join(s.dir, 'app.json.log') };
    for (const f of Object.values(s.logs)) fs.writeFileSync(f, '');
    s.port = await freePort();
    s.base = `http://127.0.0.1:${s.port}`;
    const cfg = path.join(s.dir, 'secmo.toml');
    fs.writeFileSync(cfg, `listen = "127.0.0.1:${s.port}"
data_dir = "${path.join(s.dir, 'data')}"
read_existing = true

[[sources]]
name = "web"
paths = ["${s.logs.access}"]
format = "access"

[[sources]]
name = "auth"
paths = ["${s.logs.auth}"]
format = "syslog"

[[sources]]
name = "app"
paths = ["${s.logs.app}"]
format = "json"

[blocking]
policies = []
allow_loopback = true
${config}`);
    s.output = '';
    s.proc = spawn(secmoBinary(), ['serve', '--config', cfg], {
      env: { ...process.env, SECMO_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    s.proc.stdout.on('data', (d) => { s.output += d; });
    s.proc.stderr.on('data', (d) => { s.output += d; });
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (s.proc.exitCode !== null) throw new Error(`secmo serve exited (${s.proc.exitCode}):\n${s.output}`);
      try { const r = await fetch(`${s.base}/api/health`); if (r.ok) return s; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`secmo serve did not answer within 20 s:\n${s.output}`);
  }

  append(which, text) { fs.appendFileSync(this.logs[which], text); }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => { const t = setTimeout(() => { this.proc.kill('SIGKILL'); r(); }, 5000); this.proc.on('exit', () => { clearTimeout(t); r(); }); });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** An API client with a cookie session (as the browser has). */
  async client(username, password) {
    const r = await fetch(`${this.base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (!r.ok) throw new Error(`login as ${username}: ${r.status} ${await r.text()}`);
    const me = await r.json();
    const cookie = r.headers.get('set-cookie').split(';')[0];
    const base = this.base;
    return {
      me,
      async call(method, p, body) {
        const res = await fetch(`${base}${p}`, { method, headers: { cookie, 'x-csrf-token': me.csrf_token, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
        const text = await res.text();
        let json = null; try { json = JSON.parse(text); } catch { /* text */ }
        return { status: res.status, json, text };
      },
    };
  }
}

export async function launch(options = {}) {
  requireChromium();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'secmo-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    ...options,
  });
  const close = async () => { await ctx.close(); fs.rmSync(profile, { recursive: true, force: true }); };
  return { ctx, close };
}

/**
 * A page that records anything an injected payload could do: calls of
 * alert/prompt/confirm/print, CSP violations (an inline handler or script the
 * policy stopped), uncaught errors.
 */
export async function watchedPage(ctx) {
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    window.__hits = [];
    for (const f of ['alert', 'prompt', 'confirm', 'print']) {
      window[f] = (...a) => { window.__hits.push(`${f}(${a.map(String).join(',')})`); };
    }
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__hits.push(`CSP ${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
    });
  });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('dialog', (d) => { page.errors.push(`dialog ${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  return page;
}

export async function hits(page) {
  return page.evaluate(() => window.__hits ?? []);
}

export async function login(page, base, username = 'admin', password = ADMIN_PASSWORD) {
  await page.context().clearCookies();
  await page.goto(`${base}/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=whoami]', { timeout: 10000 });
}

export async function shot(page, name) {
  fs.mkdirSync(screenshots, { recursive: true });
  await page.waitForTimeout(400); // let chart animations settle
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: false });
}
