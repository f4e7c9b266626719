// The outbox: what was written here and not yet received by the store. `outbox` is asked every
// 3 seconds while signed in (which also makes the Rust side send what waits) and after each
// write. The header's badge says "N waiting" (hidden when nothing waits); it opens a list of the
// items where the ones the store refused show its error with Retry and Discard (Discard asks
// first: it drops the user's work). The offline banner shows while the store cannot be reached,
// whoever said so last: the outbox (`online`), a search answer or the session (`offline`).

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatLocalSeconds, formatUtcExact } from '../lib/time.js';

export const POLL_MS = 3000;

const KINDS = { annotation: 'Annotation', incident: 'Incident', pin: 'Pin', note: 'Note' };

/** The banner's text for `server`. */
export function offlineText(server) {
  return `Offline — the store at ${server || 'its address'} cannot be reached. Showing entries cached on this computer; what you write is kept and sent when the store is back.`;
}

/**
 * `badge` (a header button), `panel` (its popover) and `banner` are index.html's. Handlers:
 * onSent() when items left the outbox (sent or discarded): what shows them is fetched again;
 * onItems(items) with every outbox shown.
 */
export function createOutbox({ badge, panel, banner }, { onSent, onItems = () => {} }) {
  let on = false;
  let timer = 0;
  let asked = 0;
  let shown = 0;
  let items = [];
  let server = null;
  let offline = false;
  let confirming = null;
  let busy = false;

  const list = el('ol', { class: 'outbox-items' });
  const empty = el('p', { class: 'outbox-empty', text: 'Nothing waiting: everything written here was sent.' });
  const state = el('p', { class: 'outbox-state' });
  const problem = el('p', { class: 'form-error outbox-problem', hidden: true, attrs: { role: 'alert' } });
  const retryAll = el('button', { type: 'button', class: 'outbox-retry-all', text: 'Retry all', hidden: true });
  panel.replaceChildren(
    el('header', { class: 'outbox-head' },
      el('h2', { class: 'outbox-title', text: 'Waiting to be sent' }), retryAll,
      el('button', { type: 'button', class: 'outbox-close', text: '×', attrs: { 'aria-label': 'Close the list' }, on: { click: () => toggle(false) } })),
    state, list, empty, problem);

  function say(text) {
    problem.textContent = text ?? '';
    problem.hidden = !text;
  }

  function showBanner() {
    banner.hidden = !on || !offline;
    banner.textContent = offlineText(server);
  }

  function itemNode(item) {
    const failed = item.state === 'failed';
    const actions = !failed ? null : confirming === item.n
      ? el('div', { class: 'outbox-confirm' },
        el('span', { text: 'Discard it? What was written is dropped and cannot be recovered.' }),
        el('button', { type: 'button', class: 'outbox-discard-confirm danger', text: 'Discard', data: { n: String(item.n) } }),
        el('button', { type: 'button', class: 'outbox-discard-keep', text: 'Keep it' }))
      : el('div', { class: 'outbox-actions' },
        el('button', { type: 'button', class: 'outbox-retry', text: 'Retry', data: { n: String(item.n) } }),
        el('button', { type: 'button', class: 'outbox-discard', text: 'Discard…', data: { n: String(item.n) } }));
    return el('li', { class: `outbox-item ${failed ? 'failed' : 'waiting'}`, data: { n: String(item.n), state: item.state } },
      el('div', { class: 'outbox-line' },
        el('span', { class: 'outbox-kind', text: KINDS[item.kind] ?? item.kind }),
        el('span', { class: 'outbox-summary', text: item.summary, attrs: { dir: 'auto' } }),
        el('time', { class: 'outbox-time', text: formatLocalSeconds(item.written_at), title: formatUtcExact(item.written_at) })),
      failed ? el('p', { class: 'outbox-error', text: item.error ?? 'The store refused it.' }) : null,
      actions);
  }

  function showPanel() {
    if (panel.hidden) return;
    const failed = items.filter((i) => i.state === 'failed').length;
    state.textContent = offline
      ? 'The store cannot be reached: these are sent when it is back.'
      : failed ? 'The store refused what shows an error: retry it, or discard it.' : 'These are being sent.';
    state.hidden = items.length === 0;
    list.replaceChildren(...items.map(itemNode));
    empty.hidden = items.length > 0;
    retryAll.hidden = failed < 2;
    retryAll.disabled = busy;
    for (const b of list.querySelectorAll('button')) b.disabled = busy;
  }

  function toggle(open = panel.hidden) {
    panel.hidden = !open;
    badge.setAttribute('aria-expanded', String(open));
    if (!open) confirming = null;
    say(null);
    showPanel();
  }

  /** Shows an outbox (from `outbox` or a write's answer). */
  function show(outbox) {
    if (!outbox || !Array.isArray(outbox.items)) return;
    const before = new Set(items.map((i) => i.n));
    items = outbox.items;
    const gone = [...before].some((n) => !items.some((i) => i.n === n));
    if (confirming != null && !items.some((i) => i.n === confirming && i.state === 'failed')) confirming = null;
    server = outbox.server ?? server;
    offline = outbox.online === false;
    const failed = items.filter((i) => i.state === 'failed').length;
    // Everything not yet received counts, the refused items too (they wait for the user).
    const waiting = Math.max(outbox.waiting ?? 0, items.length);
    badge.hidden = waiting === 0;
    badge.textContent = failed ? `${waiting} waiting (${failed} failed)` : `${waiting} waiting`;
    badge.classList.toggle('failed', failed > 0);
    badge.title = 'What was written here and not yet received by the store';
    showBanner();
    showPanel();
    onItems(items);
    if (gone) onSent();
  }

  function schedule() {
    clearTimeout(timer);
    if (on) timer = setTimeout(poll, POLL_MS);
  }

  /** Asks for the outbox now; an answer older than one already shown is dropped. */
  async function poll() {
    if (!on) return;
    const mine = ++asked;
    clearTimeout(timer);
    try {
      const outbox = await call('outbox');
      if (!on || mine < shown) return;
      shown = mine;
      show(outbox);
    } catch {
      // signed_out is handled by ipc (back to the form); anything else waits for the next poll.
    } finally {
      // One timer whatever ran meanwhile (a write's poll, Retry): the next poll is 3 s away.
      schedule();
    }
  }

  async function act(command, args) {
    busy = true;
    say(null);
    showPanel();
    try {
      const outbox = await call(command, args);
      shown = ++asked;
      show(outbox);
      if (command === 'outbox_discard') onSent();
    } catch (error) {
      if (!error.handled) say(error.message);
    } finally {
      busy = false;
      showPanel();
    }
  }

  badge.addEventListener('click', () => toggle());
  // Esc closes the open list first (before it could close the detail pane behind it).
  window.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || panel.hidden) return;
    e.preventDefault();
    e.stopPropagation();
    const inside = panel.contains(document.activeElement);
    toggle(false);
    if (inside) badge.focus();
  }, true);
  document.addEventListener('mousedown', (e) => {
    if (panel.hidden || !(e.target instanceof Node) || panel.contains(e.target) || badge.contains(e.target)) return;
    toggle(false);
  });
  retryAll.addEventListener('click', () => act('outbox_retry', {}));
  list.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('button') : null;
    if (!b || busy) return;
    const n = Number(b.dataset.n);
    if (b.classList.contains('outbox-retry')) act('outbox_retry', { n });
    else if (b.classList.contains('outbox-discard')) {
      confirming = n;
      showPanel();
      list.querySelector('.outbox-discard-keep')?.focus();
    } else if (b.classList.contains('outbox-discard-keep')) {
      confirming = null;
      showPanel();
    } else if (b.classList.contains('outbox-discard-confirm')) {
      confirming = null;
      act('outbox_discard', { n });
    }
  });

  return {
    /** Starts polling for a signed-in session (whose `offline` shows the banner at once). */
    start(session) {
      on = true;
      items = [];
      confirming = null;
      server = session?.server ?? null;
      offline = session?.offline === true;
      badge.hidden = true;
      toggle(false);
      showBanner();
      poll();
    },
    stop() {
      on = false;
      clearTimeout(timer);
      toggle(false);
      badge.hidden = true;
      showBanner();
    },
    /** A write answered with this outbox: show it, and ask again (the send may be under way). */
    written(outbox) {
      shown = ++asked;
      show(outbox);
      poll();
    },
    /** A search answered: `offline` says whether it came from the cache. */
    searched(isOffline) {
      if (!on || offline === isOffline) return;
      offline = isOffline;
      showBanner();
      showPanel();
    },
  };
}
