// Vigil Console's frontend entry point: asks the Rust side for the session, then shows the
// sign-in form or the search screen. Any command answering `signed_out` comes back here. The
// session's rights say what the screens offer (lib/rights.js); "Users & roles" (views/admin.js)
// shows in the header only to users whose roles grant `accounts`.

import { call, onSignedOut } from './ipc.js';
import { byId } from './lib/dom.js';
import { initSignIn, showSignIn, hideSignIn } from './views/signin.js';
import { createSearchScreen } from './search.js';
import { holds, setUser } from './lib/rights.js';
import { createAdmin } from './views/admin.js';
import { initPassword } from './views/password.js';
import { initSenders } from './views/senders.js';

let screen = null;
const admin = createAdmin(byId('admin'), {
  button: byId('header-admin'),
  covers: [...document.querySelectorAll('#app-screen > .sidebar, #app-screen > .search'), byId('detail'), byId('incident')],
});

function showHeader(session) {
  byId('header-server').textContent = session.server ?? '';
  const user = session.user;
  byId('header-user').textContent = user ? `${user.name}${user.roles?.length ? ` (${user.roles.join(', ')})` : ''}` : '';
  const badge = byId('header-keyring');
  badge.hidden = session.keyring !== 'memory';
  badge.title = session.keyring_note ?? 'No OS keyring answered: the token is kept in memory only.';
}

function signedIn(session) {
  hideSignIn();
  setUser(session.user);
  showHeader(session);
  admin.setUser(session.user, holds('accounts'));
  senders.setAllowed(holds('read') || holds('accounts'));
  byId('app-screen').hidden = false;
  screen ??= createSearchScreen();
  screen.start(session);
}

function signedOut(session, message) {
  admin.reset();
  senders.close();
  setUser(null);
  void screen?.stop();
  byId('app-screen').hidden = true;
  showSignIn(session, message);
}

onSignedOut(async (error) => {
  // Several commands in flight fail together: the first one takes the user to the form.
  if (!byId('signin-screen').hidden) return;
  let session = null;
  try {
    session = await call('session_status');
  } catch {
    // Prefill nothing; the message still says why.
  }
  signedOut(session, error.message);
});

initPassword();
const senders = initSenders((q) => screen?.search(q));

byId('signout').addEventListener('click', async () => {
  const button = byId('signout');
  button.disabled = true;
  try {
    await screen?.stop();
    signedOut(await call('sign_out'));
  } catch (error) {
    if (error.handled) return;
    // Whatever failed, believe the session's own state: signed out or still signed in.
    const session = await call('session_status').catch(() => null);
    if (session?.state === 'signed_in') screen?.showProblem(error);
    else signedOut(session, error.message);
  } finally {
    button.disabled = false;
  }
});

document.addEventListener('keydown', (e) => {
  if (byId('app-screen').hidden) return;
  if (admin.isOpen()) admin.handleKey(e);
  else screen?.handleKey(e);
});

initSignIn(signedIn);

try {
  const session = await call('session_status');
  if (session.state === 'signed_in') signedIn(session);
  else signedOut(session);
} catch (error) {
  signedOut(null, error.message);
} finally {
  byId('boot').hidden = true;
}
