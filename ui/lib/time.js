// Times: the store speaks RFC 3339 with microseconds (UTC); the console shows local time, with
// UTC beside it, and writes query dates as local wall-clock times (`after:2026-11-27T08:00`).

const INSTANT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Parses an RFC 3339 instant, keeping the microseconds that a Date would drop.
 * Returns {date (whole seconds), micros (0–999999)} or null.
 */
export function parseInstant(text) {
  const m = INSTANT.exec(text ?? '');
  if (!m) return null;
  const [, day, hh, mm, ss, fraction = '', zone] = m;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const date = new Date(`${day}T${hh}:${mm}:${ss}${offset}`);
  if (Number.isNaN(date.getTime())) return null;
  const micros = Number((fraction + '000000').slice(0, 6));
  return { date, micros };
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

function wall(date, utc) {
  const g = (local, universal) => (utc ? date[universal]() : date[local]());
  return {
    day: `${g('getFullYear', 'getUTCFullYear')}-${pad(g('getMonth', 'getUTCMonth') + 1)}-${pad(g('getDate', 'getUTCDate'))}`,
    time: `${pad(g('getHours', 'getUTCHours'))}:${pad(g('getMinutes', 'getUTCMinutes'))}:${pad(g('getSeconds', 'getUTCSeconds'))}`,
  };
}

/** The zone of a local time as "UTC+01:00". */
export function offsetLabel(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** "2026-11-20 04:12:08" in local time (the table's column); the text itself if it does not parse. */
export function formatLocalSeconds(text) {
  const t = parseInstant(text);
  if (!t) return text ?? '';
  const w = wall(t.date, false);
  return `${w.day} ${w.time}`;
}

/** "2026-11-20 04:12:08.000123 UTC+01:00": exact local time with microseconds. */
export function formatLocalExact(text) {
  const t = parseInstant(text);
  if (!t) return text ?? '';
  const w = wall(t.date, false);
  return `${w.day} ${w.time}.${pad(t.micros, 6)} ${offsetLabel(t.date)}`;
}

/** "2026-11-20 03:12:08.000123 UTC": exact UTC time with microseconds. */
export function formatUtcExact(text) {
  const t = parseInstant(text);
  if (!t) return text ?? '';
  const w = wall(t.date, true);
  return `${w.day} ${w.time}.${pad(t.micros, 6)} UTC`;
}

/** A Date as the query language's local wall-clock minute, "2026-11-27T08:00". */
export function toQueryMinute(date) {
  const w = wall(date, false);
  return `${w.day}T${w.time.slice(0, 5)}`;
}

/**
 * An `after:`/`before:` value as a Date: a day or a wall-clock time without offset is local, a
 * time with an offset is exact. Null when it is none of these.
 */
export function fromQueryValue(value) {
  if (typeof value !== 'string') return null;
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (m) return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(value);
  if (m) {
    const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
    return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), ms);
  }
  const exact = new Date(value);
  return /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) && !Number.isNaN(exact.getTime()) ? exact : null;
}

/** The value a datetime-local input shows for a query date ("" when it has none). */
export function toInputValue(value) {
  const date = fromQueryValue(value);
  return date ? toQueryMinute(date) : '';
}

/** Rounds down to the minute. */
export function floorMinute(ms) {
  return Math.floor(ms / 60000) * 60000;
}

/** Rounds up to the minute. */
export function ceilMinute(ms) {
  return Math.ceil(ms / 60000) * 60000;
}
