// Saved searches in the sidebar: click runs one, "Save…" names the current query, × deletes.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';

/** Handlers: currentQuery(), onRun(q), onError(error). */
export function createSaved(root, { currentQuery, onRun, onError }) {
  const list = el('ul', { class: 'saved-list' });
  const empty = el('p', { class: 'saved-empty', text: 'No saved searches yet.' });
  const name = el('input', { type: 'text', class: 'save-name', placeholder: 'Name', spellcheck: false, attrs: { 'aria-label': 'Name of the saved search' } });
  const preview = el('p', { class: 'save-preview mono' });
  const problem = el('p', { class: 'field-error', hidden: true, attrs: { role: 'alert' } });
  const form = el('form', { class: 'save-form', hidden: true },
    name, preview, problem,
    el('div', { class: 'save-buttons' },
      el('button', { type: 'submit', class: 'primary', text: 'Save' }),
      el('button', { type: 'button', class: 'save-cancel', text: 'Cancel', on: { click: () => { form.hidden = true; } } })));
  const open = el('button', { type: 'button', class: 'save-open', text: 'Save…', title: 'Save the current query under a name' });
  root.replaceChildren(el('h2', { class: 'panel-title' }, el('span', { text: 'Saved searches' }), open), form, list, empty);

  function show(items) {
    list.replaceChildren(...items.map(({ name: n, q }) => el('li', { class: 'saved-item' },
      el('button', { type: 'button', class: 'saved-run', text: n, title: q || '(everything)', data: { q } }),
      el('button', { type: 'button', class: 'saved-delete', text: '×', title: `Delete “${n}”`, data: { name: n }, attrs: { 'aria-label': `Delete ${n}` } }))));
    empty.hidden = items.length > 0;
  }

  function say(text) {
    problem.textContent = text ?? '';
    problem.hidden = !text;
  }

  open.addEventListener('click', () => {
    form.hidden = !form.hidden;
    if (form.hidden) return;
    say(null);
    preview.textContent = currentQuery() || '(everything)';
    name.value = '';
    name.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) return say('Give the search a name.');
    try {
      show(await call('save_search', { name: name.value.trim(), q: currentQuery() }));
      form.hidden = true;
    } catch (error) {
      if (!error.handled) say(error.message);
    }
  });
  name.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); form.hidden = true; } });
  list.addEventListener('click', async (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const run = target?.closest('.saved-run');
    if (run) return onRun(run.dataset.q);
    const del = target?.closest('.saved-delete');
    if (!del) return;
    try {
      show(await call('delete_search', { name: del.dataset.name }));
    } catch (error) {
      if (!error.handled) onError(error);
    }
  });

  return {
    async load() {
      try {
        show(await call('saved_searches'));
      } catch (error) {
        if (!error.handled) onError(error);
      }
    },
  };
}
