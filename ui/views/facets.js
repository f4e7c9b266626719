// Facets: the most frequent actors, sections and actions among the current matches. Click narrows
// the query to a value (`key:value`), Alt-click excludes it (`-key:value`); both search.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatNumber } from '../lib/format.js';

const FIELDS = [['actor', 'Actors'], ['section', 'Sections'], ['action', 'Actions']];
const LIMIT = 8;

/** Handlers: onPick(key, value, negated). */
export function createFacets(root, { onPick }) {
  let gen = 0;
  const groups = new Map();
  root.replaceChildren(el('h2', { class: 'panel-title', text: 'In these results' }));
  for (const [field, title] of FIELDS) {
    const list = el('ul', { class: 'facet-list' });
    root.append(el('section', { class: 'facet', data: { field } }, el('h3', { text: title }), list));
    groups.set(field, list);
  }

  root.addEventListener('click', (e) => {
    const button = e.target instanceof Element ? e.target.closest('.facet-value') : null;
    if (!button) return;
    e.preventDefault();
    onPick(button.dataset.field, button.dataset.value, e.altKey);
  });

  function show(field, values) {
    const list = groups.get(field);
    const max = Math.max(1, ...values.map((v) => v.count));
    list.replaceChildren(...values.map(({ value, count }) => {
      const bar = el('span', { class: 'facet-bar' });
      bar.style.width = `${Math.max(2, Math.round((count / max) * 100))}%`;
      return el('li', {}, el('button', {
        type: 'button', class: 'facet-value', data: { field, value },
        title: `Click: ${field}:${value} · Alt-click: -${field}:${value}`,
      }, bar, el('span', { class: 'facet-name', text: value }), el('span', { class: 'facet-count', text: formatNumber(count) })));
    }));
    if (!values.length) list.append(el('li', { class: 'facet-none', text: 'none' }));
  }

  return {
    /** Loads the three facets for `q`. */
    async load(q) {
      const mine = ++gen;
      const answers = await Promise.all(FIELDS.map(([field]) => call('facets', { q, field, limit: LIMIT })));
      if (mine !== gen) return;
      answers.forEach((a, i) => show(FIELDS[i][0], a.values ?? []));
    },
  };
}
