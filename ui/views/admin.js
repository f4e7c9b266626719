// "Users & roles": the admin screen, drawn over the search screen (which goes inert behind it),
// for users whose roles grant `accounts`: the header's button shows only to them, and the store
// refuses the others (the screen then says why). `accounts` lists the users and the roles; every
// change (`add_user`, `set_roles`, `revoke_user`, `add_role`, `remove_role`) answers with the
// accounts anew, from which the screen is drawn again. An error shows under the form or the row
// that caused it, with the store's message. Roles ticked for a user and not yet saved are kept
// while the lists are drawn again. Esc (outside a text field) or "Back to search" closes it.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { failureText } from '../lib/rights.js';
import { formatLocalSeconds, formatUtcExact } from '../lib/time.js';

/** The rights a role can grant, in the store's order, with what each allows. */
export const RIGHTS = [
  ['read', 'search and read entries'],
  ['unmask', 'see personal data unmasked'],
  ['annotate', 'comment, mark, open incidents, pin'],
  ['review', "correct others' annotations"],
  ['export', 'export entries to files'],
  ['alerts', 'manage alert rules'],
  ['marks', 'manage the marks catalog'],
  ['accounts', 'manage users, roles and keys'],
];

const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));

/** A labelled checkbox; `extra` goes to the input. */
function check(value, checked, label, extra = {}, hint = null) {
  return el('label', { class: 'admin-check' },
    el('input', { type: 'checkbox', value, checked, ...extra }),
    el('span', { class: 'admin-check-name', text: label }),
    hint ? el('span', { class: 'admin-check-hint', text: `— ${hint}` }) : null);
}

const ticked = (box) => [...box.querySelectorAll('input[type="checkbox"]:checked')].map((i) => i.value);

/** A text field with its label above it (and a hint under it, tied to the field). */
function field(label, input, hint = null) {
  if (hint) input.setAttribute('aria-describedby', `${input.id}-hint`);
  return el('label', { class: 'admin-field' },
    el('span', { class: 'admin-field-label', text: label }), input,
    hint ? el('span', { id: `${input.id}-hint`, class: 'admin-hint', text: hint }) : null);
}

function errorLine(cls) {
  return el('p', { class: `form-error admin-error ${cls}`, hidden: true, attrs: { role: 'alert' } });
}

/**
 * `root` is index.html's #admin, `button` the header's "Users & roles", `covers` the parts of the
 * search screen it is drawn over (inert while it shows).
 */
