// Annotations in the detail pane: the thread (author, times, marks as coloured chips, comments
// byte-exact), the form (comment, mark toggles, Save), corrections that supersede, errors under
// the form without losing the text; the table's markers and the mark facet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, queryIs } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const SPECIAL_ID = '0193a5e2-7c1d-7000-8000-00000000beef';
const COMMENT = 'Remboursé "à la demande" — שלום "עולם" مرحبا 🎰👍\nligne 2: <script>alert(1)</script> =SUM(A1)\n\n  indented, with \'quotes\' and a tab\tend ';

async function openSpecial(page) {
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail:not([hidden]) .note-form');
  await page.waitForFunction(() => window.__fake.callsOf('event').length > 0);
}

const notes = (page) => page.$$eval('#detail .note-thread > .note', (items) => items.map((li) => ({
  cls: li.className,
  author: li.querySelector('.note-author').textContent,
  text: li.querySelector('.note-text')?.textContent ?? null,
  chips: [...li.querySelectorAll('.mark-chip')].map((c) => [c.textContent, c.title, getComputedStyle(c).backgroundColor]),
  state: li.querySelector('.note-pending, .note-received')?.textContent ?? null,
  corrected: li.querySelector('.note-corrected')?.textContent ?? null,
})));

test('an annotation with RTL text, emoji, quotes and newlines shows byte-exact in the thread, with its marks as chips', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(page);
  const seeded = await notes(page);
  assert.deepEqual(seeded.map((n) => [n.author, n.text]), [['s.levi', 'Granted at 04:12 by the VIP manager herself?'], ['m.dupont', null]]);
  assert.deepEqual(seeded[0].chips, [['suspicious', 'suspect', 'rgb(217, 130, 43)']], 'label_en shown, label_fr as title, the mark colour');
  assert.equal(await page.textContent('#detail .note-thread > .note:first-child .note-time'), '2026-11-20 07:01:00', 'written time in local time');
  assert.equal(await page.getAttribute('#detail .note-thread > .note:first-child .note-time', 'title'), '2026-11-20 06:01:00.000001 UTC', 'UTC as its tooltip');
  assert.match(seeded[0].state, /^received 2026-11-20 \d\d:\d\d:\d\d$/);

  assert.equal(await page.isDisabled('#detail .note-save'), true, 'nothing to save yet');
  await page.fill('#detail .note-input', '   ');
  assert.equal(await page.isDisabled('#detail .note-save'), true, 'spaces alone are no comment');
  await page.fill('#detail .note-input', COMMENT);
  assert.equal(await page.isDisabled('#detail .note-save'), false);
  await page.click('#detail .mark-toggle[data-mark="escalated"]');
  await page.click('#detail .mark-toggle[data-mark="suspicious"]');
  assert.equal(await page.getAttribute('#detail .mark-toggle[data-mark="escalated"]', 'aria-pressed'), 'true');
  await page.click('#detail .note-save');
  await page.waitForFunction(() => document.querySelectorAll('#detail .note-thread > .note').length === 3);

  assert.deepEqual((await app.calls('annotate')).at(-1), { id: SPECIAL_ID, comment: COMMENT, marks: ['suspicious', 'escalated'] });
  const added = (await notes(page))[2];
  assert.equal(added.author, 'k.morel');
  assert.equal(added.text, COMMENT, 'the comment byte-exact, newlines and spaces kept');
  assert.deepEqual(added.chips, [['suspicious', 'suspect', 'rgb(217, 130, 43)'], ['escalated', 'escaladé', 'rgb(194, 59, 59)']]);
  await page.waitForFunction(() => document.querySelector('#detail .note-thread > .note:last-child .note-received'));
  assert.equal(await page.$eval('#detail .note-thread > .note:last-child .note-text', (n) => getComputedStyle(n).whiteSpace), 'pre-wrap');
  assert.equal(await page.$eval('#detail .note-thread > .note:last-child .note-text', (n) => n.getAttribute('dir')), 'auto');
  assert.deepEqual((await page.evaluate((id) => window.__fake.annotationsOf(id), SPECIAL_ID)).at(-1).comment, COMMENT, 'stored as typed');

  assert.equal(await page.inputValue('#detail .note-input'), '', 'the form clears');
  assert.equal(await page.$$eval('#detail .mark-toggle[aria-pressed="true"]', (b) => b.length), 0);
  assert.equal(await page.isDisabled('#detail .note-save'), true);
  assert.equal(await page.evaluate(() => document.querySelectorAll('#detail script, #detail b').length), 0, 'no markup from the comment');
  await app.assertClean();
});

