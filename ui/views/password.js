// "Password" in the header: the signed-in user changes their own password, giving the current
// one (`change_password`). The store ends their other sessions; this one goes on. A wrong current
// password counts as a failed sign-in on the store (five lock the name), and the dialog says so.

import { call } from '../ipc.js';
import { byId } from '../lib/dom.js';

const MIN_CHARS = 10;

function say(id, text) {
  const node = byId(id);
  node.textContent = text ?? '';
  node.hidden = !text;
}

export function initPassword() {
  const dialog = byId('password-dialog');
  const form = byId('password-form');
  const old = byId('password-old');
  const fresh = byId('password-new');
  const repeat = byId('password-repeat');
  const save = byId('password-save');
  const cancel = byId('password-cancel');

  function open() {
    for (const input of [old, fresh, repeat]) {
      input.value = '';
      input.removeAttribute('aria-invalid');
    }
    say('password-error', null);
    say('password-done', null);
    save.hidden = false;
    save.disabled = false;
    cancel.textContent = 'Cancel';
    dialog.showModal();
    old.focus();
  }

  function refuse(input, text) {
    say('password-error', text);
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  byId('header-password').addEventListener('click', open);
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (save.disabled) return;
    say('password-error', null);
    for (const input of [old, fresh, repeat]) input.removeAttribute('aria-invalid');
    if (!old.value) return refuse(old, 'Enter your current password.');
    if ([...fresh.value].length < MIN_CHARS) return refuse(fresh, `The new password needs at least ${MIN_CHARS} characters.`);
    if (fresh.value !== repeat.value) return refuse(repeat, 'The two new passwords differ.');
    save.disabled = true;
    try {
      await call('change_password', { old_password: old.value, new_password: fresh.value });
      for (const input of [old, fresh, repeat]) input.value = '';
      say('password-done', 'Your password is changed. Your other sessions have ended; this one goes on.');
      save.hidden = true;
      cancel.textContent = 'Close';
      cancel.focus();
    } catch (error) {
      if (error.handled) {
        dialog.close();
        return;
      }
      if (error.code === 'wrong_password') refuse(old, 'That is not your current password.');
      else if (error.code === 'locked') refuse(old, error.message);
      else refuse(fresh, error.message);
    } finally {
      save.disabled = false;
    }
  });
}
