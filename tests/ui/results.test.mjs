// The results table: count, order, row classes, virtualization over 100k matches with paging on
// scroll, the empty state, and pivots from the cells.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, column, queryIs, rowsAre } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const count = (page) => page.textContent('.results-count');

test('rows come newest first with the count of matches; critical and denied rows stand out', async () => {
  const app = await openApp(browser, { config: { count: 400 } });
  const { page } = app;
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '401 entries');
  const times = await column(page, 'time');
  assert.equal(times[0], '2026-11-20 04:12:08', 'the newest entry first, in local time with seconds');
  assert.deepEqual([...times].sort().reverse(), times);
  const rows = await page.$$eval('.table-rows .row:not([hidden])', (rs) => rs.map((r) => ({ cls: r.className, sev: r.querySelector('.c-severity').textContent, out: r.querySelector('.c-outcome').textContent })));
  assert.ok(rows.some((r) => r.sev === 'critical'));
  for (const r of rows) {
    assert.equal(r.cls.includes('sev-critical'), r.sev === 'critical', `${r.cls} for ${r.sev}`);
    assert.equal(r.cls.includes('out-denied'), r.out === 'denied', `${r.cls} for ${r.out}`);
  }
  await page.fill('#query', 'outcome:denied');
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => [...document.querySelectorAll('.table-rows .row:not([hidden])')].every((r) => r.classList.contains('out-denied')));
  const bg = await page.$eval('.table-rows .row.out-denied', (r) => getComputedStyle(r).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'denied rows have their own background');
  const title = await page.$eval('.table-rows .row .c-time', (c) => c.title);
  assert.match(title, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6} UTC$/, 'UTC on hover');
  await app.assertClean();
});

test('100k matches keep a bounded DOM and load pages as the table scrolls', async () => {
  const app = await openApp(browser, { config: { count: 100000 } });
  const { page } = app;
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '100,001 entries');
  const dom = () => page.$$eval('.table-rows .row', (rs) => rs.length);
  assert.ok(await dom() < 80, `only the rows in view are in the DOM (${await dom()})`);
  const spacer = await page.$eval('.table-spacer', (s) => s.getBoundingClientRect().height);
  assert.equal(spacer, 100001 * 24, 'the scroll height covers every match');
  const first = await app.calls('search');
  assert.equal(first.length, 1);
  assert.equal(first[0].cursor, undefined);

  await page.$eval('.table-body', (b) => { b.scrollTop = b.scrollHeight; });
  await page.waitForFunction(() => document.querySelector('.table-body').scrollTop > 0);
  await page.$eval('.table-body', (b) => { b.scrollTop = 5000 * 24; });
  await page.waitForFunction(() => {
    const row = document.querySelector('.table-rows .row[data-index="5010"]');
    return row && !row.classList.contains('placeholder');
  });
  const calls = await app.calls('search');
  assert.ok(calls.length > 2, 'more pages were fetched');
  assert.ok(calls.slice(1).every((c) => c.cursor && c.q === '' && c.order === 'newest' && c.limit <= 1000));
  assert.ok(await dom() < 80, `still bounded after scrolling (${await dom()})`);
  const ids = await page.$$eval('.table-rows .row:not([hidden])', (rs) => rs.map((r) => Number(r.dataset.index)));
  assert.deepEqual(ids, ids.map((_, i) => ids[0] + i), 'rows in order, no gaps');
  await app.assertClean();
});

test('a query with no match says so', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.fill('#query', 'actor:nobody');
  await page.press('#query', 'Enter');
  await page.waitForSelector('.table-empty:not([hidden])');
  assert.equal(await page.textContent('.table-empty'), 'No entries match');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '0 entries');
  assert.equal(await page.$$eval('.table-rows .row:not([hidden])', (r) => r.length), 0);
  assert.equal(await page.textContent('.timeline-caption'), 'No entries in this range.');
  await app.assertClean();
});

test('actor, section, target and IP cells are pivots', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.click('.table-rows .row[data-index="0"] .c-target .pivot');
  await queryIs(page, 'target:player/312284');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '1 entry');
  await page.click('.table-rows .row[data-index="0"] .c-actor .pivot');
  await queryIs(page, 'actor:k.morel');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent !== '1 entry');
  const section = await page.textContent('.table-rows .row[data-index="0"] .c-section .pivot');
  await page.click('.table-rows .row[data-index="0"] .c-section .pivot', { modifiers: ['Alt'] });
  await queryIs(page, `actor:k.morel -section:${section}`);
  await page.waitForFunction((s) => {
    const cells = [...document.querySelectorAll('.table-rows .row:not([hidden]):not(.placeholder) .c-section')];
    return cells.length > 0 && cells.every((c) => c.textContent !== s);
  }, section);
  const ip = await page.textContent('.table-rows .row:not([hidden]) .c-ip .pivot:not([hidden])');
  await page.click(`.table-rows .row:not([hidden]) .c-ip .pivot:not([hidden]) >> nth=0`, { modifiers: ['Shift'] });
  await queryIs(page, `actor:k.morel -section:${section} ip:${ip}`);
  await rowsAre(page, 'ip', [ip]);
  assert.deepEqual(new Set(await column(page, 'ip')), new Set([ip]));
  await app.assertClean();
});

