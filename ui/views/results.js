// The results table, virtualized: a spacer gives the scroll height of every match, and a small
// pool of fixed-height rows is refilled for the ones in view, so 100k matches cost the DOM no
// more than 100. Pages come from `search(q, cursor)` as the view nears the last loaded row
// (larger pages when the user drags the scrollbar far ahead).

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatEntries, formatNumber } from '../lib/format.js';
import { COLUMNS, makeRow, fillRow } from './row.js';

export const ROW_HEIGHT = 24;
const OVERSCAN = 6;
const PREFETCH_ROWS = 120;
const PAGE = 200;
const BIG_PAGE = 1000;
/** An answer this far behind the journal (or from an index being built) is said to be partial. */
const BEHIND_MS = 5000;
/** How often the progress of an index being built is asked for. */
const PROGRESS_EVERY_MS = 2000;
/** This close to the journal, the index is caught up (entries keep arriving while it follows). */
const CAUGHT_UP_ENTRIES = 1000;

/** Whether an answer's freshness says the index is still being built or far behind. */
export function indexing(f) {
  return !!f && (f.rebuilding === true || f.behind_ms >= BEHIND_MS);
}

/**
 * Builds the table in `root`. Handlers: onOpen(entry), onSelect(entry), onPivot(key, value,
 * how), onOrder(order), onBack(), onError(error), onOffline(offline) with each search answer's
 * `offline` (true when it came from the cache on this computer), onIndexed() once an index that
 * was being built has caught up with the journal (the search is worth running again).
 */
