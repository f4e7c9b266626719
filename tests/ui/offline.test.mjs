// Offline and the outbox: the banner while the store cannot be reached (from the outbox, a
// search answer or the session), the header's "N waiting" badge as writes pile up and are sent,
// and the items the store refused: their error, Retry, and Discard with its confirm step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const SERVER = 'https://vigil.casino.example';
const BANNER = `Offline — the store at ${SERVER} cannot be reached. Showing entries cached on this computer; what you write is kept and sent when the store is back.`;
const SPECIAL_ID = '0193a5e2-7c1d-7000-8000-00000000beef';

async function openSpecial(page) {
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail:not([hidden]) .note-form');
}

async function annotate(page, text) {
  const before = await page.$$eval('#detail .note-thread > .note', (n) => n.length);
  await page.fill('#detail .note-input', text);
  await page.click('#detail .note-save');
  await page.waitForFunction((n) => document.querySelectorAll('#detail .note-thread > .note').length === n + 1, before);
}

const badge = (page, text) => page.waitForFunction((t) => {
  const b = document.getElementById('header-outbox');
  return t === null ? b.hidden : !b.hidden && b.textContent === t;
}, text);

test('offline: the banner shows, writes wait ("3 waiting"), and all is sent when the store is back', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.waitForFunction(() => window.__fake.callsOf('outbox').length > 0);
  assert.equal(await page.isHidden('#header-outbox'), true, 'nothing waits: no badge');
  assert.equal(await page.isHidden('#offline-banner'), true);

  await page.evaluate(() => window.__fake.setOffline(true));
  await page.waitForSelector('#offline-banner:not([hidden])');
  assert.equal(await page.textContent('#offline-banner'), BANNER);
  await openSpecial(page);
  await annotate(page, 'first, written offline');
  await badge(page, '1 waiting');
  await annotate(page, 'second: «ligne»\nשתיים');
  await page.click('#detail .mark-toggle[data-mark="escalated"]');
  await page.click('#detail .note-save');
  await badge(page, '3 waiting');
  const pending = await page.$$eval('#detail .note-thread > .note.pending', (ns) => ns.map((n) => [n.querySelector('.note-text')?.textContent ?? null, n.querySelector('.note-pending').textContent]));
  assert.deepEqual(pending, [
    ['first, written offline', 'waiting to be sent'],
    ['second: «ligne»\nשתיים', 'waiting to be sent'],
    [null, 'waiting to be sent'],
  ]);
  assert.equal(await page.inputValue('#detail .note-input'), '', 'annotate answered success: the outbox holds it');

  await page.click('#header-outbox');
  await page.waitForSelector('#outbox-panel:not([hidden]) .outbox-item');
  const items = await page.$$eval('#outbox-panel .outbox-item', (li) => li.map((i) => [i.querySelector('.outbox-kind').textContent, i.querySelector('.outbox-summary').textContent, i.dataset.state]));
  assert.deepEqual(items, [
    ['Annotation', 'Comment on bonus.grant by k.morel', 'waiting'],
    ['Annotation', 'Comment on bonus.grant by k.morel', 'waiting'],
    ['Annotation', 'Marks on bonus.grant by k.morel', 'waiting'],
  ]);
  assert.match(await page.textContent('#outbox-panel .outbox-time'), /^2026-11-20 \d\d:\d\d:\d\d$/);
  assert.equal(await page.textContent('#outbox-panel .outbox-state'), 'The store cannot be reached: these are sent when it is back.');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#outbox-panel', { state: 'hidden' });
  assert.equal(await page.isVisible('#detail'), true, 'Esc closed the list, not the detail');

  // A search from the cache says offline too.
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => window.__fake.callsOf('search').length > 1);
  assert.equal(await page.isVisible('#offline-banner'), true);

  await page.evaluate(() => window.__fake.setOffline(false));
  await badge(page, null);
  await page.waitForSelector('#offline-banner', { state: 'hidden' });
  await page.waitForFunction(() => document.querySelectorAll('#detail .note-thread > .note.pending').length === 0);
  assert.equal(await page.$$eval('#detail .note-thread > .note .note-received', (n) => n.length), 5, 'received, each with its time');
  assert.equal((await page.evaluate((id) => window.__fake.annotationsOf(id), SPECIAL_ID)).filter((a) => a.pending).length, 0);
  await app.assertClean();
});

