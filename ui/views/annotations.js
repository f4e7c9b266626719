// The detail pane's annotation thread and the form that adds to it. Annotations are
// append-only: "Correct" writes a new one that supersedes the old, which stays in the thread,
// struck through, with who corrected it. The form is built once and outlives re-renders of the
// pane (the entry is refreshed while the user types), and what is typed for an entry is kept
// as a draft when the pane moves to another one, so nothing typed is lost by j/k. The form and
// "Correct" show only to users whose roles grant `annotate` ("Correct" on someone else's
// annotation also needs `review`); the thread shows to every reader.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { inkOn, markCatalog, markChip, markColour, sortMarks, supersededIds } from '../lib/marks.js';
import { formatLocalSeconds, formatUtcExact } from '../lib/time.js';
import { can, canCorrect, failureText } from '../lib/rights.js';

/** "2026-11-20 04:12:08" with the exact UTC time as its tooltip. */
export function timeText(t, cls = 'note-time') {
  return el('time', { class: cls, text: formatLocalSeconds(t), title: formatUtcExact(t), attrs: { datetime: t ?? '' } });
}

/** When the store got it, or that it still waits in the outbox. */
export function receipt(item) {
  if (item.pending || !item.received_at) return el('span', { class: 'note-pending', text: 'waiting to be sent' });
  return el('span', { class: 'note-received' }, 'received ', timeText(item.received_at, 'note-time'));
}

const blank = (s) => typeof s !== 'string' || s.trim() === '';

