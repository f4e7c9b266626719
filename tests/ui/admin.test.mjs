// Users & roles: the admin screen behind the header's button (shown with the `accounts` right
// only): the users (roles, live sessions, lock) and roles (rights, scope, built in) as the store
// lists them; adding a role and a user with it, changing a user's roles, ending their sessions,
// removing a custom role (refused while someone holds it); every error of the store under the
// form or the row that caused it; keyboard and labels.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const ADMIN = { user: 'c.roux' };

async function openAdmin(page) {
  await page.click('#header-admin');
  await page.waitForSelector('#admin:not([hidden]) .users-table .user-row');
}

/** The users table as the user sees it: name, roles ticked, live sessions, locked until. */
const users = (page) => page.$$eval('#admin .users-table .user-row', (rows) => rows.map((r) => [
  r.querySelector('.user-login').textContent,
  [...r.querySelectorAll('.user-roles input:checked')].map((i) => i.value).join(','),
  r.querySelector('.user-sessions').textContent,
  r.querySelector('.user-locked').textContent,
]));
/** The roles table: name, built in, rights, scope, whether it has Remove. */
const roles = (page) => page.$$eval('#admin .roles-table .role-row', (rows) => rows.map((r) => [
  r.querySelector('.role-login').textContent,
  r.querySelector('.role-builtin')?.textContent ?? '',
  r.querySelector('.role-rights').textContent,
  r.querySelector('.role-scope').textContent,
  r.querySelector('.role-remove') ? 'Remove' : '',
]));
const userRow = (name) => `#admin .users-table .user-row[data-name="${name}"]`;
const roleRow = (name) => `#admin .roles-table .role-row[data-name="${name}"]`;
const statusIs = (page, text) => page.waitForFunction((t) => document.querySelector('#admin .admin-status').textContent === t, text);

test('a non-admin has no Users & roles button', async () => {
  for (const user of ['k.morel', 'vera', 's.levi']) {
    const app = await openApp(browser, { config: { user } });
    const { page } = app;
    assert.match(await page.textContent('#header-user'), new RegExp(`^${user.replace('.', '\\.')} \\(`));
    assert.equal(await page.isVisible('#header-admin'), false, `${user} has no accounts right`);
    assert.equal(await page.isVisible('#admin'), false);
    await app.assertClean();
  }
});

test('an admin opens Users & roles: the users and roles as the store lists them; Esc goes back', async () => {
  const app = await openApp(browser, { config: ADMIN });
  const { page } = app;
  assert.equal(await page.textContent('#header-user'), 'c.roux (admin)');
  assert.equal(await page.textContent('#header-admin'), 'Users & roles');
  assert.equal(await page.getAttribute('#header-admin', 'aria-expanded'), 'false');
  await openAdmin(page);
  assert.equal(await page.getAttribute('#header-admin', 'aria-expanded'), 'true');
  assert.equal(await page.textContent('#admin .admin-title'), 'Users & roles');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'admin-title', 'the focus goes to the screen');
  assert.deepEqual(await app.calls('accounts'), [{}]);
  assert.deepEqual(await users(page), [
    ['c.roux', 'admin', '1', '—'],
    ['j.obrien', 'viewer', '0', '2026-11-27 10:15:00'],
    ['k.morel', 'auditor,compliance', '1', '—'],
    ['s.levi', 'investigator', '2', '—'],
    ['vera', 'viewer', '0', '—'],
  ]);
  assert.equal(await page.textContent(`${userRow('c.roux')} .admin-you`), 'you');
  assert.equal(await page.getAttribute(`${userRow('j.obrien')} .user-locked time`, 'title'), '2026-11-27 09:15:00.000000 UTC');
  assert.deepEqual(await page.$$eval(`${userRow('vera')} .user-roles input`, (is) => is.map((i) => i.value)),
    ['admin', 'auditor', 'investigator', 'viewer', 'compliance'], 'every role to tick');
  assert.equal(await page.isDisabled(`${userRow('vera')} .user-save`), true, 'nothing changed yet');
  assert.equal(await page.isDisabled(`${userRow('vera')} .user-revoke`), true, 'no live session');
  assert.equal(await page.isDisabled(`${userRow('s.levi')} .user-revoke`), false);
  assert.deepEqual(await roles(page), [
    ['admin', 'built in', 'read, unmask, annotate, review, export, alerts, marks, accounts', 'every entry', ''],
    ['auditor', 'built in', 'read, unmask, annotate, review, export', 'every entry', ''],
    ['investigator', 'built in', 'read, unmask, annotate', 'every entry', ''],
    ['viewer', 'built in', 'read', 'every entry', ''],
    ['compliance', '', 'read, unmask', 'section:players', 'Remove'],
  ]);
  // Every field is labelled; the search screen behind cannot be reached.
  assert.deepEqual(await page.$$eval('#admin input', (is) => is.filter((i) => !i.labels?.length || !i.labels[0].textContent.trim()).length), 0);
  assert.equal(await page.getAttribute('#admin-role-scope', 'placeholder'), 'section:finance');
  assert.match(await page.textContent('#admin-role-scope-hint'), /section:finance\. Empty: every entry\.$/);
  assert.deepEqual(await page.$$eval('#app-screen > .sidebar, #app-screen > .search', (ns) => ns.map((n) => n.inert)), [true, true]);

  await page.focus(`${userRow('vera')} .user-roles input[value="auditor"]`);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#admin', { state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'header-admin', 'the focus goes back to the button');
  assert.deepEqual(await page.$$eval('#app-screen > .sidebar, #app-screen > .search', (ns) => ns.map((n) => n.inert)), [false, false]);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#admin:not([hidden]) .users-table .user-row');
  await page.click('#admin .admin-close');
  await page.waitForSelector('#admin', { state: 'hidden' });
  assert.equal(await page.isVisible('.table-body .row'), true, 'the search is back');
  await app.assertClean();
});

