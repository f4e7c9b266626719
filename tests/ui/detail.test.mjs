// The detail pane: exact times in local time and UTC, every field byte-exact, changes as diffs
// (side by side, field by field), pretty details, copy buttons, not_found, and the two pivots.
// Numbers show as stored (`100.10`, 20-digit integers) from the entries' `exact` texts, and as
// JavaScript parsed them when an older console sends none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, queryIs } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const SPECIAL_ID = '0193a5e2-7c1d-7000-8000-00000000beef';
const special = (page) => page.evaluate((id) => window.__fake.events.find((e) => e.id === id), SPECIAL_ID);

async function openSpecial(app) {
  await app.page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await app.page.waitForSelector('#detail:not([hidden]) .fields');
  await app.page.waitForFunction(() => window.__fake.callsOf('event').length > 0);
}

const field = (page, name) => page.textContent(`#detail dd[data-field="${name}"]`);

test('exact times with microseconds in local time and UTC', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(app);
  assert.equal(await page.textContent('#detail dd[data-field="occurred"] .time-local'), '2026-11-20 04:12:08.000123 UTC+01:00');
  assert.equal(await page.textContent('#detail dd[data-field="occurred"] .time-utc'), '2026-11-20 03:12:08.000123 UTC');
  assert.equal(await page.textContent('#detail dd[data-field="received"] .time-local'), '2026-11-20 04:12:09.123456 UTC+01:00');
  assert.equal(await page.textContent('#detail dd[data-field="received"] .time-utc'), '2026-11-20 03:12:09.123456 UTC');
  assert.deepEqual((await app.calls('event')).at(-1), { id: SPECIAL_ID });
  await app.assertClean();
});

test('every field shows byte-exact: RTL, emoji, quotes, newlines, <script> and =SUM(A1)', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(app);
  const e = await special(page);
  assert.equal(await page.textContent('#detail dd[data-field="reason"] .val'), e.reason);
  assert.equal(await page.textContent('#detail dd[data-field="target"] .target-name'), e.target.name);
  assert.equal(await page.textContent('#detail dd[data-field="target"] .pivot'), 'player/312284');
  assert.equal(await field(page, 'ip'), '192.0.2.66Copy');
  assert.equal(await field(page, 'id'), `${e.id}Copy`);
  assert.equal(await field(page, 'hash'), `${e.hash}Copy`);
  assert.equal(await field(page, 'seq'), String(e.seq));
  assert.equal(await field(page, 'user agent'), e.user_agent);
  assert.equal(await page.textContent('#detail dd[data-field="sent by"] .pivot'), e.sender, 'the key that sent it, as a pivot');
  assert.match(await field(page, 'actor'), /^k\.morelKarine Morel · vip-manager · staff$/);
  assert.equal(await page.textContent('.table-rows .row[data-index="0"] .c-target .dim'), e.target.name);
  assert.equal(await page.evaluate(() => document.querySelectorAll('script').length), 1, 'no script element came from the data');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#detail b, .table-rows b').length), 0, 'no markup from the data');
  const rtl = await page.$eval('#detail dd[data-field="reason"] .val', (n) => n.getAttribute('dir'));
  assert.equal(rtl, 'auto', 'mixed-direction text keeps its own direction');
  await app.assertClean();
});

test('changes: scalars side by side with the differences marked, objects field by field', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(app);
  const change = (f) => `#detail .change[data-field="${f}"]`;
  assert.equal(await page.textContent(`${change('balance.bonus')} .side-before .val`), '0.00');
  assert.equal(await page.textContent(`${change('balance.bonus')} .side-after .val`), '1500.00');
  assert.ok((await page.$$(`${change('balance.bonus')} .side-after ins`)).length > 0);
  const nick = await page.$$eval(`${change('nickname')} .side-after ins`, (n) => n.map((x) => x.textContent).join('|'));
  assert.equal(nick, 'Lucas 🎰');
  assert.equal(await page.$$eval(`${change('nickname')} .side-before del`, (n) => n.map((x) => x.textContent).join('|')), 'Luke');
  assert.equal(await page.textContent(`${change('comment')} .side-after .val`), 'שלום "עולם" =SUM(A1)');
  assert.equal(await page.textContent(`${change('comment')} .side-after ins`), ' =SUM(A1)');

  const rows = await page.$$eval(`${change('limits')} tbody tr`, (trs) => trs.map((tr) => [tr.className, ...[...tr.children].map((td) => td.textContent)]));
  assert.deepEqual(rows, [
    ['field-changed', 'daily', '100', '500', 'changed'],
    ['field-changed', 'vip', 'false', 'true', 'changed'],
    ['field-same', 'caps.weekly', '500', '500', ''],
    ['field-changed', 'caps.monthly', '2000', '4000', 'changed'],
    ['field-removed', 'tags[0]', 'new', '—', 'removed'],
    ['field-added', 'note', '—', 'VIP ✓', 'added'],
  ]);
  assert.equal(await page.textContent(`${change('limits')} tr:nth-child(2) td.field-before del`), 'false', 'non-strings change whole');
  assert.equal(await page.textContent(`${change('limits')} tr:nth-child(2) td.field-after ins`), 'true');
  const e = await special(page);
  assert.equal(await page.textContent('#detail .details-json'), e.exact.details);
  await app.assertClean();
});

