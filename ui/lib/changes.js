// Before/after values as the detail pane shows them. A scalar change is two sides with the
// differing words or characters marked (jsdiff); an object change is a table of its fields,
// flattened to paths like `limits.daily` or `tags[1]`, each added, removed, changed or the same.
//
// Values are shown as the store holds them: from the entry's `exact` JSON texts when it has them
// (read by lib/json.js, so `100.10` and `12345678901234567890` keep their digits and objects
// their key order), else from the values as JavaScript parsed them (older stores).

// Only the two diff modules used, not jsdiff's index (which loads its patch and convert trees).
import { diffChars } from '../vendor/diff/diff/character.js';
import { diffWordsWithSpace } from '../vendor/diff/diff/word.js';
import { el } from './dom.js';
import { entriesOf, fromValue, isContainer, parseJson, stringifyJson } from './json.js';

const ABSENT = Symbol('absent');
const DIFF_TIMEOUT_MS = 40;

/**
 * The value to show for one side of a change, as a lib/json.js tree: the exact JSON text's when
 * there is one that parses, else the JavaScript value's.
 */
export function exactValue(value, text) {
  if (typeof text === 'string') {
    try {
      return parseJson(text);
    } catch {
      // A broken text is the Rust side's bug; the parsed value is still worth showing.
    }
  }
  return fromValue(value);
}

/** Text for a value: strings as they are, other JSON as (compact) JSON with numbers as written. */
function text(v) {
  if (v === ABSENT || v === undefined) return '';
  return typeof v === 'string' ? v : stringifyJson(v);
}

/** A value with no diff marks (absent shows as a dash). */
function plain(v) {
  if (v === ABSENT || v === undefined) return el('span', { class: 'val absent', text: '—', title: 'absent' });
  return el('span', { class: `val${typeof v === 'string' ? '' : ' json'}`, text: text(v), attrs: { dir: 'auto' } });
}

/**
 * The two sides of a scalar change (trees) with what differs marked: removed parts as <del> on
 * the before side, added parts as <ins> on the after side.
 */
export function sides(before, after) {
  if (before === ABSENT || after === ABSENT || before === undefined || after === undefined) return [plain(before), plain(after)];
  const a = text(before);
  const b = text(after);
  const strings = typeof before === 'string' && typeof after === 'string';
  const words = /\s/.test(a) || /\s/.test(b);
  let parts = strings ? (words ? diffWordsWithSpace : diffChars)(a, b, { timeout: DIFF_TIMEOUT_MS }) : null;
  // Marking scattered characters of two unrelated values helps nobody: then the whole value
  // changed (and numbers, booleans and null always change whole).
  const kept = parts?.filter((p) => !p.added && !p.removed).reduce((n, p) => n + p.value.length, 0) ?? 0;
  if (parts && kept * 2 < Math.min(a.length, b.length)) parts = null;
  const left = el('span', { class: `val${typeof before === 'string' ? '' : ' json'}`, attrs: { dir: 'auto' } });
  const right = el('span', { class: `val${typeof after === 'string' ? '' : ' json'}`, attrs: { dir: 'auto' } });
  if (!parts) {
    left.append(el('del', { text: a }));
    right.append(el('ins', { text: b }));
    return [left, right];
  }
  for (const p of parts) {
    if (!p.added) left.append(p.removed ? el('del', { text: p.value }) : p.value);
    if (!p.removed) right.append(p.added ? el('ins', { text: p.value }) : p.value);
  }
  return [left, right];
}

/** Flattens the objects and arrays of a tree to leaf paths (empty ones stay leaves). */
export function flatten(value, prefix = '', out = new Map()) {
  const entries = isContainer(value) ? entriesOf(value) : [];
  if (entries.length === 0) {
    out.set(prefix, value);
    return out;
  }
  for (const [k, v] of entries) {
    const path = Array.isArray(value) ? `${prefix}[${k}]` : prefix ? `${prefix}.${k}` : k;
    flatten(v, path, out);
  }
  return out;
}

/**
 * The field-by-field comparison of two trees: [{path, state, before, after}]. Leaves compare
 * by their JSON text, so `100.1` and `100.10` differ as they do in the store.
 */
export function compareFields(before, after) {
  const a = isContainer(before) ? flatten(before) : new Map();
  const b = isContainer(after) ? flatten(after) : new Map();
  const paths = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  return paths.map((path) => {
    const x = a.has(path) ? a.get(path) : ABSENT;
    const y = b.has(path) ? b.get(path) : ABSENT;
    const state = x === ABSENT ? 'added' : y === ABSENT ? 'removed' : stringifyJson(x) === stringifyJson(y) ? 'same' : 'changed';
    return { path, state, before: x, after: y };
  });
}

function objectChange(before, after) {
  const rows = compareFields(before, after).map(({ path, state, before: x, after: y }) => {
    const [left, right] = state === 'changed' ? sides(x, y) : [plain(x), plain(y)];
    return el('tr', { class: `field-${state}` },
      el('td', { class: 'field-path', text: path || '(value)' }),
      el('td', { class: 'field-before' }, left),
      el('td', { class: 'field-after' }, right),
      el('td', { class: 'field-state', text: state === 'same' ? '' : state }));
  });
  return el('table', { class: 'change-fields' },
    el('thead', {}, el('tr', {}, ['Field', 'Before', 'After', ''].map((h) => el('th', { text: h })))),
    el('tbody', {}, rows));
}

function scalarChange(before, after) {
  const [left, right] = sides(before ?? null, after ?? null);
  return el('div', { class: 'change-sides' },
    el('div', { class: 'side side-before' }, el('span', { class: 'side-label', text: 'Before' }), left),
    el('div', { class: 'side side-after' }, el('span', { class: 'side-label', text: 'After' }), right));
}

/**
 * One change: side by side for scalars, field by field for objects and arrays. `exact` is the
 * entry's `exact.changes[i]` for this change ({before, after} JSON texts), when it has one.
 */
export function renderChange({ field, before: jsBefore, after: jsAfter }, exact) {
  const before = exactValue(jsBefore, exact?.before);
  const after = exactValue(jsAfter, exact?.after);
  const objects = (isContainer(before) || isContainer(after))
    && (isContainer(before) || before == null) && (isContainer(after) || after == null);
  return el('div', { class: 'change', data: { field } },
    el('div', { class: 'change-field', text: field }),
    objects ? objectChange(before, after) : scalarChange(before, after));
}
