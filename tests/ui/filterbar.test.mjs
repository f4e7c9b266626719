// The filter bar: controls write the query text (print_query), the text sets the controls
// (parse_query), clauses a control cannot show are kept, and a bad query marks its column.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, column, queryIs, rowsAre } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const control = (key) => `label.control[data-key="${key}"] input, label.control[data-key="${key}"] select`;
const lastSearch = async (app) => (await app.calls('search')).at(-1);

test('editing controls writes the query text and searches it', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.fill(control('actor'), 'm.dupont');
  await page.press(control('actor'), 'Enter');
  await queryIs(page, 'actor:m.dupont');
  await page.selectOption(control('severity'), 'critical');
  await queryIs(page, 'actor:m.dupont severity:critical');
  await page.fill(control('text'), 'refund "à la demande"');
  await page.press(control('text'), 'Enter');
  await queryIs(page, 'actor:m.dupont severity:critical refund "à la demande"');
  await page.fill(control('text'), '');
  await page.press(control('text'), 'Enter');
  await queryIs(page, 'actor:m.dupont severity:critical');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent !== 'Counting…');
  assert.equal((await lastSearch(app)).q, 'actor:m.dupont severity:critical');
  await rowsAre(page, 'actor', ['m.dupont']);
  const actors = await column(page, 'actor');
  assert.ok(actors.length > 0);
  assert.deepEqual(new Set(actors), new Set(['m.dupont']));
  assert.deepEqual(new Set(await column(page, 'severity')), new Set(['critical']));
  await app.assertClean();
});

test('typing a query sets the controls after a pause', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.fill('#query', 'actor:s.levi section:finance kind:change outcome:denied ip:192.0.2.0/24 action:withdrawal.* "manual bonus" refund');
  await page.waitForFunction(() => document.querySelector('label[data-key="actor"] input').value === 's.levi');
  assert.equal(await page.inputValue(control('section')), 'finance');
  assert.equal(await page.inputValue(control('kind')), 'change');
  assert.equal(await page.inputValue(control('outcome')), 'denied');
  assert.equal(await page.inputValue(control('severity')), '');
  assert.equal(await page.inputValue(control('ip')), '192.0.2.0/24');
  assert.equal(await page.inputValue(control('action')), 'withdrawal.*');
  assert.equal(await page.inputValue(control('text')), '"manual bonus" refund');
  assert.ok(!(await app.calls('search')).some((c) => c.q.startsWith('actor:s.levi')), 'typing alone does not search');
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => window.__fake.callsOf('search').some((c) => c.q.startsWith('actor:s.levi')));
  await app.assertClean();
});

test('clauses a control cannot show survive edits of the controls', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.fill('#query', 'actor:k.morel -actor:batch-bot actor:m.dupont severity:warning,critical');
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => document.querySelector('label[data-key="actor"] input').value === 'k.morel');
  assert.equal(await page.$eval('label[data-key="actor"]', (l) => l.classList.contains('more')), true, 'the actor control says there is more');
  assert.equal(await page.$eval('label[data-key="severity"] select', (s) => s.selectedOptions[0].textContent), 'warning, critical');
  await page.selectOption(control('outcome'), 'denied');
  await queryIs(page, 'actor:k.morel -actor:batch-bot actor:m.dupont severity:warning,critical outcome:denied');
  await page.fill(control('actor'), 's.levi');
  await page.press(control('actor'), 'Enter');
  await queryIs(page, 'actor:s.levi -actor:batch-bot actor:m.dupont severity:warning,critical outcome:denied');
  await page.selectOption(control('severity'), 'critical');
  await queryIs(page, 'actor:s.levi -actor:batch-bot actor:m.dupont severity:critical outcome:denied');
  await page.selectOption(control('outcome'), '');
  await queryIs(page, 'actor:s.levi -actor:batch-bot actor:m.dupont severity:critical');
  await app.assertClean();
});

test('the date range writes after:/before: in local wall-clock time', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.selectOption('.range-select', '24h');
  await page.waitForFunction(() => /^after:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(document.getElementById('query').value));
  const expected = await page.evaluate(() => {
    const d = new Date(Date.now() - 86400e3);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  });
  const written = (await page.inputValue('#query')).slice('after:'.length);
  assert.ok(Math.abs(Date.parse(written) - Date.parse(expected)) <= 60e3, `${written} is a day ago, local time (${expected})`);
  assert.equal(await page.inputValue('.range-select'), '24h');

  await page.selectOption('.range-select', 'custom');
  await page.fill('.range-after', '2026-11-20T03:00');
  await queryIs(page, 'after:2026-11-20T03:00');
  await page.fill('.range-before', '2026-11-20T04:05');
  await queryIs(page, 'after:2026-11-20T03:00 before:2026-11-20T04:05');
  // The search answers a moment after the query changes.
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('.table-rows .row:not([hidden]):not(.placeholder) .c-time')];
    return cells.length > 0 && cells.every((c) => c.textContent >= '2026-11-20 03:00' && c.textContent < '2026-11-20 04:05');
  }).catch(() => {});
  const times = await column(page, 'time');
  assert.ok(times.length > 0 && times.every((t) => t >= '2026-11-20 03:00' && t < '2026-11-20 04:05'), 'rows are inside the local range');

  await page.fill('#query', 'before:2026-11-19 section:finance');
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => document.querySelector('.range-before').value === '2026-11-19T00:00');
  assert.equal(await page.inputValue('.range-select'), 'custom');
  assert.equal(await page.inputValue('.range-after'), '');
  await page.selectOption('.range-select', '');
  await queryIs(page, 'section:finance');
  await app.assertClean();
});

test('a bad query marks its column and does not search', async () => {
  const app = await openApp(browser);
  const { page } = app;
  const before = (await app.calls('search')).length;
  await page.fill('#query', 'actor:k.morel colour:red');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#query-error:not([hidden])');
  assert.equal(await page.getAttribute('#query-error', 'data-column'), '15');
  assert.equal(await page.textContent('.query-caret'), 'c');
  assert.equal(await page.textContent('.query-echo'), 'actor:k.morel colour:red');
  assert.match(await page.textContent('.query-message'), /^Column 15: unknown qualifier 'colour:'/);
  assert.equal(await page.$eval('#query', (i) => i.classList.contains('invalid')), true);
  assert.equal((await app.calls('search')).length, before, 'no search for a query that does not parse');

  // A search word needs a letter or a digit: "jeu🎰" is one, and its emoji is one character
  // (two UTF-16 units), so the quote is at column 6.
  await page.fill('#query', 'jeu🎰 "unclosed');
  await page.waitForSelector('#query-error[data-column="6"]');
  assert.equal(await page.getAttribute('#query-error', 'data-column'), '6', 'columns count characters, not UTF-16 units');
  assert.equal(await page.textContent('.query-caret'), '"');

  await page.fill('#query', 'actor:k.morel');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#query-error', { state: 'hidden' });
  assert.equal(await page.$eval('#query', (i) => i.classList.contains('invalid')), false);
  await app.assertClean();
});