const change = (f) => `#detail .change[data-field="${f}"]`;
const sideTexts = (page, f) => Promise.all(['before', 'after'].map((s) => page.textContent(`${change(f)} .side-${s} .val`)));
const fieldRows = (page, f) => page.$$eval(`${change(f)} tbody tr`, (trs) => trs.map((tr) => [tr.className, ...[...tr.children].map((td) => td.textContent)]));
const PAYOUT_EXACT = [
  ['field-changed', 'amount', '100.10', '100.1', 'changed'],
  ['field-changed', 'ref', '12345678901234567890', '12345678901234567891', 'changed'],
  ['field-same', 'fees[0]', '0.00', '0.00', ''],
  ['field-changed', 'fees[1]', '-5.5', '0.00', 'changed'],
  ['field-same', 'currency', 'EUR', 'EUR', ''],
];

test('numbers show exactly as stored: 100.10, 0.00 after -5.5 and 20-digit integers, side by side, field by field and in the details', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(app);
  const e = await special(page);
  assert.equal(e.changes.find((c) => c.field === 'wager.amount').after, 100.1, 'JavaScript alone would show 100.1');
  assert.deepEqual(await sideTexts(page, 'wager.amount'), ['100.00', '100.10']);
  assert.equal(await page.textContent(`${change('wager.amount')} .side-before del`), '100.00', 'numbers change whole');
  assert.equal(await page.textContent(`${change('wager.amount')} .side-after ins`), '100.10');
  assert.deepEqual(await sideTexts(page, 'balance.cash'), ['-5.5', '0.00']);
  assert.deepEqual(await sideTexts(page, 'ledger.ref'), ['12345678901234567890', '12345678901234567891']);
  assert.equal(await page.textContent(`${change('ledger.ref')} .side-after ins`), '12345678901234567891');
  assert.equal(await page.$eval(`${change('ledger.ref')} .side-after .val`, (n) => n.className), 'val json');
  assert.equal(await page.$eval(`${change('balance.bonus')} .side-after .val`, (n) => n.className), 'val', 'strings still show without their quotes');

  assert.deepEqual(await fieldRows(page, 'payout'), PAYOUT_EXACT);
  assert.equal(await page.textContent(`${change('payout')} tr:nth-child(2) td.field-after ins`), '12345678901234567891');

  const details = await page.textContent('#detail .details-json');
  assert.equal(details, e.exact.details);
  for (const line of ['  "amount": 100.10,', '  "ledger": 12345678901234567890,', '    "fixed": 0.00,', '    "rate": -5.5', '  "ticket": 4411,']) {
    assert.ok(details.split('\n').includes(line), `the details show ${line.trim()}`);
  }
  assert.doesNotMatch(await page.textContent('#detail'), /12345678901234567000/, 'no rounded integer in the pane');
  await app.assertClean();
});

test('an entry from the search page shows its exact numbers too (when event() fails)', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.evaluate(() => window.__fake.fail('event', { code: 'unreachable', message: 'no answer from the store' }));
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail .notice-warn');
  assert.deepEqual(await sideTexts(page, 'wager.amount'), ['100.00', '100.10']);
  assert.deepEqual(await fieldRows(page, 'payout'), PAYOUT_EXACT);
  assert.match(await page.textContent('#detail .details-json'), /"ledger": 12345678901234567890,/);
  await app.assertClean();
});

test('without exact texts (an older console) the pane shows the values as JavaScript parsed them', async () => {
  const app = await openApp(browser, { config: { exact: false } });
  const { page } = app;
  await openSpecial(app);
  const e = await special(page);
  assert.equal(e.exact, undefined);
  assert.deepEqual(await sideTexts(page, 'wager.amount'), ['100', '100.1']);
  assert.deepEqual(await sideTexts(page, 'balance.cash'), ['-5.5', '0']);
  assert.deepEqual(await sideTexts(page, 'balance.bonus'), ['0.00', '1500.00']);
  assert.deepEqual((await fieldRows(page, 'limits'))[3], ['field-changed', 'caps.monthly', '2000', '4000', 'changed']);
  assert.equal(await page.textContent('#detail .details-json'), JSON.stringify(e.details, null, 2));
  await page.click('#detail button[data-copy="JSON"]');
  assert.equal((await page.evaluate(() => window.__copied)).at(-1), JSON.stringify(e, null, 2));
  await app.assertClean();
});

