// What the console verified of the store: the header badge, each opened entry's check in the
// detail (verified, pending a checkpoint, not what the store signed), the Verify dialog over a
// search and an incident, and the full-screen alarm of a changed key or history, which holds
// the keys until the user signs out or trusts the change on purpose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

async function openRow(page, index) {
  await page.dblclick(`.table-rows .row[data-index="${index}"] .c-action`);
  await page.waitForSelector('#detail:not([hidden]) .integrity:not([data-state="checking"])');
  return page.textContent('#detail .integrity');
}

test('the badge says how far the journal is verified, and each opened entry says whether it checks out', async () => {
  const app = await openApp(browser, { config: { count: 60 } });
  const { page } = app;
  await page.waitForSelector('#header-trust:not([hidden])');
  assert.equal(await page.textContent('#header-trust'), '✓ Verified to entry 56');
  assert.match(await page.getAttribute('#header-trust', 'title'), /checkpoint of 56 entries, signed 2026-11-27 \d\d:00:00 by key 72b985fea619ec83/);

  // The newest entry is after the checkpoint: pending, not verified.
  assert.match(await openRow(page, 0), /Not yet covered by a signed checkpoint: the newest covers entries 1 to 56/);
  assert.equal(await page.getAttribute('#detail .integrity', 'data-state'), 'pending');
  // An older one is verified against it.
  assert.match(await openRow(page, 10), /^✓ Verified against the checkpoint of 56 entries, signed 2026-11-27 \d\d:00:00\.$/);
  assert.equal(await page.getAttribute('#detail .integrity', 'data-state'), 'verified');
  const asked = (await app.calls('verify_entry')).map((c) => c.id);
  assert.equal(asked.length, 2);
  assert.notEqual(asked[0], asked[1]);
  await app.assertClean();
});

test('an entry that is not what the store signed says so, and Verify names it among a whole search', async () => {
  // The fake's journal is the same at each start: the entry is known before it is tampered.
  const first = await openApp(browser, { config: { count: 60 } });
  const victim = await first.page.evaluate(() => window.__fake.events.find((e) => e.seq === 40));
  const app2 = await openApp(browser, { config: { count: 60, tampered: [victim.id] } });
  const p = app2.page;
  const index = await p.evaluate((seq) => window.__fake.events.length - seq, 40);
  assert.match(await openRow(p, index), /^✗ Not what the store signed: Its content as the store shows it does not give the hash/);
  assert.equal(await p.getAttribute('#detail .integrity', 'data-state'), 'failed');

  await p.click('.verify-search');
  await p.waitForSelector('.verify-dialog[open] .verify-outcome');
  assert.equal(await p.textContent('.verify-dialog .verify-query'), 'Every entry');
  assert.equal(await p.getAttribute('.verify-dialog .verify-outcome', 'data-state'), 'failed');
  assert.match(await p.textContent('.verify-dialog .verify-outcome'), /^✗ 1 of 56 entries are not what the store signed in its checkpoint of 56 entries; 55 verified\. 5 newer entries are not yet covered/);
  assert.deepEqual(await p.$$eval('.verify-failures li', (ls) => ls.map((l) => l.dataset.seq)), ['40']);
  assert.deepEqual((await app2.calls('verify_search')).at(-1), { q: '' });
  // The entry at fault opens from the report.
  await p.click('.verify-failures .verify-open');
  await p.waitForFunction((id) => document.querySelector('#detail:not([hidden]) dd[data-field="id"]')?.textContent.startsWith(id), victim.id);
  assert.equal(await p.evaluate(() => document.querySelector('.verify-dialog').open), false);
  await app2.assertClean();
});

test('each copy the store sends is checked: a changed one fails, one that could not be fetched is not checked', async () => {
  const app = await openApp(browser, { config: { count: 60 } });
  const { page } = app;
  assert.match(await openRow(page, 10), /^✓ Verified/);
  const id = await page.evaluate(() => document.querySelector('#detail dd[data-field="id"] .val').textContent);
  // The store changes it: opened again, the new copy is checked, not the old check reused.
  await page.evaluate((x) => window.__fake.tamper(x), id);
  await page.click('#detail .detail-close');
  assert.match(await openRow(page, 10), /^✗ Not what the store signed/);
  const copies = (await app.calls('verify_entry')).map((c) => c.copy);
  assert.equal(copies.length, 2);
  assert.notEqual(copies[0], copies[1]);
  // The entry cannot be fetched: the row's copy is shown, and said not to be checked.
  await page.click('#detail .detail-close');
  await page.evaluate(() => window.__fake.fail('event', { code: 'server', message: 'the store failed' }));
  assert.equal(await openRow(page, 12), '… Not checked: the entry could not be fetched from the store.');
  assert.equal((await app.calls('verify_entry')).length, 2);
  await app.assertClean();
});

