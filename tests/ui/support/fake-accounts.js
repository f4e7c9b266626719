// In-page test double of the store's accounts for the UI tests: users and roles (the built-in
// ones and custom ones), validated as the store validates them (user and role names, the
// password rules, unknown roles and rights, a taken name, a role still held, a built-in role),
// and the rights a user's roles grant. Defines window.__vigilFakeAccounts.create(options), used by
// fake-tauri.js, which answers `accounts`, `add_user`, `set_roles`, `revoke_user`, `add_role` and
// `remove_role` with it (after checking the `accounts` right of the session's user).
(() => {
  const RIGHTS = ['read', 'unmask', 'annotate', 'review', 'export', 'alerts', 'marks', 'accounts'];
  // vigil_core::rights::builtin.
  const BUILTIN = [
    { name: 'admin', rights: [...RIGHTS], scope: '', builtin: true },
    { name: 'auditor', rights: ['read', 'unmask', 'annotate', 'review', 'export'], scope: '', builtin: true },
    { name: 'investigator', rights: ['read', 'unmask', 'annotate'], scope: '', builtin: true },
    { name: 'viewer', rights: ['read'], scope: '', builtin: true },
  ];
  const err = (code, message) => ({ code, message });
  const q = (s) => JSON.stringify(s);

  /**
   * `users` and `roles` (custom ones) replace the seeded ones; `parse(scope)` (async) checks a scope
   * (throws the query error); `now()` is the store's clock.
   */
  function create({ users, roles, parse = () => {}, now = () => '2026-11-27T08:00:00.000000Z' } = {}) {
    const list = structuredClone(users ?? [
      { name: 'c.roux', roles: ['admin'], created_at: '2026-01-05T09:00:00.000000Z', live_sessions: 1 },
      { name: 'j.obrien', roles: ['viewer'], created_at: '2026-03-02T14:30:00.000000Z', live_sessions: 0, locked_until: '2026-11-27T09:15:00.000000Z' },
      { name: 'k.morel', roles: ['auditor', 'compliance'], created_at: '2026-01-12T08:15:00.000000Z', live_sessions: 1 },
      { name: 's.levi', roles: ['investigator'], created_at: '2026-02-20T10:00:00.000000Z', live_sessions: 2 },
      { name: 'vera', roles: ['viewer'], created_at: '2026-06-01T07:45:00.000000Z', live_sessions: 0 },
    ]);
    let custom = structuredClone(roles ?? [
      { name: 'compliance', rights: ['read', 'unmask'], scope: 'section:players', builtin: false },
    ]);
    const allRoles = () => [...BUILTIN, ...[...custom].sort((a, b) => a.name.localeCompare(b.name))];
    const roleOf = (name) => allRoles().find((r) => r.name === name);
    const userOf = (name) => list.find((u) => u.name === name);
    const answer = () => structuredClone({ users: [...list].sort((a, b) => a.name.localeCompare(b.name)), roles: allRoles() });

    /** The rights some roles grant, in the store's order. */
    const rightsOf = (names) => RIGHTS.filter((r) => names.some((n) => roleOf(n)?.rights.includes(r)));

    function checkRoles(names) {
      if (!Array.isArray(names) || !names.length) throw err('invalid', 'a user needs at least one role');
      for (const n of names) {
        if (!roleOf(n)) throw err('invalid', `role ${q(n)} does not exist: the built-in roles are admin, auditor, investigator, viewer, and custom ones come from vigil role add`);
      }
    }

    function known(name) {
      const u = userOf(name);
      if (!u) throw err('not_found', `user ${q(name)} not found`);
      return u;
    }

    return {
      rightsOf,
      /** The session's `user` for a seeded user: name, roles and the rights they grant. */
      userInfo(name) {
        const u = userOf(name);
        return u ? { name, roles: [...u.roles], rights: rightsOf(u.roles) } : null;
      },
      users: () => structuredClone(list),
      commands: {
        accounts: answer,
        add_user({ name, password, roles: names } = {}) {
          name = String(name ?? '').trim();
          if (!name || [...name].length > 64 || !/^[\p{L}\p{N}._@-]+$/u.test(name)) {
            throw err('invalid', `user name ${q(name)} must be 1 to 64 letters, digits, '.', '_', '-' or '@'`);
          }
          if ([...(password ?? '')].length < 10) throw err('invalid', 'the password needs at least 10 characters');
          if (password.trim() !== password) throw err('invalid', 'the password must not start or end with a space');
          checkRoles(names);
          if (userOf(name)) throw err('conflict', `user ${q(name)} already exists`);
          list.push({ name, roles: [...new Set(names)], created_at: now(), live_sessions: 0 });
          return answer();
        },
        set_roles({ name, roles: names } = {}) {
          const u = known(name);
          checkRoles(names);
          u.roles = [...new Set(names)];
          return answer();
        },
        revoke_user({ name } = {}) {
          known(name).live_sessions = 0;
          return answer();
        },
        disable_user({ name } = {}) {
          const u = known(name);
          if (u.disabled_at) throw err('conflict', `user ${q(name)} is already disabled`);
          u.disabled_at = now();
          u.live_sessions = 0;
          return answer();
        },
        enable_user({ name } = {}) {
          const u = known(name);
          if (!u.disabled_at) throw err('conflict', `user ${q(name)} is not disabled`);
          delete u.disabled_at;
          return answer();
        },
        async add_role({ name, rights, scope = '' } = {}) {
          name = String(name ?? '').trim();
          if (!/^[a-z][a-z0-9._-]{0,63}$/.test(name)) {
            throw err('invalid', `role name ${q(name)} must be 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter`);
          }
          for (const r of rights ?? []) if (!RIGHTS.includes(r)) throw err('invalid', `${q(r)} is not a right; the rights are: ${RIGHTS.join(', ')}`);
          if (!rights?.length) throw err('invalid', `a role needs at least one right: ${RIGHTS.join(', ')}`);
          try {
            await parse(scope);
          } catch (e) {
            throw { code: 'bad_query', message: `scope: ${e.message}`, column: e.column };
          }
          if (BUILTIN.some((r) => r.name === name)) throw err('conflict', `${q(name)} is a built-in role`);
          if (roleOf(name)) throw err('conflict', `role ${q(name)} already exists`);
          custom.push({ name, rights: RIGHTS.filter((r) => rights.includes(r)), scope: scope.trim(), builtin: false });
          return answer();
        },
        remove_role({ name } = {}) {
          if (BUILTIN.some((r) => r.name === name)) throw err('invalid', `${q(name)} is a built-in role and cannot be removed`);
          const holders = list.filter((u) => u.roles.includes(name)).map((u) => u.name).sort();
          if (holders.length) throw err('conflict', `role ${q(name)} is held by ${holders.join(', ')}: take it from them first`);
          if (!roleOf(name)) throw err('not_found', `role ${q(name)}`);
          custom = custom.filter((r) => r.name !== name);
          return answer();
        },
      },
    };
  }

  window.__vigilFakeAccounts = { create, RIGHTS, BUILTIN };
})();
