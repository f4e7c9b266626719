// Copy buttons (the detail pane's id, hash, IP and JSON; the export's SHA-256).

import { el } from './dom.js';

/** Puts text on the clipboard: the async API, else a selected textarea and the copy command. */
export async function writeClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el('textarea', { class: 'offscreen', value: text, attrs: { 'aria-hidden': 'true' } });
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** A small "Copy" button for `value`; `label` names it (title, data-copy). */
export function copyButton(label, value, text = 'Copy') {
  const button = el('button', { type: 'button', class: 'copy', text, title: `Copy the ${label}`, data: { copy: label } });
  button.addEventListener('click', async () => {
    button.textContent = (await writeClipboard(value)) ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = text; }, 1200);
  });
  return button;
}
