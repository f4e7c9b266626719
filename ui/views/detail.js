// The detail pane: every field of one entry, exact times (microseconds, local and UTC), the
// changes as a diff, details as pretty JSON, copy buttons, and the two pivots that widen the
// view: everything about the target, and what happened around this entry. Changes, details and
// the copied JSON come from the entry's `exact` texts when it has them (numbers keep their
// digits: `100.10`, integers past 2^53), else from the values as JavaScript parsed them.
// Below the fields: the entry's annotation thread with its form, and the incidents it is pinned
// to with "Pin to incident"; both keep what is typed while the entry is refreshed, and both
// forms show only to users whose roles grant `annotate`. Personal data the store masked (the
// user lacks `unmask`) is said above the fields, and a masked IP shows with its prefix.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { copyButton } from '../lib/clipboard.js';
import { exactValue, renderChange } from '../lib/changes.js';
import { fromValue, stringifyJson } from '../lib/json.js';
import { formatLocalExact, formatUtcExact } from '../lib/time.js';
import { isMasked, maskedNotice, shownIp } from '../lib/masking.js';
import { pivot } from './row.js';
import { createAnnotations } from './annotations.js';
import { createPin } from './pin.js';
import { entryCheckText } from './trust.js';

/** The details as pretty JSON: the exact text as the Rust side printed it, else JavaScript's. */
function detailsText(e) {
  if (typeof e.exact?.details === 'string') return e.exact.details;
  return e.details !== undefined && e.details !== null ? JSON.stringify(e.details, null, 2) : null;
}

/**
 * The entry as pretty JSON for "Copy JSON": the journal's record (what its hash covers), so
 * without `exact` and without the annotations and incidents added to it since, but with the
 * exact texts in place of the changes' values and the details, so that every number is copied
 * as the store holds it (and without the console's number of the copy shown).
 */
export function entryJson(e) {
  const { exact, annotations, incidents, copy, ...rest } = e;
  if (!exact) return JSON.stringify(rest, null, 2);
  const tree = fromValue(rest);
  if (Array.isArray(e.changes) && tree.get('changes')) {
    tree.set('changes', e.changes.map((c, i) => {
      const change = fromValue(c);
      if (!(change instanceof Map)) return change;
      for (const side of ['before', 'after']) {
        if (change.has(side)) change.set(side, exactValue(c[side], exact.changes?.[i]?.[side]));
      }
      return change;
    }));
  }
  if (tree.has('details')) tree.set('details', exactValue(e.details, exact.details));
  return stringifyJson(tree, 2);
}

function row(label, ...value) {
  return [el('dt', { text: label }), el('dd', { data: { field: label.toLowerCase() } }, ...value)];
}

function exactTime(text) {
  return el('div', { class: 'exact-time' },
    el('span', { class: 'time-local', text: formatLocalExact(text) }),
    el('span', { class: 'time-utc', text: formatUtcExact(text) }));
}

function textValue(value, cls = '') {
  return el('span', { class: `val ${cls}`.trim(), text: value, attrs: { dir: 'auto' } });
}

/** A text the store may have masked (`[masked]`, shown as such). */
function personal(e, field, value, cls = '') {
  return textValue(value, isMasked(e, field) ? `${cls} masked`.trim() : cls);
}

function fields(e) {
  const a = e.actor ?? {};
  const actorMore = [a.name, a.role, a.kind].filter(Boolean).join(' · ');
  const out = [
    row('Occurred', exactTime(e.occurred_at)),
    row('Received', exactTime(e.received_at)),
    row('Actor', pivot('actor', a.id), actorMore ? textValue(actorMore, 'dim') : null),
    // Impersonation: the actor really did it, in this account.
    e.on_behalf_of ? row('Acting as',
      el('span', { class: 'behalf-badge', text: 'impersonated' }), ' ',
      e.on_behalf_of.type ? textValue(e.on_behalf_of.type, 'dim') : null, ' ',
      pivot('behalf', e.on_behalf_of.id),
      e.on_behalf_of.name != null ? personal(e, 'on_behalf_of.name', e.on_behalf_of.name, 'behalf-name') : null) : null,
    row('Action', textValue(e.action, 'mono')),
    row('Kind', textValue(e.kind)),
    row('Section', pivot('section', e.section)),
    row('Severity', el('span', { class: `badge sev-${e.severity ?? 'info'}`, text: e.severity ?? 'info' })),
    row('Outcome', el('span', { class: `badge out-${e.outcome ?? 'success'}`, text: e.outcome ?? 'success' })),
  ];
  if (e.target) {
    out.push(row('Target', pivot('target', `${e.target.type}/${e.target.id}`), e.target.name != null ? personal(e, 'target.name', e.target.name, 'target-name') : null));
  }
  // A masked IP is its network: shown, searched and copied with its prefix (203.0.113.0/24).
  const ip = shownIp(e);
  if (ip) out.push(row('IP', pivot('ip', ip), copyButton('IP', ip)));
  if (e.reason != null) out.push(row('Reason', personal(e, 'reason', e.reason, 'reason')));
  for (const [label, key] of [['User agent', 'user_agent'], ['Session', 'session_id']]) {
    if (e[key] != null) out.push(row(label, personal(e, key, e[key], 'mono')));
  }
  if (e.request_id != null) out.push(row('Request', pivot('request', e.request_id)));
  if (e.correlation_id != null) out.push(row('Action id', pivot('correlation', e.correlation_id)));
  // The sender's own number for the event (gaps in it are reported: vigil senders).
  if (e.source_seq != null) out.push(row('Sender’s no.', textValue(e.stream != null ? `${e.source_seq} in stream ${e.stream}` : String(e.source_seq), 'mono')));
  // The ingest key that handed the entry to the store (`vigil` for the store's own entries),
  // recorded by the store under the hash chain; absent on entries from before senders.
  if (e.sender != null) out.push(row('Sent by', pivot('sender', e.sender)));
  out.push(row('ID', textValue(e.id, 'mono'), copyButton('id', e.id)));
  out.push(row('Seq', textValue(String(e.seq), 'mono')));
  // The store withholds hashes from users who read some entries masked (with a hash, masked
  // values could be guessed and checked): the hash arrives empty.
  if (e.hash) out.push(row('Hash', textValue(e.hash, 'mono hash'), copyButton('hash', e.hash)));
  else out.push(row('Hash', textValue('withheld (your roles do not unmask every entry you read)', 'hash withheld')));
  return el('dl', { class: 'fields' }, out);
}

