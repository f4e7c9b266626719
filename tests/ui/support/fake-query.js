// In-page test double of the query language for the UI tests: parse_query, print_query and
// matching, close enough to vigil-core's for the queries the tests type (the real parser is in
// Rust and tested there). Installed as an init script; defines window.__vigilFakeQuery.
// `mark:`, `has:comment`, `has:mark`, `incident:` and the comments' words see what the entry's
// annotations and pins amount to, through the `notesOf(entry)` given to matcher().
(() => {
  const QUALIFIERS = ['actor', 'section', 'kind', 'action', 'severity', 'outcome', 'target', 'ip', 'after', 'before', 'on', 'mark', 'has', 'incident'];
  const ENUMS = {
    kind: ['change', 'create', 'delete', 'rights', 'access'],
    severity: ['info', 'warning', 'critical'],
    outcome: ['success', 'failure', 'denied'],
    has: ['comment', 'mark', 'changes', 'reason', 'target', 'ip', 'details'],
  };
  const fail = (column, message) => { throw { code: 'bad_query', message, column }; };
  const space = (c) => c !== undefined && /\s/.test(c);

  function parse(src) {
    const chars = Array.from(src);
    let pos = 0;
    const clauses = [];
    const quoted = () => {
      const column = pos + 1;
      pos++;
      let text = '';
      for (;;) {
        const c = chars[pos];
        if (c === undefined) fail(column, "unclosed '\"'");
        if (c === '"') { pos++; return { text, column }; }
        if (c === '\\' && (chars[pos + 1] === '"' || chars[pos + 1] === '\\')) { text += chars[pos + 1]; pos += 2; continue; }
        text += c;
        pos++;
      }
    };
    const bare = (stop) => {
      let out = '';
      while (pos < chars.length && !space(chars[pos]) && !stop(chars[pos])) {
        if (chars[pos] === '"') fail(pos + 1, "unexpected '\"': quote the whole value or phrase");
        out += chars[pos++];
      }
      return out;
    };
    for (;;) {
      while (space(chars[pos])) pos++;
      if (pos >= chars.length) return { clauses };
      const start = pos + 1;
      let negated = false;
      if (chars[pos] === '-') {
        negated = true;
        pos++;
        if (pos >= chars.length || space(chars[pos])) fail(start, "'-' must be followed by a term, e.g. -actor:bot");
      }
      if (chars[pos] === '"') {
        const raw = quoted();
        if (pos < chars.length && !space(chars[pos])) fail(pos + 1, 'expected a space after the closing quote');
        clauses.push({ key: 'text', negated, values: [raw.text], quoted: true });
        continue;
      }
      const wordStart = pos + 1;
      const word = bare((c) => c === ':');
      if (chars[pos] !== ':') {
        clauses.push({ key: 'text', negated, values: [word], quoted: false });
        continue;
      }
      pos++;
      if (!QUALIFIERS.includes(word)) fail(wordStart, `unknown qualifier '${word}:' (known: ${QUALIFIERS.join(', ')}); quote it to search for the text`);
      const values = [];
      for (;;) {
        const column = pos + 1;
        const raw = chars[pos] === '"' ? quoted() : { text: bare((c) => c === ','), column };
        if (raw.text === '') fail(column, `${word}: needs a value`);
        if (word === 'incident') raw.text = raw.text.toLowerCase();
      if (ENUMS[word] && !ENUMS[word].includes(raw.text)) fail(raw.column, `${word}: '${raw.text}' is not one of ${ENUMS[word].join(', ')}`);
        if ((word === 'after' || word === 'before' || word === 'on') && !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(raw.text)) {
          fail(raw.column, `${word}: '${raw.text}' is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM)`);
        }
        values.push(raw.text);
        if (chars[pos] === ',') { pos++; continue; }
        if (pos >= chars.length || space(chars[pos])) break;
        fail(pos + 1, "expected ',' or a space after the value");
      }
      clauses.push({ key: word, negated, values, quoted: false });
    }
  }

  const needsQuotes = (s) => s === '' || s.startsWith('-') || /[\s",:\\]/.test(s);
  const quote = (s) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  // A qualifier's value may hold ':' unquoted (the parser reads it up to ',' or a space), so
  // times print as the design writes them: after:2026-11-27T08:00.
  const value = (s) => (s === '' || s.startsWith('-') || /[\s",\\]/.test(s) ? quote(s) : s);

  function print(clauses) {
    const text = clauses.filter((c) => c.values.some((v) => v.trim() !== '')).map((c) => {
      const neg = c.negated ? '-' : '';
      if (c.key === 'text') {
        const t = c.values.join(' ');
        return neg + (c.quoted || needsQuotes(t) ? quote(t) : t);
      }
      if (!QUALIFIERS.includes(c.key)) throw { code: 'invalid', message: `unknown clause key ${c.key}` };
      return `${neg}${c.key}:${c.values.map((v) => v.trim()).filter(Boolean).map(value).join(',')}`;
    }).join(' ');
    parse(text);
    return text;
  }

  /** A query date: a day or wall-clock time without offset is local (the browser's zone). */
  function instant(v) {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v);
    if (m) return new Date(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)).getTime();
    return Date.parse(v);
  }

  function ipInRange(ip, range) {
    if (!range.includes('/')) return ip === range;
    const [base, bits] = range.split('/');
    const toInt = (a) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || !/^\d+\.\d+\.\d+\.\d+$/.test(base)) return false;
    const mask = Number(bits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(bits));
    return (toInt(ip) & mask) >>> 0 === (toInt(base) & mask) >>> 0;
  }

  const fold = (s) => String(s).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

  const texts = new WeakMap();
  function haystack(e) {
    if (!texts.has(e)) {
      texts.set(e, fold([e.action, e.actor.id, e.actor.name, e.actor.role, e.target?.type, e.target?.id, e.target?.name, e.reason,
        e.changes ? JSON.stringify(e.changes) : '', e.details ? JSON.stringify(e.details) : ''].filter(Boolean).join(' ')));
    }
    return texts.get(e);
  }

  const NO_NOTES = { marks: [], comments: [], incidents: [] };

  function term(c, e, notes) {
    const v = c.values;
    switch (c.key) {
      case 'actor': return v.includes(e.actor.id);
      case 'section': return v.includes(e.section);
      case 'kind': return v.includes(e.kind);
      case 'severity': return v.includes(e.severity ?? 'info');
      case 'outcome': return v.includes(e.outcome ?? 'success');
      case 'action': return v.some((p) => (p.endsWith('*') ? e.action.startsWith(p.slice(0, -1)) : e.action === p));
      case 'target': return Boolean(e.target) && v.some((p) => {
        if (!p.includes('/')) return e.target.id === p;
        const [type, id] = p.split('/');
        return e.target.type === type && (id === '*' || e.target.id === id);
      });
      case 'ip': return Boolean(e.ip) && v.some((r) => ipInRange(e.ip, r));
      case 'after': return Date.parse(e.occurred_at) >= instant(v[0]);
      case 'before': return Date.parse(e.occurred_at) < instant(v[0]);
      case 'on': return v.some((d) => { const t = Date.parse(e.occurred_at); const s = instant(d); return t >= s && t < s + 86400e3; });
      case 'mark': return v.some((m) => notes.marks.includes(m));
      case 'incident': return v.some((i) => notes.incidents.includes(i));
      case 'has': return v.some((h) => ({
        changes: e.changes?.length, reason: e.reason, target: e.target, ip: e.ip, details: e.details,
        comment: notes.comments.length, mark: notes.marks.length,
      }[h]));
      case 'text': {
        const comments = notes.comments.length ? ` ${fold(notes.comments.join(' '))}` : '';
        return fold(v.join(' ')).split(/\s+/).every((w) => haystack(e).includes(w) || comments.includes(w));
      }
      default: return false;
    }
  }

  /** A test of entries against clauses; `notesOf(entry)` gives {marks, comments, incidents}. */
  function matcher(clauses, notesOf = () => NO_NOTES) {
    return (e) => {
      const notes = notesOf(e);
      return clauses.every((c) => term(c, e, notes) !== c.negated);
    };
  }

  window.__vigilFakeQuery = { parse, print, matcher, instant };
})();
