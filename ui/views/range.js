// The filter bar's date range: a preset (last hour … last 30 days) or two datetime-local inputs.
// It writes `after:`/`before:` as local wall-clock minutes (`after:2026-11-27T08:00`), and reads
// them back: a preset is shown again only while its `after:` is the one it wrote.

import { el } from '../lib/dom.js';
import { valuesOf, withValues } from '../lib/clauses.js';
import { toQueryMinute, toInputValue } from '../lib/time.js';

const PRESETS = [
  ['', 'any time', 0],
  ['1h', 'last hour', 3600e3],
  ['24h', 'last 24 h', 86400e3],
  ['7d', 'last 7 d', 7 * 86400e3],
  ['30d', 'last 30 d', 30 * 86400e3],
  ['custom', 'custom…', 0],
];

/** `onChange(edit)` gets a function from clauses to the new clauses. */
export function createRangeControl({ onChange }) {
  let preset = null; // {value, after}: the preset last chosen and the `after:` it wrote
  const select = el('select', { class: 'range-select', attrs: { 'aria-label': 'Date range' } },
    PRESETS.map(([value, label]) => el('option', { value, text: label })));
  const after = el('input', { type: 'datetime-local', class: 'range-after', attrs: { 'aria-label': 'From (local time)' } });
  const before = el('input', { type: 'datetime-local', class: 'range-before', attrs: { 'aria-label': 'Until (local time)' } });
  const custom = el('span', { class: 'range-custom', hidden: true }, after, el('span', { class: 'range-dash', text: '–' }), before);
  const node = el('span', { class: 'range' }, select, custom);

  select.addEventListener('change', () => {
    const choice = PRESETS.find(([value]) => value === select.value);
    custom.hidden = select.value !== 'custom';
    if (select.value === 'custom') {
      preset = null;
      after.focus();
      return;
    }
    if (!choice[2]) {
      preset = null;
      onChange((c) => withValues(withValues(c, 'after', []), 'before', []));
      return;
    }
    const from = toQueryMinute(new Date(Date.now() - choice[2]));
    preset = { value: choice[0], after: from };
    onChange((c) => withValues(withValues(c, 'after', [from]), 'before', []));
  });
  for (const [box, key] of [[after, 'after'], [before, 'before']]) {
    box.addEventListener('change', () => {
      preset = null;
      onChange((c) => withValues(c, key, box.value ? [box.value] : []));
    });
  }

  return {
    node,
    /** Shows the range the clauses hold. */
    show(clauses) {
      const a = valuesOf(clauses, 'after')[0];
      const b = valuesOf(clauses, 'before')[0];
      if (document.activeElement !== after) after.value = toInputValue(a);
      if (document.activeElement !== before) before.value = toInputValue(b);
      if (!a && !b) {
        const choosing = select.value === 'custom' && node.contains(document.activeElement);
        if (!choosing) select.value = '';
        custom.hidden = !choosing;
        preset = null;
        return;
      }
      const keep = preset && a === preset.after && !b;
      select.value = keep ? preset.value : 'custom';
      custom.hidden = Boolean(keep);
    },
  };
}
