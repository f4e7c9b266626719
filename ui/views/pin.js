// The detail pane's incidents: the ones the entry is pinned to (click opens one), and "Pin to
// incident": a select of the open incidents, or "New incident…", a small form whose title (and
// optional description) opens an incident (`open_incident`) before the entry is pinned to it
// (`pin_entry`). Built once and kept across re-renders, like the annotation form. An entry lists
// the store's pins only, so a pin still in the outbox is said under the control (and its
// incident is no longer offered for this entry) until the entry shows it. Pinning shows only to
// users whose roles grant `annotate`; the incidents the entry is pinned to show to every reader.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { can, failureText } from '../lib/rights.js';

const NEW = 'new';

/** "#12" for a numbered incident, "waiting" for one the store does not have yet. */
export function incidentNumber(i) {
  return i.number != null ? `#${i.number}` : 'waiting';
}

/**
 * Handlers: onWrote(outbox) after each write, onPinned(entryId, incident) once pinned,
 * onOpen({id, number, title}) opens an incident, onIncidents() when incidents changed here.
 */
export function createPin({ onWrote, onPinned, onOpen, onIncidents }) {
  let entry = null;
  let incidents = [];
  let busy = false;
  // Pins made here, per entry id: {incident id → incident}, until the entry lists them.
  const made = new Map();

  const pinned = el('ul', { class: 'pinned-list' });
  const none = el('p', { class: 'pinned-none', text: 'Not pinned to any incident.' });
  const select = el('select', { class: 'pin-select', attrs: { 'aria-label': 'Pin to incident' } });
  const go = el('button', { type: 'button', class: 'pin-go', text: 'Pin', disabled: true });
  const title = el('input', { type: 'text', class: 'incident-title-input', placeholder: 'Title', spellcheck: true, attrs: { 'aria-label': 'Title of the new incident', dir: 'auto', maxlength: '200' } });
  const description = el('textarea', { class: 'incident-description-input', rows: 2, placeholder: 'Description (optional)', attrs: { 'aria-label': 'Description of the new incident', dir: 'auto' } });
  const create = el('button', { type: 'submit', class: 'primary incident-create', text: 'Open and pin' });
  const cancel = el('button', { type: 'button', class: 'incident-create-cancel', text: 'Cancel' });
  const form = el('form', { class: 'incident-new', hidden: true, attrs: { 'aria-label': 'New incident' } },
    title, description, el('div', { class: 'note-buttons' }, create, cancel));
  const problem = el('p', { class: 'form-error pin-error', hidden: true, attrs: { role: 'alert' } });
  const waiting = el('ul', { class: 'pin-waiting', attrs: { role: 'status' } });
  const pinRow = el('div', { class: 'pin-row' }, select, go);
  const node = el('section', { class: 'detail-section detail-incidents', attrs: { 'aria-label': 'Incidents' } },
    el('h3', { text: 'Incidents' }), none, pinned, waiting, pinRow, form, problem);

  function say(text) {
    problem.textContent = text ?? '';
    problem.hidden = !text;
  }

  function setBusy(value) {
    busy = value;
    select.disabled = value;
    create.disabled = value;
    go.disabled = value || !select.value || select.value === NEW;
  }

  function showPinned() {
    const list = entry?.incidents ?? [];
    pinned.replaceChildren(...list.map((i) => el('li', {},
      el('button', { type: 'button', class: 'link pinned-incident', data: { id: i.id }, title: 'Open the incident' },
        el('span', { class: 'incident-number', text: incidentNumber(i) }), ' ', el('span', { class: 'incident-title', text: i.title ?? '', attrs: { dir: 'auto' } })))));
    pinned.hidden = list.length === 0;
    // Pins made here that the entry does not list yet: sent and on their way, or waiting.
    const mine = made.get(entry?.id);
    for (const id of list.map((i) => i.id)) mine?.delete(id);
    const later = [...(mine?.values() ?? [])];
    waiting.replaceChildren(...later.map((i) => el('li', { class: 'pin-note', data: { id: i.id } },
      `Pinned to ${i.number != null ? `#${i.number}` : `“${i.title}”`} — waiting to be sent.`)));
    waiting.hidden = later.length === 0;
    none.hidden = list.length > 0 || later.length > 0;
  }

  /** The open incidents this entry is not pinned to yet, then "New incident…". */
  function showChoices() {
    const keep = select.value;
    const mine = new Set([...(entry?.incidents ?? []).map((i) => i.id), ...(made.get(entry?.id)?.keys() ?? [])]);
    const open = incidents.filter((i) => i.status !== 'closed' && !mine.has(i.id));
    select.replaceChildren(
      el('option', { value: '', text: 'Pin to incident…' }),
      ...open.map((i) => el('option', { value: i.id, text: `${incidentNumber(i)} — ${i.title}` })),
      el('option', { value: NEW, text: 'New incident…' }));
    select.value = [...select.options].some((o) => o.value === keep) ? keep : '';
    go.disabled = busy || !select.value || select.value === NEW;
  }

  function closeForm() {
    form.hidden = true;
    title.value = '';
    description.value = '';
    if (select.value === NEW) select.value = '';
    go.disabled = true;
  }

  async function pin(incident) {
    const id = entry.id;
    const answer = await call('pin_entry', { incident: incident.id, entry: id });
    if (!made.has(id)) made.set(id, new Map());
    made.get(id).set(incident.id, incident);
    if (entry?.id === id) {
      showPinned();
      showChoices();
    }
    onWrote(answer.outbox);
    onPinned(id, incident);
    onIncidents();
  }

  select.addEventListener('change', () => {
    say(null);
    form.hidden = select.value !== NEW;
    go.disabled = busy || !select.value || select.value === NEW;
    if (select.value === NEW) title.focus();
  });
  go.addEventListener('click', async () => {
    const incident = incidents.find((i) => i.id === select.value);
    if (!incident || !entry || busy) return;
    setBusy(true);
    say(null);
    try {
      await pin(incident);
      select.value = '';
    } catch (error) {
      if (!error.handled) say(failureText(error, 'Not pinned: '));
    } finally {
      setBusy(false);
    }
  });
  cancel.addEventListener('click', closeForm);
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      closeForm();
      select.focus();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || !entry) return;
    if (title.value.trim() === '') {
      say('Give the incident a title.');
      title.focus();
      return;
    }
    setBusy(true);
    say(null);
    let opened = null;
    try {
      const args = { title: title.value };
      if (description.value.trim() !== '') args.description = description.value;
      const answer = await call('open_incident', args);
      opened = answer.incident;
      onWrote(answer.outbox);
      await pin(opened);
      closeForm();
    } catch (error) {
      if (error.handled) return;
      if (opened) {
        onIncidents();
        closeForm();
        say(`Incident “${opened.title}” is opened, but the entry is not pinned to it: ${error.message}`);
      } else {
        say(failureText(error, 'No incident opened: '));
      }
    } finally {
      setBusy(false);
    }
  });
  pinned.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('.pinned-incident') : null;
    const ref = b && (entry?.incidents ?? []).find((i) => i.id === b.dataset.id);
    if (ref) onOpen(ref);
  });

  return {
    node,
    /** Shows the incidents of `entry`; the new-incident form is kept for the same entry. */
    show(next) {
      if (next.id !== entry?.id || !can('annotate')) {
        closeForm();
        say(null);
      }
      pinRow.hidden = !can('annotate');
      entry = next;
      showPinned();
      showChoices();
    },
    /** The incidents to choose from (the sidebar's list). */
    setIncidents(list) {
      incidents = list;
      showChoices();
    },
    /** No pin waits in the outbox any more (sent or discarded): the entries say the rest. */
    forget() {
      if (!made.size) return;
      made.clear();
      if (entry) {
        showPinned();
        showChoices();
      }
    },
    focus() {
      node.scrollIntoView({ block: 'nearest' });
      if (!pinRow.hidden) select.focus();
    },
  };
}