test('items the store refused show its error; Retry sends again, Discard asks first then drops it', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.evaluate(() => window.__fake.setOffline(true));
  await openSpecial(page);
  await annotate(page, 'keep me');
  await annotate(page, 'drop me');
  const [keep, drop] = await page.evaluate(() => window.__fake.outbox().items.map((i) => i.n));
  await page.evaluate(([a, b]) => {
    window.__fake.failOutboxItem(a, 'The store refused it: 409 the entry was archived');
    window.__fake.failOutboxItem(b, 'The store refused it: 422 comment too long');
    window.__fake.setOffline(false);
  }, [keep, drop]);
  await badge(page, '2 waiting (2 failed)');
  assert.equal(await page.$eval('#header-outbox', (b) => b.classList.contains('failed')), true);

  await page.click('#header-outbox');
  await page.waitForSelector('#outbox-panel:not([hidden]) .outbox-item.failed');
  assert.deepEqual(await page.$$eval('#outbox-panel .outbox-error', (ps) => ps.map((p) => p.textContent)),
    ['The store refused it: 409 the entry was archived', 'The store refused it: 422 comment too long']);
  assert.equal(await page.isVisible('#outbox-panel .outbox-retry-all'), true);

  await page.click(`#outbox-panel .outbox-item[data-n="${keep}"] .outbox-retry`);
  await page.waitForFunction((n) => !document.querySelector(`#outbox-panel .outbox-item[data-n="${n}"]`), keep);
  assert.deepEqual((await app.calls('outbox_retry')).at(-1), { n: keep });
  await badge(page, '1 waiting (1 failed)');

  await page.click(`#outbox-panel .outbox-item[data-n="${drop}"] .outbox-discard`);
  assert.equal(await page.textContent(`#outbox-panel .outbox-item[data-n="${drop}"] .outbox-confirm span`), 'Discard it? What was written is dropped and cannot be recovered.');
  assert.equal((await app.calls('outbox_discard')).length, 0, 'nothing dropped before the confirm');
  await page.click(`#outbox-panel .outbox-item[data-n="${drop}"] .outbox-discard-keep`);
  await page.waitForSelector(`#outbox-panel .outbox-item[data-n="${drop}"] .outbox-discard`);
  await page.click(`#outbox-panel .outbox-item[data-n="${drop}"] .outbox-discard`);
  await page.click(`#outbox-panel .outbox-item[data-n="${drop}"] .outbox-discard-confirm`);
  await page.waitForSelector('#outbox-panel .outbox-empty:not([hidden])');
  assert.deepEqual((await app.calls('outbox_discard')).at(-1), { n: drop });
  await badge(page, null);

  await page.waitForFunction(() => ![...document.querySelectorAll('#detail .note-text')].some((n) => n.textContent === 'drop me'));
  const thread = await page.$$eval('#detail .note-thread > .note', (ns) => ns.map((n) => [n.querySelector('.note-text')?.textContent ?? null, n.classList.contains('pending')]));
  assert.deepEqual(thread.at(-1), ['keep me', false], 'the retried one was received; the discarded one is gone');
  await app.assertClean();
});

test('a session that starts offline shows the banner at once; it goes when the store answers', async () => {
  const app = await openApp(browser, { config: { offline: true, sessionPatch: { offline: true } } });
  const { page } = app;
  await page.waitForSelector('#offline-banner:not([hidden])');
  assert.equal(await page.textContent('#offline-banner'), BANNER);
  assert.equal((await app.calls('search'))[0].q, '', 'the cache is searched');
  await page.evaluate(() => window.__fake.setOffline(false));
  await page.waitForSelector('#offline-banner', { state: 'hidden' });
  await app.assertClean();
});