test('an unreachable server leaves the last results on screen and says so', async () => {
  const app = await openApp(browser);
  const { page } = app;
  const before = await page.$$eval('.table-rows .row:not([hidden]) .c-time', (c) => c.map((x) => x.textContent));
  await page.evaluate(() => window.__fake.fail('search', { code: 'unreachable', message: 'no answer from https://vigil.casino.example (timed out)' }));
  await page.fill('#query', 'severity:critical');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#status:not([hidden])');
  assert.equal(await page.textContent('#status .status-text'),
    'Cannot reach the server — the results on screen are the last ones loaded. no answer from https://vigil.casino.example (timed out)');
  const now = await page.$$eval('.table-rows .row:not([hidden]) .c-time', (c) => c.map((x) => x.textContent));
  assert.ok(now.length > 10);
  assert.deepEqual(now, before.slice(0, now.length), 'the same rows (the status line takes a row\'s height)');
  assert.equal(await page.isVisible('.table-empty'), false);
  await page.press('#query', 'Enter');
  await page.waitForSelector('#status', { state: 'hidden' });
  await page.waitForFunction(() => [...document.querySelectorAll('.table-rows .row:not([hidden]) .c-severity')].every((c) => c.textContent === 'critical'));
  await app.assertClean();
});

test('while the store indexes its journal the bar says how far it got instead of a count, then searches again', async () => {
  const building = { indexed: 412000, journal: 1000000, behind_entries: 588000, behind_ms: 95000, rebuilding: true };
  const app = await openApp(browser, { config: { count: 200, freshness: building, indexProgress: { indexed: 412000, journal: 1000000 } } });
  const { page } = app;
  await page.waitForSelector('.results-indexing:not([hidden])');
  assert.equal(await page.textContent('.results-indexing .indexing-text'), 'Indexing: 412,000 of 1,000,000');
  assert.deepEqual(await page.$eval('.indexing-bar', (p) => [p.value, p.max]), [412000, 1000000]);
  assert.equal(await page.isHidden('.results-count'), true, 'no count while it would be wrong');
  assert.match(await page.getAttribute('.results-indexing', 'title'), /the newest 588,000 entries will be found once indexing is done/);

  // The console follows the progress without searching again (a search is journaled).
  const searches = (await app.calls('search')).length;
  await page.evaluate(() => window.__fake.setIndexProgress({ indexed: 700000, journal: 1000000 }));
  await page.waitForFunction(() => document.querySelector('.results-indexing .indexing-text').textContent === 'Indexing: 700,000 of 1,000,000');
  assert.equal((await app.calls('search')).length, searches);

  // Done: the search runs again and the count is back.
  await page.evaluate(() => {
    window.__fake.setFreshness({ indexed: 1000000, journal: 1000000, behind_entries: 0, behind_ms: 0, rebuilding: false });
    window.__fake.setIndexProgress({ indexed: 1000000, journal: 1000000 });
  });
  await page.waitForSelector('.results-indexing', { state: 'hidden' });
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '201 entries');
  assert.ok((await app.calls('search')).length > searches, 'searched again once indexed');
  await app.assertClean();
});

test('an answer a few entries behind the journal shows the count as usual', async () => {
  const app = await openApp(browser, { config: { count: 100, freshness: { indexed: 90, journal: 101, behind_entries: 11, behind_ms: 300, rebuilding: false } } });
  const { page } = app;
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '101 entries');
  assert.equal(await page.isHidden('.results-indexing'), true);
  assert.deepEqual(await app.calls('index_progress'), []);
  await app.assertClean();
});

test('while the store answers 503 because its index is far behind, the bar follows the progress, then the search runs', async () => {
  const REBUILDING = 'the search index is being rebuilt from the journal (412000 of 1000000 entries indexed); try again shortly';
  const app = await openApp(browser, { wait: false, config: { count: 50, unavailable: REBUILDING, indexProgress: { indexed: 412000, journal: 1000000 } } });
  const { page } = app;
  await page.waitForSelector('.results-indexing:not([hidden])');
  assert.equal(await page.textContent('.results-indexing .indexing-text'), 'Indexing: 412,000 of 1,000,000');
  assert.equal(await page.isHidden('#status'), true, 'no error while the index is being built');
  await page.evaluate(() => {
    window.__fake.setUnavailable(null);
    window.__fake.setIndexProgress({ indexed: 1000000, journal: 1000000 });
  });
  await page.waitForSelector('.results-indexing', { state: 'hidden' });
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '51 entries');
  assert.ok(await page.isVisible('.table-body .row:not(.placeholder)'));
  await app.assertClean();
});

test('a 503 from a store whose index is whole is shown as the error it is', async () => {
  const app = await openApp(browser, { wait: false, config: { count: 50, unavailable: 'this process opened the journal without its search index' } });
  const { page } = app;
  await page.waitForSelector('#status:not([hidden])');
  assert.match(await page.textContent('#status .status-text'), /opened the journal without its search index/);
  assert.equal(await page.isHidden('.results-indexing'), true);
});
