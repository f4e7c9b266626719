// In-page test double of the console's investigator side for the UI tests: the marks catalog,
// annotations, incidents (numbered when the store "receives" them), pins, incident notes and the
// outbox, with an offline switch. Every write goes to the outbox first and is sent at once when
// online (as the Rust side does); while offline it waits, pending, and the next `outbox` call
// after going online sends it. Defines window.__vigilFakeAnnotations.create(options), used by
// fake-tauri.js, which answers the commands with these functions and lets tests drive them.
(() => {
  // The store's default catalog (vigil-store's default_marks).
  const CATALOG = [
    { key: 'player-request', label_fr: 'sur demande du joueur', label_en: "at the player's request", colour: '#2f7dd1' },
    { key: 'reviewed', label_fr: 'vérifié', label_en: 'reviewed', colour: '#2e9e5b' },
    { key: 'suspicious', label_fr: 'suspect', label_en: 'suspicious', colour: '#d9822b' },
    { key: 'false-positive', label_fr: 'faux positif', label_en: 'false positive', colour: '#7a7f87' },
    { key: 'escalated', label_fr: 'escaladé', label_en: 'escalated', colour: '#c23b3b' },
  ];
  const err = (code, message) => ({ code, message });
  const blank = (s) => typeof s !== 'string' || s.trim() === '';

  /**
   * `events` (the journal), `user()` (who writes), `server`, `seed` (false: no seeded
   * annotations or incidents), `onChange()` (the notes changed: cached matches are stale).
   */
  function create({ events, user, server, seed = true, onChange = () => {} }) {
    let online = true;
    let clock = Date.parse('2026-11-20T08:00:00Z');
    let ids = 0;
    let journalSeq = 5000;
    let nextNumber = 9;
    let nextN = 1;
    const annotations = new Map();
    const incidents = [];
    const notes = [];
    const pins = [];
    const outbox = [];
    const refusals = [];

    /** A fake time a minute after the last one, written as the store writes times. */
    const now = () => {
      clock += 60e3;
      return new Date(clock).toISOString().replace('Z', '123Z');
    };
    const uuid = (prefix) => `${prefix}${String(++ids).padStart(4, '0')}-7c1d-7000-8000-${String(ids).padStart(12, '0')}`;
    const entry = (id) => events.find((e) => e.id === id);
    const incidentOf = (id) => incidents.find((i) => i.id === id);

    function receive(thing) {
      thing.pending = false;
      thing.received_at = now();
    }

    /** Sends what waits, in order, unless offline; a refused item fails (the store said 4xx). */
    function send() {
      if (!online) return;
      for (const item of [...outbox]) {
        if (item.state !== 'waiting') continue;
        const r = refusals.findIndex((x) => x.kind === item.kind);
        if (r >= 0) {
          item.state = 'failed';
          item.error = refusals[r].error;
          refusals.splice(r, 1);
          continue;
        }
        item.apply();
        outbox.splice(outbox.indexOf(item), 1);
      }
      onChange();
    }

    function enqueue(kind, summary, written_at, apply, drop) {
      outbox.push({ n: nextN++, kind, summary, written_at, state: 'waiting', error: null, apply, drop });
      send();
    }

    const answer = () => ({
      online, server, waiting: outbox.length,
      items: outbox.map(({ n, kind, summary, written_at, state, error }) => ({ n, kind, summary, written_at, state, error })),
    });

    function listOf(id) {
      if (!annotations.has(id)) annotations.set(id, []);
      return annotations.get(id);
    }

    /** The thread of an entry: received ones in order of receipt, the pending ones last. */
    const threadOf = (id) => {
      const list = annotations.get(id) ?? [];
      return [...list.filter((a) => !a.pending), ...list.filter((a) => a.pending)];
    };

    /**
     * An incident as `incidents` lists it (src-tauri/annotations.rs): the store's count of pinned entries
     * and status; one not sent yet has no entries.
     */
    const incidentShown = (i) => {
      const { stored, ...shown } = i;
      return { ...shown, status: stored, entries: i.pending ? 0 : pins.filter((p) => p.incident === i.id && !p.pending).length };
    };

    /** What an entry answer carries besides the journal's record: the store's incidents only. */
    function decorate(e) {
      const refs = pins.filter((p) => p.entry === e.id && !p.pending).map((p) => incidentOf(p.incident)).filter((i) => i && !i.pending)
        .map((i) => ({ id: i.id, number: i.number, title: i.title }));
      return { ...e, annotations: threadOf(e.id), incidents: refs };
    }

    /**
     * What a query sees: marks and comments of the annotations no later one corrects; offline,
     * the ones in the outbox count too (a mark set offline finds the entry offline).
     */
    const NONE = { marks: [], comments: [], incidents: [] };
    function notesOf(e) {
      if (!annotations.has(e.id) && !pins.some((p) => p.entry === e.id)) return NONE;
      const list = (annotations.get(e.id) ?? []).filter((a) => !a.pending || !online);
      const old = new Set(list.map((a) => a.supersedes).filter(Boolean));
      const live = list.filter((a) => !old.has(a.id));
      const marks = [...new Set(live.flatMap((a) => a.marks))].sort();
      const comments = live.map((a) => a.comment).filter((c) => !blank(c));
      const incidentsOf = pins.filter((p) => p.entry === e.id && !p.pending).map((p) => incidentOf(p.incident))
        .filter((i) => i && !i.pending).flatMap((i) => [String(i.number), i.id.toLowerCase()]);
      return { marks, comments, incidents: incidentsOf };
    }

    function annotate({ id, comment, marks, supersedes } = {}, author = user(), written_at = now()) {
      const e = entry(id);
      if (!e) throw err('not_found', `no entry ${id}`);
      if (comment != null && typeof comment !== 'string') throw err('invalid', 'comment: not a text');
      if (marks != null && !Array.isArray(marks)) throw err('invalid', 'marks: not a list');
      for (const m of marks ?? []) if (!CATALOG.some((c) => c.key === m)) throw err('invalid', `unknown mark '${m}'`);
      if (blank(comment) && !(marks ?? []).length) throw err('invalid', 'An annotation needs a comment or a mark.');
      if ((comment ?? '').length > 10000) throw err('invalid', 'comment: longer than 10,000 characters');
      if (supersedes != null && !(annotations.get(id) ?? []).some((a) => a.id === supersedes)) {
        throw err('invalid', `supersedes: ${supersedes} is not an annotation of this entry`);
      }
      const a = { id: uuid('a000'), entry: id, author, written_at, received_at: null, marks: [...(marks ?? [])], pending: true };
      if (!blank(comment)) a.comment = comment;
      if (supersedes != null) a.supersedes = supersedes;
      listOf(id).push(a);
      const what = blank(comment) ? 'Marks' : 'Comment';
      enqueue('annotation', `${what} on ${e.action} by ${author}`, written_at, () => {
        receive(a);
        a.journal_seq = ++journalSeq;
        // Received ones go in order of receipt, before the pending ones.
        const list = listOf(id);
        list.splice(list.indexOf(a), 1);
        list.splice(list.filter((x) => !x.pending).length, 0, a);
      }, () => listOf(id).splice(listOf(id).indexOf(a), 1));
      return { annotation: structuredClone(a), outbox: answer() };
    }

    function openIncident({ title, description } = {}, author = user(), written_at = now()) {
      if (blank(title)) throw err('invalid', 'An incident needs a title.');
      if (title.length > 200) throw err('invalid', 'title: longer than 200 characters');
      const i = { id: uuid('1c00'), number: null, title, author, written_at, received_at: null, stored: 'open', pending: true };
      if (!blank(description)) i.description = description;
      incidents.push(i);
      enqueue('incident', `Incident “${title}” by ${author}`, written_at, () => {
        receive(i);
        i.number = ++nextNumber;
      }, () => incidents.splice(incidents.indexOf(i), 1));
      return { incident: incidentShown(i), outbox: answer() };
    }

    const named = (i) => (i.number != null ? `incident ${i.number}` : `incident “${i.title}”`);

    function pin({ incident, entry: id } = {}, author = user(), written_at = now()) {
      const i = incidentOf(incident);
      if (!i) throw err('not_found', `no incident ${incident}`);
      const e = entry(id);
      if (!e) throw err('not_found', `no entry ${id}`);
      if (pins.some((p) => p.incident === incident && p.entry === id)) throw err('invalid', `This entry is already pinned to ${named(i)}.`);
      const p = { id: uuid('b100'), incident, entry: id, author, written_at, received_at: null, pending: true };
      pins.push(p);
      enqueue('pin', `Pin of ${e.action} to ${named(i)} by ${author}`, written_at, () => receive(p),
        () => pins.splice(pins.indexOf(p), 1));
      return { outbox: answer() };
    }

    function note({ incident, text, status } = {}, author = user(), written_at = now()) {
      const i = incidentOf(incident);
      if (!i) throw err('not_found', `no incident ${incident}`);
      if (status != null && status !== 'open' && status !== 'closed') throw err('invalid', `status: '${status}' is not open or closed`);
      if (blank(text) && status == null) throw err('invalid', 'A note needs a text or a status.');
      const n = { id: uuid('c200'), incident, author, written_at, received_at: null, pending: true };
      if (!blank(text)) n.text = text;
      if (status != null) n.status = status;
      notes.push(n);
      const what = status === 'closed' ? 'Closing of' : status === 'open' ? 'Reopening of' : 'Note on';
      // The store's status changes when it receives the note; `incident` shows it before.
      enqueue('note', `${what} ${named(i)} by ${author}`, written_at, () => {
        receive(n);
        if (status) i.stored = status;
      }, () => notes.splice(notes.indexOf(n), 1));
      return { outbox: answer() };
    }

    /** Seeded so that tables, facets and the sidebar have something to show. */
    function seedNotes() {
      const special = events.find((e) => e.id === '0193a5e2-7c1d-7000-8000-00000000beef');
      const last = events.length - 1;
      const at = (t) => t;
      if (special) {
        annotate({ id: special.id, comment: 'Granted at 04:12 by the VIP manager herself?', marks: ['suspicious'] }, 's.levi', at('2026-11-20T06:01:00.000001Z'));
        annotate({ id: special.id, marks: ['reviewed'] }, 'm.dupont', at('2026-11-20T06:30:00.000002Z'));
      }
      if (last >= 3) {
        annotate({ id: events[last - 1].id, comment: 'Batch retry, nothing to see.', marks: ['false-positive'] }, 'm.dupont', at('2026-11-20T06:40:00.000003Z'));
        annotate({ id: events[last - 3].id, marks: ['player-request'] }, 'a.haddad', at('2026-11-20T06:45:00.000004Z'));
      }
      const closed = openIncident({ title: 'Chargeback wave (October)', description: 'Refunds asked by several players the same week.' }, 'm.dupont', '2026-11-01T09:00:00.000005Z').incident;
      pin({ incident: closed.id, entry: events[0].id }, 'm.dupont', '2026-11-01T09:05:00.000006Z');
      note({ incident: closed.id, text: 'All refunds were legitimate.', status: 'closed' }, 'm.dupont', '2026-11-03T10:00:00.000007Z');
      const ring = openIncident({ title: 'Bonus abuse ring — winter campaign', description: 'Bonuses granted outside the campaign rules.\nSee ticket 4411.' }, 's.levi', '2026-11-20T06:50:00.000008Z').incident;
      if (special) pin({ incident: ring.id, entry: special.id }, 's.levi', '2026-11-20T06:51:00.000009Z');
      if (last >= 2) pin({ incident: ring.id, entry: events[last - 2].id }, 's.levi', '2026-11-20T06:52:00.000010Z');
      note({ incident: ring.id, text: 'Asked the VIP desk for the tickets.' }, 's.levi', '2026-11-20T06:55:00.000011Z');
    }
    if (seed) seedNotes();

    return {
      decorate,
      notesOf,
      commands: {
        marks: () => CATALOG,
        annotate: (args) => annotate(args),
        incidents: () => [
          ...incidents.filter((i) => i.pending).reverse(),
          ...incidents.filter((i) => !i.pending).sort((a, b) => b.number - a.number),
        ].map(incidentShown),
        incident({ id }) {
          const i = incidentOf(id);
          if (!i) throw err('not_found', `no incident ${id}`);
          const waiting = notes.filter((n) => n.incident === id && n.pending);
          const shown = incidentShown(i);
          for (const n of waiting) if (n.status) shown.status = n.status;
          return {
            incident: shown,
            notes: [...notes.filter((n) => n.incident === id && !n.pending), ...waiting],
            pins: pins.filter((p) => p.incident === id),
          };
        },
        open_incident: (args) => openIncident(args),
        pin_entry: (args) => pin(args),
        incident_note: (args) => note(args),
        outbox() {
          send();
          return answer();
        },
        outbox_retry({ n } = {}) {
          const chosen = outbox.filter((i) => i.state === 'failed' && (n == null || i.n === n));
          if (n != null && !chosen.length) throw err('invalid', `no failed item ${n} in the outbox`);
          for (const item of chosen) {
            item.state = 'waiting';
            item.error = null;
          }
          send();
          return answer();
        },
        outbox_discard({ n } = {}) {
          const item = outbox.find((i) => i.n === n);
          if (!item || item.state !== 'failed') throw err('invalid', `no failed item ${n} in the outbox`);
          item.drop();
          outbox.splice(outbox.indexOf(item), 1);
          onChange();
          return answer();
        },
      },
      online: () => online,
      /** Offline: writes wait (pending) and searches answer from the "cache". */
      setOffline(value) {
        online = !value;
      },
      /** The store refuses item `n` (default: the first waiting one) with `error`. */
      failOutboxItem(n, error = 'The store refused it: 422 unknown mark') {
        const item = n == null ? outbox.find((i) => i.state === 'waiting') : outbox.find((i) => i.n === n);
        if (!item) throw new Error(`no outbox item ${n ?? '(waiting)'}`);
        item.state = 'failed';
        item.error = error;
        return item.n;
      },
      /** The next send of an item of `kind` is refused with `error`. */
      refuseNext(kind, error = 'The store refused it.') {
        refusals.push({ kind, error });
      },
      outbox: answer,
      annotationsOf: (id) => structuredClone(threadOf(id)),
      incidents: () => structuredClone(incidents.map(incidentShown)),
      notesOfIncident: (id) => structuredClone(notes.filter((n) => n.incident === id)),
      pins: () => structuredClone(pins),
    };
  }

  window.__vigilFakeAnnotations = { create, CATALOG };
})();
