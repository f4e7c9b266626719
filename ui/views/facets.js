// Facets: the most frequent actors, sections, actions and marks among the current matches. Click
// narrows the query to a value (`key:value`), Alt-click excludes it (`-key:value`); both search.
// Marks show under the catalog's English label and colour (the French label as tooltip).

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatNumber } from '../lib/format.js';
import { markColour, markInfo, marksReady } from '../lib/marks.js';

const FIELDS = [['actor', 'Actors'], ['section', 'Sections'], ['action', 'Actions'], ['mark', 'Marks']];
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
      const hint = `Click: ${field}:${value} · Alt-click: -${field}:${value}`;
      let swatch = null;
      let name = value;
      let title = hint;
      if (field === 'mark') {
        const info = markInfo(value);
        swatch = el('span', { class: 'mark-dot facet-swatch' });
        swatch.style.backgroundColor = markColour(value);
        name = info.label_en;
        title = `${info.label_fr} — ${hint}`;
      }
      return el('li', {}, el('button', { type: 'button', class: 'facet-value', data: { field, value }, title },
        bar, swatch, el('span', { class: 'facet-name', text: name }), el('span', { class: 'facet-count', text: formatNumber(count) })));
    }));
    if (!values.length) list.append(el('li', { class: 'facet-none', text: 'none' }));
  }

  return {
    /** Loads the facets for `q` (the marks' once the catalog is there to name them). */
    async load(q) {
      const mine = ++gen;
      const [answers] = await Promise.all([Promise.all(FIELDS.map(([field]) => call('facets', { q, field, limit: LIMIT }))), marksReady()]);
      if (mine !== gen) return;
      answers.forEach((a, i) => show(FIELDS[i][0], a.values ?? []));
    },
  };
}
