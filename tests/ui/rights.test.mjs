// Rights: what the console offers follows the session's rights (no Export… without `export`, no
// annotation, pin, incident or note controls without `annotate`, no "Users & roles" without
// `accounts`), the store's refusals (`forbidden`) show its reason where the action was tried,
// and entries masked for a user without `unmask` say so, with the IP shown as its network.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, column, queryIs } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const SPECIAL_ID = '0193a5e2-7c1d-7000-8000-00000000beef';
const VIEWER = { user: 'vera' };
// Vera's session began when she was an auditor; an admin has since made her a viewer: the
// console still offers what an auditor may do, and the store refuses it.
const DEMOTED = { user: 'vera', sessionPatch: { user: { name: 'vera', roles: ['auditor'], rights: ['read', 'unmask', 'annotate', 'export'] } } };
const REFUSED_EXPORT = 'exporting needs the export right, which none of "vera"\'s roles (viewer) grants';
const REFUSED_ANNOTATE = 'annotating needs the annotate right, which none of "vera"\'s roles (viewer) grants';

async function openSpecial(page) {
  await page.dblclick('.table-rows .row[data-index="0"] .c-action');
  await page.waitForSelector('#detail:not([hidden]) .fields');
  await page.waitForFunction(() => window.__fake.callsOf('event').length > 0);
}

const shown = (page, selector) => page.isVisible(selector);

test('a viewer reads entries, annotations and incidents, with no Export… and no write controls', async () => {
  const app = await openApp(browser, { config: VIEWER });
  const { page } = app;
  assert.equal(await page.textContent('#header-user'), 'vera (viewer)');
  assert.equal(await shown(page, '.results-bar .results-count'), true);
  assert.equal(await shown(page, '.results-bar .export-open'), false, 'no Export…');
  assert.equal(await shown(page, '#header-admin'), false, 'no Users & roles');

  await openSpecial(page);
  // The thread is there to read; nothing to write with.
  assert.deepEqual(await page.$$eval('#detail .note-thread > .note .note-author', (ns) => ns.map((n) => n.textContent)), ['s.levi', 'm.dupont']);
  assert.equal(await shown(page, '#detail .note-form'), false, 'no comment box, marks or Save');
  assert.equal(await page.$$eval('#detail .note-input, #detail .mark-toggle, #detail .note-save', (ns) => ns.filter((n) => n.offsetParent).length), 0);
  assert.equal(await page.$$eval('#detail .note-correct', (ns) => ns.length), 0, 'no Correct');
  assert.equal(await page.textContent('#detail .pinned-incident'), '#11 Bonus abuse ring — winter campaign', 'its incidents are listed');
  assert.equal(await shown(page, '#detail .pin-select'), false, 'no Pin to incident');
  assert.equal(await shown(page, '#detail .incident-new'), false);

  // The incident panel: description and notes, no note form, no Close.
  await page.click('#detail .pinned-incident');
  await page.waitForSelector('#incident:not([hidden]) .incident-notes');
  assert.equal(await page.textContent('#incident .incident-notes .note-text'), 'Asked the VIP desk for the tickets.');
  assert.equal(await page.$$eval('#incident .incident-note-form, #incident .incident-status-toggle', (ns) => ns.length), 0);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#incident', { state: 'hidden' });

  // `p` opens the selected entry; there is no pin control to focus.
  await page.click('.table-rows .row[data-index="1"] .c-time');
  await page.keyboard.press('p');
  await page.waitForSelector('#detail:not([hidden]) .fields');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('pin-select')), false);
  assert.equal(await shown(page, '#detail .pin-select'), false);
  assert.deepEqual([...await app.calls('annotate'), ...await app.calls('pin_entry'), ...await app.calls('export_pick')], []);
  await app.assertClean();
});

test('an auditor has Export… and the write controls, and no Users & roles', async () => {
  const app = await openApp(browser);
  const { page } = app;
  assert.equal(await page.textContent('#header-user'), 'k.morel (auditor, compliance)');
  assert.equal(await shown(page, '.results-bar .export-open'), true);
  assert.equal(await page.textContent('.results-bar .export-open'), 'Export…');
  assert.equal(await shown(page, '#header-admin'), false, 'no accounts right: no Users & roles');
  await openSpecial(page);
  assert.equal(await shown(page, '#detail .note-form'), true);
  assert.equal(await shown(page, '#detail .note-correct'), true);
  assert.equal(await shown(page, '#detail .pin-select'), true);
  assert.equal(await shown(page, '#detail .masked-notice'), false, 'nothing masked for an auditor');
  assert.equal(await page.textContent('#detail dd[data-field="ip"]'), '192.0.2.66Copy');
  await page.click('#detail .pinned-incident');
  await page.waitForSelector('#incident:not([hidden]) .incident-note-form');
  assert.equal(await page.textContent('#incident .incident-status-toggle'), 'Close the incident');
  await app.assertClean();
});

test('the same viewer signed in afresh as an auditor gets the controls back, and loses them again', async () => {
  const app = await openApp(browser, { config: VIEWER });
  const { page } = app;
  assert.equal(await shown(page, '.results-bar .export-open'), false);
  await page.click('#signout');
  await page.waitForSelector('#signin-screen:not([hidden])');
  await page.fill('#signin-user', 'k.morel');
  await page.fill('#signin-password', 'correct horse battery');
  await page.click('#signin-submit');
  await page.waitForSelector('#app-screen:not([hidden]) .table-body .row:not(.placeholder)');
  assert.equal(await page.textContent('#header-user'), 'k.morel (auditor, compliance)');
  assert.equal(await shown(page, '.results-bar .export-open'), true);
  await page.click('#signout');
  await page.waitForSelector('#signin-screen:not([hidden])');
  await page.fill('#signin-user', 'vera');
  await page.fill('#signin-password', 'correct horse battery');
  await page.click('#signin-submit');
  await page.waitForSelector('#app-screen:not([hidden]) .table-body .row:not(.placeholder)');
  assert.equal(await page.textContent('#header-user'), 'vera (viewer)');
  assert.equal(await shown(page, '.results-bar .export-open'), false);
  await openSpecial(page);
  assert.equal(await shown(page, '#detail .note-form'), false);
  await app.assertClean();
});

