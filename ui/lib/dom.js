// Small DOM builders. Text always goes in through textContent, never as markup: entries carry
// RTL text, emoji, quotes, newlines and strings like `<script>` that must show byte-exact.

/**
 * Makes an element. `props`: class, text, title, type, hidden, attrs (other attributes),
 * data (dataset), on (event listeners). Children are nodes or strings (added as text).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key === 'data') Object.assign(node.dataset, value);
    else if (key === 'attrs') for (const [a, v] of Object.entries(value)) node.setAttribute(a, v);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

/** Appends nodes and strings (as text); skips null and false. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** The element with this id, or an error naming it (a missing id is a bug in index.html). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html has no #${id}`);
  return node;
}

/** Whether keyboard focus is in something that takes text (so single-key shortcuts stay off). */
export function typingIn(target) {
  if (!(target instanceof Element)) return false;
  return target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null;
}
