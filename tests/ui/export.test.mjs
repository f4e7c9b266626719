// Export…: the dialog (what is exported, format, BOM), the native save dialog answered or closed,
// progress from the channel, cancel, errors and retry, the 0-row file, and the toolbar button
// waiting for a valid query and for the running export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const SHA = '3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b';

/** Runs `q` from the query bar and waits for its count. */
async function searchFor(page, q) {
  await page.fill('#query', q);
  await page.press('#query', 'Enter');
  await page.waitForFunction((text) => window.__fake.answeredOf('timeline').at(-1)?.q === text
    && window.__fake.answeredOf('search').at(-1)?.q === text, q);
  await page.waitForFunction(() => !/Counting/.test(document.querySelector('.results-count').textContent));
}

async function openDialog(page) {
  await page.click('.results-bar .export-open');
  await page.waitForSelector('.export-dialog[open]');
}

const text = (page, selector) => page.textContent(selector).then((t) => t.replace(/\s+/g, ' ').trim());
const disabled = (page, selector) => page.$eval(selector, (n) => n.disabled);
const visible = (page, selector) => page.isVisible(selector);
const progressIs = (page, t) => page.waitForFunction((want) => document.querySelector('.export-progress-text')?.textContent === want, t);
const outcomeIs = (page, t) => page.waitForFunction((want) => document.querySelector('.export-outcome')?.textContent.replace(/\s+/g, ' ').trim().startsWith(want), t);
const formatRadio = (f) => `.export-dialog input[name="export-format"][value="${f}"]`;

test('the dialog says what it exports, takes the focus, and Esc or Close closes it', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '401 entries');
  assert.equal(await text(page, '.results-bar .export-open'), 'Export…');
  await openDialog(page);
  const dialog = await page.$eval('.export-dialog', (d) => ({
    role: d.getAttribute('role'), modal: d.getAttribute('aria-modal'),
    label: document.getElementById(d.getAttribute('aria-labelledby'))?.textContent,
    focusInside: d.contains(document.activeElement),
  }));
  assert.deepEqual(dialog, { role: 'dialog', modal: 'true', label: 'Export the search', focusInside: true });
  assert.equal(await text(page, '.export-query'), 'every entry');
  assert.equal(await text(page, '.export-count'), '401 entries', 'the count the results show');
  const labels = await page.$$eval('.export-choice', (ls) => ls.map((l) => l.textContent.trim()));
  assert.deepEqual(labels, ['CSV', 'Excel (XLSX)', 'JSON', 'NDJSON']);
  assert.equal(await page.isChecked(formatRadio('csv')), true, 'CSV preselected');
  assert.equal(await text(page, '.export-bom'), 'Add a byte-order mark so Excel shows accents correctly');
  assert.equal(await page.isChecked('.export-bom input'), true);
  assert.equal(await visible(page, '.export-progress'), false);
  assert.equal(await visible(page, '.export-cancel'), false);

  // The table's keys stay out while the dialog is up, and Esc closes only the dialog.
  await page.keyboard.press('Escape');
  await page.waitForSelector('.export-dialog', { state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('export-open')), true, 'the focus goes back to Export…');

  await page.dblclick('.table-rows .row[data-index="0"] .c-time');
  await page.waitForSelector('#detail:not([hidden]) .fields');
  await searchFor(page, 'section:finance');
  await openDialog(page);
  assert.equal(await text(page, '.export-query'), 'section:finance');
  assert.equal(await text(page, '.export-count'), await text(page, '.results-count'));
  await page.focus('.export-close');
  await page.keyboard.press('j');
  await page.keyboard.press('Escape');
  await page.waitForSelector('.export-dialog', { state: 'hidden' });
  assert.equal(await visible(page, '#detail'), true, 'Esc closed the dialog, not the detail');
  assert.equal(await page.$$eval('.table-rows .row[aria-selected="true"]', (r) => r.length), 0, 'j did not move the selection behind the dialog');
  await openDialog(page);
  await page.click('.export-close');
  await page.waitForSelector('.export-dialog', { state: 'hidden' });

  // Text typed in the bar but not searched: the dialog says the search on screen is exported.
  await page.fill('#query', 'section:bonuses');
  await openDialog(page);
  assert.equal(await text(page, '.export-query'), 'section:finance');
  assert.equal(await visible(page, '.export-edited'), true);
  await app.assertClean();
});

