// The filter bar: the query text and the controls, kept in sync both ways through the Rust
// parser and printer. The clause list is the source of truth: a control edits only the first
// positive clause of its key (see lib/clauses.js), editing the text re-parses it (Enter at once,
// otherwise after a pause), and a `bad_query` marks the column where the text goes wrong.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { valuesOf, withValues, textOf, withText } from '../lib/clauses.js';
import { createRangeControl } from './range.js';

const PARSE_DELAY_MS = 350;

const CHOICES = {
  kind: ['change', 'create', 'delete', 'rights', 'access'],
  severity: ['info', 'warning', 'critical'],
  outcome: ['success', 'failure', 'denied'],
};

const TEXT_CONTROLS = [
  { key: 'actor', label: 'Actor', placeholder: 'k.morel', list: true },
  { key: 'section', label: 'Section', placeholder: 'finance', list: true },
  { key: 'action', label: 'Action', placeholder: 'bonus.*', list: true },
  { key: 'ip', label: 'IP', placeholder: '203.0.113.0/24' },
  { key: 'incident', label: 'Incident', placeholder: '12', cls: 'incident-control' },
];

/**
 * Builds the bar in `root`. `onSearch(q)` runs a search for the text (already parsed);
 * `onError(error)` shows failures other than bad_query; `onValidity(valid)` hears when the text
 * is marked as not parsing, and when the mark goes.
 */
