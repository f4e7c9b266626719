// "Export…": the search on screen written to a file. The button beside the count opens a modal
// dialog (format, BOM for CSV); "Choose file and export…" asks Rust for a path in the native save
// dialog (`export_pick`), then runs `export_start`, whose channel reports the rows written. One
// export at a time; "Cancel" (`export_cancel`) leaves nothing behind. The dialog cannot be closed
// while an export runs. The button shows only to users whose roles grant `export`; a refusal
// of the store (`forbidden`) shows its reason in the dialog.

import { call, channel } from '../ipc.js';
import { el } from '../lib/dom.js';
import { copyButton } from '../lib/clipboard.js';
import { formatEntries, formatNumber } from '../lib/format.js';
import { failureText } from '../lib/rights.js';

const FORMATS = [
  ['csv', 'CSV'],
  ['xlsx', 'Excel (XLSX)'],
  ['json', 'JSON'],
  ['ndjson', 'NDJSON'],
];

const CANCELLED = 'Export cancelled. Nothing was written.';

/** "12,345 of 1,000,000 entries (1%)". */
export function progressText(rows, total) {
  const done = `${formatNumber(rows)} of ${formatEntries(total)}`;
  return total > 0 ? `${done} (${Math.floor((Math.min(rows, total) * 100) / total)}%)` : done;
}

/**
 * Puts the Export… button in `slot` and its dialog in `host`. `queryBarText()` is the text in the
 * query bar (to say when it differs from the search being exported).
 */
