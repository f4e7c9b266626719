// The sidebar's incidents (`incidents`, newest first, the ones not yet sent on top): number (or
// "waiting"), title, status and how many entries are pinned. Clicking one opens it.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatEntries } from '../lib/format.js';
import { incidentNumber } from './pin.js';

/** Handlers: onOpen(incident), onList(incidents) whenever the list is fetched anew. */
export function createIncidents(root, { onOpen, onList }) {
  let list = [];
  let active = null;
  let gen = 0;
  const items = el('ul', { class: 'incident-list' });
  const empty = el('p', { class: 'incident-empty', text: 'No incidents yet.' });
  const problem = el('p', { class: 'field-error', hidden: true, attrs: { role: 'alert' } });
  root.replaceChildren(el('h2', { class: 'panel-title' }, el('span', { text: 'Incidents' })), items, empty, problem);

  function show() {
    items.replaceChildren(...list.map((i) => el('li', {},
      el('button', {
        type: 'button', class: `incident-item${i.id === active ? ' active' : ''}${i.pending ? ' pending' : ''}`,
        data: { id: i.id, status: i.status }, title: i.pending ? 'Waiting to be sent to the store' : `incident:${i.number}`,
        attrs: i.id === active ? { 'aria-current': 'true' } : {},
      },
      el('span', { class: 'incident-number', text: incidentNumber(i) }),
      el('span', { class: 'incident-title', text: i.title, attrs: { dir: 'auto' } }),
      el('span', { class: 'incident-meta-line' },
        el('span', { class: `badge incident-status status-${i.status}`, text: i.status }),
        el('span', { class: 'incident-count', text: i.pending ? 'waiting to be sent' : formatEntries(i.entries ?? 0) }))))));
    empty.hidden = list.length > 0;
  }

  items.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('.incident-item') : null;
    const incident = b && list.find((i) => i.id === b.dataset.id);
    if (incident) onOpen(incident);
  });

  return {
    /** Fetches the list again (after a write, or when the outbox sent something). */
    async load() {
      const mine = ++gen;
      try {
        const answer = await call('incidents');
        if (mine !== gen) return;
        list = Array.isArray(answer) ? answer : [];
        problem.hidden = true;
        show();
        onList(list);
      } catch (error) {
        if (mine !== gen || error.handled) return;
        problem.textContent = `Could not list the incidents: ${error.message}`;
        problem.hidden = false;
      }
    },
    /** Highlights the incident shown in the panel (null: none). */
    setActive(id) {
      active = id;
      show();
    },
    list: () => list,
  };
}