test('an admin adds a role and a user with it, changes their roles and ends sessions; errors show inline', async () => {
  const app = await openApp(browser, { config: ADMIN });
  const { page } = app;
  await openAdmin(page);

  // A role: a built-in name is refused under the form, then the role is added.
  await page.fill('#admin-role-name', 'auditor');
  await page.check('#admin .add-role-form input[value="read"]');
  await page.click('#admin .add-role');
  await page.waitForSelector('#admin .add-role-error:not([hidden])');
  assert.equal(await page.textContent('#admin .add-role-error'), '"auditor" is a built-in role');
  await page.fill('#admin-role-name', 'finance-auditor');
  await page.check('#admin .add-role-form input[value="export"]');
  await page.fill('#admin-role-scope', 'section:finance');
  await page.click('#admin .add-role');
  await page.waitForSelector(roleRow('finance-auditor'));
  assert.deepEqual((await app.calls('add_role')).at(-1), { name: 'finance-auditor', rights: ['read', 'export'], scope: 'section:finance' });
  assert.deepEqual((await roles(page)).at(-1), ['finance-auditor', '', 'read, export', 'section:finance', 'Remove']);
  assert.equal(await page.isHidden('#admin .add-role-error'), true);
  await statusIs(page, 'Role finance-auditor added: read, export on section:finance.');
  assert.equal(await page.inputValue('#admin-role-name'), '', 'the form is cleared');
  assert.equal(await page.$$eval('#admin .add-role-form input:checked', (is) => is.length), 0);
  assert.deepEqual(await page.$$eval(`${userRow('vera')} .user-roles input`, (is) => is.map((i) => i.value)).then((v) => v.at(-1)), 'finance-auditor',
    'the new role can be ticked for every user');

  // A user: the password rule, then a taken name, each under the form; then added.
  await page.fill('#admin-user-name', 'n.petit');
  await page.fill('#admin-user-password', 'short');
  await page.check('#admin .add-user-form input[value="finance-auditor"]');
  await page.click('#admin .add-user');
  await page.waitForSelector('#admin .add-user-error:not([hidden])');
  assert.equal(await page.textContent('#admin .add-user-error'), 'the password needs at least 10 characters');
  assert.equal(await page.inputValue('#admin-user-name'), 'n.petit', 'what was typed stays');
  assert.equal(await page.isChecked('#admin .add-user-form input[value="finance-auditor"]'), true);
  assert.equal((await users(page)).length, 5, 'no user added');
  await page.fill('#admin-user-name', 'vera');
  await page.fill('#admin-user-password', 'a long enough password');
  await page.click('#admin .add-user');
  await page.waitForFunction(() => document.querySelector('#admin .add-user-error').textContent === 'user "vera" already exists');
  await page.fill('#admin-user-name', 'n.petit');
  await page.click('#admin .add-user');
  await page.waitForSelector(userRow('n.petit'));
  assert.deepEqual((await app.calls('add_user')).at(-1), { name: 'n.petit', password: 'a long enough password', roles: ['finance-auditor'] });
  assert.deepEqual((await users(page)).find((u) => u[0] === 'n.petit'), ['n.petit', 'finance-auditor', '0', '—']);
  await statusIs(page, 'User n.petit added with finance-auditor.');
  assert.equal(await page.isHidden('#admin .add-user-error'), true);
  assert.deepEqual([await page.inputValue('#admin-user-name'), await page.inputValue('#admin-user-password')], ['', '']);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'admin-user-name', 'ready for the next one');

  // Roles: tick viewer with the keyboard, save; the row shows what the store holds.
  await page.focus(`${userRow('n.petit')} .user-roles input[value="viewer"]`);
  await page.keyboard.press('Space');
  assert.equal(await page.isDisabled(`${userRow('n.petit')} .user-save`), false);
  await page.focus(`${userRow('n.petit')} .user-save`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#admin .admin-status').textContent.startsWith('The roles of n.petit'));
  assert.deepEqual((await app.calls('set_roles')).at(-1), { name: 'n.petit', roles: ['viewer', 'finance-auditor'] });
  assert.deepEqual((await users(page)).find((u) => u[0] === 'n.petit'), ['n.petit', 'viewer,finance-auditor', '0', '—']);
  assert.equal(await page.textContent('#admin .admin-status'), 'The roles of n.petit are saved: viewer, finance-auditor.');
  assert.equal(await page.isDisabled(`${userRow('n.petit')} .user-save`), true);
  assert.deepEqual(await page.evaluate(() => window.__fake.users().find((u) => u.name === 'n.petit').roles), ['viewer', 'finance-auditor']);

  // No role at all: the store's message next to that user's row; what is ticked stays.
  await page.uncheck(`${userRow('n.petit')} .user-roles input[value="viewer"]`);
  await page.uncheck(`${userRow('n.petit')} .user-roles input[value="finance-auditor"]`);
  await page.click(`${userRow('n.petit')} .user-save`);
  await page.waitForSelector('#admin .users-table .admin-row-error[data-name="n.petit"]');
  assert.equal(await page.textContent('#admin .users-table .admin-row-error[data-name="n.petit"]'), 'a user needs at least one role');
  assert.equal(await page.$eval('#admin .users-table .admin-row-error', (r) => r.previousElementSibling.dataset.name), 'n.petit', 'right under its row');
  assert.equal(await page.$$eval(`${userRow('n.petit')} .user-roles input:checked`, (is) => is.length), 0);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('user-save')), true, 'the focus stays on Save');
  // Another user's change keeps this draft and this error.
  await page.click(`${userRow('s.levi')} .user-revoke`);
  await statusIs(page, 'Ended 2 sessions of s.levi.');
  assert.deepEqual(await app.calls('revoke_user'), [{ name: 's.levi' }]);
  assert.deepEqual((await users(page)).find((u) => u[0] === 's.levi'), ['s.levi', 'investigator', '0', '—']);
  assert.equal(await page.isDisabled(`${userRow('s.levi')} .user-revoke`), true);
  assert.equal(await page.$$eval(`${userRow('n.petit')} .user-roles input:checked`, (is) => is.length), 0);
  assert.equal(await page.isDisabled(`${userRow('n.petit')} .user-save`), false);
  await page.check(`${userRow('n.petit')} .user-roles input[value="auditor"]`);
  await page.click(`${userRow('n.petit')} .user-save`);
  await page.waitForFunction(() => !document.querySelector('#admin .users-table .admin-row-error'));
  assert.deepEqual((await users(page)).find((u) => u[0] === 'n.petit'), ['n.petit', 'auditor', '0', '—']);
  await app.assertClean();
});

