// Incidents: the sidebar's list, the incident panel (its search `incident:N`, notes, Close and
// Reopen), pinning from the detail pane (to an open incident or a new one) and with `p` from the
// table, and an incident opened offline that gets its number once sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, queryIs } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const SPECIAL_ID = '0193a5e2-7c1d-7000-8000-00000000beef';

const sidebar = (page) => page.$$eval('#incidents .incident-item', (bs) => bs.map((b) => [
  b.querySelector('.incident-number').textContent, b.querySelector('.incident-title').textContent,
  b.querySelector('.incident-status').textContent, b.querySelector('.incident-count').textContent,
]));
const count = (page, text) => page.waitForFunction((t) => document.querySelector('.results-count').textContent === t, text);
const lastSearch = (page, q) => page.waitForFunction((x) => window.__fake.answeredOf('search').at(-1)?.q === x, q);

test('the sidebar lists incidents; one opens in the panel and its search incident:N fills the table', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.waitForSelector('#incidents .incident-item');
  assert.deepEqual(await sidebar(page), [
    ['#11', 'Bonus abuse ring — winter campaign', 'open', '2 entries'],
    ['#10', 'Chargeback wave (October)', 'closed', '1 entry'],
  ]);
  await page.click('#incidents .incident-item >> nth=0');
  await page.waitForSelector('#incident:not([hidden]) .incident-notes');
  await queryIs(page, 'incident:11');
  await lastSearch(page, 'incident:11');
  await count(page, '2 entries');
  assert.equal(await page.inputValue('label[data-key="incident"] input'), '11', 'the filter bar shows the incident clause');
  assert.equal(await page.textContent('#incident .incident-heading'), '#11 Bonus abuse ring — winter campaign');
  assert.equal(await page.textContent('#incident .incident-description'), 'Bonuses granted outside the campaign rules.\nSee ticket 4411.');
  assert.match(await page.textContent('#incident .incident-meta'), /^open opened by s\.levi 2026-11-20 07:50:00 · received 2026-11-20 \d\d:\d\d:\d\d$/);
  assert.deepEqual(await page.$$eval('#incident .incident-notes .note', (ns) => ns.map((n) => [n.querySelector('.note-author').textContent, n.querySelector('.note-text').textContent])),
    [['s.levi', 'Asked the VIP desk for the tickets.']]);
  assert.equal(await page.getAttribute('#incidents .incident-item >> nth=0', 'aria-current'), 'true');
  assert.deepEqual((await app.calls('incident')).at(-1), { id: (await page.evaluate(() => window.__fake.incidents().find((i) => i.number === 11).id)) });

  // An entry opens in front of the incident; closing it shows the incident again.
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail:not([hidden]) .fields');
  assert.equal(await page.isHidden('#incident'), true);
  assert.equal(await page.textContent('#detail .pinned-incident'), '#11 Bonus abuse ring — winter campaign');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#incident:not([hidden])');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#incident', { state: 'hidden' });
  assert.equal(await page.$eval('#app-screen', (a) => a.classList.contains('detail-open')), false);
  await app.assertClean();
});

test('pin to a new incident from the detail pane, then write a note, close and reopen it', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail:not([hidden]) .pin-select');
  await page.waitForFunction(() => document.querySelectorAll('#detail .pin-select option').length === 2);
  assert.deepEqual(await page.$$eval('#detail .pin-select option', (os) => os.map((o) => o.textContent)), ['Pin to incident…', 'New incident…'],
    'closed incidents and those it is pinned to are not offered');
  await page.selectOption('#detail .pin-select', 'new');
  await page.waitForSelector('#detail .incident-new:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'incident-title-input');
  await page.click('#detail .incident-create');
  assert.equal(await page.textContent('#detail .pin-error'), 'Give the incident a title.');
  const title = 'Cashier collusion? « caisse 3 » 🎲';
  const description = 'Two cashiers\non the same shift';
  await page.fill('#detail .incident-title-input', title);
  await page.fill('#detail .incident-description-input', description);
  await page.click('#detail .incident-create');
  await page.waitForFunction(() => document.querySelectorAll('#detail .pinned-incident').length === 2);
  assert.deepEqual((await app.calls('open_incident')).at(-1), { title, description });
  const created = await page.evaluate((t) => window.__fake.incidents().find((i) => i.title === t), title);
  assert.equal(created.number, 12);
  assert.deepEqual((await app.calls('pin_entry')).at(-1), { incident: created.id, entry: SPECIAL_ID });
  assert.equal(await page.isHidden('#detail .incident-new'), true);
  await page.waitForFunction(() => document.querySelector('#incidents .incident-item .incident-number')?.textContent === '#12');
  assert.deepEqual((await sidebar(page))[0], ['#12', title, 'open', '1 entry']);

  await page.click(`#detail .pinned-incident[data-id="${created.id}"]`);
  await page.waitForSelector('#incident:not([hidden]) .incident-note-form');
  assert.equal(await page.isHidden('#detail'), true);
  await lastSearch(page, 'incident:12');
  await count(page, '1 entry');
  assert.equal(await page.textContent('#incident .incident-description'), description);

  assert.equal(await page.isDisabled('#incident .incident-note-add'), true);
  await page.fill('#incident .incident-note-input', 'Called the floor manager.\nשלום 👋');
  await page.click('#incident .incident-note-add');
  await page.waitForSelector('#incident .incident-notes .note');
  assert.deepEqual((await app.calls('incident_note')).at(-1), { incident: created.id, text: 'Called the floor manager.\nשלום 👋' });
  assert.equal(await page.textContent('#incident .incident-notes .note .note-text'), 'Called the floor manager.\nשלום 👋');
  assert.equal(await page.inputValue('#incident .incident-note-input'), '');

  assert.equal(await page.textContent('#incident .incident-status-toggle'), 'Close the incident');
  await page.click('#incident .incident-status-toggle');
  await page.waitForFunction(() => document.querySelector('#incident .incident-meta .incident-status').textContent === 'closed');
  assert.deepEqual((await app.calls('incident_note')).at(-1), { incident: created.id, status: 'closed' });
  assert.equal(await page.textContent('#incident .incident-notes .note:last-child .note-status'), 'closed the incident');
  assert.equal(await page.textContent('#incident .incident-status-toggle'), 'Reopen');
  await page.waitForFunction(() => document.querySelector('#incidents .incident-item[data-status="closed"] .incident-number')?.textContent === '#12');

  await page.fill('#incident .incident-note-input', 'New evidence came in.');
  await page.click('#incident .incident-status-toggle');
  await page.waitForFunction(() => document.querySelector('#incident .incident-meta .incident-status').textContent === 'open');
  assert.deepEqual((await app.calls('incident_note')).at(-1), { incident: created.id, status: 'open', text: 'New evidence came in.' });
  assert.deepEqual(await page.$$eval('#incident .incident-notes .note:last-child p', (ps) => ps.map((p) => p.textContent)), ['reopened the incident', 'New evidence came in.']);
  await app.assertClean();
});