export function createExport(slot, host, { queryBarText = () => null } = {}) {
  // The search on screen and its count of matches (null until the timeline has counted).
  let q = '';
  let count = null;
  let valid = true;
  let allowed = true;
  let picking = false;
  let running = false;
  let gen = 0;
  let exporting = { rows: 0, total: 0, started: false, cancelling: false };
  let frame = 0;

  const button = el('button', { type: 'button', class: 'export-open', text: 'Export…', title: 'Save the entries of this search to a file' });
  slot.append(button);

  const queryText = el('dd', { class: 'export-query' });
  const countText = el('dd', { class: 'export-count' });
  const edited = el('p', { class: 'notice notice-warn export-edited', hidden: true });
  const radios = FORMATS.map(([value, label]) => el('label', { class: 'export-choice' },
    el('input', { type: 'radio', name: 'export-format', value, checked: value === 'csv' }), ` ${label}`));
  const bom = el('input', { type: 'checkbox', name: 'export-bom', checked: true });
  const bomRow = el('label', { class: 'export-bom' }, bom, ' Add a byte-order mark so Excel shows accents correctly');
  const options = el('fieldset', { class: 'export-format' }, el('legend', { text: 'Format' }),
    el('div', { class: 'export-choices' }, radios), bomRow);
  const bar = el('progress', { class: 'export-bar' });
  const barText = el('span', { class: 'export-progress-text' });
  const progress = el('div', { class: 'export-progress', hidden: true }, bar, barText);
  const outcome = el('div', { class: 'export-outcome', attrs: { role: 'status' } });
  const start = el('button', { type: 'button', class: 'primary export-start', text: 'Choose file and export…' });
  const cancel = el('button', { type: 'button', class: 'export-cancel', text: 'Cancel', hidden: true, title: 'Stop the export; nothing is written' });
  const close = el('button', { type: 'button', class: 'export-close', text: 'Close' });
  const dialog = el('dialog', {
    class: 'export-dialog',
    attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'export-title' },
  },
  el('h2', { id: 'export-title', class: 'export-title', text: 'Export the search' }),
  el('dl', { class: 'export-what' }, el('dt', { text: 'Query' }), queryText, el('dt', { text: 'Entries' }), countText),
  edited, options, progress, outcome,
  el('div', { class: 'export-buttons' }, start, cancel, el('span', { class: 'grow' }), close));
  host.append(dialog);

  const format = () => dialog.querySelector('input[name="export-format"]:checked')?.value ?? 'csv';

  function showButton() {
    button.hidden = !allowed;
    button.disabled = !valid || running;
    button.title = !valid ? 'Fix the query first' : running ? 'An export is running' : 'Save the entries of this search to a file';
  }

  /** What will be exported: the search on screen and its count. */
  function showWhat() {
    queryText.textContent = q || 'every entry';
    queryText.classList.toggle('mono', q !== '');
    queryText.classList.toggle('dim', q === '');
    countText.textContent = count == null ? 'not counted yet' : formatEntries(count);
    const typed = queryBarText();
    edited.hidden = typed == null || typed === q;
    edited.textContent = 'The query bar holds text that has not been searched: this exports the search on screen. Press Enter in the query bar first to export that text.';
  }

  function showBusy() {
    const busy = picking || running;
    options.disabled = busy;
    start.disabled = busy;
    close.disabled = busy;
    cancel.hidden = !running;
    bomRow.hidden = format() !== 'csv';
    showButton();
  }

  function say(...children) {
    outcome.replaceChildren(...children);
  }

  function showProgress() {
    frame = 0;
    if (!running) return;
    const { rows, total } = exporting;
    if (exporting.cancelling) {
      barText.textContent = 'Cancelling…';
    } else if (exporting.started) {
      bar.max = Math.max(total, 1);
      bar.value = Math.min(rows, bar.max);
      barText.textContent = progressText(rows, total);
    } else {
      bar.removeAttribute('value');
      barText.textContent = 'Starting the export…';
    }
  }

  function onProgress(mine, message) {
    if (mine !== gen || !running) return;
    exporting.rows = Number(message.rows) || 0;
    exporting.total = Number(message.total) || 0;
    exporting.started = true;
    // Chunks arrive far faster than frames: draw the latest once per frame.
    if (!frame) frame = requestAnimationFrame(showProgress);
  }

  function showDone(done) {
    const rows = Number(done.rows) || 0;
    const lines = [
      rows === 0
        ? el('p', { class: 'export-saved', text: 'No entries matched: the file says “No activity”.' })
        : el('p', { class: 'export-saved' }, `Saved ${formatEntries(rows)} to `, el('span', { class: 'export-path mono', text: done.path })),
    ];
    if (rows === 0) lines.push(el('p', { class: 'export-file' }, 'Saved to ', el('span', { class: 'export-path mono', text: done.path })));
    if (done.about_path) lines.push(el('p', { class: 'export-about' }, 'About: ', el('span', { class: 'export-path mono', text: done.about_path })));
    if (done.sha256) {
      lines.push(el('p', { class: 'export-digest' },
        el('span', { class: 'dim', text: 'SHA-256 of the rows' }),
        el('span', { class: 'export-sha mono', text: done.sha256 }), copyButton('SHA-256', done.sha256)));
    }
    say(el('div', { class: 'export-done' }, lines));
  }

  function showError(message) {
    say(el('p', { class: 'export-error form-error', text: message }));
  }

  async function run() {
    if (picking || running) return;
    const f = format();
    const request = { q, format: f, path: '', bom: f === 'csv' && bom.checked };
    say();
    picking = true;
    showBusy();
    let path;
    try {
      path = await call('export_pick', { format: f });
    } catch (error) {
      if (!error.handled) showError(failureText(error));
      return;
    } finally {
      picking = false;
      showBusy();
    }
    // The user closed the save dialog: nothing to do.
    if (path == null || !dialog.open) {
      start.focus();
      return;
    }
    request.path = path;
    const mine = ++gen;
    running = true;
    exporting = { rows: 0, total: 0, started: false, cancelling: false };
    progress.hidden = false;
    showProgress();
    showBusy();
    cancel.disabled = false;
    cancel.focus();
    try {
      const done = await call('export_start', { request, onProgress: channel((m) => onProgress(mine, m)) });
      if (mine !== gen) return;
      showDone(done);
    } catch (error) {
      if (mine !== gen || error.handled) return;
      if (error.code === 'cancelled') say(el('p', { class: 'export-cancelled notice', text: CANCELLED }));
      else showError(failureText(error));
    } finally {
      if (mine === gen) finish();
    }
  }

  function finish() {
    running = false;
    progress.hidden = true;
    showBusy();
    showWhat();
    close.focus();
  }

  // Esc closes the dialog unless an export runs. Handled before anything else, so that the
  // browser's own close request never fires (a second Esc would close it without `cancel`).
  function onKey(e) {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    e.stopPropagation();
    if (!picking && !running) dialog.close();
  }

  function open() {
    if (button.disabled || button.hidden || dialog.open) return;
    say();
    progress.hidden = true;
    showWhat();
    showBusy();
    window.addEventListener('keydown', onKey, true);
    dialog.showModal();
    (dialog.querySelector('input[name="export-format"]:checked') ?? start).focus();
  }

  button.addEventListener('click', open);
  start.addEventListener('click', run);
  close.addEventListener('click', () => { if (!picking && !running) dialog.close(); });
  cancel.addEventListener('click', async () => {
    if (!running) return;
    cancel.disabled = true;
    exporting.cancelling = true;
    showProgress();
    try {
      await call('export_cancel');
    } catch (error) {
      if (!error.handled && running) showError(failureText(error));
    }
  });
  options.addEventListener('change', () => { bomRow.hidden = format() !== 'csv'; });
  // A close request the keyboard handler did not see (the browser's own) waits for the export.
  dialog.addEventListener('cancel', (e) => { if (picking || running) e.preventDefault(); });
  dialog.addEventListener('close', () => {
    window.removeEventListener('keydown', onKey, true);
    if (!button.disabled && !button.hidden && !host.hidden) button.focus();
  });

  showButton();

  return {
    /** The search on screen changed; its count is not known yet. */
    setQuery(next) {
      q = next;
      count = null;
      if (dialog.open && !running) showWhat();
    },
    /** The number of matches of `forQ` (the timeline's sum). */
    setCount(n, forQ) {
      if (forQ !== q) return;
      count = n;
      if (dialog.open && !running) showWhat();
    },
    /** Whether the query bar's text parses: Export… waits for a valid query. */
    setValid(ok) {
      valid = ok;
      showButton();
    },
    /** Whether the user's roles grant `export`: without it there is no Export… button. */
    setAllowed(ok) {
      allowed = ok;
      if (!ok && dialog.open && !picking && !running) dialog.close();
      showButton();
    },
    isOpen: () => dialog.open,
    /** Leaves the screen (sign out): cancels a running export and closes the dialog. */
    async stop() {
      const wasRunning = running;
      gen++;
      running = false;
      picking = false;
      progress.hidden = true;
      showBusy();
      if (dialog.open) dialog.close();
      if (wasRunning) await call('export_cancel').catch(() => {});
    },
  };
}
