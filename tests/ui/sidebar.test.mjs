// Facets, the timeline brush, saved searches and the live tail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, column, queryIs, rowsAre } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const query = (page) => page.inputValue('#query');

test('facets count the matches; click narrows to a value, Alt-click excludes it', async () => {
  const app = await openApp(browser, { config: { count: 1000 } });
  const { page } = app;
  await page.waitForSelector('.facet[data-field="actor"] .facet-value');
  const facets = await app.calls('facets');
  assert.ok(['actor', 'section', 'action'].every((f) => facets.some((c) => c.field === f && c.q === '' && c.limit === 8)));
  const top = await page.$eval('.facet[data-field="actor"] .facet-value', (b) => ({ value: b.dataset.value, count: b.querySelector('.facet-count').textContent }));
  await page.click('.facet[data-field="actor"] .facet-value >> nth=0');
  await queryIs(page, `actor:${top.value}`);
  await page.waitForFunction((n) => document.querySelector('.results-count').textContent === `${n} entries`, top.count);
  assert.deepEqual(new Set(await column(page, 'actor')), new Set([top.value]));

  await page.waitForFunction((v) => [...document.querySelectorAll('.facet[data-field="actor"] .facet-value')].length === 1, top.value);
  const section = await page.$eval('.facet[data-field="section"] .facet-value', (b) => b.dataset.value);
  await page.click('.facet[data-field="section"] .facet-value >> nth=0', { modifiers: ['Alt'] });
  await queryIs(page, `actor:${top.value} -section:${section}`);
  await page.waitForFunction((s) => ![...document.querySelectorAll('.facet[data-field="section"] .facet-value')].some((b) => b.dataset.value === s), section);
  await rowsAre(page, 'section', [section], { none: true });
  assert.ok(!(await column(page, 'section')).includes(section));
  await app.assertClean();
});

async function drag(page, fromFraction, toFraction) {
  const box = await page.$eval('#timeline .u-over', (o) => { const r = o.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
  const y = box.y + box.h / 2;
  await page.mouse.move(box.x + box.w * fromFraction, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * toFraction, y, { steps: 6 });
  await page.mouse.up();
}

test('dragging across the timeline narrows the range; double-click zooms back out', async () => {
  const app = await openApp(browser, { config: { count: 3000 } });
  const { page } = app;
  await page.waitForSelector('#timeline .u-over');
  const total = await page.textContent('.results-count');
  const colours = await page.$eval('#timeline canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let red = 0;
    let blue = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] > 180 && d[i + 1] < 80 && d[i + 2] < 80) red++;
      else if (d[i + 2] > 170 && d[i] < 170 && d[i + 1] > 140) blue++;
    }
    return { red, blue };
  });
  assert.ok(colours.red > 50 && colours.blue > 500, `critical entries drawn in red over the blue counts (${JSON.stringify(colours)})`);
  await drag(page, 0.3, 0.6);
  await page.waitForFunction(() => /^after:\S+ before:\S+$/.test(document.getElementById('query').value));
  const first = await query(page);
  const [, after1, before1] = /^after:(\S+) before:(\S+)$/.exec(first);
  assert.match(after1, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/, 'local wall-clock minutes');
  assert.ok(after1 < before1);
  const span = Date.parse(before1) - Date.parse(after1);
  const full = await page.evaluate(() => {
    const t = window.__fake.events.map((e) => Date.parse(e.occurred_at));
    return Math.max(...t) - Math.min(...t);
  });
  assert.ok(span > full * 0.2 && span < full * 0.45, `about 30% of the range (${span} of ${full})`);
  await page.waitForFunction((t) => document.querySelector('.results-count').textContent !== t, total);
  const times = await column(page, 'time');
  assert.ok(times.every((t) => t.replace(' ', 'T') >= after1 && t.replace(' ', 'T') < before1), 'rows inside the brushed range');

  await drag(page, 0.4, 0.5);
  await page.waitForFunction((q) => document.getElementById('query').value !== q, first);
  assert.match(await query(page), /^after:\S+ before:\S+$/);
  await page.dblclick('#timeline .u-over');
  await queryIs(page, first);
  await page.dblclick('#timeline .u-over');
  await queryIs(page, '');
  await page.waitForFunction((t) => document.querySelector('.results-count').textContent === t, total);
  await app.assertClean();
});