/**
 * Handlers: onPivot(key, value, how), onTarget(entry), onAround(entry), onGroup(key, value)
 * (every entry of one request or business action), onClose(), onEntry(entry)
 * (a fresher copy of an entry, for the table), onWrote(outbox) after each write,
 * onIncident({id, number, title}) opens an incident, onIncidents() when incidents changed here,
 * onAlarm() when an entry's check found the store's key or history changed.
 */
export function createDetail(root, handlers) {
  let current = null;
  let gen = 0;
  // The check of each copy of an entry shown (`verify_entry`): a copy `event` fetched from the
  // store has a number, and its check is of that very copy; a row from the table or the cache
  // has none. Kept across re-renders.
  const checks = new Map();
  const copyKey = (e) => (e.copy != null ? `copy:${e.copy}` : `row:${e.id}`);

  function integrity(e) {
    const check = checks.get(copyKey(e));
    const state = check?.state ?? 'checking';
    return el('p', { class: `integrity integrity-${state}`, data: { state }, attrs: { role: 'status' } },
      el('span', { class: 'integrity-mark', text: state === 'verified' ? '✓' : state === 'failed' || state === 'alarm' ? '✗' : '…', attrs: { 'aria-hidden': 'true' } }),
      ' ',
      el('span', { class: 'integrity-text', text: check ? entryCheckText(check) : 'Checking this entry against the store’s signed checkpoint…' }));
  }

  function showCheck() {
    if (current) root.querySelector('.integrity')?.replaceWith(integrity(current));
  }

  /** Checks the copy of the entry on screen against the newest verified checkpoint. */
  async function verify(entry) {
    let check;
    try {
      check = await call('verify_entry', { id: entry.id, copy: entry.copy ?? null });
    } catch (error) {
      if (error.handled) return;
      check = { state: 'unverified', message: `Not verified: ${error.message}` };
    }
    if (checks.size > 500) checks.clear();
    checks.set(copyKey(entry), check);
    if (check.state === 'alarm') handlers.onAlarm?.();
    showCheck();
  }

  const notes = createAnnotations({ onSaved: saved });
  const pins = createPin({
    onWrote: handlers.onWrote, onOpen: handlers.onIncident, onIncidents: handlers.onIncidents, onPinned: pinned,
  });

  /** Shows the annotation at once, then asks for the entry as stored. */
  function saved(id, answer) {
    handlers.onWrote(answer.outbox);
    if (current?.id !== id || !answer.annotation) return;
    const list = current.annotations ?? [];
    if (!list.some((a) => a.id === answer.annotation.id)) current = { ...current, annotations: [...list, answer.annotation] };
    render(current);
    handlers.onEntry(current);
    refresh();
  }

  /** The entry lists the store's pins only: ask for it again (the pin control says the rest). */
  function pinned(id) {
    if (current?.id === id) refresh();
  }

  /** Fetches the entry on screen again (after a write, or when the outbox sent something). */
  function refresh() {
    if (current && !root.hidden) load(current, gen);
  }

  async function load(entry, mine) {
    try {
      const fresh = await call('event', { id: entry.id });
      // The table may hold an older copy (before a write, or from before a send): update its
      // row even when the pane has moved on to another entry meanwhile.
      handlers.onEntry(fresh);
      if (mine !== gen || root.hidden || current?.id !== entry.id) return;
      const changed = JSON.stringify(fresh) !== JSON.stringify(current);
      current = fresh;
      if (changed) render(fresh);
      // Each copy from the store is checked: what a refresh brings is not what was checked.
      if (!checks.has(copyKey(fresh))) void verify(fresh);
    } catch (error) {
      if (mine !== gen || error.handled) return;
      if (error.code === 'not_found') missing(entry.id, error.message);
      else {
        const shown = current ?? entry;
        if (!checks.has(copyKey(shown))) checks.set(copyKey(shown), { state: 'unverified', message: 'Not checked: the entry could not be fetched from the store.' });
        render(shown, `Could not refresh this entry: ${error.message}`);
      }
    }
  }

  function render(e, note) {
    const actions = el('div', { class: 'detail-actions' },
      e.target ? el('button', { type: 'button', class: 'act-target', text: 'Everything about this target', on: { click: () => handlers.onTarget(e) } }) : null,
      el('button', { type: 'button', class: 'act-around', text: 'Around this', title: 'The same actor\'s and target\'s entries within ±15 minutes', on: { click: () => handlers.onAround(e) } }),
      e.request_id != null ? el('button', { type: 'button', class: 'act-request', text: 'Everything in this request', title: `Every entry with request ${e.request_id}, oldest first`, on: { click: () => handlers.onGroup('request', e.request_id) } }) : null,
      e.correlation_id != null ? el('button', { type: 'button', class: 'act-action', text: 'Everything in this action', title: `Every entry of action ${e.correlation_id}, oldest first`, on: { click: () => handlers.onGroup('correlation', e.correlation_id) } }) : null,
      copyButton('JSON', entryJson(e), 'Copy JSON'));
    notes.show(e);
    pins.show(e);
    const masked = maskedNotice(e);
    const parts = [
      el('header', { class: 'detail-head' },
        el('h2', { class: 'detail-title', text: e.action }),
        el('button', { type: 'button', class: 'detail-close', text: '×', title: 'Close (Esc)', attrs: { 'aria-label': 'Close the detail' }, on: { click: () => handlers.onClose() } })),
      note ? el('p', { class: 'notice notice-warn', text: note }) : null,
      actions,
      masked ? el('p', { class: 'notice masked-notice', text: masked, attrs: { role: 'note' } }) : null,
      fields(e),
      integrity(e),
      notes.node,
      pins.node,
    ];
    if (e.changes?.length) {
      parts.push(el('section', { class: 'detail-section detail-changes' }, el('h3', { text: 'Changes' }),
        e.changes.map((c, i) => renderChange(c, e.exact?.changes?.[i]))));
    }
    const details = detailsText(e);
    if (details !== null) {
      parts.push(el('section', { class: 'detail-section' }, el('h3', { text: 'Details' }),
        el('pre', { class: 'json-block details-json', text: details })));
    }
    // The forms are moved, not rebuilt: focus and the caret go back where they were.
    const active = root.contains(document.activeElement) ? document.activeElement : null;
    const caret = active && typeof active.selectionStart === 'number' ? [active.selectionStart, active.selectionEnd] : null;
    root.replaceChildren(...parts.filter(Boolean));
    if (active && root.contains(active) && document.activeElement !== active) {
      active.focus({ preventScroll: true });
      if (caret) active.setSelectionRange(...caret);
    }
  }

  function missing(id, message) {
    root.replaceChildren(
      el('header', { class: 'detail-head' }, el('h2', { class: 'detail-title', text: 'Entry not found' }),
        el('button', { type: 'button', class: 'detail-close', text: '×', attrs: { 'aria-label': 'Close the detail' }, on: { click: () => handlers.onClose() } })),
      el('p', { class: 'detail-missing', text: message }),
      el('p', { class: 'mono dim', text: id }));
  }

  root.addEventListener('click', (e) => {
    const p = e.target instanceof Element ? e.target.closest('.pivot') : null;
    if (p?.dataset.value) handlers.onPivot(p.dataset.key, p.dataset.value, e.altKey ? 'exclude' : e.shiftKey ? 'add' : 'replace');
  });

  return {
    /** Shows an entry at once, then refreshes it with `event(id)`. */
    async open(entry) {
      const mine = ++gen;
      const same = current?.id === entry.id;
      if (!same) current = entry;
      root.hidden = false;
      if (!same) {
        render(entry);
        root.scrollTop = 0;
      }
      await load(entry, mine);
    },
    close() {
      gen++;
      notes.leave();
      // An entry opened again is fetched and checked again.
      checks.clear();
      current = null;
      root.hidden = true;
      root.replaceChildren();
    },
    refresh,
    /** The incidents "Pin to incident" offers. */
    setIncidents: (list) => pins.setIncidents(list),
    /** No pin waits in the outbox any more. */
    forgetPins: () => pins.forget(),
    /** Puts the focus on "Pin to incident" (the `p` key). */
    focusPin: () => pins.focus(),
    isOpen: () => !root.hidden,
    current: () => current,
  };
}