test('copy buttons put the id, hash, IP and JSON on the clipboard', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(app);
  for (const what of ['id', 'hash', 'IP', 'JSON']) await page.click(`#detail button[data-copy="${what}"]`);
  const copied = await page.evaluate(() => window.__copied);
  const e = await special(page);
  assert.deepEqual(copied.slice(0, 3), [e.id, e.hash, e.ip]);
  const { exact, ...shown } = e;
  assert.ok(exact);
  assert.deepEqual(JSON.parse(copied[3]), shown, 'the entry without its exact texts');
  // The entry as the store holds it, numbers with their digits (`100.10`, 20-digit integers).
  const stored = await page.evaluate((seq) => JSON.stringify({ ...window.__vigilFakeData.SPECIAL_STORED, seq }, null, 2), e.seq);
  assert.equal(copied[3], stored);
  assert.match(copied[3], /"after": 100\.10\n/);
  assert.match(copied[3], /"ledger": 12345678901234567890,/);
  await page.waitForFunction(() => document.querySelector('#detail button[data-copy="id"]').textContent === 'Copied');
  await app.assertClean();
});

test('an entry that is gone says so in the pane', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.evaluate((id) => window.__fake.remove(id), SPECIAL_ID);
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail .detail-missing');
  assert.equal(await page.textContent('#detail .detail-title'), 'Entry not found');
  assert.equal(await page.textContent('#detail .detail-missing'), `no entry ${SPECIAL_ID}`);
  await app.assertClean();
});

test('"Everything about this target" searches it oldest first; "Around this" shows the neighbours', async () => {
  const app = await openApp(browser, { config: { count: 2000 } });
  const { page } = app;
  await openSpecial(app);
  await page.click('#detail .act-target');
  await queryIs(page, 'target:player/312284');
  await page.waitForFunction(() => window.__fake.callsOf('search').at(-1).q === 'target:player/312284');
  assert.equal((await app.calls('search')).at(-1).order, 'oldest');
  // The toggle shows the order of the list on screen, once the search has answered.
  await page.waitForFunction(() => document.querySelector('.order-toggle').textContent === 'Oldest first').catch(() => {});
  assert.equal(await page.textContent('.order-toggle'), 'Oldest first');

  await page.fill('#query', '');
  await page.press('#query', 'Enter');
  await page.click('.order-toggle');
  await page.waitForFunction(() => document.querySelector('.order-toggle').textContent === 'Newest first');
  await page.waitForSelector('.table-rows .row[data-index="0"]:not(.placeholder)');
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.click('#detail .act-around');
  await page.waitForSelector('.results-banner:not([hidden])');
  const around = await page.evaluate((id) => window.__fake.events.filter((x) => Math.abs(Date.parse(x.occurred_at) - Date.parse('2026-11-20T03:12:08Z')) <= 900e3
    && (x.actor.id === 'k.morel' || (x.target?.type === 'player' && x.target?.id === '312284'))).length, SPECIAL_ID);
  assert.deepEqual((await app.calls('around')).at(-1), { id: SPECIAL_ID });
  assert.equal(await page.textContent('.results-count'), `${around} ${around === 1 ? 'entry' : 'entries'}`);
  assert.match(await page.textContent('.results-banner'), /^Around bonus\.grant by k\.morel at 2026-11-20 04:12:08/);
  assert.equal(await page.getAttribute(`.table-rows .row[aria-selected="true"]`, 'data-index'), String(around - 1), 'the entry itself is selected (oldest first, so last)');
  await page.click('.results-banner button');
  await page.waitForSelector('.results-banner', { state: 'hidden' });
  await app.assertClean();
});

test('Esc and the close button close the pane', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(app);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#detail', { state: 'hidden' });
  assert.equal(await page.$eval('#app-screen', (a) => a.classList.contains('detail-open')), false);
  await openSpecial(app);
  await page.click('#detail .detail-close');
  await page.waitForSelector('#detail', { state: 'hidden' });
  await app.assertClean();
});

test('an impersonated action says so in the row and the detail; its request and action gather their entries', async () => {
  const app = await openApp(browser, { config: { count: 2000 } });
  const { page } = app;
  await openSpecial(app);
  const e = await special(page);
  assert.equal(await page.textContent('.table-rows .row[data-index="0"] .c-actor .behalf'), ' as player 312284');
  const acting = '#detail dd[data-field="acting as"]';
  assert.equal(await page.textContent(`${acting} .behalf-badge`), 'impersonated');
  assert.equal(await page.textContent(`${acting} .pivot`), '312284');
  assert.equal(await page.textContent(`${acting} .behalf-name`), e.on_behalf_of.name, 'byte-exact');
  assert.equal(await field(page, 'sender’s no.'), '10412 in stream node-2');
  assert.equal(await page.textContent('#detail dd[data-field="action id"] .pivot'), 'wd-2026-000417');
  assert.equal(await page.textContent('#detail dd[data-field="request"] .pivot'), 'r-99120');

  await page.click('#detail .act-action');
  await queryIs(page, 'correlation:wd-2026-000417');
  await page.waitForFunction(() => window.__fake.callsOf('search').at(-1)?.q === 'correlation:wd-2026-000417');
  assert.equal((await app.calls('search')).at(-1).order, 'oldest');
  await page.waitForFunction(() => document.querySelector('.results-count')?.textContent === '1 entry');

  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail:not([hidden]) .act-request');
  await page.click('#detail .act-request');
  await queryIs(page, 'request:r-99120');
  await page.waitForFunction(() => window.__fake.callsOf('search').at(-1)?.q === 'request:r-99120');
  await app.assertClean();
});
