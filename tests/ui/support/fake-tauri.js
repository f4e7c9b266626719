// In-page test double of the Rust side for the UI tests: window.__TAURI__.core.{invoke, Channel}
// answering every command of docs/console.md from a generated journal. Every question about
// queries (parse_query, print_query, which entries match, timeline, facets, IP probes) goes to
// the console's own Rust code through window.__vigilBackend (harness.mjs, vigil-ui-backend). Configured through
// window.__VIGIL_FAKE_CONFIG__ (set by an earlier init script; `exact: false` drops the entries'
// `exact` texts as an older console would; `export` is the first export plan, see exportWith);
// tests drive it through window.__fake (calls made, forced failures, live events, exports,
// and through fake-annotations.js the offline switch, the outbox, annotations and incidents;
// `notes: false` starts without seeded annotations and incidents). The session's user is a
// user of fake-accounts.js (`user`, default k.morel: auditor and compliance; `vera` is a viewer,
// `c.roux` an admin) with the rights their roles grant, checked as the store checks them: a
// missing right is `forbidden` with the store's message (writes are queued, then refused in the
// outbox), and the entries of a user without `unmask` come masked (`personal` lists the
// personal fields besides the IP and the target's name; default `changes.nickname`).
// What the console verified of the store (`trust`, `verify_entry`, `verify_search`) follows
// `cfg.trust` (a patch of the default: verified, its checkpoint holding all but the newest five
// entries; or window.__fake.setTrust) and `cfg.tampered` (ids of entries that fail their check).
(() => {
  const cfg = window.__VIGIL_FAKE_CONFIG__ ?? {};
  const D = window.__vigilFakeData;
  const SERVER = 'https://vigil.casino.example';
  const A = window.__vigilFakeAccounts.create({ users: cfg.users, roles: cfg.roles, parse: (scope) => backend('/parse', { q: scope }) });
  /** The session's user for a login name: a known user's roles and rights, else an auditor. */
  const userInfo = (name) => A.userInfo(name) ?? { name, roles: ['auditor'], rights: A.rightsOf(['auditor']) };
  const signedIn = {
    state: 'signed_in', server: SERVER, user: userInfo(cfg.user ?? 'k.morel'), last_user: cfg.user ?? 'k.morel',
    expires_at: '2026-11-27T09:00:00.000000Z', keyring: 'os', keyring_note: null, reason: null,
  };
  const signedOut = (reason = null) => ({ ...signedIn, state: 'signed_out', user: null, expires_at: null, reason });
  let session = { ...(cfg.session === 'signed_out' ? signedOut(cfg.reason ?? null) : signedIn), ...(cfg.sessionPatch ?? {}) };

  const events = D.generate(cfg.count ?? 400);
  if (cfg.special !== false) {
    events.push({ ...D.SPECIAL, seq: events.length + 1 });
  }
  // An older store's console: entries without `exact`.
  if (cfg.exact === false) for (const e of events) delete e.exact;
  let saved = (cfg.saved ?? [{ name: 'Critical finance', q: 'section:finance severity:critical' }, { name: 'Denied access', q: 'outcome:denied' }])
    .sort((a, b) => a.name.localeCompare(b.name));
  const failures = new Map();
  const calls = [];
  // The calls that have answered (the UI shows what they answered right after).
  const answered = [];
  let live = null;
  // How the next exports go (window.__fake.exportWith) and the one running, if any.
  let exportPlan = { ...(cfg.export ?? {}) };
  let exporting = null;
  const cache = new Map();
  const gone = new Set();
  const N = window.__vigilFakeAnnotations.create({
    events, server: SERVER, seed: cfg.notes !== false,
    user: () => session.user?.name ?? 'k.morel',
    onChange: () => cache.clear(),
  });
  if (cfg.offline) N.setOffline(true);
  // The store's index: what search answers say of it (cfg.freshness), and its progress.
  let freshness = cfg.freshness ?? null;
  let indexProgress = cfg.indexProgress ?? { indexed: events.length, journal: events.length };
  // The store answers searches, timelines and facets with 503 `unavailable` (this message).
  let unavailable = cfg.unavailable ?? null;
  const checkAvailable = () => {
    if (unavailable && N.online()) throw err('unavailable', unavailable);
  };

  const err = (code, message, extra = {}) => ({ code, message, ...extra });

  /**
   * The query language, asked of the console's own Rust code (vigil-ui-backend, started by the
   * harness and reached through `window.__vigilBackend`): parse, print, match, timeline, facets.
   * Its errors come back as the console's `{code, message, column}`.
   */
  async function backend(path, body) {
    const answer = JSON.parse(await window.__vigilBackend(path, JSON.stringify(body)));
    if (answer.error) throw answer.error;
    return answer.ok;
  }
  // The journal, sent to the backend once (as the store holds it, without the UI's `exact`).
  const journalKey = `${events.length}:${events.at(-1)?.id ?? ''}`;
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  let loaded = null;
  function journal() {
    loaded ??= backend('/load', { key: journalKey, events: events.map(({ exact, ...stored }) => stored) });
    return loaded;
  }
  /** What each annotated or pinned entry's annotations amount to, by seq (the others have none). */
  function summaries() {
    const out = {};
    for (const e of events) {
      const n = N.notesOf(e);
      if (n.marks.length || n.comments.length || n.incidents.length) out[e.seq] = n;
    }
    return out;
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * The signed-in user as the store knows them now (their roles may have changed since the
   * session began: the store checks the current ones).
   */
  const storeUser = () => A.userInfo(session.user?.name) ?? session.user ?? { name: '', roles: [], rights: [] };
  /** Whether the user's roles grant `right` (a user listing no rights: the store decides yes). */
  const holds = (right) => !storeUser().rights?.length || storeUser().rights.includes(right);
  /** The store's refusal (service/caller.rs): what was done, the right, the user and their roles. */
  const refusal = (doing, right) => `${doing} needs the ${right} right, which none of ${JSON.stringify(storeUser().name)}'s roles (${storeUser().roles.join(', ')}) grants`;
  function need(right, doing) {
    if (!holds(right)) throw err('forbidden', refusal(doing, right));
  }
  /** A query asking about a narrower IP range than a masked reader sees (auth's check). */
  async function checkQuery(q) {
    if (holds('unmask')) return;
    const { probes } = await backend('/probes_ip', { q: q ?? '' });
    if (probes) {
      throw err('forbidden', 'searching by an IP range narrower than /24 (IPv4) or /48 (IPv6) needs the unmask right: without it, addresses are shown masked');
    }
  }

  const PERSONAL = cfg.personal ?? ['changes.nickname'];
  const MASKED = '[masked]';
  /** An IPv4's /24 or an IPv6's /48 network address, as Rust prints it. */
  function network(ip) {
    if (!ip.includes(':')) return ip.split('.').slice(0, 3).concat('0').join('.');
    const [head, tail = ''] = ip.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].slice(0, 3)
      .map((g) => parseInt(g, 16).toString(16));
    while (groups.length && groups.at(-1) === '0') groups.pop();
    return `${groups.join(':')}::`;
  }
  /** vigil_core::rights::mask, for a user without `unmask`: the entry as the store sends it. */
  function mask(e) {
    if (holds('unmask')) return e;
    const out = structuredClone(e);
    // Hashes are withheld from a reader of masked entries (Caller::sees_hashes).
    out.hash = '';
    const masked = [];
    if (out.ip) {
      out.ip = network(out.ip);
      masked.push('ip');
    }
    if (out.target?.name != null) {
      out.target.name = MASKED;
      masked.push('target.name');
    }
    for (const path of PERSONAL) {
      let hit = false;
      if (path.startsWith('changes.')) {
        (out.changes ?? []).forEach((c, i) => {
          if (c.field !== path.slice(8)) return;
          for (const side of ['before', 'after']) {
            if (c[side] == null) continue;
            c[side] = MASKED;
            if (out.exact?.changes?.[i]) out.exact.changes[i][side] = JSON.stringify(MASKED);
          }
          hit = true;
        });
      } else if (out[path] != null) {
        out[path] = MASKED;
        hit = true;
      }
      if (hit) masked.push(path);
    }
    if (masked.length) out.masked = masked;
    return out;
  }
  /** An entry as the commands answer it: with its notes, masked for a user without `unmask`. */
  const present = (e) => mask(N.decorate(e));

  /** A write the store refuses without `annotate`: the console queues it, the send fails. */
  function write(kind, command) {
    return (args) => {
      if (!holds('annotate')) N.refuseNext(kind, refusal('annotating', 'annotate'));
      return N.commands[command](args);
    };
  }
  /** An accounts command: the `accounts` right first. */
  const admin = (command) => (args) => {
    need('accounts', 'managing users, roles and keys');
    return A.commands[command](args);
  };

  const FORMATS = ['csv', 'xlsx', 'json', 'ndjson'];
  const EXPORT_SHA = '3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b';

  /**
   * export_start as export.rs runs it: checks the request, then sends `plan.progress` (default:
   * 0, half, all of the matches) `plan.interval` ms apart, then resolves (`plan.result` patches
   * the answer) or rejects with `plan.error`; `plan.hold` waits for exportFinish/exportFail.
   */
  async function startExport({ request, onProgress }) {
    need('export', 'exporting');
    const { q, format, path, bom } = request ?? {};
    if (!FORMATS.includes(format)) throw err('invalid', `${JSON.stringify(format)} is not an export format: csv, xlsx, json, ndjson`);
    if (typeof bom !== 'boolean') throw err('invalid', `bom: ${JSON.stringify(bom)} is not a boolean`);
    const total = (await matches(q)).length;
    if (typeof path !== 'string' || !path.trim().startsWith('/')) throw err('invalid', `${JSON.stringify(path)}: choose where to save the file`);
    if (!onProgress || typeof onProgress.onmessage !== 'function') throw err('invalid', 'missing onProgress channel');
    if (exporting) throw err('invalid', 'An export is already running: wait for it or cancel it.');
    const file = /\.[^/.]+$/.test(path.trim()) ? path.trim() : `${path.trim()}.${format}`;
    const plan = exportPlan;
    return new Promise((resolve, reject) => {
      const job = { request: structuredClone(request), channel: onProgress, total };
      job.send = (p) => { if (exporting === job) onProgress.onmessage(structuredClone(p)); };
      job.finish = (patch = {}) => {
        if (exporting !== job) return;
        exporting = null;
        const rows = patch.rows ?? plan.result?.rows ?? total;
        resolve({
          path: file,
          about_path: format === 'csv' || format === 'ndjson' ? `${file}.about.json` : null,
          rows,
          summary: rows === 0 ? 'No activity' : `${rows} ${rows === 1 ? 'entry' : 'entries'}`,
          sha256: EXPORT_SHA,
          ...(plan.result ?? {}),
          ...patch,
        });
      };
      job.fail = (error) => {
        if (exporting !== job) return;
        exporting = null;
        reject({ ...error });
      };
      exporting = job;
      (async () => {
        const steps = plan.progress ?? [{ rows: 0, total }, { rows: Math.floor(total / 2), total }, { rows: total, total }];
        for (const step of steps) {
          await sleep(plan.interval ?? 0);
          job.send(step);
        }
        if (plan.hold) return;
        await sleep(plan.interval ?? 0);
        if (plan.error) job.fail(plan.error);
        else job.finish();
      })();
    });
  }

  /** The matching entries, oldest first (cached per query until annotations change). */
  function matches(q) {
    if (!cache.has(q)) {
      cache.set(q, journal()
        .then(() => backend('/search', { key: journalKey, q: q ?? '', order: 'oldest', summaries: summaries() }))
        .then(({ seqs }) => seqs.map((s) => bySeq.get(s))));
      cache.get(q).catch(() => cache.delete(q));
    }
    return cache.get(q);
  }

  async function timeline(q, buckets = 100) {
    await journal();
    return backend('/timeline', { key: journalKey, q: q ?? '', buckets, summaries: summaries() });
  }

  async function facets(q, field, limit) {
    await journal();
    return backend('/facets', { key: journalKey, q: q ?? '', field, limit, summaries: summaries() });
  }

  // The store's trust as the Rust side found it (trust.rs), and entries that fail their check.
  const CHECKPOINT = { size: Math.max(1, events.length - 5), signed_at: '2026-11-27T08:00:00.000000Z', key_id: '72b985fea619ec83' };
  let trust = { state: 'verified', key_id: '72b985fea619ec83', pinned_at: '2026-11-01T09:00:00.000000Z', checkpoint: CHECKPOINT, ...(cfg.trust ?? {}) };
  const tampered = new Set(cfg.tampered ?? []);
  let copies = 0;
  const notTrusted = () => (trust.state === 'verified' ? null : { state: trust.state === 'unverified' ? 'unverified' : 'alarm', message: trust.message });
  const TAMPERED = 'Its content as the store shows it does not give the hash it was recorded with: it was changed after it was recorded.';

  const commands = {
    session_status: () => session,
    sign_in({ server, user, password, plain_http: plainHttp }) {
      if (!/^https?:\/\/[^\s/]+/.test(server ?? '')) throw err('bad_url', `server URL: '${server}' is not an http(s) URL`);
      // As the console: plain HTTP only to this machine, unless the person confirmed.
      const local = /^http:\/\/(localhost|127\.[\d.]+|\[::1\])(:\d+)?(\/|$)/i.test(server);
      if (server.startsWith('http://') && !local && !plainHttp) {
        throw err('plain_http', `${server} is plain HTTP: your password and session would cross the network unencrypted. Use https:// (the store serves it with [tls] in vigil.toml), or connect anyway if you trust this network.`);
      }
      if (/unreachable|down\./.test(server)) throw err('unreachable', `no answer from ${server} (connection refused)`);
      if (password !== (cfg.password ?? 'correct horse battery')) throw err('bad_credentials', 'Wrong user name or password.');
      session = { ...signedIn, server, user: userInfo(user), last_user: user, ...(cfg.sessionPatch ?? {}) };
      return session;
    },
    sign_out() {
      session = signedOut();
      return session;
    },
    // As the store: the current password required, the rules of vigil's credentials.rs.
    change_password({ old_password: old, new_password: fresh } = {}) {
      if (old !== (cfg.password ?? 'correct horse battery')) throw err('wrong_password', 'old_password: that is not your current password');
      if ([...(fresh ?? '')].length < 10) throw err('invalid', 'new_password: the password needs at least 10 characters');
      if (fresh.trim() !== fresh) throw err('invalid', 'new_password: the password must not start or end with a space');
      cfg.password = fresh;
      return null;
    },
    parse_query: ({ q }) => backend('/parse', { q }),
    print_query: ({ clauses }) => backend('/print', { clauses }).then((r) => r.text),
    async search({ q, cursor, limit = 50, order = 'newest' }) {
      checkAvailable();
      if (limit < 1 || limit > 1000) throw err('invalid', `limit: ${limit} is not between 1 and 1000`);
      await checkQuery(q);
      const list = await matches(q);
      const offset = cursor ? Number(cursor) : 0;
      const page = [];
      for (let i = offset; i < Math.min(list.length, offset + limit); i++) page.push(present(order === 'oldest' ? list[i] : list[list.length - 1 - i]));
      return {
        events: page,
        next_cursor: offset + limit < list.length ? String(offset + limit) : null,
        offline: !N.online(),
        ...(N.online() && freshness ? { freshness: { ...freshness } } : {}),
      };
    },
    index_progress() {
      if (!N.online()) throw err('unreachable', `no answer from ${SERVER}`);
      return { ...indexProgress };
    },
    async timeline({ q, buckets }) {
      checkAvailable();
      await checkQuery(q);
      return timeline(q, buckets);
    },
    async facets({ q, field, limit = 10 }) {
      checkAvailable();
      await checkQuery(q);
      return facets(q, field, limit);
    },
    event({ id }) {
      const e = gone.has(id) ? null : events.find((x) => x.id === id);
      if (!e) throw err('not_found', `no entry ${id}`);
      // As the console: a copy from the store has a number, which verify_entry checks.
      return N.online() ? { ...present(e), copy: ++copies } : present(e);
    },
    trust: () => (N.online() ? trust : { state: 'unverified', key_id: trust.key_id, message: 'The store cannot be reached: nothing is verified offline.' }),
    verify_entry({ id, copy }) {
      const e = events.find((x) => x.id === id);
      if (!e) throw err('not_found', `no entry ${id}`);
      if (copy == null) return { state: 'unverified', message: 'Not checked: this copy of the entry comes from this computer\'s cache (the store could not be reached).' };
      if (!N.online()) return { state: 'unverified', message: 'The store cannot be reached: nothing is verified offline.' };
      const refused = notTrusted();
      if (refused) return refused;
      const cp = trust.checkpoint;
      if (e.seq > cp.size) return { state: 'pending', message: `Not yet covered by a signed checkpoint: the newest covers entries 1 to ${cp.size}. The store signs one within a minute.`, checkpoint: cp };
      if (tampered.has(id)) return { state: 'failed', message: TAMPERED, checkpoint: cp };
      return { state: 'verified', checkpoint: cp };
    },
    async verify_search({ q }) {
      await checkQuery(q);
      const list = await matches(q);
      const refused = notTrusted();
      const base = { q, entries: 0, verified: 0, pending: 0, truncated: false, failures: [], failed: 0, seconds: 0.2 };
      if (refused) return { ...base, state: 'unverified', message: refused.message };
      const cp = trust.checkpoint;
      const covered = list.filter((e) => e.seq <= cp.size);
      const bad = covered.filter((e) => tampered.has(e.id));
      const r = {
        ...base, entries: list.length, pending: list.length - covered.length, verified: covered.length - bad.length,
        failed: bad.length, failures: bad.map((e) => ({ seq: e.seq, id: e.id, message: TAMPERED })), checkpoint: cp,
        state: bad.length ? 'failed' : 'verified',
      };
      const n = (v) => v.toLocaleString('en-US');
      const entries = (v) => (v === 1 ? 'entry' : 'entries');
      if (!list.length) r.message = 'The search holds no entries: nothing to verify.';
      else if (!covered.length) {
        r.state = 'pending';
        r.message = `None of the ${n(list.length)} ${entries(list.length)} is covered by a signed checkpoint yet (the newest covers entries 1 to ${n(cp.size)}): the store signs one within a minute.`;
      } else if (bad.length) r.message = `${n(bad.length)} of ${n(covered.length)} ${entries(covered.length)} are not what the store signed in its checkpoint of ${n(cp.size)} entries; ${n(r.verified)} verified.`;
      else r.message = `${n(r.verified)} ${entries(r.verified)} verified against the checkpoint of ${n(cp.size)} entries.`;
      if (r.pending && covered.length) r.message += ` ${n(r.pending)} newer ${r.pending === 1 ? 'entry is' : 'entries are'} not yet covered by a checkpoint.`;
      return r;
    },
    trust_new_key({ keyId }) {
      if (keyId !== trust.offered_key_id) throw err('invalid', `The store now shows key ${trust.offered_key_id}, not ${keyId}: check again.`);
      trust = { state: 'verified', key_id: keyId, pinned_at: '2026-11-27T09:30:00.000000Z', checkpoint: trust.checkpoint ?? CHECKPOINT };
      return trust;
    },
    trust_new_history() {
      trust = { state: 'verified', key_id: trust.key_id, pinned_at: trust.pinned_at, checkpoint: trust.checkpoint ?? CHECKPOINT };
      return trust;
    },
    around({ id }) {
      const e = commands.event({ id });
      const t = Date.parse(e.occurred_at);
      const near = events.filter((x) => Math.abs(Date.parse(x.occurred_at) - t) <= 15 * 60e3
        && (x.actor.id === e.actor.id || (e.target && x.target && x.target.type === e.target.type && x.target.id === e.target.id)));
      return { events: near.map(present) };
    },
    async live_start({ q, channel }) {
      await checkQuery(q);
      live = { q, channel };
      setTimeout(() => live?.channel === channel && channel.onmessage({ type: 'connected' }), 0);
      return null;
    },
    live_stop() {
      live = null;
      return null;
    },
    saved_searches: () => saved,
    save_search({ name, q }) {
      saved = [...saved.filter((s) => s.name !== name), { name, q }].sort((a, b) => a.name.localeCompare(b.name));
      return saved;
    },
    delete_search({ name }) {
      saved = saved.filter((s) => s.name !== name);
      return saved;
    },
    export_pick({ format }) {
      if (!FORMATS.includes(format)) throw err('invalid', `${JSON.stringify(format)} is not an export format: csv, xlsx, json, ndjson`);
      return 'path' in exportPlan ? exportPlan.path : `/home/k.morel/vigil-export-20261120-0410.${format}`;
    },
    export_start: startExport,
    ...N.commands,
    annotate: write('annotation', 'annotate'),
    open_incident: write('incident', 'open_incident'),
    pin_entry: write('pin', 'pin_entry'),
    incident_note: write('note', 'incident_note'),
    // As GET /v1/senders: the store's list, or its refusal for a reader limited to some entries.
    senders() {
      if (cfg.sendersRefused) throw err('forbidden', 'listing the senders needs the read right over the whole journal, or the accounts right, which none of "fiona"\'s roles (finance-reader) grants');
      return cfg.senders ?? [];
    },
    accounts: admin('accounts'),
    add_user: admin('add_user'),
    set_roles: admin('set_roles'),
    revoke_user: admin('revoke_user'),
    disable_user: admin('disable_user'),
    enable_user: admin('enable_user'),
    add_role: admin('add_role'),
    remove_role: admin('remove_role'),
    export_cancel() {
      if (!exporting) return false;
      exporting.fail(err('cancelled', 'Export cancelled. Nothing was written.'));
      return true;
    },
  };

  async function invoke(cmd, args = {}) {
    // Channels are recorded by name only (their handlers cannot be cloned).
    const plain = {};
    for (const [key, value] of Object.entries(args)) plain[key] = value instanceof Channel ? '[Channel]' : value;
    calls.push({ cmd, args: structuredClone(plain) });
    await new Promise((resolve) => setTimeout(resolve, cfg.latency ?? 0));
    const forced = failures.get(cmd);
    if (forced) {
      if (!forced.sticky) failures.delete(cmd);
      throw { ...forced.error };
    }
    if (!commands[cmd]) throw err('invalid', `unknown command ${cmd}`);
    if (cmd !== 'session_status' && cmd !== 'sign_in' && session.state !== 'signed_in') throw err('signed_out', 'You are signed out.');
    const answer = structuredClone(await commands[cmd](args));
    answered.push({ cmd, args: structuredClone(plain) });
    return answer;
  }

  class Channel {
    constructor() {
      this.onmessage = () => {};
    }
  }

  window.__fake = {
    calls,
    events,
    /** What the next `trust` answers. */
    setTrust(t) { trust = { ...t }; },
    /** The entry fails its check from now on (the store changed it). */
    tamper(id) { tampered.add(id); },
    /** The next call of `cmd` (or every call, sticky) fails with `error`. */
    fail(cmd, error, sticky = false) { failures.set(cmd, { error, sticky }); },
    clearFailures() { failures.clear(); },
    /** Sends `n` new entries down the live channel. */
    pushLive(n = 1) {
      for (let i = 0; i < n; i++) live?.channel.onmessage({ type: 'event', event: present(events[events.length - 1 - i]) });
    },
    liveError(message, code = 'unreachable') { live?.channel.onmessage({ type: 'error', code, message }); },
    live: () => (live ? { q: live.q } : null),
    remove(id) { gone.add(id); },
    expire(reason) { session = signedOut(reason); },
    callsOf(cmd) { return calls.filter((c) => c.cmd === cmd).map((c) => c.args); },
    /** The calls of `cmd` that have answered, with their arguments. */
    answeredOf(cmd) { return answered.filter((c) => c.cmd === cmd).map((c) => c.args); },
    /**
     * How the next exports go: {path} is what export_pick answers (null: the user closed the
     * save dialog); {progress: [{rows, total}], interval, hold, result, error} drive export_start.
     */
    exportWith(plan = {}) { exportPlan = { ...plan }; },
    /** Sends a progress message on the running export's channel. */
    exportProgress(rows, total) { exporting?.send({ rows, total: total ?? exporting.total }); },
    /** Ends the running (held) export: resolves it (`patch` patches the answer)… */
    exportFinish(patch) { exporting?.finish(patch); },
    /** …or rejects it with `error`. */
    exportFail(error) { exporting?.fail(error); },
    exporting: () => (exporting ? { request: exporting.request, total: exporting.total } : null),
    /** What search answers say of the index from now on (null: nothing). */
    setFreshness(f) { freshness = f; },
    /** Searches, timelines and facets answer 503 `unavailable` with `message` (null: no more). */
    setUnavailable(message) { unavailable = message; },
    /** What index_progress answers from now on. */
    setIndexProgress(p) { indexProgress = { ...p }; },
    /** Offline (true): writes wait in the outbox, pending, and searches say `offline: true`. */
    setOffline(value) {
      N.setOffline(value);
      cache.clear();
    },
    /** The store refuses outbox item `n` (default: the first waiting one); answers its n. */
    failOutboxItem: (n, error) => N.failOutboxItem(n, error),
    /** The next send of an outbox item of `kind` is refused with `error`. */
    refuseNext: (kind, error) => N.refuseNext(kind, error),
    outbox: () => N.outbox(),
    annotationsOf: (id) => N.annotationsOf(id),
    incidents: () => N.incidents(),
    notesOfIncident: (id) => N.notesOfIncident(id),
    pins: () => N.pins(),
    /** The store's users (fake-accounts.js), as `accounts` lists them. */
    users: () => A.users(),
    session: () => structuredClone(session),
  };
  window.__TAURI__ = { core: { invoke, Channel } };
})();