test('p pins the selected row: its detail opens with the focus on "Pin to incident"', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.waitForSelector('#incidents .incident-item');
  await page.click('.table-rows .row[data-index="4"] .c-time');
  const action = await page.textContent('.table-rows .row[data-index="4"] .c-action');
  await page.keyboard.press('p');
  await page.waitForSelector('#detail:not([hidden]) .pin-select');
  assert.equal(await page.textContent('#detail .detail-title'), action);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('pin-select')), true);
  const ring = await page.evaluate(() => window.__fake.incidents().find((i) => i.number === 11).id);
  assert.equal(await page.isDisabled('#detail .pin-go'), true);
  await page.selectOption('#detail .pin-select', ring);
  await page.click('#detail .pin-go');
  await page.waitForSelector('#detail .pinned-incident');
  assert.equal((await app.calls('pin_entry')).at(-1).incident, ring);
  assert.equal(await page.textContent('#detail .pinned-incident'), '#11 Bonus abuse ring — winter campaign');
  assert.equal(await page.$$eval(`#detail .pin-select option[value="${ring}"]`, (o) => o.length), 0, 'no longer offered');
  await page.waitForFunction(() => document.querySelector('#incidents .incident-item .incident-count').textContent === '3 entries');

  // A failed pin says why under the control.
  await page.evaluate(() => window.__fake.fail('pin_entry', { code: 'server', message: 'the store failed' }));
  await page.selectOption('#detail .pin-select', 'new');
  await page.fill('#detail .incident-title-input', 'Second case');
  await page.click('#detail .incident-create');
  await page.waitForSelector('#detail .pin-error:not([hidden])');
  assert.equal(await page.textContent('#detail .pin-error'), 'Incident “Second case” is opened, but the entry is not pinned to it: the store failed');
  await app.assertClean();
});

test('an incident opened offline waits: "waiting" in the sidebar, no search until the store numbers it', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.evaluate(() => window.__fake.setOffline(true));
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail:not([hidden]) .pin-select');
  await page.selectOption('#detail .pin-select', 'new');
  await page.fill('#detail .incident-title-input', 'Offline case');
  await page.click('#detail .incident-create');
  await page.waitForFunction(() => document.querySelector('#incidents .incident-item .incident-number')?.textContent === 'waiting');
  assert.deepEqual((await sidebar(page))[0], ['waiting', 'Offline case', 'open', 'waiting to be sent']);
  // The entry lists the store's pins; the one in the outbox is said under them.
  await page.waitForSelector('#detail .pin-waiting:not([hidden]) .pin-note');
  assert.equal(await page.textContent('#detail .pin-waiting'), 'Pinned to “Offline case” — waiting to be sent.');
  assert.deepEqual(await page.$$eval('#detail .pinned-incident', (b) => b.map((x) => x.textContent)), ['#11 Bonus abuse ring — winter campaign']);
  assert.ok(!(await page.$$eval('#detail .pin-select option', (os) => os.map((o) => o.textContent))).some((t) => t.includes('Offline case')), 'not offered again');
  await page.waitForSelector('#header-outbox:not([hidden])');
  assert.equal(await page.textContent('#header-outbox'), '2 waiting');

  const searches = (await app.calls('search')).length;
  await page.click('#incidents .incident-item >> nth=0');
  await page.waitForSelector('#incident:not([hidden]) .incident-pending');
  assert.equal(await page.textContent('#incident .incident-pending'), 'This incident is waiting to be sent: it will list its entries once the store has it.');
  assert.equal(await page.textContent('#incident .incident-heading'), 'waiting Offline case');
  assert.match(await page.textContent('#incident .incident-meta'), /waiting to be sent$/);
  assert.equal((await app.calls('search')).length, searches, 'no incident: search without a number');

  await page.evaluate(() => window.__fake.setOffline(false));
  await page.waitForFunction(() => document.querySelector('#incident .incident-heading').textContent === '#12 Offline case');
  await lastSearch(page, 'incident:12');
  await count(page, '1 entry');
  await page.waitForSelector('#header-outbox', { state: 'hidden' });
  assert.deepEqual((await sidebar(page))[0], ['#12', 'Offline case', 'open', '1 entry']);
  await app.assertClean();
});