test('an admin disables a user (their sessions end) and enables them again; not themselves', async () => {
  const app = await openApp(browser, { config: ADMIN });
  const { page } = app;
  await openAdmin(page);
  assert.equal(await page.isDisabled(`${userRow('c.roux')} .user-disable`), true, 'not one\'s own account');
  await page.click(`${userRow('s.levi')} .user-disable`);
  await statusIs(page, 's.levi is disabled: they cannot sign in, and their sessions have ended.');
  assert.deepEqual(await app.calls('disable_user'), [{ name: 's.levi' }]);
  assert.equal(await page.textContent(`${userRow('s.levi')} .user-disabled`), 'disabled');
  assert.equal(await page.textContent(`${userRow('s.levi')} .user-sessions`), '0');
  assert.equal(await page.isVisible(`${userRow('s.levi')} .user-disable`), false);
  await page.click(`${userRow('s.levi')} .user-enable`);
  await statusIs(page, 's.levi may sign in again.');
  assert.equal(await page.$(`${userRow('s.levi')} .user-disabled`), null);
  assert.equal(await page.isVisible(`${userRow('s.levi')} .user-disable`), true);
  await app.assertClean();
});

test('a custom role cannot be removed while someone holds it (the store names them), then it can', async () => {
  const app = await openApp(browser, { config: ADMIN });
  const { page } = app;
  await openAdmin(page);
  await page.click(`${roleRow('compliance')} .role-remove`);
  await page.waitForSelector('#admin .roles-table .admin-row-error[data-name="compliance"]');
  assert.equal(await page.textContent('#admin .roles-table .admin-row-error'), 'role "compliance" is held by k.morel: take it from them first');
  assert.equal(await page.$eval('#admin .roles-table .admin-row-error', (r) => r.previousElementSibling.dataset.name), 'compliance');
  assert.equal((await roles(page)).length, 5, 'still there');

  await page.uncheck(`${userRow('k.morel')} .user-roles input[value="compliance"]`);
  await page.click(`${userRow('k.morel')} .user-save`);
  await statusIs(page, 'The roles of k.morel are saved: auditor.');
  await page.click(`${roleRow('compliance')} .role-remove`);
  await page.waitForSelector(roleRow('compliance'), { state: 'detached' });
  assert.deepEqual(await app.calls('remove_role'), [{ name: 'compliance' }, { name: 'compliance' }]);
  await statusIs(page, 'The role compliance is removed.');
  assert.deepEqual((await roles(page)).map((r) => r[0]), ['admin', 'auditor', 'investigator', 'viewer']);
  assert.equal(await page.$$eval('#admin .admin-row-error', (r) => r.length), 0, 'the refusal went with the role');
  assert.deepEqual(await page.$$eval(`${userRow('k.morel')} .user-roles input`, (is) => is.map((i) => i.value)), ['admin', 'auditor', 'investigator', 'viewer']);
  assert.deepEqual(await page.$$eval('#admin .add-user-form input[type="checkbox"]', (is) => is.map((i) => i.value)), ['admin', 'auditor', 'investigator', 'viewer']);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'admin-role-name');
  await app.assertClean();
});

