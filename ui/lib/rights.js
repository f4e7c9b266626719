// What the signed-in user may do: the rights their roles grant (`session.user.rights`: read,
// unmask, annotate, review, export, alerts, marks, accounts). The console offers only these; the store
// decides anyway, and its refusal (`forbidden`) says which right is missing and whose roles lack
// it, which is what the UI then shows where the action was attempted. A session that lists no
// rights (an offline launch with nothing kept, or an older store) hides nothing: the store says.

let rights = null;
let name = null;

/** Takes the rights of the signed-in user (null: signed out). */
export function setUser(user) {
  const list = Array.isArray(user?.rights) ? user.rights : [];
  rights = list.length ? new Set(list) : null;
  name = typeof user?.name === 'string' ? user.name : null;
}

/** Whether to offer correcting an annotation by `author`: one's own with `annotate`, anyone's
 * with `review` too (unknown user or rights: yes, and the store decides). */
export function canCorrect(author) {
  return can('annotate') && (name === null || author === name || can('review'));
}

/** Whether to offer what needs `right` (unknown rights: yes, and the store decides). */
export function can(right) {
  return rights === null || rights.has(right);
}

/** Whether the user is known to hold `right` (for what only an admin should even see). */
export function holds(right) {
  return rights !== null && rights.has(right);
}

/**
 * A failed action's text: the store's own reason when it refused (`forbidden`), else
 * `prefix` and the message.
 */
export function failureText(error, prefix = '') {
  if (error.code === 'forbidden') return `Not allowed: ${error.message}`;
  return `${prefix}${error.message}`;
}