test('annotated rows carry mark dots and a comment bubble without leaving the 24 px rows', async () => {
  const app = await openApp(browser);
  const { page } = app;
  const cell = (i) => `.table-rows .row[data-index="${i}"] .c-notes`;
  await page.waitForFunction((c) => document.querySelector(c)?.dataset.marks === 'reviewed,suspicious', cell(0));
  const first = await page.$eval(cell(0), (c) => ({
    dots: [...c.querySelectorAll('.note-dot:not([hidden])')].map((d) => getComputedStyle(d).backgroundColor),
    bubble: !c.querySelector('.note-bubble').hidden,
    title: c.title,
  }));
  assert.deepEqual(first, { dots: ['rgb(46, 158, 91)', 'rgb(217, 130, 43)'], bubble: true, title: 'reviewed, suspicious · 1 comment' });
  assert.equal(await page.$eval(cell(3), (c) => c.querySelector('.note-bubble').hidden), true, 'marks without a comment: no bubble');
  assert.equal(await page.$eval(cell(3), (c) => c.dataset.marks), 'player-request');
  assert.equal(await page.$eval(cell(2), (c) => c.querySelectorAll('.note-dot:not([hidden])').length), 0, 'nothing on entries without annotations');
  const heights = await page.$$eval('.table-rows .row:not([hidden])', (rows) => [...new Set(rows.map((r) => r.getBoundingClientRect().height))]);
  assert.deepEqual(heights, [24]);
  await app.assertClean();
});

test('Correct supersedes an annotation: the old one stays, struck through, "corrected by …"', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(page);
  const [first] = await page.evaluate((id) => window.__fake.annotationsOf(id), SPECIAL_ID);
  await page.click('#detail .note-thread > .note:first-child .note-correct');
  assert.equal(await page.textContent('#detail .note-correcting'), 'Correcting the annotation of s.levi Cancel');
  assert.equal(await page.inputValue('#detail .note-input'), first.comment, 'the form starts from what it said');
  assert.equal(await page.getAttribute('#detail .mark-toggle[data-mark="suspicious"]', 'aria-pressed'), 'true');
  assert.equal(await page.textContent('#detail .note-save'), 'Save correction');
  await page.click('#detail .note-correct-cancel');
  assert.equal(await page.isHidden('#detail .note-correcting'), true);
  assert.equal(await page.textContent('#detail .note-save'), 'Save');

  await page.fill('#detail .note-input', '');
  await page.click('#detail .mark-toggle[data-mark="suspicious"]');
  await page.click('#detail .note-thread > .note:first-child .note-correct');
  await page.fill('#detail .note-input', 'Not odd after all: the VIP desk confirmed ticket 4411.');
  await page.click('#detail .mark-toggle[data-mark="suspicious"]');
  await page.click('#detail .mark-toggle[data-mark="reviewed"]');
  await page.click('#detail .note-save');
  await page.waitForFunction(() => document.querySelectorAll('#detail .note-thread > .note').length === 3);
  assert.deepEqual((await app.calls('annotate')).at(-1), {
    id: SPECIAL_ID, comment: 'Not odd after all: the VIP desk confirmed ticket 4411.', marks: ['reviewed'], supersedes: first.id,
  });
  await page.waitForSelector('#detail .note.superseded .note-corrected');
  const thread = await notes(page);
  assert.match(thread[0].cls, /\bsuperseded\b/);
  assert.match(thread[0].corrected, /^corrected by k\.morel 2026-11-20 \d\d:\d\d:\d\d$/);
  assert.equal(await page.$eval('#detail .note.superseded .note-text', (n) => getComputedStyle(n).textDecorationLine), 'line-through');
  assert.equal(await page.$$eval('#detail .note.superseded .note-correct', (b) => b.length), 0, 'a corrected annotation is not corrected again');
  assert.equal(await page.textContent('#detail .note-thread > .note:last-child .note-corrects'), 'Corrects the annotation of s.levi');
  assert.equal(await page.isHidden('#detail .note-correcting'), true, 'the form is back to adding');
  // The table's marker follows: the superseded "suspicious" no longer counts.
  await page.waitForFunction(() => document.querySelector('.table-rows .row[data-index="0"] .c-notes').dataset.marks === 'reviewed');
  await app.assertClean();
});

