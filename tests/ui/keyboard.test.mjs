// Keyboard: `/` focuses the query, j/k move the selection (and keep it in view), Enter opens the
// detail, Esc closes it; letters typed in a field stay in the field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const selected = (page) => page.getAttribute('.table-rows .row[aria-selected="true"]', 'data-index');

test('j/k select, Enter opens the detail, Esc closes it, / focuses the query', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.click('.results-count');
  await page.keyboard.press('j');
  assert.equal(await selected(page), '0');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  assert.equal(await selected(page), '1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#detail:not([hidden]) .fields');
  const time = await page.textContent('.table-rows .row[data-index="1"] .c-time');
  assert.ok((await page.textContent('#detail dd[data-field="occurred"] .time-local')).startsWith(time));
  await page.keyboard.press('j');
  await page.waitForFunction(() => document.querySelector('#detail dd[data-field="occurred"] .time-local').textContent
    .startsWith(document.querySelector('.table-rows .row[data-index="2"] .c-time').textContent));
  await page.keyboard.press('Escape');
  await page.waitForSelector('#detail', { state: 'hidden' });

  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'query');
  await page.keyboard.type('jk');
  assert.equal(await page.inputValue('#query'), 'jk', 'j and k typed in the query stay there');
  assert.equal(await selected(page), '2');
  await app.assertClean();
});

test('j keeps the selection in view as it walks down', async () => {
  const app = await openApp(browser, { viewport: { width: 1280, height: 640 } });
  const { page } = app;
  await page.click('.results-count');
  for (let i = 0; i < 40; i++) await page.keyboard.press('j');
  assert.equal(await selected(page), '39');
  const inView = await page.evaluate(() => {
    const body = document.querySelector('.table-body').getBoundingClientRect();
    const head = document.querySelector('.table-head').getBoundingClientRect();
    const row = document.querySelector('.table-rows .row[aria-selected="true"]').getBoundingClientRect();
    return row.top >= head.bottom - 1 && row.bottom <= body.bottom + 1;
  });
  assert.ok(inView, 'the selected row is fully visible below the header');
  for (let i = 0; i < 39; i++) await page.keyboard.press('k');
  assert.equal(await selected(page), '0');
  assert.equal(await page.$eval('.table-body', (b) => b.scrollTop), 0);
  await app.assertClean();
});