test('saved searches run, save and delete', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.waitForSelector('.saved-run');
  assert.deepEqual(await page.$$eval('.saved-run', (b) => b.map((x) => x.textContent)), ['Critical finance', 'Denied access']);
  await page.click('.saved-run >> text=Denied access');
  await queryIs(page, 'outcome:denied');
  await page.waitForFunction(() => window.__fake.answeredOf('search').at(-1)?.q === 'outcome:denied');
  assert.equal(await page.inputValue('label[data-key="outcome"] select'), 'denied');

  await page.fill('#query', 'actor:batch-bot -outcome:success');
  await page.press('#query', 'Enter');
  await page.click('.save-open');
  assert.equal(await page.textContent('.save-preview'), 'actor:batch-bot -outcome:success');
  await page.fill('.save-name', 'Bot «échecs» 🤖');
  await page.press('.save-name', 'Enter');
  await page.waitForSelector('.saved-run >> text=Bot «échecs» 🤖');
  assert.deepEqual((await app.calls('save_search')).at(-1), { name: 'Bot «échecs» 🤖', q: 'actor:batch-bot -outcome:success' });
  assert.equal(await page.isVisible('.save-form'), false);

  await page.hover('.saved-item:has-text("Critical finance")');
  await page.click('.saved-item:has-text("Critical finance") .saved-delete');
  await page.waitForFunction(() => ![...document.querySelectorAll('.saved-run')].some((b) => b.textContent === 'Critical finance'));
  assert.deepEqual((await app.calls('delete_search')).at(-1), { name: 'Critical finance' });
  assert.deepEqual(await page.$$eval('.saved-run', (b) => b.map((x) => x.textContent)), ['Bot «échecs» 🤖', 'Denied access']);
  await app.assertClean();
});

test('live: new entries are counted, not inserted; "show" reloads; a new query restarts the tail', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.click('.live-toggle');
  await page.waitForFunction(() => document.querySelector('.live-state').textContent === '● live');
  assert.equal(await page.getAttribute('.live-toggle', 'aria-pressed'), 'true');
  assert.deepEqual(await page.evaluate(() => window.__fake.live()), { q: '' });
  const firstRow = await page.getAttribute('.table-rows .row[data-index="0"]', 'data-index');
  const firstTime = await page.textContent('.table-rows .row[data-index="0"] .c-time');
  const searches = (await app.calls('search')).length;

  await page.evaluate(() => window.__fake.pushLive(3));
  await page.waitForSelector('.live-counter:not([hidden])');
  assert.equal(await page.textContent('.live-counter'), '3 new entries — show');
  assert.equal(await page.textContent('.table-rows .row[data-index="0"] .c-time'), firstTime, 'nothing moved under the reader');
  assert.equal(firstRow, '0');
  assert.equal((await app.calls('search')).length, searches);
  await page.click('.live-counter');
  await page.waitForSelector('.live-counter', { state: 'hidden' });
  await page.waitForFunction((n) => window.__fake.callsOf('search').length > n, searches);

  await page.fill('#query', 'severity:critical');
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => window.__fake.live()?.q === 'severity:critical');
  assert.ok((await app.calls('live_stop')).length >= 1, 'the old tail was stopped');
  await page.waitForFunction(() => document.querySelector('.live-state').textContent === '● live');

  await page.evaluate(() => window.__fake.liveError('the server closed the stream'));
  await page.waitForSelector('.live-state.error');
  assert.equal(await page.textContent('.live-state'), 'Live: the server closed the stream');

  await page.click('.live-toggle');
  await page.waitForFunction(() => window.__fake.live() === null);
  assert.equal(await page.getAttribute('.live-toggle', 'aria-pressed'), 'false');

  await page.click('.live-toggle');
  await page.waitForFunction(() => window.__fake.live() !== null);
  await page.evaluate(() => { window.__fake.expire(null); window.__fake.liveError('Your session expired; sign in again.', 'signed_out'); });
  await page.waitForSelector('#signin-screen:not([hidden])');
  assert.equal(await page.textContent('#signin-reason'), 'Your session expired; sign in again.');
  await app.assertClean();
});
