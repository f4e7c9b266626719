// The marks catalog (`marks`: key, French and English labels, colour) and what an entry's
// annotations amount to. Loaded once per session and shared by the detail pane, the table's
// markers and the facets; a key the catalog does not know still shows, under its own name.

import { call } from '../ipc.js';
import { el } from './dom.js';

const UNKNOWN_COLOUR = '#7a7f87';

let catalog = [];
let ready = Promise.resolve();

/** Loads the catalog (the cached copy when offline); a console without it shows bare keys. */
export function loadMarks() {
  ready = call('marks').then((list) => { catalog = Array.isArray(list) ? list : []; }, () => { catalog = []; });
  return ready;
}

/** Resolves once the catalog asked for last has arrived (or failed). */
export const marksReady = () => ready;

/** The catalog in the store's order. */
export const markCatalog = () => catalog;

/** A mark of the catalog, or a stand-in named after its key. */
export function markInfo(key) {
  return catalog.find((m) => m.key === key) ?? { key, label_en: key, label_fr: key, colour: UNKNOWN_COLOUR };
}

const COLOUR = /^#[0-9a-f]{6}$/i;

/** The mark's colour when it is a `#rrggbb` (the store checks it; this keeps CSS out of data). */
export function markColour(key) {
  const { colour } = markInfo(key);
  return COLOUR.test(colour ?? '') ? colour : UNKNOWN_COLOUR;
}

/** Dark or light ink, whichever reads better on `colour`. */
export function inkOn(colour) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.6 ? '#1d2430' : '#ffffff';
}

/** A coloured chip: the English label shown, the French one as its title. */
export function markChip(key) {
  const info = markInfo(key);
  const colour = markColour(key);
  const chip = el('span', { class: 'mark-chip', text: info.label_en, title: info.label_fr, data: { mark: key } });
  chip.style.backgroundColor = colour;
  chip.style.color = inkOn(colour);
  return chip;
}

/** Keys in the catalog's order, unknown ones after them. */
export function sortMarks(keys) {
  const order = new Map(catalog.map((m, i) => [m.key, i]));
  return [...new Set(keys)].sort((a, b) => (order.get(a) ?? 1e9) - (order.get(b) ?? 1e9) || (a < b ? -1 : 1));
}

/** The ids of the annotations that a later one corrects. */
export function supersededIds(annotations) {
  return new Set((annotations ?? []).map((a) => a.supersedes).filter(Boolean));
}

/**
 * What an entry's thread amounts to, as the store's queries see it: the marks and comments of
 * the annotations no later one corrects.
 */
export function notesOf(entry) {
  const list = entry?.annotations ?? [];
  if (!list.length) return { marks: [], comments: 0 };
  const old = supersededIds(list);
  const live = list.filter((a) => !old.has(a.id));
  return {
    marks: sortMarks(live.flatMap((a) => a.marks ?? [])),
    comments: live.filter((a) => typeof a.comment === 'string' && a.comment.trim() !== '').length,
  };
}
