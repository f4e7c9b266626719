// The clause list ({key, negated, values, quoted}) is the filter bar's source of truth: the query
// text is printed from it and parsed back into it by the Rust side. A control edits only the
// first positive clause of its own key, so clauses it cannot show (a second `actor:`, a negation)
// are kept as they are. Every function here returns a new list.

/** A clause. */
export function clause(key, values, negated = false, quoted = false) {
  return { key, negated, values: [...values], quoted };
}

/** Index of the first clause of `key` that is not negated, or -1. */
export function firstPositive(clauses, key) {
  return clauses.findIndex((c) => c.key === key && !c.negated);
}

/** The values of the first positive clause of `key` ([] when there is none). */
export function valuesOf(clauses, key) {
  const i = firstPositive(clauses, key);
  return i < 0 ? [] : clauses[i].values;
}

/**
 * Sets the values of the first positive clause of `key`, in place of the old ones; appends a
 * clause when there is none; removes it when `values` is empty.
 */
export function withValues(clauses, key, values) {
  const clean = values.map((v) => v.trim()).filter((v) => v !== '');
  const i = firstPositive(clauses, key);
  if (i < 0) return clean.length ? [...clauses, clause(key, clean)] : clauses;
  if (!clean.length) return clauses.filter((_, j) => j !== i);
  return clauses.map((c, j) => (j === i ? { ...c, values: clean } : c));
}

function same(a, b) {
  return a.key === b.key && a.negated === b.negated && a.values.length === b.values.length
    && a.values.every((v, i) => v === b.values[i]);
}

/** Appends a clause unless the same one is already there. */
export function withClause(clauses, c) {
  return clauses.some((x) => same(x, c)) ? clauses : [...clauses, c];
}

/**
 * Narrows to `key:value`: the first positive clause of the key takes this one value (a facet of a
 * filtered key then stays consistent), or a clause is appended; `-key:value` is appended.
 */
export function narrowed(clauses, key, value, negated = false) {
  if (negated) return withClause(clauses.filter((c) => !(c.key === key && !c.negated && c.values.length === 1 && c.values[0] === value)), clause(key, [value], true));
  return withValues(clauses, key, [value]);
}

/** The free-text clauses as the text control shows them: words, "quoted phrases", -negations. */
export function textOf(clauses) {
  return clauses
    .filter((c) => c.key === 'text')
    .map((c) => {
      const words = c.values.join(' ');
      const shown = c.quoted || /\s/.test(words) ? `"${words.replace(/(["\\])/g, '\\$1')}"` : words;
      return (c.negated ? '-' : '') + shown;
    })
    .join(' ');
}

/** Splits the text control's input into text clauses: bare words, "phrases", leading `-` negates. */
export function parseText(input) {
  const out = [];
  const re = /(-?)(?:"((?:[^"\\]|\\.)*)"?|(\S+))/g;
  let m;
  while ((m = re.exec(input)) !== null) {
    const negated = m[1] === '-';
    if (m[2] !== undefined) {
      const phrase = m[2].replace(/\\(.)/g, '$1').trim();
      if (phrase) out.push(clause('text', [phrase], negated, true));
    } else if (m[3] !== undefined) {
      out.push(clause('text', [m[3]], negated, false));
    }
  }
  return out;
}

/** Replaces every text clause with the ones typed in the text control, at the end. */
export function withText(clauses, input) {
  return [...clauses.filter((c) => c.key !== 'text'), ...parseText(input)];
}
