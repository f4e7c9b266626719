// Test harness for the console's frontend: Debian's Chromium driven by playwright-core, ui/
// served from disk on a fake origin with the app's CSP, and the Rust side replaced by an in-page
// stand-in (fake-*.js) that asks every question about queries (parse, print, which entries
// match, timelines, facets) of the console's own Rust code, run as vigil-ui-backend (built by
// scripts/test-ui; VIGIL_UI_BACKEND names another). Every page records console errors, page
// errors and CSP violations; a test ends with `await app.assertClean()`.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const UI = join(HERE, '..', '..', '..', 'ui');
export const ORIGIN = 'http://vigil.test';
// The app's own CSP (tauri.conf.json), so a violation fails the tests as it would break the app.
export const CSP = await readFile(join(HERE, '..', '..', '..', 'tauri.conf.json'), 'utf8')
  .then((text) => JSON.parse(text).app.security.csp)
  .catch(() => "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'");
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

const BACKEND = process.env.VIGIL_UI_BACKEND ?? join(HERE, '..', '..', '..', 'target', 'debug', 'vigil-ui-backend');
let backend = null;

/** vigil-ui-backend's URL, starting it (once per test process) in the browser's time zone. */
function backendUrl() {
  backend ??= new Promise((resolve, reject) => {
    const child = spawn(BACKEND, [], { env: { ...process.env, TZ: 'Europe/Paris' }, stdio: ['ignore', 'pipe', 'inherit'] });
    child.on('error', (e) => reject(new Error(`vigil-ui-backend did not start (${BACKEND}: ${e.message}); scripts/test-ui builds it`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      child.stdout.destroy();
      child.unref();
      resolve(line.trim());
    });
    process.once('exit', () => child.kill());
  });
  return backend;
}

/** Forwards the in-page stand-in's questions to vigil-ui-backend: `{ok}` or `{error}`, as text. */
async function ask(path, body) {
  const answer = await fetch(`${await backendUrl()}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await answer.text();
  if (answer.ok) return `{"ok":${text}}`;
  // axum's own refusals (a body that does not decode) are plain text.
  try {
    return JSON.stringify({ error: JSON.parse(text) });
  } catch {
    return JSON.stringify({ error: { code: 'backend', message: text } });
  }
}

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS });
}

async function serve(route) {
  const path = new URL(route.request().url()).pathname;
  const file = normalize(join(UI, path === '/' ? 'index.html' : decodeURIComponent(path)));
  if (!file.startsWith(UI)) return route.fulfill({ status: 403, body: 'outside ui/' });
  try {
    const body = await readFile(file);
    return route.fulfill({ status: 200, body, headers: { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP } });
  } catch {
    return route.fulfill({ status: 404, body: `not found: ${path}` });
  }
}

/**
 * Opens the console in a fresh context. `config` goes to the fake (count, session, latency,
 * password, saved, sessionPatch, reason). Waits for the first rows unless signed out.
 */
const pages = new WeakMap();

/**
 * One context and one page per browser (per test file), navigated afresh for each test: a new
 * page costs a renderer process, three times what a reload does.
 */
async function sharedPage(browser) {
  if (!pages.has(browser)) {
    pages.set(browser, (async () => {
      const context = await browser.newContext({ timezoneId: 'Europe/Paris', locale: 'en-US' });
      await context.exposeFunction('__vigilBackend', ask);
      await context.route(`${ORIGIN}/**`, serve);
      await context.route((url) => !url.href.startsWith(ORIGIN), (route) => route.abort());
      const page = await context.newPage();
      page.setDefaultTimeout(10000);
      const shared = { context, page, problems: [], scripts: [] };
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') shared.problems.push(`console.${m.type()}: ${m.text()}`); });
      page.on('pageerror', (e) => shared.problems.push(`page error: ${e.message}`));
      return shared;
    })());
  }
  return pages.get(browser);
}

/** The init scripts of one test, in order: guards, the fake's config, then the fake itself. */
async function installScripts(shared, config) {
  await Promise.all(shared.scripts.map((d) => d.dispose()));
  const { page } = shared;
  shared.scripts = [
    await page.addInitScript(() => {
      // tauri.conf.json sets freezePrototype: the UI must not touch Object.prototype.
      Object.freeze(Object.prototype);
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
      window.__copied = [];
      Object.defineProperty(navigator, 'clipboard', { value: { writeText: async (t) => { window.__copied.push(t); } } });
    }),
    await page.addInitScript((c) => { window.__VIGIL_FAKE_CONFIG__ = c; }, config),
  ];
  for (const f of ['fake-data.js', 'fake-annotations.js', 'fake-accounts.js', 'fake-tauri.js']) shared.scripts.push(await page.addInitScript({ path: join(HERE, f) }));
}

/**
 * Opens the console afresh. `config` goes to the fake (count, session, latency, password, saved,
 * sessionPatch, reason, exact: false for entries without their exact texts, export: the first plan of
 * window.__fake.exportWith; user: who is signed in, e.g. 'vera' (viewer) or 'c.roux' (admin);
 * users, roles, personal: see fake-accounts.js and fake-tauri.js). Waits for the first rows unless
 * signed out.
 */
export async function openApp(browser, { config = {}, viewport = { width: 1440, height: 900 }, wait = true } = {}) {
  const shared = await sharedPage(browser);
  const { page, context } = shared;
  const problems = [];
  shared.problems = problems;
  await installScripts(shared, config);
  await page.setViewportSize(viewport);
  await page.goto(`${ORIGIN}/index.html`);
  // The fake makes its journal in the page first (100k entries take seconds on a loaded machine).
  if (wait && config.session !== 'signed_out') await page.waitForSelector('.table-body .row:not(.placeholder)', { timeout: 30000 });
  return {
    page,
    context,
    problems,
    /** The commands the UI called, with their arguments. */
    calls: (cmd) => page.evaluate((c) => window.__fake.callsOf(c), cmd),
    async assertClean() {
      assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
    },
  };
}

/** Texts of the rendered (non-placeholder, visible) rows' cells of one column. */
export function column(page, key) {
  return page.$$eval(`.table-rows .row:not(.placeholder):not([hidden]) .c-${key}`, (cells) => cells.map((c) => c.textContent));
}

/**
 * Waits (up to 10 s, then lets the test's own assertion say what it sees) until the shown rows'
 * cells of one column are all among `values` (or none of them, with `none`): the search answers
 * a moment after the query changes.
 */
export function rowsAre(page, key, values, { none = false } = {}) {
  return page.waitForFunction(({ key, values, none }) => {
    const cells = [...document.querySelectorAll(`.table-rows .row:not([hidden]):not(.placeholder) .c-${key}`)];
    return cells.length > 0 && cells.every((c) => values.includes(c.textContent) !== none);
  }, { key, values, none }).catch(() => {});
}

/** Waits until the query field holds `text`. */
export function queryIs(page, text) {
  return page.waitForFunction((t) => document.getElementById('query').value === t, text);
}
