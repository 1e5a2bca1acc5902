// The web console in a real browser (Debian's chromium driven by playwright-core), against
// `michman serve` as a process with the local provider and a real OpenID Connect provider: a
// user logs in through the provider's pages, creates a project and a Redis cluster through the
// form (the dry-run plan first), follows it to ACTIVE on live events, reveals its password,
// deletes it. Screenshots of the main pages, at 1280 px and at a phone's 390 px, go to
// test-results/screenshots/. Nothing may go to a non-loopback host, log a console error, or get a 5xx.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { lacksProgram } from '../helpers/requirements.js';
import { startIdp, WEB_CLIENT, type Idp } from '../auth/helpers/idp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const noChromium = lacksProgram(CHROMIUM);
const noRedis = lacksProgram('/usr/bin/redis-server');
const PASSWORD = 'console-redis-pw-7Qx';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const loopback = (u: string) => {
  const { protocol, hostname } = new URL(u);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
};

describe.skipIf(noChromium || noRedis)('the web console in chromium', () => {
  let dir: string;
  let idp: Idp;
  let server: ChildProcess;
  let base: string;
  let browser: Browser;
  let page: Page;
  let apiToken: string;
  const consoleErrors: string[] = [];
  const serverErrors: string[] = [];
  const external: string[] = [];
  const eventStreams: string[] = [];
  const credentialReads: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  /** Screenshots at 1280 px and at 390 px, checking at 390 px that nothing scrolls sideways. */
  const shoot = async (name: string) => {
    await page.screenshot({ path: join(SHOTS, `${name}-1280.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.scrollingElement!.scrollWidth, innerWidth: window.innerWidth }));
    expect(scrollWidth, `${name}: horizontal scroll at ${PHONE.width} px`).toBeLessThanOrEqual(innerWidth);
    await page.screenshot({ path: join(SHOTS, `${name}-390.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
  };

  /** Every form control of the page has a label a screen reader reads out. */
  const unlabelled = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((e) => (e as HTMLInputElement).type !== 'hidden')
        .filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
        .map((e) => e.outerHTML.slice(0, 120)),
    );

  beforeAll(async () => {
    if (!existsSync(CLI) || !existsSync(join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('dist/ is missing: run `npm test` or `npm run build`, which build the console');
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'michman-web-'));
    chmodSync(dir, 0o755);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startIdp({ users: { alice: ['admin', 'team'] }, accessTokenFormat: 'opaque', redirectUri: `${base}/auth` });
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MICHMAN_') || k.startsWith('MICHMAN_TEST_'))),
      MICHMAN_LOG_LEVEL: 'warn',
      MICHMAN_USE_AUTH: 'true',
      MICHMAN_AUTHORIZATION_MODEL: 'oauth2',
      MICHMAN_OIDC_ISSUER: idp.issuer,
      MICHMAN_OIDC_CLIENT_ID: WEB_CLIENT.id,
      MICHMAN_OIDC_REDIRECT_URI: `${base}/auth`,
      MICHMAN_OIDC_SCOPES: 'openid groups',
      MICHMAN_TOKEN_CHECK: 'introspection',
      MICHMAN_SECRETS_STORE: 'env',
      MICHMAN_SECRET_OAUTH2__CLIENT_SECRET: WEB_CLIENT.secret,
    };
    server = spawn(process.execPath, [CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    server.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
      server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
      server.stderr!.on('data', () => err.includes('listening on') && (clearTimeout(t), resolve()));
    });
    apiToken = await idp.token('alice');
    expect((await api('POST', '/images', { Name: 'debian', AnsibleUser: 'root', CloudImageID: 'local' })).status).toBe(201);
    expect((await api('POST', '/flavors', { Name: 'small', VCPUs: 1, RAM: 1024, Disk: 5 })).status).toBe(201);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const context = await browser.newContext({ viewport: DESKTOP });
    // Nothing leaves the machine: a request to any other host is refused, and remembered when one
    // of Michman's pages made it. (The test identity provider's own login page asks for a web
    // font; that page is a fixture, not ours, and renders without it.)
    const ours = (u: string) => u.startsWith(base + '/');
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (loopback(url)) return route.continue();
      let from = '';
      try {
        from = route.request().frame().url();
      } catch {
        from = '';
      }
      if (ours(from) || from === '' || from === 'about:blank') external.push(`${url} (from ${from || 'unknown'})`);
      return route.abort();
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && ours(page.url())) consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => ours(page.url()) && consoleErrors.push(`uncaught: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 500) serverErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.on('request', (r) => {
      if (r.url().includes('/events') && String(r.headers().accept).includes('text/event-stream')) eventStreams.push(r.url());
      if (new URL(r.url()).pathname.endsWith('/credentials')) credentialReads.push(r.url());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    // A test that failed half-way leaves its cluster: its Redis runs on after the server stops.
    if (server && server.exitCode === null && apiToken) {
      const gone = async () => (await api('GET', '/projects/web/clusters/cache-web/status')).status === 404;
      if (!(await gone())) {
        await api('DELETE', '/projects/web/clusters/cache-web?force=true');
        for (let i = 0; i < 60 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 500));
      }
    }
    server?.kill('SIGTERM');
    if (server && server.exitCode === null) await new Promise((r) => server.once('exit', r));
    await idp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs in, creates a Redis cluster from the plan, follows it to ACTIVE, reveals its password, scales it and deletes it', async () => {
    // ---- log in through the identity provider's pages
    await page.goto(base + '/');
    await page.getByRole('heading', { name: 'Log in to Michman' }).waitFor();
    expect(await unlabelled()).toEqual([]);
    // Keyboard: the first Tab reaches the skip link, and focus is visible.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe('none');
    await shoot('1-login');

    await page.getByRole('link', { name: 'Log in with your identity provider' }).click();
    for (let i = 0; i < 3 && !page.url().startsWith(base); i++) {
      await page.waitForSelector('input[name="login"], button[type="submit"]');
      if (await page.locator('input[name="login"]').count()) {
        await page.fill('input[name="login"]', 'alice');
        await page.fill('input[name="password"]', 'any');
      }
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    }
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    expect(page.url()).toBe(base + '/');
    await expect.poll(() => page.locator('.who').textContent()).toContain('alice');

    // ---- a project, through its form (Enter submits)
    await page.getByRole('button', { name: 'New project' }).click();
    expect(await unlabelled()).toEqual([]);
    await page.getByLabel('Name').fill('web');
    await page.getByLabel('Group').fill('team');
    await page.getByLabel('Default image').selectOption('debian');
    await page.getByLabel('Default flavor').selectOption('small');
    await page.getByLabel('Description').press('Enter');
    await page.getByRole('heading', { name: 'Clusters of web' }).waitFor();

    // ---- the create form, generated from the catalog; the plan before the create
    await page.getByRole('link', { name: 'New cluster' }).click();
    await page.getByLabel('redis', { exact: true }).check();
    await page.getByLabel('redis version').waitFor();
    expect(await page.getByLabel('redis version').inputValue()).toBe('7.0');
    await page.getByLabel('db_password').fill(PASSWORD);
    expect(await unlabelled()).toEqual([]);
    await page.getByLabel('Name', { exact: true }).fill('cache');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    const plan = page.locator('#plan');
    await plan.waitFor();
    expect(await plan.textContent()).toContain('cache-web-storage');
    expect(await plan.textContent()).not.toContain(PASSWORD);
    expect(await api('GET', '/projects/web/clusters').then((r) => r.body.Detail.Data)).toEqual([]); // a plan creates nothing
    await shoot('3-create-form-with-plan');

    // ---- create; live progress to ACTIVE
    await page.getByRole('button', { name: 'Create cluster' }).click();
    await page.getByRole('heading', { name: /cache/ }).waitFor();
    await page.locator('#events li').first().waitFor();
    await shoot('4-cluster-progress');
    await expect.poll(() => page.locator('#cluster-title .badge').textContent(), { timeout: 90_000 }).toBe('Cluster status: ACTIVE');
    await expect.poll(() => page.locator('#progress-text').textContent()).toMatch(/^(\d+) of \1 steps done/);
    expect(eventStreams.length).toBeGreaterThan(0);
    const phases = await page.locator('#events .phase').allTextContents();
    expect(phases).toEqual(expect.arrayContaining(['provision', 'deploy', 'health']));
    // Each service's health at a glance, and its URL.
    await expect.poll(() => page.locator('#services tbody tr').first().textContent()).toMatch(/^redis 7\.0redis health: ACTIVE127\.[\d.]+:6379$/);

    // ---- the password: not on the page until asked for, then the one the API gives
    await page.reload();
    await page.locator('#services').waitFor();
    expect(await page.content()).not.toContain(PASSWORD);
    expect(credentialReads, 'credentials asked for before the reveal').toEqual([]);
    await page.getByRole('button', { name: 'Reveal credentials' }).click();
    await page.locator('#credentials .secret').waitFor();
    const shown = await page.locator('#credentials .secret').first().textContent();
    const creds = (await api('GET', '/projects/web/clusters/cache-web/credentials')).body.Detail.Data as Array<{ Type: string; Password: string }>;
    expect(shown).toBe(creds.find((c) => c.Type === 'redis')!.Password);
    expect(shown).toBe(PASSWORD);
    expect(credentialReads).toHaveLength(1);
    await shoot('5-credentials-revealed');

    // ---- scale out by one slave node, behind a confirmation (Enter confirms)
    await page.getByRole('button', { name: 'Hide credentials' }).click();
    await page.getByRole('button', { name: 'Scale…' }).click();
    await page.getByLabel('Slave nodes', { exact: true }).last().fill('1');
    await page.getByLabel('Slave nodes', { exact: true }).last().press('Enter');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await expect.poll(() => page.locator('#progress-title').textContent(), { timeout: 90_000 }).toMatch(/^scale.*succeeded$/);
    await expect.poll(() => page.locator('#cluster-title .badge').textContent(), { timeout: 30_000 }).toBe('Cluster status: ACTIVE');
    expect((await api('GET', '/projects/web/clusters/cache-web')).body.Detail.Data.NSlaves).toBe(1);

    // ---- the clusters list, with status and health
    await page.getByRole('link', { name: 'web' }).click();
    await page.getByRole('cell', { name: /cache/ }).waitFor();
    expect(await page.locator('table.list tbody tr').first().textContent()).toMatch(/cache.*ACTIVE.*redis 7\.0 redis health: ACTIVE/);
    await shoot('2-clusters');

    // ---- delete: Escape closes the confirmation; the confirmed delete removes the cluster
    await page.getByRole('link', { name: 'cache', exact: true }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await api('GET', '/projects/web/clusters/cache-web/status')).body.Detail.Data).toBe('ACTIVE');
    await page.getByRole('button', { name: 'Delete…' }).click();
    await dialog.getByRole('button', { name: 'Delete cluster' }).click();
    await page.locator('#cluster-gone').waitFor({ timeout: 90_000 });
    await page.getByRole('link', { name: /Back to the clusters/ }).click();
    await page.getByText('No clusters in this project yet.').waitFor();
    expect((await api('GET', '/projects/web/clusters/cache-web/status')).status).toBe(404);

    expect(external, 'requests to non-loopback hosts').toEqual([]);
    expect(consoleErrors, 'console errors').toEqual([]);
    expect(serverErrors, '5xx answers').toEqual([]);
  }, 240_000);

  it('logs in with an API token kept in the tab, sends it as a bearer, and logs out', async () => {
    const made = await api('POST', '/tokens', { Name: 'console test' });
    expect(made.status).toBe(201);
    const ctx = await browser.newContext({ viewport: PHONE });
    await ctx.route('**/*', (route) => (loopback(route.request().url()) ? route.continue() : (external.push(route.request().url()), route.abort())));
    const p = await ctx.newPage();
    p.on('console', (m) => m.type() === 'error' && consoleErrors.push(`${m.text()} (${m.location().url})`));
    p.on('response', (r) => r.status() >= 500 && serverErrors.push(`${r.status()} ${r.url()}`));
    await p.goto(base + '/#/projects/web');
    await p.getByLabel('API token').fill('mm_not-a-token');
    await p.getByLabel('API token').press('Enter');
    await p.getByRole('alert').waitFor();
    expect(await p.getByRole('alert').textContent()).toMatch(/API token/);
    await p.getByLabel('API token').fill(made.body.Detail.Data.Token);
    await p.getByLabel('API token').press('Enter');
    // Back on the page asked for, as the token's user.
    await p.getByRole('heading', { name: 'Clusters of web' }).waitFor();
    expect(await p.locator('.who').textContent()).toContain('alice');
    expect(await p.evaluate(() => document.cookie)).toBe('');
    await p.getByRole('button', { name: 'Log out' }).click();
    await p.getByRole('heading', { name: 'Log in to Michman' }).waitFor();
    expect(await p.evaluate(() => sessionStorage.length)).toBe(0);
    await ctx.close();
    expect(external).toEqual([]);
    expect(serverErrors).toEqual([]);
  }, 60_000);
});