test('an export shows its progress from the channel, then the file, its About and the digest', async () => {
  const app = await openApp(browser, { config: { export: { path: '/home/ana/x.csv', progress: [{ rows: 0, total: 1000000 }], hold: true } } });
  const { page } = app;
  await searchFor(page, 'severity:critical');
  await openDialog(page);
  await page.click('.export-start');
  await progressIs(page, '0 of 1,000,000 entries (0%)');
  assert.deepEqual(await app.calls('export_pick'), [{ format: 'csv' }]);
  const [start] = await app.calls('export_start');
  assert.deepEqual(start, { request: { q: 'severity:critical', format: 'csv', path: '/home/ana/x.csv', bom: true }, onProgress: '[Channel]' });
  assert.equal(await visible(page, '.export-cancel'), true);
  assert.equal(await disabled(page, '.export-format'), true, 'the format controls wait for the export');
  assert.equal(await disabled(page, '.export-start'), true);
  assert.equal(await disabled(page, '.export-close'), true);
  assert.equal(await disabled(page, '.results-bar .export-open'), true);

  await page.evaluate(() => window.__fake.exportProgress(12345, 1000000));
  await progressIs(page, '12,345 of 1,000,000 entries (1%)');
  assert.deepEqual(await page.$eval('.export-bar', (b) => [b.value, b.max]), [12345, 1000000]);
  await page.evaluate(() => window.__fake.exportProgress(500000, 1000000));
  await progressIs(page, '500,000 of 1,000,000 entries (50%)');
  assert.deepEqual(await page.$eval('.export-bar', (b) => [b.value, b.max]), [500000, 1000000]);
  await page.evaluate(() => window.__fake.exportProgress(1000000, 1000000));
  await progressIs(page, '1,000,000 of 1,000,000 entries (100%)');

  await page.evaluate(() => window.__fake.exportFinish({ rows: 1000000 }));
  await outcomeIs(page, 'Saved 1,000,000 entries to /home/ana/x.csv');
  assert.equal(await text(page, '.export-saved'), 'Saved 1,000,000 entries to /home/ana/x.csv');
  assert.equal(await text(page, '.export-about'), 'About: /home/ana/x.csv.about.json');
  assert.equal(await text(page, '.export-sha'), SHA);
  assert.equal(await page.$eval('.export-sha', (n) => getComputedStyle(n).fontFamily.includes('monospace')), true);
  assert.equal(await visible(page, '.export-progress'), false);
  assert.equal(await visible(page, '.export-cancel'), false);
  await page.click('.export-digest button[data-copy="SHA-256"]');
  await page.waitForFunction(() => document.querySelector('.export-digest button.copy').textContent === 'Copied');
  assert.deepEqual(await page.evaluate(() => window.__copied), [SHA]);

  // Done: the controls come back, the dialog can close, Export… works again.
  assert.equal(await disabled(page, '.export-format'), false);
  assert.equal(await disabled(page, '.export-start'), false);
  assert.equal(await disabled(page, '.results-bar .export-open'), false);
  await page.click('.export-close');
  await page.waitForSelector('.export-dialog', { state: 'hidden' });
  await openDialog(page);
  assert.equal(await text(page, '.export-outcome'), '', 'a new opening starts afresh');
  await app.assertClean();
});