test('when the store refuses anyway, its reason shows where the action was tried', async () => {
  const app = await openApp(browser, { config: DEMOTED });
  const { page } = app;
  // Export…: the dialog says why.
  await page.click('.results-bar .export-open');
  await page.waitForSelector('.export-dialog[open]');
  await page.click('.export-start');
  await page.waitForSelector('.export-outcome .export-error');
  assert.equal(await page.textContent('.export-outcome .export-error'), `Not allowed: ${REFUSED_EXPORT}`);
  assert.equal(await page.isDisabled('.export-start'), false, 'the user can try again');
  await page.click('.export-close');
  await page.waitForSelector('.export-dialog', { state: 'hidden' });

  // An annotation the console refuses at once: under the form, the text kept.
  await openSpecial(page);
  await page.evaluate((m) => window.__fake.fail('annotate', { code: 'forbidden', message: m }), REFUSED_ANNOTATE);
  await page.fill('#detail .note-input', 'Checked with the VIP desk.');
  await page.click('#detail .note-save');
  await page.waitForSelector('#detail .note-error:not([hidden])');
  assert.equal(await page.textContent('#detail .note-error'), `Not allowed: ${REFUSED_ANNOTATE} What you typed is still here.`);
  assert.equal(await page.inputValue('#detail .note-input'), 'Checked with the VIP desk.');

  // One the console queued: the store refuses it when it is sent, and the outbox says why.
  await page.click('#detail .note-save');
  await page.waitForFunction(() => document.getElementById('header-outbox').textContent === '1 waiting (1 failed)');
  await page.click('#header-outbox');
  await page.waitForSelector('#outbox-panel:not([hidden]) .outbox-item.failed');
  assert.equal(await page.textContent('#outbox-panel .outbox-error'), REFUSED_ANNOTATE);
  await page.keyboard.press('Escape');

  // A search the store refuses (a whole IP address, for a reader of masked data): the status says why.
  await page.fill('#query', 'ip:192.0.2.66');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#status:not([hidden]) .status-text');
  assert.equal(await page.textContent('#status .status-text'),
    'Not allowed: searching by an IP range narrower than /24 (IPv4) or /48 (IPv6) needs the unmask right: without it, addresses are shown masked');
  await app.assertClean();
});

test('masked entries: the detail says what is masked, and the IP shows as its network', async () => {
  const app = await openApp(browser, { config: VIEWER });
  const { page } = app;
  // The table: IPs as /24 and /48 networks, target names masked.
  const ips = (await column(page, 'ip')).filter(Boolean);
  assert.ok(ips.length > 10);
  for (const ip of ips) assert.match(ip, /^(\d+\.\d+\.\d+\.0\/24|2001:db8::\/48)$/);
  assert.ok(ips.some((ip) => ip.endsWith('/48')) && ips.some((ip) => ip.endsWith('/24')), 'both kinds of address');
  assert.equal(await page.textContent('.table-rows .row[data-index="0"] .c-target .dim'), '[masked]');

  await openSpecial(page);
  assert.equal(await page.textContent('#detail .masked-notice'),
    'Personal data masked (your roles do not include unmask): IP shown as its /24, target name, changes.nickname');
  assert.equal(await page.textContent('#detail dd[data-field="ip"]'), '192.0.2.0/24Copy');
  assert.equal(await page.textContent('#detail dd[data-field="hash"]'), 'withheld (your roles do not unmask every entry you read)',
    'no hash (a masked value could be guessed and checked against it), and nothing to copy');
  assert.equal(await page.textContent('#detail dd[data-field="target"] .target-name'), '[masked]');
  assert.equal(await page.$eval('#detail dd[data-field="target"] .target-name', (n) => getComputedStyle(n).fontStyle), 'italic');
  const nickname = await page.$$eval('#detail .change', (cs) => cs.find((c) => c.querySelector('.change-field').textContent === 'nickname')?.textContent);
  assert.match(nickname, /\[masked\]/);
  assert.doesNotMatch(nickname, /Lucky/);
  assert.equal(await page.textContent('#detail dd[data-field="reason"] .val'), (await page.evaluate((id) => window.__fake.events.find((e) => e.id === id).reason, SPECIAL_ID)), 'not a personal field here');

  // Copy and pivot take the network, which the store lets a masked reader search.
  await page.click('#detail dd[data-field="ip"] button[data-copy="IP"]');
  await page.waitForFunction(() => window.__copied.length === 1);
  assert.deepEqual(await page.evaluate(() => window.__copied), ['192.0.2.0/24']);
  await page.click('#detail dd[data-field="ip"] .pivot');
  await queryIs(page, 'ip:192.0.2.0/24');
  await page.waitForFunction(() => window.__fake.answeredOf('search').at(-1)?.q === 'ip:192.0.2.0/24');
  await page.waitForFunction(() => !/Counting/.test(document.querySelector('.results-count').textContent));
  assert.equal(await page.isHidden('#status'), true, 'no refusal');
  for (const ip of (await column(page, 'ip')).filter(Boolean)) assert.equal(ip, '192.0.2.0/24');
  await app.assertClean();
});