test('Correct shows on someone else\'s annotation only to a user with the review right', async () => {
  // s.levi is an investigator (annotate, no review): their own annotation has Correct,
  // m.dupont's has not. k.morel (auditor, review) gets it on both.
  const correctable = (page) => page.$$eval('#detail .note-thread > .note', (items) => items.map((li) => [
    li.querySelector('.note-author').textContent, !!li.querySelector('.note-correct'),
  ]));
  for (const [user, expected] of [
    ['s.levi', [['s.levi', true], ['m.dupont', false]]],
    ['k.morel', [['s.levi', true], ['m.dupont', true]]],
  ]) {
    const app = await openApp(browser, { config: { user } });
    const { page } = app;
    await openSpecial(page);
    assert.deepEqual(await correctable(page), expected, user);
    await app.assertClean();
  }
});

test('a failed annotate shows its error under the form and keeps the text; drafts survive j/k', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await openSpecial(page);
  await page.evaluate(() => window.__fake.fail('annotate', { code: 'invalid', message: 'unknown mark \'vip\'' }));
  await page.fill('#detail .note-input', 'Keep this text');
  await page.click('#detail .note-save');
  await page.waitForSelector('#detail .note-error:not([hidden])');
  assert.equal(await page.textContent('#detail .note-error'), 'Not saved: unknown mark \'vip\' What you typed is still here.');
  assert.equal(await page.inputValue('#detail .note-input'), 'Keep this text');
  assert.equal(await page.$$eval('#detail .note-thread > .note', (n) => n.length), 2);

  await page.click('.table-rows .row[data-index="1"] .c-time');
  await page.waitForFunction(() => document.querySelector('#detail .detail-title').textContent !== 'bonus.grant');
  assert.equal(await page.inputValue('#detail .note-input'), '', 'another entry, another form');
  await page.click('.table-rows .row[data-index="0"] .c-time');
  await page.waitForFunction(() => document.querySelector('#detail .detail-title').textContent === 'bonus.grant');
  assert.equal(await page.inputValue('#detail .note-input'), 'Keep this text', 'the draft came back');
  await page.click('#detail .note-save');
  await page.waitForFunction(() => document.querySelectorAll('#detail .note-thread > .note').length === 3);
  assert.equal(await page.isHidden('#detail .note-error'), true);
  await app.assertClean();
});

test('the mark facet shows labels and colours; click narrows to mark:key, Alt-click excludes', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.waitForSelector('.facet[data-field="mark"] .facet-value');
  const facet = await page.$$eval('.facet[data-field="mark"] .facet-value', (bs) => bs.map((b) => ({
    value: b.dataset.value, name: b.querySelector('.facet-name').textContent, count: b.querySelector('.facet-count').textContent,
    title: b.title, colour: getComputedStyle(b.querySelector('.facet-swatch')).backgroundColor,
  })));
  assert.deepEqual(facet.map((f) => [f.value, f.name, f.count]).sort(), [
    ['false-positive', 'false positive', '1'], ['player-request', "at the player's request", '1'],
    ['reviewed', 'reviewed', '1'], ['suspicious', 'suspicious', '1'],
  ]);
  const suspicious = facet.find((f) => f.value === 'suspicious');
  assert.equal(suspicious.title, 'suspect — Click: mark:suspicious · Alt-click: -mark:suspicious');
  assert.equal(suspicious.colour, 'rgb(217, 130, 43)');
  assert.ok((await app.calls('facets')).some((c) => c.field === 'mark' && c.q === ''));

  await page.click('.facet[data-field="mark"] .facet-value[data-value="suspicious"]');
  await queryIs(page, 'mark:suspicious');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '1 entry');
  assert.equal(await page.textContent('.table-rows .row[data-index="0"] .c-action'), 'bonus.grant');

  await page.fill('#query', '');
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '401 entries');
  await page.waitForSelector('.facet[data-field="mark"] .facet-value[data-value="false-positive"]');
  await page.click('.facet[data-field="mark"] .facet-value[data-value="false-positive"]', { modifiers: ['Alt'] });
  await queryIs(page, '-mark:false-positive');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '400 entries');

  await page.fill('#query', 'has:comment');
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => document.querySelector('.results-count').textContent === '2 entries');
  await app.assertClean();
});
