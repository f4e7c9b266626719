// The incident panel, in the detail pane's place: title, description, status, who opened it and
// when, its notes (text and status changes) with a form to add one, and Close / Reopen. Opening
// a numbered incident runs the search `incident:N`, so the table, timeline and facets show its
// entries (and Export… exports them); one not yet sent has no number to search on yet. The note
// form and Close / Reopen show only to users whose roles grant `annotate`.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatEntries } from '../lib/format.js';
import { can, failureText } from '../lib/rights.js';
import { receipt, timeText } from './annotations.js';
import { incidentNumber } from './pin.js';

const STATUS_TEXT = { closed: 'closed the incident', open: 'reopened the incident' };

/**
 * Handlers: onSearch(q) runs a search, onWrote(outbox) after each write, onChanged() when the
 * incident changed (the sidebar lists it again), onClose(), onVerify(q, title) checks its
 * entries against the store's signed checkpoint.
 */
export function createIncidentPanel(root, { onSearch, onWrote, onChanged, onClose, onVerify }) {
  let id = null;
  let incident = null;
  let notes = [];
  let open = false;
  let busy = false;
  let gen = 0;

  const text = el('textarea', { class: 'note-input incident-note-input', rows: 3, placeholder: 'Add a note…', attrs: { 'aria-label': 'Note', dir: 'auto' } });
  const add = el('button', { type: 'submit', class: 'primary incident-note-add', text: 'Add note', disabled: true });
  const status = el('button', { type: 'button', class: 'incident-status-toggle' });
  const problem = el('p', { class: 'form-error incident-error', hidden: true, attrs: { role: 'alert' } });
  const form = el('form', { class: 'note-form incident-note-form', attrs: { 'aria-label': 'Add a note' } },
    text, el('div', { class: 'note-buttons' }, add, status), problem);

  function say(message) {
    problem.textContent = message ?? '';
    problem.hidden = !message;
  }

  function showButtons() {
    add.disabled = busy || text.value.trim() === '';
    const closed = incident?.status === 'closed';
    status.textContent = closed ? 'Reopen' : 'Close the incident';
    status.dataset.status = closed ? 'open' : 'closed';
    status.title = text.value.trim() === '' ? '' : 'The note is written with it';
    status.disabled = busy || !incident;
  }

  function noteItem(n) {
    return el('li', { class: `note${n.pending ? ' pending' : ''}`, data: { id: n.id } },
      el('div', { class: 'note-head' },
        el('span', { class: 'note-author', text: n.author }),
        timeText(n.written_at),
        receipt(n)),
      n.status ? el('p', { class: `note-status status-${n.status}`, text: STATUS_TEXT[n.status] ?? n.status }) : null,
      typeof n.text === 'string' && n.text !== '' ? el('p', { class: 'note-text', text: n.text, attrs: { dir: 'auto' } }) : null);
  }

  function render() {
    const i = incident;
    const entries = i.pending || i.number == null
      ? el('p', { class: 'notice incident-pending', text: 'This incident is waiting to be sent: it will list its entries once the store has it.' })
      : el('p', { class: 'incident-entries' },
        el('span', { text: `${formatEntries(i.entries ?? 0)} pinned — the results show them (incident:${i.number}). ` }),
        el('button', { type: 'button', class: 'link incident-search', text: 'Show them again', on: { click: () => onSearch(`incident:${i.number}`) } }),
        ' · ',
        el('button', {
          type: 'button', class: 'link incident-verify', text: 'Verify them',
          title: 'Check every pinned entry against the store’s signed checkpoint',
          on: { click: () => onVerify?.(`incident:${i.number}`, `Verify incident #${i.number}`) },
        }));
    const parts = [
      el('header', { class: 'detail-head' },
        el('h2', { class: 'detail-title incident-heading' },
          el('span', { class: 'incident-number', text: incidentNumber(i) }), ' ',
          el('span', { class: 'incident-title', text: i.title, attrs: { dir: 'auto' } })),
        el('button', { type: 'button', class: 'detail-close', text: '×', title: 'Close (Esc)', attrs: { 'aria-label': 'Close the incident' }, on: { click: () => onClose() } })),
      el('p', { class: 'incident-meta' },
        el('span', { class: `badge incident-status status-${i.status}`, text: i.status }),
        i.author ? [' ', el('span', { text: `opened by ${i.author} ` }), timeText(i.written_at), ' · ', receipt(i)] : null),
      typeof i.description === 'string' && i.description !== ''
        ? el('p', { class: 'incident-description note-text', text: i.description, attrs: { dir: 'auto' } }) : null,
      entries,
      el('section', { class: 'detail-section' }, el('h3', { text: 'Notes' }),
        notes.length ? el('ol', { class: 'note-thread incident-notes' }, notes.map(noteItem)) : el('p', { class: 'note-none', text: 'No notes yet.' }),
        can('annotate') ? form : null),
    ];
    const active = root.contains(document.activeElement) ? document.activeElement : null;
    root.replaceChildren(...parts.filter(Boolean));
    if (active && root.contains(active) && document.activeElement !== active) active.focus({ preventScroll: true });
    showButtons();
  }

  /** Fetches the incident; one that just got its number (it was sent) runs its search. */
  async function load() {
    const mine = ++gen;
    const had = incident?.number ?? null;
    try {
      const answer = await call('incident', { id });
      if (mine !== gen || !open) return;
      incident = answer.incident;
      notes = answer.notes ?? [];
      render();
      if (incident.number != null && had == null) onSearch(`incident:${incident.number}`);
    } catch (error) {
      if (mine !== gen || error.handled) return;
      if (incident) say(`Could not refresh the incident: ${error.message}`);
      else root.replaceChildren(el('p', { class: 'detail-missing', text: error.message }));
    }
  }

  async function write(args) {
    if (busy || !incident) return;
    busy = true;
    say(null);
    showButtons();
    try {
      const answer = await call('incident_note', { incident: incident.id, ...args });
      onWrote(answer.outbox);
      text.value = '';
      onChanged();
      await load();
    } catch (error) {
      if (!error.handled) say(`${failureText(error, 'Not saved: ')} What you typed is still here.`);
    } finally {
      busy = false;
      showButtons();
    }
  }

  text.addEventListener('input', () => { say(null); showButtons(); });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (text.value.trim() !== '') write({ text: text.value });
  });
  status.addEventListener('click', () => {
    const args = { status: status.dataset.status };
    if (text.value.trim() !== '') args.text = text.value;
    write(args);
  });

  return {
    /** Opens an incident (shown at once from the list, then fetched) and runs its search. */
    open(shown) {
      if (shown.id !== id) {
        text.value = '';
        say(null);
      }
      id = shown.id;
      incident = shown;
      notes = [];
      open = true;
      root.hidden = false;
      render();
      root.scrollTop = 0;
      if (shown.number != null) onSearch(`incident:${shown.number}`);
      return load();
    },
    /** Fetches the open incident again (after a write elsewhere, or a send). */
    refresh() {
      if (open) load();
    },
    close() {
      gen++;
      open = false;
      id = null;
      incident = null;
      root.hidden = true;
      root.replaceChildren();
    },
    /** Shown or hidden behind the entry detail, which takes the same place. */
    setVisible(visible) {
      root.hidden = !(open && visible);
    },
    isOpen: () => open,
    id: () => id,
  };
}