test('Verify checks an incident\'s entries', async () => {
  const covering = { size: 1000, signed_at: '2026-11-27T08:00:00.000000Z', key_id: '72b985fea619ec83' };
  const app = await openApp(browser, { config: { trust: { checkpoint: covering } } });
  const { page } = app;
  await page.waitForSelector('#incidents .incident-item');
  await page.click('#incidents .incident-item >> nth=0');
  await page.waitForSelector('#incident:not([hidden]) .incident-verify');
  await page.click('#incident .incident-verify');
  await page.waitForSelector('.verify-dialog[open] .verify-outcome');
  assert.equal(await page.textContent('.verify-dialog .verify-title'), 'Verify incident #11');
  assert.equal(await page.textContent('.verify-dialog .verify-query'), 'incident:11');
  assert.equal(await page.textContent('.verify-dialog .verify-outcome'), '✓ 2 entries verified against the checkpoint of 1,000 entries.');
  await page.click('.verify-dialog .verify-close');
  assert.equal(await page.evaluate(() => document.querySelector('.verify-dialog').open), false);
  await app.assertClean();
});

test('a changed key is a full-screen alarm: keys stay in it until the user trusts the key they checked', async () => {
  const app = await openApp(browser, {
    config: {
      trust: {
        state: 'key_changed', offered_key_id: '9f00aa11bb22cc33',
        message: 'The store at https://vigil.casino.example now signs with key 9f00aa11bb22cc33, not with key 72b985fea619ec83 that this console pinned when you first signed in.',
      },
    },
  });
  const { page } = app;
  await page.waitForSelector('#trust-alarm:not([hidden])');
  assert.equal(await page.textContent('#trust-alarm h1'), 'The store’s signing key has changed');
  assert.match(await page.textContent('#trust-alarm .trust-pinned'), /^72b985fea619ec83 \(2026-11-01 \d\d:00:00\)$/);
  assert.equal(await page.textContent('#trust-alarm .trust-offered'), '9f00aa11bb22cc33');
  assert.equal(await page.textContent('#header-trust'), '⚠ Store not trusted');
  // The alarm covers the app: the table's keys do nothing (the focus is on Sign out).
  const selected = await page.$$eval('.table-rows .row[aria-selected="true"]', (rs) => rs.length);
  await page.keyboard.press('j');
  await page.keyboard.press('/');
  assert.equal(await page.$$eval('.table-rows .row[aria-selected="true"]', (rs) => rs.length), selected);
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'primary trust-signout');
  // Trusting takes a deliberate tick first.
  await page.click('#trust-alarm .trust-override summary');
  assert.equal(await page.isDisabled('#trust-alarm .trust-accept'), true);
  await page.check('#trust-alarm .trust-checked');
  assert.equal(await page.textContent('#trust-alarm .trust-accept'), 'Trust key 9f00aa11bb22cc33');
  await page.click('#trust-alarm .trust-accept');
  await page.waitForSelector('#trust-alarm', { state: 'hidden' });
  assert.deepEqual((await app.calls('trust_new_key')).at(-1), { keyId: '9f00aa11bb22cc33' });
  assert.equal(await page.textContent('#header-trust'), '✓ Verified to entry 396');
  await app.assertClean();
});

test('a history that changed under an opened entry raises the alarm; Sign out leaves', async () => {
  const app = await openApp(browser, { config: { count: 60 } });
  const { page } = app;
  await page.waitForSelector('#header-trust[data-state="verified"]');
  await page.evaluate(() => window.__fake.setTrust({
    state: 'history_changed', key_id: '72b985fea619ec83', pinned_at: '2026-11-01T09:00:00.000000Z',
    message: 'The store\'s newest checkpoint holds 20 entries, fewer than the 56 it showed before.',
    previous: { size: 56, signed_at: '2026-11-27T08:00:00.000000Z', key_id: '72b985fea619ec83' },
    checkpoint: { size: 20, signed_at: '2026-11-27T09:00:00.000000Z', key_id: '72b985fea619ec83' },
  }));
  assert.match(await openRow(page, 10), /^✗ Not verified: The store's newest checkpoint holds 20 entries/);
  await page.waitForSelector('#trust-alarm:not([hidden])');
  assert.equal(await page.textContent('#trust-alarm h1'), 'The store’s history has changed');
  assert.match(await page.textContent('#trust-alarm .trust-previous'), /^checkpoint of 56 entries, signed/);
  assert.match(await page.textContent('#trust-alarm .trust-now'), /^checkpoint of 20 entries, signed/);
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'primary trust-signout');
  await page.click('#trust-alarm .trust-signout');
  await page.waitForSelector('#signin-screen:not([hidden])');
  assert.equal(await page.isHidden('#trust-alarm'), true);
  await app.assertClean();
});