export function createResults(root, handlers) {
  const s = { q: '', order: 'newest', entries: [], total: null, cursor: null, done: true, loading: false, gen: 0, selected: -1, list: false, pending: null, progress: null, following: false, timer: null };
  const pool = [];

  const count = el('span', { class: 'results-count', attrs: { 'aria-live': 'polite' } });
  const banner = el('span', { class: 'results-banner', hidden: true });
  // While the store's index is being built, its answers lack the newest entries: the bar says
  // how far it has got instead of a count that would be wrong.
  const progressText = el('span', { class: 'indexing-text' });
  const progressBar = el('progress', { class: 'indexing-bar' });
  const progress = el('span', { class: 'results-indexing', hidden: true, attrs: { role: 'status' } }, progressText, progressBar);
  const order = el('button', { type: 'button', class: 'order-toggle', title: 'Change the order', on: { click: () => handlers.onOrder(s.order === 'newest' ? 'oldest' : 'newest') } });
  const lead = el('span', { class: 'results-tools' });
  const slot = el('span', { class: 'results-tools' });
  const bar = el('div', { class: 'results-bar' }, count, progress, lead, banner, el('span', { class: 'grow' }), slot, order);
  const head = el('div', { class: 'table-head', attrs: { role: 'row' } },
    COLUMNS.map(([key, label, title]) => el('span', { class: `cell c-${key}`, text: label, title, attrs: { role: 'columnheader', ...(title ? { 'aria-label': title } : {}) } })));
  const spacer = el('div', { class: 'table-spacer' });
  const rowsBox = el('div', { class: 'table-rows', attrs: { role: 'rowgroup' } });
  const empty = el('div', { class: 'table-empty', text: 'No entries match', hidden: true });
  // The header scrolls sideways with the rows (sticky on top); rows start below it.
  const body = el('div', { class: 'table-body', tabIndex: 0, attrs: { role: 'grid', 'aria-label': 'Results' } }, head, spacer, rowsBox, empty);
  root.replaceChildren(bar, body);

  const rowCount = () => (s.done ? s.entries.length : Math.max(s.total ?? 0, s.entries.length + 1));

  function showCount() {
    order.textContent = s.order === 'newest' ? 'Newest first' : 'Oldest first';
    order.hidden = s.list;
    const partial = s.progress != null && !s.list;
    progress.hidden = !partial;
    count.hidden = partial;
    if (partial) {
      const { indexed, journal } = s.progress;
      progressText.textContent = `Indexing: ${formatNumber(indexed)} of ${formatNumber(journal)}`;
      progressBar.max = Math.max(journal, 1);
      progressBar.value = Math.min(indexed, journal);
      progress.title = `Searches cover the ${formatEntries(indexed)} indexed so far; the newest ${formatEntries(Math.max(journal - indexed, 0))} will be found once indexing is done.`;
    }
    if (s.list) count.textContent = formatEntries(s.entries.length);
    else if (s.total != null) count.textContent = formatEntries(s.total);
    else count.textContent = s.done ? formatEntries(s.entries.length) : 'Counting…';
    empty.hidden = !(s.done && s.entries.length === 0);
    body.setAttribute('aria-rowcount', String(rowCount()));
  }

  /** Takes an answer's freshness: shows the progress and follows it while the index is built. */
  function freshness(f) {
    if (!indexing(f)) {
      s.progress = null;
      s.following = false;
      return;
    }
    s.progress = { indexed: f.indexed, journal: f.journal };
    follow(PROGRESS_EVERY_MS);
  }

  function follow(after) {
    s.following = true;
    if (s.timer == null) s.timer = setTimeout(followProgress, after);
  }

  /** Asks how far the index got; once it is whole, the search runs again. */
  async function followProgress() {
    s.timer = null;
    if (!s.following) return;
    try {
      const p = await call('index_progress');
      if (!s.following) return;
      if (p.journal - p.indexed <= CAUGHT_UP_ENTRIES) {
        s.following = false;
        s.progress = null;
        showCount();
        if (!s.list) handlers.onIndexed?.();
        return;
      }
      s.progress = { indexed: p.indexed, journal: p.journal };
      showCount();
    } catch (error) {
      // Signed out: nothing to follow. Unreachable: the next answer says where things stand.
      if (error.code === 'signed_out' || error.code === 'unreachable') {
        s.following = false;
        s.progress = null;
        showCount();
        return;
      }
    }
    if (s.following && s.timer == null) s.timer = setTimeout(followProgress, PROGRESS_EVERY_MS);
  }

  /**
   * A search the store could not answer yet (503): if its index is being built, the bar shows
   * how far it got and the search runs again when it is done; otherwise it is an error.
   */
  async function unavailable(error) {
    try {
      const p = await call('index_progress');
      if (p.indexed < p.journal) {
        s.progress = { indexed: p.indexed, journal: p.journal };
        showCount();
        follow(PROGRESS_EVERY_MS);
        return;
      }
    } catch {
      // Fall through to the error.
    }
    handlers.onError(error);
  }

  function render() {
    const n = rowCount();
    const height = `${n * ROW_HEIGHT}px`;
    if (spacer.style.height !== height) spacer.style.height = height;
    const top = body.scrollTop;
    const view = (body.clientHeight || 600) - ROW_HEIGHT;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + view) / ROW_HEIGHT) + OVERSCAN);
    while (pool.length < last - first) {
      const row = makeRow();
      pool.push(row);
      rowsBox.append(row.node);
    }
    rowsBox.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    for (let i = 0; i < pool.length; i++) {
      const index = first + i;
      const row = pool[i];
      const shown = index < last;
      if (row.node.hidden === shown) row.node.hidden = !shown;
      if (shown) fillRow(row, s.entries[index], index, index === s.selected);
    }
    if (!s.done && !s.loading && last + PREFETCH_ROWS > s.entries.length) {
      fetchPage(last - s.entries.length > PAGE ? BIG_PAGE : PAGE);
    }
  }

  async function fetchPage(limit) {
    const gen = s.gen;
    s.loading = true;
    try {
      const answer = await call('search', { q: s.q, cursor: s.cursor ?? undefined, limit, order: s.order });
      if (gen !== s.gen) return;
      handlers.onOffline(answer.offline === true);
      freshness(answer.freshness);
      for (const e of answer.events) s.entries.push(e);
      s.cursor = answer.next_cursor ?? null;
      s.done = !s.cursor || answer.events.length === 0;
    } catch (error) {
      if (gen !== s.gen) return;
      s.done = true;
      if (!error.handled) handlers.onError(error);
    } finally {
      if (gen === s.gen) s.loading = false;
    }
    showCount();
    render();
  }

  /** Shows a new list from its first page (or a fixed list); the caller has moved `s.gen` on. */
  function reset({ q, order: o, entries, cursor = null, list = false, total = null }) {
    s.q = q;
    s.order = o ?? s.order;
    s.entries = entries;
    s.total = list ? entries.length : total;
    s.cursor = cursor;
    s.done = list || !cursor;
    s.loading = false;
    s.selected = -1;
    s.list = list;
    s.pending = null;
    for (const row of pool) row.id = undefined;
    body.scrollTop = 0;
    body.classList.remove('busy');
    showCount();
    render();
  }

  function scrollIntoView(index) {
    // Row i spans [i, i + 1) rows below the sticky header, which hides the first row's height.
    const top = index * ROW_HEIGHT;
    const bottom = (index + 2) * ROW_HEIGHT;
    if (top < body.scrollTop) body.scrollTop = top;
    else if (bottom > body.scrollTop + body.clientHeight) body.scrollTop = bottom - body.clientHeight;
  }

  function select(index) {
    if (index < 0 || index >= s.entries.length) return;
    s.selected = index;
    scrollIntoView(index);
    render();
    handlers.onSelect(s.entries[index]);
  }

  function rowIndex(target) {
    const row = target instanceof Element ? target.closest('.row') : null;
    return row && !row.classList.contains('placeholder') ? Number(row.dataset.index) : -1;
  }

  body.addEventListener('scroll', render, { passive: true });
  new ResizeObserver(() => render()).observe(body);
  rowsBox.addEventListener('click', (e) => {
    const p = e.target instanceof Element ? e.target.closest('.pivot') : null;
    if (p && p.dataset.value) {
      handlers.onPivot(p.dataset.key, p.dataset.value, e.altKey ? 'exclude' : e.shiftKey ? 'add' : 'replace');
      return;
    }
    const i = rowIndex(e.target);
    if (i >= 0) select(i);
  });
  rowsBox.addEventListener('dblclick', (e) => {
    window.getSelection()?.removeAllRanges();
    const i = rowIndex(e.target);
    if (i >= 0 && !(e.target instanceof Element && e.target.closest('.pivot'))) {
      select(i);
      handlers.onOpen(s.entries[i]);
    }
  });
  banner.addEventListener('click', (e) => {
    if (e.target instanceof Element && e.target.closest('button')) handlers.onBack();
  });

  return {
    /** Tools beside the count (Export…), and on the right before the order (live tail). */
    countTools: lead,
    toolbar: slot,
    body,
    /**
     * Searches `q`. What is on screen stays until the first page arrives, and stays when the
     * search fails (an unreachable server leaves the last results readable).
     */
    async load(q, o) {
      const gen = ++s.gen;
      s.pending = { q, total: null };
      s.loading = true;
      body.classList.add('busy');
      try {
        const answer = await call('search', { q, limit: PAGE, order: o });
        if (gen !== s.gen) return;
        handlers.onOffline(answer.offline === true);
        freshness(answer.freshness);
        banner.hidden = true;
        reset({ q, order: o, entries: answer.events, cursor: answer.next_cursor ?? null, total: s.pending.total });
      } catch (error) {
        if (gen !== s.gen) return;
        s.pending = null;
        s.loading = false;
        body.classList.remove('busy');
        render();
        if (error.code === 'unavailable') unavailable(error);
        else if (!error.handled) handlers.onError(error);
      }
    },
    /** Shows a fixed list (around an entry) with a banner and a way back. */
    showList(entries, text) {
      banner.replaceChildren(el('span', { text }), el('button', { type: 'button', class: 'link', text: 'Back to the search' }));
      banner.hidden = false;
      s.gen++;
      reset({ q: s.q, entries, list: true });
    },
    /** The number of matches of `q` (the timeline's sum); the spacer grows to it. */
    setTotal(n, q) {
      if (s.pending?.q === q) s.pending.total = n;
      else if (!s.list && s.q === q) {
        s.total = n;
        showCount();
        render();
      }
    },
    /** Puts a fresher copy of an entry (annotated, pinned) in place of the loaded one. */
    update(entry) {
      let found = false;
      s.entries.forEach((e, i) => {
        if (e.id !== entry.id) return;
        s.entries[i] = entry;
        found = true;
      });
      if (!found) return;
      for (const row of pool) if (row.id === entry.id) row.id = undefined;
      render();
    },
    /** Selects the row of this entry id, if it is loaded. */
    selectId(id) {
      const i = s.entries.findIndex((e) => e.id === id);
      if (i >= 0) select(i);
    },
    move(delta) {
      if (!s.entries.length) return;
      select(s.selected < 0 ? 0 : Math.max(0, Math.min(s.entries.length - 1, s.selected + delta)));
    },
    selected: () => (s.selected >= 0 ? s.entries[s.selected] : null),
    order: () => s.order,
    loaded: () => s.entries.length,
    focus: () => body.focus({ preventScroll: true }),
  };
}