test('CSV sends a BOM unless unticked; XLSX hides the box and sends none', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await searchFor(page, 'section:bonuses');
  const count = Number((await text(page, '.results-count')).replace(/\D/g, ''));
  await openDialog(page);
  const exportOnce = async (n) => {
    await page.click('.export-start');
    await page.waitForFunction((k) => window.__fake.callsOf('export_start').length === k && !window.__fake.exporting()
      && document.querySelector('.export-saved'), n);
    return (await app.calls('export_start')).at(-1).request;
  };

  let request = await exportOnce(1);
  assert.deepEqual(request, { q: 'section:bonuses', format: 'csv', path: '/home/k.morel/vigil-export-20261120-0410.csv', bom: true });
  assert.equal(await text(page, '.export-saved'), `Saved ${count} entries to /home/k.morel/vigil-export-20261120-0410.csv`);

  await page.uncheck('.export-bom input');
  request = await exportOnce(2);
  assert.equal(request.format, 'csv');
  assert.equal(request.bom, false);

  await page.check(formatRadio('xlsx'));
  assert.equal(await visible(page, '.export-bom'), false, 'no BOM choice for a workbook');
  await page.$eval('.export-bom input', (box) => { box.checked = true; }); // ticked, but not for XLSX
  request = await exportOnce(3);
  assert.deepEqual(request, { q: 'section:bonuses', format: 'xlsx', path: '/home/k.morel/vigil-export-20261120-0410.xlsx', bom: false });
  assert.deepEqual((await app.calls('export_pick')).map((c) => c.format), ['csv', 'csv', 'xlsx']);
  assert.equal(await visible(page, '.export-about'), false, 'an XLSX file has its About inside');

  for (const f of ['json', 'ndjson']) {
    await page.check(formatRadio(f));
    assert.equal(await visible(page, '.export-bom'), false);
    request = await exportOnce(f === 'json' ? 4 : 5);
    assert.equal(request.format, f);
    assert.equal(request.bom, false);
  }
  assert.equal(await text(page, '.export-about'), 'About: /home/k.morel/vigil-export-20261120-0410.ndjson.about.json');
  await page.check(formatRadio('csv'));
  assert.equal(await visible(page, '.export-bom'), true);
  await app.assertClean();
});

test('closing the save dialog starts no export', async () => {
  const app = await openApp(browser, { config: { export: { path: null } } });
  const { page } = app;
  await openDialog(page);
  await page.check(formatRadio('json'));
  await page.click('.export-start');
  await page.waitForFunction(() => window.__fake.callsOf('export_pick').length === 1 && !document.querySelector('.export-start').disabled);
  assert.deepEqual(await app.calls('export_pick'), [{ format: 'json' }]);
  assert.deepEqual(await app.calls('export_start'), []);
  assert.equal(await visible(page, '.export-dialog'), true, 'the dialog stays');
  assert.equal(await visible(page, '.export-progress'), false);
  assert.equal(await text(page, '.export-outcome'), '');
  assert.equal(await page.isChecked(formatRadio('json')), true);
  assert.equal(await disabled(page, '.results-bar .export-open'), false);
  await app.assertClean();
});

test('Cancel stops the export and says nothing was written; Esc waits for it', async () => {
  const app = await openApp(browser, { config: { export: { path: '/home/ana/big.ndjson', progress: [{ rows: 0, total: 401 }, { rows: 120, total: 401 }], hold: true } } });
  const { page } = app;
  await openDialog(page);
  await page.check(formatRadio('ndjson'));
  await page.click('.export-start');
  await progressIs(page, '120 of 401 entries (29%)');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('export-cancel')), true, 'the focus is on Cancel');
  // Esc (twice: browsers let a second one through unasked) does not close a running export.
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  assert.equal(await visible(page, '.export-dialog'), true);
  assert.ok(await page.evaluate(() => window.__fake.exporting()), 'still exporting');

  await page.click('.export-cancel');
  await outcomeIs(page, 'Export cancelled. Nothing was written.');
  assert.equal(await text(page, '.export-outcome'), 'Export cancelled. Nothing was written.');
  assert.equal(await visible(page, '.export-error'), false, 'a cancel is not an error');
  assert.deepEqual(await app.calls('export_cancel'), [{}]);
  assert.equal(await page.evaluate(() => window.__fake.exporting()), null);
  assert.equal(await visible(page, '.export-progress'), false);
  assert.equal(await visible(page, '.export-cancel'), false);
  assert.equal(await disabled(page, '.export-start'), false);
  assert.equal(await disabled(page, '.results-bar .export-open'), false);
  await page.keyboard.press('Escape');
  await page.waitForSelector('.export-dialog', { state: 'hidden' });
  await app.assertClean();
});

