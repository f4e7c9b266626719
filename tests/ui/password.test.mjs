// "Password" in the header: the user changes their own password with the current one; every
// refusal shows in the dialog next to its field, and a success says the other sessions ended.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const text = (page, sel) => page.textContent(sel);

async function fill(page, old, fresh, repeat = fresh) {
  await page.fill('#password-old', old);
  await page.fill('#password-new', fresh);
  await page.fill('#password-repeat', repeat);
  await page.click('#password-save');
}

test('a user changes their own password; each mistake is said next to its field', async () => {
  const app = await openApp(browser);
  const { page } = app;
  await page.waitForSelector('.table-body .row:not(.placeholder)');
  await page.click('#header-password');
  await page.waitForSelector('#password-dialog[open]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password-old');

  // Checked here first: nothing is sent.
  await fill(page, '', 'a new long passphrase');
  assert.equal(await text(page, '#password-error'), 'Enter your current password.');
  await fill(page, 'correct horse battery', 'short');
  assert.equal(await text(page, '#password-error'), 'The new password needs at least 10 characters.');
  assert.equal(await page.getAttribute('#password-new', 'aria-invalid'), 'true');
  await fill(page, 'correct horse battery', 'a new long passphrase', 'a new long passphrasf');
  assert.equal(await text(page, '#password-error'), 'The two new passwords differ.');
  assert.equal((await app.calls('change_password')).length, 0);

  // The store refuses a wrong current password.
  await fill(page, 'not my password', 'a new long passphrase 🎰');
  await page.waitForFunction(() => document.querySelector('#password-error').textContent === 'That is not your current password.');
  assert.equal(await page.getAttribute('#password-old', 'aria-invalid'), 'true');

  await fill(page, 'correct horse battery', 'a new long passphrase 🎰');
  await page.waitForSelector('#password-done:not([hidden])');
  assert.equal(await text(page, '#password-done'), 'Your password is changed. Your other sessions have ended; this one goes on.');
  assert.deepEqual((await app.calls('change_password')).at(-1), { old_password: 'correct horse battery', new_password: 'a new long passphrase 🎰' });
  assert.equal(await page.inputValue('#password-new'), '', 'no password stays in the form');
  assert.equal(await page.isVisible('#password-save'), false);
  await page.click('#password-cancel');
  assert.equal(await page.evaluate(() => document.querySelector('#password-dialog').open), false);
  // Opened again, it starts clean.
  await page.click('#header-password');
  assert.equal(await page.isVisible('#password-done'), false);
  assert.equal(await page.isVisible('#password-save'), true);
  await page.keyboard.press('Escape');
  await app.assertClean();
});
