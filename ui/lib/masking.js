// Personal data the store masked because the user's roles do not include `unmask`: the entry's
// `masked` lists the fields (`ip`, `target.name`, `changes.email`, …). A masked IP arrives as
// its network address (`203.0.113.0`, `2001:db8:abcd::`) and is shown and searched with its
// prefix (`/24`, `/48`: a narrower range is a probe the store refuses); masked texts arrive as
// "[masked]".

export const MASKED = '[masked]';

const NAMES = {
  'target.name': 'target name', 'actor.name': 'actor name', user_agent: 'user agent', reason: 'reason', session_id: 'session',
};

/** The fields masked in `entry` (an empty list when none). */
export function maskedFields(entry) {
  return Array.isArray(entry?.masked) ? entry.masked : [];
}

/** Whether the store masked `field` (`ip`, `target.name`, …) in `entry`. */
export function isMasked(entry, field) {
  return maskedFields(entry).includes(field);
}

/** The prefix length a masked IP stands for: 24 (IPv4) or 48 (IPv6). */
export function maskedPrefix(ip) {
  return String(ip).includes(':') ? 48 : 24;
}

/** The entry's IP as shown and searched: `203.0.113.0/24` when masked, else as it is. */
export function shownIp(entry) {
  if (!entry?.ip) return null;
  return isMasked(entry, 'ip') && !entry.ip.includes('/') ? `${entry.ip}/${maskedPrefix(entry.ip)}` : entry.ip;
}

/**
 * The detail pane's notice, or null: "Personal data masked (your roles do not include unmask):
 * IP shown as its /24, target name, changes.email".
 */
export function maskedNotice(entry) {
  const fields = maskedFields(entry);
  if (!fields.length) return null;
  const names = fields.map((f) => (f === 'ip' ? `IP shown as its /${maskedPrefix(entry.ip ?? '')}` : NAMES[f] ?? f));
  return `Personal data masked (your roles do not include unmask): ${names.join(', ')}`;
}
