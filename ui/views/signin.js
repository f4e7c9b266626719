// The sign-in screen: server URL, user name, password → `sign_in`. Each failure code shows next
// to the field it is about; the button is disabled only while the command is pending.

import { call } from '../ipc.js';
import { byId } from '../lib/dom.js';

const form = () => byId('signin-form');
const fields = () => ({
  server: byId('signin-server'),
  user: byId('signin-user'),
  password: byId('signin-password'),
  submit: byId('signin-submit'),
});

function say(id, text) {
  const node = byId(id);
  node.textContent = text ?? '';
  node.hidden = !text;
}

function clearErrors() {
  for (const id of ['signin-server-error', 'signin-password-error', 'signin-error']) say(id, null);
  for (const input of form().querySelectorAll('input')) input.removeAttribute('aria-invalid');
}

// The address the person agreed to reach over plain HTTP (after the console's warning); any
// change of the address asks again.
let plainHttpFor = null;

function submitLabel() {
  return plainHttpFor !== null && plainHttpFor === fields().server.value.trim()
    ? 'Connect over plain HTTP' : 'Sign in';
}

/** Shows a sign_in failure where it belongs. */
function showError(error) {
  const f = fields();
  if (error.code === 'plain_http') {
    // Said next to the address; the button now connects anyway if the person presses it.
    say('signin-server-error', error.message);
    f.server.setAttribute('aria-invalid', 'true');
    plainHttpFor = f.server.value.trim();
    f.submit.focus();
  } else if (error.code === 'bad_url') {
    say('signin-server-error', error.message);
    f.server.setAttribute('aria-invalid', 'true');
    f.server.focus();
  } else if (error.code === 'bad_credentials') {
    say('signin-password-error', error.message);
    f.password.setAttribute('aria-invalid', 'true');
    f.password.select();
    f.password.focus();
  } else {
    const prefix = error.code === 'unreachable' ? 'Cannot reach the server: ' : '';
    say('signin-error', prefix + error.message);
  }
}

/** The keyring notice: the token is kept in memory only when no OS keyring answered. */
function keyringText(session) {
  if (session?.keyring !== 'memory') return null;
  const note = session.keyring_note ? ` ${session.keyring_note}` : '';
  return `The session is kept in memory only: you will sign in again at the next launch.${note}`;
}

/**
 * Shows the form, prefilled from a signed-out Session (server, last_user), with `message` (or the
 * session's reason) above it.
 */
export function showSignIn(session, message) {
  const f = fields();
  clearErrors();
  if (session?.server) f.server.value = session.server;
  if (session?.last_user) f.user.value = session.last_user;
  f.password.value = '';
  say('signin-reason', message ?? session?.reason ?? null);
  say('signin-keyring', keyringText(session));
  plainHttpFor = null;
  f.submit.disabled = false;
  f.submit.textContent = submitLabel();
  byId('signin-screen').hidden = false;
  (f.server.value ? (f.user.value ? f.password : f.user) : f.server).focus();
}

export function hideSignIn() {
  byId('signin-screen').hidden = true;
}

/** Wires the form; `onSignedIn(session)` runs after a successful sign_in. */
export function initSignIn(onSignedIn) {
  fields().server.addEventListener('input', () => {
    if (plainHttpFor !== null && plainHttpFor !== fields().server.value.trim()) {
      plainHttpFor = null;
      say('signin-server-error', null);
      fields().server.removeAttribute('aria-invalid');
    }
    fields().submit.textContent = submitLabel();
  });
  form().addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = fields();
    if (f.submit.disabled) return;
    clearErrors();
    f.submit.disabled = true;
    f.submit.textContent = 'Signing in…';
    try {
      const server = f.server.value.trim();
      const session = await call('sign_in', {
        server,
        user: f.user.value.trim(),
        password: f.password.value,
        plain_http: plainHttpFor === server,
      });
      f.password.value = '';
      onSignedIn(session);
    } catch (error) {
      showError(error);
    } finally {
      f.submit.disabled = false;
      f.submit.textContent = submitLabel();
    }
  });
}
