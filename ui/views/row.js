// One row of the results table: built once, then refilled as the table scrolls (the table keeps a
// small pool of these). Actor, section, target and IP are pivots: click searches on the value.
// The first cell marks annotated entries: a dot per mark (in the mark's colour, three at most)
// and a speech bubble when there is a comment, from the annotations no later one corrects.

import { el } from '../lib/dom.js';
import { markColour, markInfo, notesOf } from '../lib/marks.js';
import { formatLocalSeconds, formatUtcExact } from '../lib/time.js';
import { shownIp } from '../lib/masking.js';

const DOTS = 3;

/** [key, header, header's tooltip]. */
export const COLUMNS = [
  ['notes', '', 'Marks and comments'], ['time', 'Time'], ['actor', 'Actor'], ['section', 'Section'], ['action', 'Action'],
  ['target', 'Target'], ['ip', 'IP'], ['severity', 'Severity'], ['outcome', 'Outcome'],
];

export const PIVOT_HINT = 'Click: search this value · Shift-click: add it to the query · Alt-click: exclude it';

/** The value a pivot searches on, per key. */
export function pivotValue(key, entry) {
  switch (key) {
    case 'actor': return entry.actor?.id ?? null;
    case 'section': return entry.section ?? null;
    case 'target': return entry.target ? `${entry.target.type}/${entry.target.id}` : null;
    // A masked IP is its network, searched with its prefix (203.0.113.0/24).
    case 'ip': return shownIp(entry);
    default: return null;
  }
}

/** A clickable value (`key:value` on click). */
export function pivot(key, value, text = value) {
  return el('span', { class: 'pivot', text, title: PIVOT_HINT, data: { key, value } });
}

/** The classes that make critical, warning, denied and failed rows stand out. */
export function rowClasses(entry) {
  let c = 'row';
  if (entry.severity === 'critical') c += ' sev-critical';
  else if (entry.severity === 'warning') c += ' sev-warning';
  if (entry.outcome === 'denied') c += ' out-denied';
  else if (entry.outcome === 'failure') c += ' out-failure';
  return c;
}

/** An empty row with references to the nodes it refills. */
export function makeRow() {
  const cells = {};
  const node = el('div', { class: 'row', attrs: { role: 'row' } });
  for (const [key] of COLUMNS) {
    cells[key] = el('span', { class: `cell c-${key}`, attrs: { role: 'cell' } });
    node.append(cells[key]);
  }
  const refs = {
    dots: Array.from({ length: DOTS }, () => el('span', { class: 'note-dot', hidden: true })),
    bubble: el('span', { class: 'note-bubble', hidden: true, attrs: { 'aria-label': 'commented' } }),
    marked: false,
    actor: pivot('actor', ''), section: pivot('section', ''), target: pivot('target', ''), ip: pivot('ip', ''),
    targetName: el('span', { class: 'dim' }),
    // An impersonated action: whose account the actor acted in.
    behalf: el('span', { class: 'behalf', hidden: true }),
    severity: el('span', { class: 'badge' }), outcome: el('span', { class: 'badge' }),
  };
  cells.notes.append(...refs.dots, refs.bubble);
  cells.actor.append(refs.actor, refs.behalf);
  cells.section.append(refs.section);
  cells.target.append(refs.target, refs.targetName);
  cells.ip.append(refs.ip);
  cells.severity.append(refs.severity);
  cells.outcome.append(refs.outcome);
  return { node, cells, refs, id: undefined };
}

/** The marker cell: coloured dots for the marks, a bubble for comments, the details as its title. */
function fillNotes(cell, refs, entry) {
  // Most entries have no annotation: touch nothing that is already blank (scrolling refills rows).
  if (!entry.annotations?.length) {
    if (!refs.marked) return;
    refs.marked = false;
    for (const dot of refs.dots) dot.hidden = true;
    refs.bubble.hidden = true;
    cell.title = '';
    delete cell.dataset.marks;
    return;
  }
  refs.marked = true;
  const { marks, comments } = notesOf(entry);
  refs.dots.forEach((dot, i) => {
    dot.hidden = i >= marks.length;
    if (i < marks.length) dot.style.backgroundColor = markColour(marks[i]);
  });
  refs.bubble.hidden = comments === 0;
  const said = [marks.map((k) => markInfo(k).label_en).join(', '), comments ? `${comments} ${comments === 1 ? 'comment' : 'comments'}` : ''];
  cell.title = said.filter(Boolean).join(' · ');
  if (marks.length) cell.dataset.marks = marks.join(',');
  else delete cell.dataset.marks;
}

function setPivot(span, key, entry, text) {
  const value = pivotValue(key, entry);
  span.hidden = value == null;
  span.dataset.value = value ?? '';
  span.textContent = text ?? value ?? '';
}

/** Fills a row with an entry (or a placeholder while its page loads). */
export function fillRow(row, entry, index, selected) {
  row.node.dataset.index = String(index);
  if (!entry) {
    if (row.id !== null) {
      row.id = null;
      row.node.className = 'row placeholder';
      for (const cell of Object.values(row.cells)) cell.hidden = true;
      // The marker cell holds the first column's place; the time cell says "Loading…".
      row.cells.notes.hidden = false;
      row.refs.marked = true;
      fillNotes(row.cells.notes, row.refs, {});
      row.cells.time.hidden = false;
      row.cells.time.textContent = 'Loading…';
    }
    return;
  }
  const cls = rowClasses(entry) + (selected ? ' selected' : '');
  if (row.node.className !== cls) row.node.className = cls;
  row.node.setAttribute('aria-selected', selected ? 'true' : 'false');
  if (row.id === entry.id) return;
  if (row.id === null) {
    for (const cell of Object.values(row.cells)) cell.hidden = false;
    row.cells.time.replaceChildren();
  }
  row.id = entry.id;
  const { cells, refs } = row;
  fillNotes(cells.notes, refs, entry);
  cells.time.textContent = formatLocalSeconds(entry.occurred_at);
  cells.time.title = formatUtcExact(entry.occurred_at);
  setPivot(refs.actor, 'actor', entry);
  refs.actor.title = [entry.actor?.name, entry.actor?.role].filter(Boolean).join(' · ') || PIVOT_HINT;
  const behalf = entry.on_behalf_of;
  refs.behalf.hidden = !behalf;
  refs.behalf.textContent = behalf ? ` as ${behalf.type ? `${behalf.type} ` : ''}${behalf.id}` : '';
  cells.actor.title = behalf ? `${entry.actor?.id} acting as ${behalf.type ? `${behalf.type} ` : ''}${behalf.id}${behalf.name ? ` (${behalf.name})` : ''}` : '';
  setPivot(refs.section, 'section', entry);
  cells.action.textContent = entry.action;
  cells.action.title = entry.action;
  setPivot(refs.target, 'target', entry);
  refs.targetName.textContent = entry.target?.name ?? '';
  cells.target.title = entry.target ? `${entry.target.type}/${entry.target.id}${entry.target.name ? ` — ${entry.target.name}` : ''}` : '';
  setPivot(refs.ip, 'ip', entry);
  refs.severity.textContent = entry.severity ?? 'info';
  refs.severity.className = `badge sev-${entry.severity ?? 'info'}`;
  refs.outcome.textContent = entry.outcome ?? 'success';
  refs.outcome.className = `badge out-${entry.outcome ?? 'success'}`;
}