test('the store unreachable or refusing: the screen says why, and Try again', async () => {
  const app = await openApp(browser, { config: ADMIN });
  const { page } = app;
  const OFFLINE = 'Users and roles are managed on the store, which cannot be reached now.';
  await page.evaluate((m) => window.__fake.fail('accounts', { code: 'offline', message: m }), OFFLINE);
  await page.click('#header-admin');
  await page.waitForSelector('#admin .admin-load-error:not([hidden])');
  assert.equal(await page.textContent('#admin .admin-load-text'), `Could not list the users and roles: ${OFFLINE}`);
  assert.equal(await page.isVisible('#admin .users-table'), false);
  await page.click('#admin .admin-retry');
  await page.waitForSelector('#admin .users-table .user-row');
  assert.equal(await page.isHidden('#admin .admin-load-error'), true);
  await page.evaluate(() => window.__fake.fail('revoke_user', { code: 'offline', message: 'Users and roles are managed on the store, which cannot be reached now.' }));
  await page.click(`${userRow('s.levi')} .user-revoke`);
  await page.waitForSelector('#admin .users-table .admin-row-error[data-name="s.levi"]');
  assert.equal(await page.textContent('#admin .users-table .admin-row-error'), OFFLINE);
  assert.deepEqual((await users(page)).find((u) => u[0] === 's.levi'), ['s.levi', 'investigator', '2', '—'], 'unchanged');
  await app.assertClean();

  // A session that still claims the accounts right, whose roles the store no longer gives it.
  const demoted = await openApp(browser, { config: { user: 'k.morel', sessionPatch: { user: { name: 'k.morel', roles: ['admin'], rights: ['read', 'unmask', 'annotate', 'export', 'alerts', 'marks', 'accounts'] } } } });
  await demoted.page.click('#header-admin');
  await demoted.page.waitForSelector('#admin .admin-load-error:not([hidden])');
  assert.equal(await demoted.page.textContent('#admin .admin-load-text'),
    'Not allowed: managing users, roles and keys needs the accounts right, which none of "k.morel"\'s roles (auditor, compliance) grants');
  await demoted.assertClean();
});

test('signing out closes the screen and forgets it; an admin signing in again finds it fresh', async () => {
  const app = await openApp(browser, { config: ADMIN });
  const { page } = app;
  await openAdmin(page);
  await page.fill('#admin-user-name', 'typed.before');
  await page.click('#signout');
  await page.waitForSelector('#signin-screen:not([hidden])');
  assert.equal(await page.isVisible('#header-admin'), false);
  await page.fill('#signin-user', 'k.morel');
  await page.fill('#signin-password', 'correct horse battery');
  await page.click('#signin-submit');
  await page.waitForSelector('#app-screen:not([hidden]) .table-body .row:not(.placeholder)');
  assert.equal(await page.isVisible('#header-admin'), false, 'k.morel is no admin');
  assert.equal(await page.isVisible('#admin'), false);
  assert.deepEqual(await page.$$eval('#app-screen > .sidebar, #app-screen > .search', (ns) => ns.map((n) => n.inert)), [false, false]);
  await page.click('#signout');
  await page.waitForSelector('#signin-screen:not([hidden])');
  await page.fill('#signin-user', 'c.roux');
  await page.fill('#signin-password', 'correct horse battery');
  await page.click('#signin-submit');
  await page.waitForSelector('#header-admin:not([hidden])');
  await openAdmin(page);
  assert.equal(await page.inputValue('#admin-user-name'), '', 'nothing typed by the last admin');
  await app.assertClean();
});