test('a failed export shows its message and the user can try again', async () => {
  const message = 'The export could not be written: /media/usb/x.csv: No space left on device (os error 28). Nothing was left under that name.';
  const app = await openApp(browser, {
    config: { export: { path: '/media/usb/x.csv', progress: [{ rows: 0, total: 401 }, { rows: 200, total: 401 }], error: { code: 'local', message } } },
  });
  const { page } = app;
  await openDialog(page);
  await page.click('.export-start');
  await outcomeIs(page, message);
  assert.equal(await text(page, '.export-error'), message);
  assert.equal(await page.$eval('.export-error', (n) => getComputedStyle(n).color), 'rgb(198, 40, 40)', 'in the error colour');
  assert.equal(await visible(page, '.export-progress'), false);
  assert.equal(await disabled(page, '.export-start'), false);
  assert.equal(await disabled(page, '.export-format'), false);

  await page.evaluate(() => window.__fake.exportWith({ path: '/home/ana/x.csv' }));
  await page.click('.export-start');
  await outcomeIs(page, 'Saved 401 entries to /home/ana/x.csv');
  assert.equal(await visible(page, '.export-error'), false, 'the old error is gone');
  assert.equal((await app.calls('export_start')).length, 2);

  // Other codes show their message the same way (here: the picker refused).
  await page.evaluate(() => window.__fake.fail('export_pick', { code: 'invalid', message: 'An export is already running: wait for it or cancel it.' }));
  await page.click('.export-start');
  await outcomeIs(page, 'An export is already running: wait for it or cancel it.');
  assert.equal((await app.calls('export_start')).length, 2);
  await app.assertClean();
});

test('Export… waits for a valid query and for the running export', async () => {
  const app = await openApp(browser, { config: { export: { hold: true } } });
  const { page } = app;
  const button = '.results-bar .export-open';
  assert.equal(await disabled(page, button), false);
  await page.fill('#query', 'actor:k.morel "unclosed');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#query.invalid');
  assert.equal(await disabled(page, button), true, 'disabled while the query does not parse');
  await page.fill('#query', 'actor:k.morel');
  await page.press('#query', 'Enter');
  await page.waitForFunction((b) => !document.querySelector(b).disabled, button);
  // Typing alone marks the query once it pauses.
  await page.fill('#query', 'actor:k.morel -');
  await page.waitForFunction((b) => document.querySelector(b).disabled, button);
  await page.fill('#query', 'actor:k.morel');
  await page.waitForFunction((b) => !document.querySelector(b).disabled, button);

  await openDialog(page);
  await page.click('.export-start');
  await page.waitForFunction(() => window.__fake.exporting());
  assert.equal(await disabled(page, button), true, 'disabled while exporting');
  assert.equal(await disabled(page, '.export-start'), true);
  await page.evaluate(() => window.__fake.exportFinish());
  await page.waitForSelector('.export-saved');
  assert.equal(await disabled(page, button), false);
  assert.equal((await app.calls('export_start'))[0].request.q, 'actor:k.morel');
  await app.assertClean();
});

test('no match: the file says "No activity"', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await searchFor(page, 'actor:nobody');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '0 entries');
  await openDialog(page);
  assert.equal(await text(page, '.export-count'), '0 entries');
  await page.click('.export-start');
  await outcomeIs(page, 'No entries matched: the file says “No activity”.');
  assert.equal(await text(page, '.export-saved'), 'No entries matched: the file says “No activity”.');
  assert.equal(await text(page, '.export-file'), 'Saved to /home/k.morel/vigil-export-20261120-0410.csv');
  assert.deepEqual((await app.calls('export_start'))[0].request, { q: 'actor:nobody', format: 'csv', path: '/home/k.morel/vigil-export-20261120-0410.csv', bom: true });
  await app.assertClean();
});

test('at the smallest window the toolbar keeps its layout and the dialog fits', async () => {
  const app = await openApp(browser, { viewport: { width: 960, height: 600 } });
  const { page } = app;
  await page.click('.live-toggle');
  const bar = await page.$eval('.results-bar', (b) => ({ fits: b.scrollWidth <= b.clientWidth, height: b.getBoundingClientRect().height }));
  assert.ok(bar.fits, 'the results bar does not overflow');
  assert.ok(bar.height < 34, `the results bar stays one line (${bar.height}px)`);
  await page.click('.live-toggle');
  await searchFor(page, `actor:k.morel ${'"a long phrase of words" '.repeat(8).trim()}`);
  await openDialog(page);
  await page.click('.export-start');
  await page.waitForSelector('.export-saved');
  const box = await page.$eval('.export-dialog', (d) => {
    const r = d.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, scrolls: d.scrollWidth > d.clientWidth };
  });
  assert.ok(box.left >= 0 && box.top >= 0 && box.right <= 960 && box.bottom <= 600, JSON.stringify(box));
  assert.equal(box.scrolls, false, 'nothing runs out of the dialog sideways');
  await app.assertClean();
});
