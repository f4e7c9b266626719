// Numbers and counts as the console shows them.

const number = new Intl.NumberFormat('en-US');

/** 12345 → "12,345". */
export function formatNumber(n) {
  return number.format(n);
}

/** 1 → "1 entry", 12345 → "12,345 entries". */
export function formatEntries(n) {
  return `${formatNumber(n)} ${n === 1 ? 'entry' : 'entries'}`;
}