export function createAdmin(root, { button, covers }) {
  let open = false;
  let me = null;
  let accounts = null;
  let busy = false;
  let gen = 0;
  const drafts = new Map(); // user → the roles ticked for them, not saved yet
  const userErrors = new Map();
  const roleErrors = new Map();

  const title = el('h2', { id: 'admin-title', class: 'admin-title', text: 'Users & roles', tabIndex: -1 });
  const close = el('button', { type: 'button', class: 'admin-close', text: 'Back to search', title: 'Close (Esc)' });
  const status = el('p', { class: 'admin-status', attrs: { role: 'status' } });
  const loadText = el('span', { class: 'admin-load-text' });
  const retry = el('button', { type: 'button', class: 'admin-retry', text: 'Try again' });
  const loadError = el('div', { class: 'form-error admin-load-error', hidden: true, attrs: { role: 'alert' } }, loadText, ' ', retry);

  const hidden = (text) => el('span', { class: 'offscreen', text });
  const userRows = el('tbody');
  const usersTable = el('table', { class: 'admin-table users-table', attrs: { 'aria-labelledby': 'admin-users-title' } },
    el('thead', {}, el('tr', {},
      el('th', { text: 'Name', attrs: { scope: 'col' } }), el('th', { text: 'Roles', attrs: { scope: 'col' } }),
      el('th', { class: 'num', text: 'Live sessions', attrs: { scope: 'col' } }), el('th', { text: 'Locked until', attrs: { scope: 'col' } }),
      el('th', { attrs: { scope: 'col' } }, hidden('Actions')))),
    userRows);

  const userName = el('input', { type: 'text', id: 'admin-user-name', spellcheck: false, attrs: { autocomplete: 'off', maxlength: '64' } });
  const userPassword = el('input', { type: 'password', id: 'admin-user-password', attrs: { autocomplete: 'new-password' } });
  const userRoles = el('div', { class: 'admin-checks' });
  const addUserError = errorLine('add-user-error');
  const userForm = el('form', { class: 'admin-form add-user-form', attrs: { 'aria-labelledby': 'admin-add-user-title' } },
    el('h4', { id: 'admin-add-user-title', class: 'admin-form-title', text: 'Add user' }),
    el('div', { class: 'admin-fields' },
      field('Name', userName),
      field('Password', userPassword, 'At least 10 characters; the user signs in with it.')),
    el('fieldset', { class: 'admin-set' }, el('legend', { text: 'Roles' }), userRoles),
    el('div', { class: 'admin-buttons' }, el('button', { type: 'submit', class: 'primary add-user', text: 'Add user', data: { act: 'add-user', focus: 'add-user' } })),
    addUserError);

  const roleRows = el('tbody');
  const rolesTable = el('table', { class: 'admin-table roles-table', attrs: { 'aria-labelledby': 'admin-roles-title' } },
    el('thead', {}, el('tr', {},
      el('th', { text: 'Name', attrs: { scope: 'col' } }), el('th', { text: 'Rights', attrs: { scope: 'col' } }),
      el('th', { text: 'Scope', attrs: { scope: 'col' } }), el('th', { attrs: { scope: 'col' } }, hidden('Actions')))),
    roleRows);

  const roleName = el('input', { type: 'text', id: 'admin-role-name', spellcheck: false, attrs: { autocomplete: 'off', maxlength: '64' } });
  const roleRights = el('div', { class: 'admin-checks admin-rights' }, RIGHTS.map(([r, what]) => check(r, false, r, {}, what)));
  const roleScope = el('input', { type: 'text', id: 'admin-role-scope', class: 'mono', spellcheck: false, placeholder: 'section:finance', attrs: { autocomplete: 'off' } });
  const addRoleError = errorLine('add-role-error');
  const roleForm = el('form', { class: 'admin-form add-role-form', attrs: { 'aria-labelledby': 'admin-add-role-title' } },
    el('h4', { id: 'admin-add-role-title', class: 'admin-form-title', text: 'Add role' }),
    el('div', { class: 'admin-fields' },
      field('Name', roleName, 'Lowercase letters, digits, “.”, “_” or “-”.'),
      field('Scope', roleScope, 'A query: the entries its rights reach, e.g. section:finance. Empty: every entry.')),
    el('fieldset', { class: 'admin-set' }, el('legend', { text: 'Rights' }), roleRights),
    el('div', { class: 'admin-buttons' }, el('button', { type: 'submit', class: 'primary add-role', text: 'Add role', data: { act: 'add-role', focus: 'add-role' } })),
    addRoleError);

  const content = el('div', { class: 'admin-content', hidden: true },
    el('section', { class: 'admin-section admin-users', attrs: { 'aria-labelledby': 'admin-users-title' } },
      el('h3', { id: 'admin-users-title', text: 'Users' }), usersTable, userForm),
    el('section', { class: 'admin-section admin-roles', attrs: { 'aria-labelledby': 'admin-roles-title' } },
      el('h3', { id: 'admin-roles-title', text: 'Roles' }), rolesTable, roleForm));

  root.replaceChildren(
    el('header', { class: 'admin-head' }, title, el('span', { class: 'grow' }), close),
    status, loadError, content);

  function say(text) {
    status.textContent = text ?? '';
  }

  function sayIn(node, text) {
    node.textContent = text ?? '';
    node.hidden = !text;
  }

  /** Buttons wait while a change is under way; each also has its own reason (`data-ready`). */
  function showBusy() {
    for (const b of root.querySelectorAll('button[data-act]')) b.disabled = busy || b.dataset.ready === 'false';
  }

  function errorRow(name, message, columns) {
    return el('tr', { class: 'admin-row-error', data: { name } },
      el('td', { attrs: { colspan: String(columns) } }, el('p', { class: 'form-error admin-error', text: message, attrs: { role: 'alert' } })));
  }

  function userRow(u, names) {
    const roles = new Set(u.roles ?? []);
    const ticks = drafts.get(u.name) ?? roles;
    const all = [...names, ...[...roles].filter((r) => !names.includes(r))];
    const rows = [el('tr', { class: 'user-row', data: { name: u.name } },
      el('th', { class: 'user-name', attrs: { scope: 'row' }, title: u.created_at ? `Created ${formatLocalSeconds(u.created_at)}` : '' },
        el('span', { class: 'user-login', text: u.name }),
        u.name === me ? el('span', { class: 'badge admin-you', text: 'you' }) : null,
        u.disabled_at ? el('span', { class: 'badge user-disabled', text: 'disabled', title: `Disabled ${formatLocalSeconds(u.disabled_at)}: cannot sign in` }) : null),
      el('td', { class: 'user-roles' }, el('div', { class: 'user-roles-edit' },
        el('div', { class: 'admin-checks', attrs: { role: 'group', 'aria-label': `Roles of ${u.name}` } },
          all.map((r) => check(r, ticks.has(r), r, { data: { user: u.name, focus: `role:${u.name}:${r}` } }))),
        el('button', {
          type: 'button', class: 'user-save', text: 'Save roles',
          data: { act: 'save', user: u.name, ready: String(drafts.has(u.name)), focus: `save:${u.name}` },
          attrs: { 'aria-label': `Save roles of ${u.name}` },
        }))),
      el('td', { class: 'user-sessions num', text: String(u.live_sessions ?? 0) }),
      el('td', { class: 'user-locked' }, u.locked_until
        ? el('time', { text: formatLocalSeconds(u.locked_until), title: formatUtcExact(u.locked_until), attrs: { datetime: u.locked_until } })
        : el('span', { class: 'dim', text: '—', attrs: { 'aria-label': 'not locked' } })),
      el('td', { class: 'user-actions' }, el('button', {
        type: 'button', class: 'user-revoke', text: 'End sessions',
        title: u.live_sessions > 0 ? `Sign ${u.name} out of every live session` : 'No live session',
        data: { act: 'revoke', user: u.name, ready: String(u.live_sessions > 0), focus: `revoke:${u.name}` },
        attrs: { 'aria-label': `End sessions of ${u.name}` },
      }), u.disabled_at
        ? el('button', {
          type: 'button', class: 'user-enable', text: 'Enable',
          title: `Let ${u.name} sign in again`,
          data: { act: 'enable', user: u.name, ready: 'true', focus: `enable:${u.name}` },
          attrs: { 'aria-label': `Enable ${u.name}` },
        })
        : el('button', {
          type: 'button', class: 'user-disable', text: 'Disable',
          title: u.name === me ? 'You cannot disable your own account' : `${u.name} can no longer sign in; their sessions end at once`,
          data: { act: 'disable', user: u.name, ready: String(u.name !== me), focus: `disable:${u.name}` },
          attrs: { 'aria-label': `Disable ${u.name}` },
        })))];
    if (userErrors.has(u.name)) rows.push(errorRow(u.name, userErrors.get(u.name), 5));
    return rows;
  }

  function roleRow(r) {
    const rows = [el('tr', { class: `role-row${r.builtin ? ' builtin' : ''}`, data: { name: r.name } },
      el('th', { class: 'role-name', attrs: { scope: 'row' } },
        el('span', { class: 'role-login', text: r.name }),
        r.builtin ? el('span', { class: 'badge role-builtin', text: 'built in', title: 'Built into the store: it cannot be changed or removed' }) : null),
      el('td', { class: 'role-rights', text: (r.rights ?? []).join(', ') }),
      el('td', { class: 'role-scope' }, r.scope
        ? el('span', { class: 'mono', text: r.scope })
        : el('span', { class: 'dim', text: 'every entry' })),
      el('td', { class: 'role-actions' }, r.builtin ? null : el('button', {
        type: 'button', class: 'role-remove', text: 'Remove', title: 'Remove this role (nobody may hold it)',
        data: { act: 'remove', role: r.name, focus: `remove:${r.name}` },
        attrs: { 'aria-label': `Remove ${r.name}` },
      })))];
    if (roleErrors.has(r.name)) rows.push(errorRow(r.name, roleErrors.get(r.name), 4));
    return rows;
  }

  function focusOn(key) {
    const target = key && [...root.querySelectorAll('[data-focus]')].find((n) => n.dataset.focus === key);
    if (target && !target.disabled) {
      target.focus({ preventScroll: true });
      return true;
    }
    return false;
  }

  const focusKey = () => (root.contains(document.activeElement) ? document.activeElement.dataset?.focus ?? null : null);

  /**
   * Draws the accounts; the focus goes back to what had it (`focused`, a data-focus key), else
   * to what `fallback()` gives.
   */
  function render(fallback = null, focused = focusKey()) {
    const names = accounts.roles.map((r) => r.name);
    for (const [name, ticks] of drafts) {
      const u = accounts.users.find((x) => x.name === name);
      for (const r of ticks) if (!names.includes(r) && !u?.roles.includes(r)) ticks.delete(r);
      if (!u || sameSet(ticks, new Set(u.roles))) drafts.delete(name);
    }
    userRows.replaceChildren(...accounts.users.flatMap((u) => userRow(u, names)));
    roleRows.replaceChildren(...accounts.roles.flatMap(roleRow));
    const keep = new Set(ticked(userRoles));
    userRoles.replaceChildren(...names.map((r) => check(r, keep.has(r), r, { name: 'roles' })));
    content.hidden = false;
    showBusy();
    if (!focusOn(focused)) fallback?.()?.focus({ preventScroll: true });
  }

  /**
   * Runs a change; resolves to true when it went through (`onDone()`, then the accounts are
   * drawn again from the answer, `done` in the status line) or false (`onError(text)`).
   */
  async function change(command, args, { onError, onDone, done, fallback }) {
    if (busy) return false;
    const mine = gen;
    // Taken before the buttons wait (a disabled button loses the focus).
    const focused = focusKey();
    busy = true;
    say(null);
    showBusy();
    try {
      const answer = await call(command, args);
      if (mine !== gen) return false;
      accounts = answer;
      busy = false;
      onDone?.();
      say(done);
      render(fallback, focused);
      return true;
    } catch (error) {
      if (mine !== gen || error.handled) return false;
      busy = false;
      onError(failureText(error));
      if (accounts) render(null, focused);
      return false;
    } finally {
      if (mine === gen) {
        busy = false;
        showBusy();
      }
    }
  }

  async function load() {
    const mine = ++gen;
    busy = false;
    say('Loading users and roles…');
    loadError.hidden = true;
    try {
      const answer = await call('accounts');
      if (mine !== gen) return;
      accounts = answer;
      say(null);
      render();
    } catch (error) {
      if (mine !== gen || error.handled) return;
      say(null);
      loadText.textContent = failureText(error, 'Could not list the users and roles: ');
      loadError.hidden = false;
    }
  }

  function show(value) {
    open = value;
    root.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    button.classList.toggle('active', open);
    for (const node of covers) node.inert = open;
  }

  function openScreen() {
    show(true);
    title.focus();
    load();
  }

  function closeScreen() {
    if (!open) return;
    gen++;
    busy = false;
    show(false);
    if (!button.hidden) button.focus();
  }

  userRows.addEventListener('change', (e) => {
    const box = e.target instanceof HTMLInputElement ? e.target : null;
    const u = box && accounts?.users.find((x) => x.name === box.dataset.user);
    if (!u) return;
    const ticks = new Set(ticked(box.closest('.admin-checks')));
    if (sameSet(ticks, new Set(u.roles))) drafts.delete(u.name);
    else drafts.set(u.name, ticks);
    const save = box.closest('tr').querySelector('.user-save');
    save.dataset.ready = String(drafts.has(u.name));
    showBusy();
  });
  userRows.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('button[data-act]') : null;
    if (!b || b.disabled) return;
    const name = b.dataset.user;
    const u = accounts?.users.find((x) => x.name === name);
    if (!u) return;
    userErrors.delete(name);
    const onError = (text) => userErrors.set(name, text);
    // Once done, the focus goes to the user's first role (the button pressed is then disabled).
    const fallback = () => [...userRows.querySelectorAll('input[data-user]')].find((i) => i.dataset.user === name);
    if (b.dataset.act === 'save') {
      const ticks = drafts.get(name) ?? new Set(u.roles);
      const order = [...accounts.roles.map((r) => r.name), ...u.roles];
      const roles = [...new Set(order.filter((r) => ticks.has(r)))];
      change('set_roles', { name, roles }, {
        onError, onDone: () => drafts.delete(name), fallback,
        done: `The roles of ${name} are saved: ${roles.join(', ') || 'none'}.`,
      });
    } else if (b.dataset.act === 'revoke') {
      const n = u.live_sessions ?? 0;
      change('revoke_user', { name }, { onError, fallback, done: `Ended ${n} ${n === 1 ? 'session' : 'sessions'} of ${name}.` });
    } else if (b.dataset.act === 'disable') {
      change('disable_user', { name }, { onError, fallback, done: `${name} is disabled: they cannot sign in, and their sessions have ended.` });
    } else if (b.dataset.act === 'enable') {
      change('enable_user', { name }, { onError, fallback, done: `${name} may sign in again.` });
    }
  });
  roleRows.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('button[data-act="remove"]') : null;
    if (!b || b.disabled) return;
    const name = b.dataset.role;
    roleErrors.delete(name);
    change('remove_role', { name }, { onError: (text) => roleErrors.set(name, text), done: `The role ${name} is removed.`, fallback: () => roleName });
  });
  userForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    sayIn(addUserError, null);
    const name = userName.value.trim();
    if (!name) {
      sayIn(addUserError, 'Give the user a name.');
      userName.focus();
      return;
    }
    const roles = ticked(userRoles);
    const ok = await change('add_user', { name, password: userPassword.value, roles },
      { onError: (text) => sayIn(addUserError, text), done: `User ${name} added with ${roles.join(', ') || 'no role'}.` });
    if (!ok) return;
    userName.value = '';
    userPassword.value = '';
    for (const box of userRoles.querySelectorAll('input')) box.checked = false;
    userName.focus();
  });
  roleForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    sayIn(addRoleError, null);
    const name = roleName.value.trim();
    if (!name) {
      sayIn(addRoleError, 'Give the role a name.');
      roleName.focus();
      return;
    }
    const rights = ticked(roleRights);
    const scope = roleScope.value.trim();
    const ok = await change('add_role', { name, rights, scope },
      { onError: (text) => sayIn(addRoleError, text), done: `Role ${name} added: ${rights.join(', ')} on ${scope || 'every entry'}.` });
    if (!ok) return;
    roleName.value = '';
    roleScope.value = '';
    for (const box of roleRights.querySelectorAll('input')) box.checked = false;
    roleName.focus();
  });
  close.addEventListener('click', closeScreen);
  retry.addEventListener('click', load);
  button.addEventListener('click', () => (open ? closeScreen() : openScreen()));

  return {
    /** Shows the header's button only to `user` holding `accounts` (`allowed`). */
    setUser(user, allowed) {
      me = user?.name ?? null;
      button.hidden = !allowed;
      if (!allowed) closeScreen();
    },
    /** Signed out: closes, and forgets the accounts and whatever was typed. */
    reset() {
      closeScreen();
      button.hidden = true;
      accounts = null;
      drafts.clear();
      userErrors.clear();
      roleErrors.clear();
      content.hidden = true;
      loadError.hidden = true;
      say(null);
      userForm.reset();
      roleForm.reset();
      sayIn(addUserError, null);
      sayIn(addRoleError, null);
    },
    /** Esc outside a text field goes back to the search. */
    handleKey(e) {
      if (e.key !== 'Escape' || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.target instanceof Element && e.target.matches('input[type="text"], input[type="password"], textarea')) return;
      e.preventDefault();
      closeScreen();
    },
    isOpen: () => open,
  };
}