/** Handlers: onSaved(entryId, answer) after `annotate` succeeded. */
export function createAnnotations({ onSaved }) {
  let entryId = null;
  let annotations = [];
  let selected = new Set();
  let supersedes = null; // {id, author} of the annotation being corrected
  let saving = false;
  let builtFrom = null;
  const drafts = new Map();

  const thread = el('ol', { class: 'note-thread', attrs: { 'aria-label': 'Annotations, oldest first' } });
  const none = el('p', { class: 'note-none', text: 'No annotations yet.' });
  const correcting = el('span', { class: 'note-correcting-text' });
  const cancel = el('button', { type: 'button', class: 'link note-correct-cancel', text: 'Cancel', on: { click: () => setSupersedes(null) } });
  const correctingBox = el('p', { class: 'note-correcting', hidden: true, attrs: { role: 'status' } }, correcting, ' ', cancel);
  const comment = el('textarea', {
    class: 'note-input', rows: 3, spellcheck: true, placeholder: 'Add a comment…',
    attrs: { 'aria-label': 'Comment', dir: 'auto' },
  });
  const toggles = el('div', { class: 'mark-toggles', attrs: { role: 'group', 'aria-label': 'Marks' } });
  const save = el('button', { type: 'submit', class: 'primary note-save', text: 'Save', disabled: true });
  const problem = el('p', { class: 'form-error note-error', hidden: true, attrs: { role: 'alert' } });
  const form = el('form', { class: 'note-form', attrs: { 'aria-label': 'Add an annotation' } },
    correctingBox, comment, toggles, el('div', { class: 'note-buttons' }, save), problem);
  const node = el('section', { class: 'detail-section detail-notes', attrs: { 'aria-label': 'Annotations' } },
    el('h3', { text: 'Annotations' }), none, thread, form);

  const canSave = () => !blank(comment.value) || selected.size > 0;

  function say(text) {
    problem.textContent = text ?? '';
    problem.hidden = !text;
  }

  function showSave() {
    save.disabled = saving || !canSave();
    save.textContent = saving ? 'Saving…' : supersedes ? 'Save correction' : 'Save';
  }

  function setSupersedes(target) {
    supersedes = target;
    correctingBox.hidden = !target;
    correcting.textContent = target ? `Correcting the annotation of ${target.author}` : '';
    showSave();
  }

  function buildToggles() {
    builtFrom = markCatalog();
    toggles.replaceChildren(...builtFrom.map((m) => {
      const colour = markColour(m.key);
      const button = el('button', {
        type: 'button', class: 'mark-toggle', title: m.label_fr, data: { mark: m.key },
        attrs: { 'aria-pressed': String(selected.has(m.key)) },
      }, el('span', { class: 'mark-dot' }), el('span', { text: m.label_en }));
      button.style.setProperty('--mark', colour);
      button.style.setProperty('--mark-ink', inkOn(colour));
      return button;
    }));
  }

  function showToggles() {
    for (const b of toggles.children) b.setAttribute('aria-pressed', String(selected.has(b.dataset.mark)));
  }

  function keepDraft() {
    if (entryId == null) return;
    if (comment.value === '' && !selected.size && !supersedes) drafts.delete(entryId);
    else drafts.set(entryId, { comment: comment.value, marks: new Set(selected), supersedes });
  }

  function loadDraft(id) {
    const d = drafts.get(id);
    comment.value = d?.comment ?? '';
    selected = new Set(d?.marks ?? []);
    setSupersedes(d?.supersedes ?? null);
    showToggles();
    say(null);
  }

  function clearForm() {
    comment.value = '';
    selected = new Set();
    showToggles();
    setSupersedes(null);
  }

  function item(a, correctedBy) {
    const cls = `note${correctedBy ? ' superseded' : ''}${a.pending ? ' pending' : ''}`;
    const corrected = correctedBy
      ? el('p', { class: 'note-corrected' }, `corrected by ${correctedBy.author} `, timeText(correctedBy.written_at))
      : null;
    const of = a.supersedes ? annotations.find((x) => x.id === a.supersedes) : null;
    return el('li', { class: cls, data: { id: a.id } },
      el('div', { class: 'note-head' },
        el('span', { class: 'note-author', text: a.author }),
        timeText(a.written_at),
        receipt(a),
        el('span', { class: 'grow' }),
        correctedBy || !canCorrect(a.author) ? null : el('button', {
          type: 'button', class: 'link note-correct', text: 'Correct', data: { id: a.id },
          title: 'Write an annotation that replaces this one (this one stays in the thread)',
        })),
      of ? el('p', { class: 'note-corrects', text: `Corrects the annotation of ${of.author}` }) : null,
      a.marks?.length ? el('div', { class: 'note-marks' }, sortMarks(a.marks).map(markChip)) : null,
      typeof a.comment === 'string' && a.comment !== '' ? el('p', { class: 'note-text', text: a.comment, attrs: { dir: 'auto' } }) : null,
      corrected);
  }

  function showThread() {
    const old = supersededIds(annotations);
    const byOld = new Map(annotations.filter((a) => a.supersedes).map((a) => [a.supersedes, a]));
    thread.replaceChildren(...annotations.map((a) => item(a, old.has(a.id) ? byOld.get(a.id) : null)));
    thread.hidden = annotations.length === 0;
    none.hidden = annotations.length > 0;
  }

  comment.addEventListener('input', () => { say(null); showSave(); });
  toggles.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('.mark-toggle') : null;
    if (!b) return;
    if (selected.has(b.dataset.mark)) selected.delete(b.dataset.mark);
    else selected.add(b.dataset.mark);
    showToggles();
    say(null);
    showSave();
  });
  thread.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('.note-correct') : null;
    const a = b && annotations.find((x) => x.id === b.dataset.id);
    if (!a) return;
    // Start from what the annotation said, unless something is typed already.
    if (comment.value === '' && !selected.size) {
      comment.value = a.comment ?? '';
      selected = new Set(a.marks ?? []);
      showToggles();
    }
    setSupersedes({ id: a.id, author: a.author });
    comment.focus();
  });
  comment.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (saving || !canSave()) return;
    const id = entryId;
    const args = { id };
    // The comment goes as typed (spaces and newlines kept); marks in the catalog's order.
    if (!blank(comment.value)) args.comment = comment.value;
    args.marks = sortMarks([...selected]);
    if (supersedes) args.supersedes = supersedes.id;
    saving = true;
    say(null);
    showSave();
    try {
      const answer = await call('annotate', args);
      drafts.delete(id);
      if (entryId === id) clearForm();
      onSaved(id, answer);
    } catch (error) {
      if (error.handled || entryId !== id) return;
      const prefix = error.code === 'unreachable' ? 'The console could not keep it: ' : 'Not saved: ';
      say(`${failureText(error, prefix)} What you typed is still here.`);
    } finally {
      saving = false;
      showSave();
    }
  });

  return {
    node,
    /** Shows the thread of `entry`; the form keeps its text for the same entry. */
    show(entry) {
      if (entry.id !== entryId) {
        keepDraft();
        entryId = entry.id;
        loadDraft(entry.id);
      }
      if (builtFrom !== markCatalog()) buildToggles();
      form.hidden = !can('annotate');
      annotations = Array.isArray(entry.annotations) ? entry.annotations : [];
      showThread();
      showSave();
    },
    /** Leaves the entry (the pane closes): what is typed stays as its draft. */
    leave() {
      keepDraft();
      entryId = null;
    },
    focus: () => { if (!form.hidden) comment.focus(); },
  };
}
