// Sign-in screen: session_status at launch, each sign_in failure where it belongs, the keyring
// notice, sign out, and any command's `signed_out` taking the user back to the form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const visible = (page, sel) => page.isVisible(sel);
const text = (page, sel) => page.textContent(sel);

async function signIn(page, { server = 'https://vigil.casino.example', user = 'k.morel', password = 'correct horse battery' } = {}) {
  await page.fill('#signin-server', server);
  await page.fill('#signin-user', user);
  await page.fill('#signin-password', password);
  await page.click('#signin-submit');
}

test('a signed-out session shows the form prefilled, with the reason', async () => {
  const app = await openApp(browser, { config: { session: 'signed_out', reason: 'Your session expired; sign in again.' } });
  const { page } = app;
  await page.waitForSelector('#signin-screen:not([hidden])');
  assert.equal(await page.inputValue('#signin-server'), 'https://vigil.casino.example');
  assert.equal(await page.inputValue('#signin-user'), 'k.morel');
  assert.equal(await text(page, '#signin-reason'), 'Your session expired; sign in again.');
  assert.equal(await visible(page, '#app-screen'), false);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'signin-password');
  await app.assertClean();
});

test('each sign-in failure shows next to its field and the button comes back', async () => {
  const app = await openApp(browser, { config: { session: 'signed_out', latency: 150 } });
  const { page } = app;
  await page.waitForSelector('#signin-screen:not([hidden])');

  await signIn(page, { server: 'vigil.casino.example' });
  assert.equal(await page.isDisabled('#signin-submit'), true, 'disabled while pending');
  await page.waitForSelector('#signin-server-error:not([hidden])');
  assert.match(await text(page, '#signin-server-error'), /not an http\(s\) URL/);
  assert.equal(await page.getAttribute('#signin-server', 'aria-invalid'), 'true');
  assert.equal(await page.isDisabled('#signin-submit'), false);

  await signIn(page, { server: 'https://down.example' });
  await page.waitForSelector('#signin-error:not([hidden])');
  assert.match(await text(page, '#signin-error'), /^Cannot reach the server: no answer from https:\/\/down\.example/);
  assert.equal(await visible(page, '#signin-server-error'), false, 'the old message is gone');

  await signIn(page, { password: 'wrong' });
  await page.waitForSelector('#signin-password-error:not([hidden])');
  assert.equal(await text(page, '#signin-password-error'), 'Wrong user name or password.');
  assert.equal(await page.isDisabled('#signin-submit'), false);

  await signIn(page, { user: 'a.haddad' });
  await page.waitForSelector('.table-body .row:not(.placeholder)');
  assert.equal(await visible(page, '#signin-screen'), false);
  assert.equal(await text(page, '#header-user'), 'a.haddad (auditor)');
  assert.equal(await page.inputValue('#signin-password'), '', 'the password does not stay in the form');
  await app.assertClean();
});

test('plain HTTP beyond this machine is refused until the person confirms', async () => {
  const app = await openApp(browser, { config: { session: 'signed_out' } });
  const { page } = app;
  await page.waitForSelector('#signin-screen:not([hidden])');

  await signIn(page, { server: 'http://vigil.casino.example:7878' });
  await page.waitForSelector('#signin-server-error:not([hidden])');
  assert.match(await text(page, '#signin-server-error'), /is plain HTTP: your password and session would cross the network unencrypted/);
  assert.equal(await text(page, '#signin-submit'), 'Connect over plain HTTP');
  assert.equal((await app.calls('sign_in')).at(-1).plain_http, false, 'first asked without it');

  // Another address asks again.
  await page.fill('#signin-server', 'http://10.1.2.3:7878');
  assert.equal(await text(page, '#signin-submit'), 'Sign in');
  assert.equal(await visible(page, '#signin-server-error'), false);
  await page.fill('#signin-server', 'http://vigil.casino.example:7878');
  assert.equal(await text(page, '#signin-submit'), 'Sign in', 'typing the address again does not confirm it');

  await page.click('#signin-submit');
  await page.waitForSelector('#signin-server-error:not([hidden])');
  await page.fill('#signin-password', 'correct horse battery');
  await page.click('#signin-submit');
  await page.waitForSelector('.table-body .row:not(.placeholder)');
  const confirmed = (await app.calls('sign_in')).at(-1);
  assert.equal(confirmed.plain_http, true);
  assert.equal(confirmed.server, 'http://vigil.casino.example:7878');
  await app.assertClean();
});

test('loopback over plain HTTP needs no confirmation', async () => {
  const app = await openApp(browser, { config: { session: 'signed_out' } });
  const { page } = app;
  await page.waitForSelector('#signin-screen:not([hidden])');
  await signIn(page, { server: 'http://127.0.0.1:7878' });
  await page.waitForSelector('.table-body .row:not(.placeholder)');
  assert.equal((await app.calls('sign_in')).at(-1).plain_http, false);
  await app.assertClean();
});

test('a token kept in memory only is said, on the form and in the header', async () => {
  const note = 'No Secret Service answered on D-Bus.';
  const patch = { keyring: 'memory', keyring_note: note };
  const out = await openApp(browser, { config: { session: 'signed_out', sessionPatch: patch } });
  await out.page.waitForSelector('#signin-keyring:not([hidden])');
  assert.match(await text(out.page, '#signin-keyring'), /kept in memory only.*No Secret Service answered on D-Bus\./);
  await out.assertClean();

  const app = await openApp(browser, { config: { sessionPatch: patch } });
  assert.equal(await visible(app.page, '#header-keyring'), true);
  assert.equal(await app.page.getAttribute('#header-keyring', 'title'), note);
  assert.equal(await text(app.page, '#header-user'), 'k.morel (auditor, compliance)');
  await app.assertClean();
});

test('sign out returns to the prefilled form; a signed_out answer anywhere does too', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.click('.live-toggle');
  await page.waitForFunction(() => window.__fake.live() !== null);
  await page.click('#signout');
  await page.waitForSelector('#signin-screen:not([hidden])');
  assert.equal(await visible(page, '#app-screen'), false);
  assert.equal(await page.inputValue('#signin-user'), 'k.morel');
  assert.equal(await visible(page, '#signin-reason'), false, 'a plain sign out needs no explanation');
  const order = await page.evaluate(() => window.__fake.calls.map((c) => c.cmd).filter((c) => c === 'live_stop' || c === 'sign_out'));
  assert.deepEqual(order, ['live_stop', 'sign_out'], 'the live tail stops before the session ends');

  await signIn(page);
  await page.waitForSelector('#app-screen:not([hidden]) .row:not(.placeholder)');
  await page.evaluate(() => window.__fake.expire('Your session was revoked by an administrator.'));
  await page.fill('#query', 'actor:k.morel');
  await page.press('#query', 'Enter');
  await page.waitForSelector('#signin-screen:not([hidden])');
  assert.equal(await text(page, '#signin-reason'), 'You are signed out.');
  assert.equal(await visible(page, '#app-screen'), false);
  await app.assertClean();
});