export function createFilterbar(root, { onSearch, onError, onValidity = () => {} }) {
  let clauses = [];
  let parseTimer = 0;
  let parseSeq = 0;

  const input = el('input', {
    id: 'query', class: 'query-input', type: 'text', spellcheck: false, autocomplete: 'off',
    placeholder: 'actor:k.morel section:finance,bonuses -outcome:success "manual bonus"   ( / to focus)',
    attrs: { 'aria-label': 'Query', 'aria-describedby': 'query-error' },
  });
  const errorBox = el('div', { id: 'query-error', class: 'query-error', hidden: true, attrs: { role: 'alert' } });
  const form = el('form', { class: 'query-row', attrs: { role: 'search' } },
    input, el('button', { type: 'submit', class: 'primary', text: 'Search' }));

  const controls = new Map();
  const row = el('div', { class: 'controls' });

  function field(label, control, key, tag = 'label') {
    const attrs = tag === 'label' ? {} : { role: 'group', 'aria-label': label };
    const wrap = el(tag, { class: 'control', data: { key }, attrs }, el('span', { class: 'control-label', text: label }), control);
    row.append(wrap);
    return wrap;
  }

  for (const spec of TEXT_CONTROLS) {
    const listId = `suggest-${spec.key}`;
    const box = el('input', { type: 'text', class: spec.cls, spellcheck: false, autocomplete: 'off', placeholder: spec.placeholder, attrs: spec.list ? { list: listId } : {} });
    const wrap = field(spec.label, box, spec.key);
    if (spec.list) wrap.append(el('datalist', { id: listId }));
    wireText(box, (value) => withValues(clauses, spec.key, value.split(',')));
    controls.set(spec.key, { kind: 'text', node: box, wrap });
  }

  const range = createRangeControl({ onChange: (edit) => commit(edit(clauses)) });
  row.insertBefore(field('When', range.node, 'range', 'div'), row.children[1]);

  for (const [key, options] of Object.entries(CHOICES)) {
    const select = el('select', {}, el('option', { value: '', text: 'any' }), options.map((o) => el('option', { value: o, text: o })));
    const wrap = field(key[0].toUpperCase() + key.slice(1), select, key);
    select.addEventListener('change', () => {
      if (select.selectedOptions[0]?.dataset.extra) return;
      commit(withValues(clauses, key, select.value ? [select.value] : []));
    });
    controls.set(key, { kind: 'select', node: select, wrap });
  }

  const text = el('input', { type: 'text', class: 'text-control', spellcheck: false, autocomplete: 'off', placeholder: 'words or "a phrase"' });
  const textWrap = field('Text', text, 'text');
  wireText(text, (value) => withText(clauses, value));
  controls.set('text', { kind: 'free', node: text, wrap: textWrap });

  root.replaceChildren(form, errorBox, row);

  /** A text control commits on Enter, on change (blur) and when a suggestion is picked. */
  function wireText(box, edit) {
    let last = '';
    const go = () => {
      if (box.value === last) return;
      last = box.value;
      commit(edit(box.value));
    };
    box.addEventListener('change', go);
    box.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); go(); } });
    box.addEventListener('input', (e) => { if (e.inputType === 'insertReplacementText') go(); });
    box.addEventListener('focus', () => { last = box.value; });
  }

  /** Shows the clause list in the controls (skipping the one being typed in). */
  function showControls() {
    for (const [key, c] of controls) {
      if (document.activeElement === c.node) continue;
      if (c.kind === 'text') c.node.value = valuesOf(clauses, key).join(',');
      else if (c.kind === 'free') c.node.value = textOf(clauses);
      else showSelect(c.node, valuesOf(clauses, key));
      const all = clauses.filter((x) => x.key === key);
      const more = c.kind !== 'free' && all.length > (valuesOf(clauses, key).length ? 1 : 0);
      c.wrap.classList.toggle('more', more);
      c.wrap.title = more ? `The query has more ${key}: clauses than this control shows; they are kept.` : '';
    }
    range.show(clauses);
  }

  function showSelect(select, values) {
    for (const extra of select.querySelectorAll('option[data-extra]')) extra.remove();
    if (values.length === 1 && [...select.options].some((o) => o.value === values[0])) {
      select.value = values[0];
    } else if (values.length === 0) {
      select.value = '';
    } else {
      select.append(el('option', { value: values.join(','), text: values.join(', '), data: { extra: '1' } }));
      select.value = values.join(',');
    }
  }

  /** A control changed the clauses: print them into the text and search. */
  async function commit(next) {
    if (next === clauses) return;
    try {
      const q = await call('print_query', { clauses: next });
      clauses = next;
      input.value = q;
      clearError();
      showControls();
      onSearch(q);
    } catch (error) {
      if (error.handled) return;
      // A value typed in a control that does not parse: the column is in text we never saw,
      // so say what is wrong and keep the clauses (and the text) as they were.
      if (error.code === 'bad_query') showMessage(error.message);
      else onError(error);
    }
  }

  function showMessage(message) {
    errorBox.replaceChildren(el('div', { class: 'query-message', text: message }));
    delete errorBox.dataset.column;
    errorBox.hidden = false;
  }

  /** Parses the text into clauses; true when it parsed. */
  async function parse(q) {
    const seq = ++parseSeq;
    try {
      const answer = await call('parse_query', { q });
      if (seq !== parseSeq) return false;
      clauses = answer.clauses;
      clearError();
      showControls();
      return true;
    } catch (error) {
      if (seq !== parseSeq) return false;
      if (error.code === 'bad_query') showError(error, q);
      else if (!error.handled) onError(error);
      return false;
    }
  }

  function clearError() {
    input.classList.remove('invalid');
    input.removeAttribute('aria-invalid');
    errorBox.hidden = true;
    errorBox.replaceChildren();
    onValidity(true);
  }

  /** Marks the column (1-based, in characters) where the query goes wrong. */
  function showError(error, q = input.value) {
    const chars = Array.from(q);
    const column = Math.max(1, Math.min(error.column ?? 1, chars.length + 1));
    const before = chars.slice(0, column - 1).join('');
    const at = chars[column - 1] ?? ' ';
    const after = chars.slice(column).join('');
    input.classList.add('invalid');
    input.setAttribute('aria-invalid', 'true');
    errorBox.replaceChildren(
      el('div', { class: 'query-echo' }, before, el('span', { class: 'query-caret', text: at }), after),
      el('div', { class: 'query-message', text: `Column ${column}: ${error.message}` }),
    );
    errorBox.dataset.column = String(column);
    errorBox.hidden = false;
    onValidity(false);
    if (document.activeElement === input) {
      const start = before.length;
      input.setSelectionRange(start, start + at.length);
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(parseTimer);
    parseTimer = setTimeout(() => parse(input.value), PARSE_DELAY_MS);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearTimeout(parseTimer);
    const q = input.value;
    if (await parse(q)) onSearch(q);
  });

  return {
    /** Sets the query text, syncs the controls and searches (saved searches, pivots). */
    async run(q) {
      clearTimeout(parseTimer);
      input.value = q;
      if (await parse(q)) onSearch(q);
    },
    /** Replaces the clauses, prints them and searches (facets, brushing, pivots). */
    apply: commit,
    clauses: () => clauses,
    text: () => input.value,
    showError,
    focus() {
      input.focus();
      input.select();
    },
    /** Fills a control's suggestions (<datalist>) with values. */
    suggest(key, values) {
      const list = root.querySelector(`#suggest-${key}`);
      list?.replaceChildren(...values.map((v) => el('option', { value: v })));
    },
  };
}
