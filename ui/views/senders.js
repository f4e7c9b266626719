// "Senders" in the header: who sends to the store (its ingest keys, `vigil` for its own
// entries), how much, and the numbers of theirs that never arrived (`senders`, GET /v1/senders).
// The store answers readers of the whole journal and account admins; to others it says why, and
// the dialog shows that. "In the journal" searches the entries the store wrote about a sender
// (its gaps, silences, a revoked key still used).

import { call } from '../ipc.js';
import { byId, el } from '../lib/dom.js';
import { formatLocalSeconds, formatUtcExact } from '../lib/time.js';

const grouped = (n) => Number(n).toLocaleString('en-US');

/** `event 7` or `events 10,412–10,419`. */
export function numbers(first, last) {
  return first === last ? `event ${grouped(first)}` : `events ${grouped(first)}–${grouped(last)}`;
}

/** A value as the query language needs it: quoted when it holds spaces, commas, colons or quotes. */
function quoted(value) {
  return /[\s,:"\\]|^-/.test(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : value;
}

function time(text) {
  return el('time', { text: formatLocalSeconds(text), title: formatUtcExact(text), attrs: { datetime: text } });
}

/** `search(q)` runs a query on the search screen. */
export function initSenders(search) {
  const dialog = byId('senders-dialog');
  const list = byId('senders-list');
  const error = byId('senders-error');
  const button = byId('header-senders');
  let gen = 0;

  function say(text) {
    error.textContent = text ?? '';
    error.hidden = !text;
  }

  function streamLines(sender, s) {
    const name = s.stream != null ? `stream ${s.stream}` : 'its numbering';
    const lines = [el('p', { class: 'senders-stream', text: `${name}: ${grouped(s.low)} to ${grouped(s.high)}, ${grouped(s.events)} received${s.repeats ? `, ${grouped(s.repeats)} received twice under other ids` : ''}` })];
    for (const g of s.gaps) {
      lines.push(el('p', { class: 'senders-gap', data: { first: String(g.first), last: String(g.last) } },
        el('span', { class: 'senders-gap-text', text: `${numbers(g.first, g.last)} never arrived` }),
        ' (since ', time(g.opened_at), g.reported_in != null ? `, reported in entry ${g.reported_in}` : '', ')'));
    }
    const listed = s.gaps.reduce((n, g) => n + (g.last - g.first + 1), 0);
    if (s.missing > listed) lines.push(el('p', { class: 'senders-gap', text: `… ${grouped(s.missing - listed)} more missing in gaps not listed` }));
    return lines;
  }

  function render(senders) {
    if (!senders.length) {
      list.replaceChildren(el('p', { class: 'senders-empty', text: 'No sender has sent anything yet.' }));
      return;
    }
    list.replaceChildren(...senders.map((s) => {
      const missing = s.streams.reduce((n, t) => n + t.missing, 0);
      const journal = el('button', {
        type: 'button', class: 'senders-journal', text: 'In the journal',
        title: `Search what the store wrote about ${s.name}: gaps, silences, a revoked key`,
        on: { click: () => { dialog.close(); search(`section:vigil target:${quoted(`sender/${s.name}`)}`); } },
      });
      return el('section', { class: `senders-item${missing ? ' has-gaps' : ''}${s.silent_in != null ? ' silent' : ''}`, data: { sender: s.name } },
        el('h3', { class: 'senders-name' }, el('span', { text: s.name }),
          s.silent_in != null ? el('span', { class: 'badge badge-warn senders-silent', text: 'silent' }) : null,
          missing ? el('span', { class: 'badge badge-warn senders-missing', text: `${grouped(missing)} missing` }) : null),
        el('p', { class: 'senders-facts' },
          `${grouped(s.events)} entries, about ${grouped(s.per_hour)} an hour lately; the newest `, time(s.last_at), ` (seq ${s.last_entry})`),
        ...s.streams.flatMap((t) => streamLines(s.name, t)),
        s.more_streams ? el('p', { class: 'senders-stream', text: `… ${grouped(s.more_streams)} more streams not listed (those with gaps come first)` }) : null,
        journal);
    }));
  }

  async function open() {
    const mine = ++gen;
    say(null);
    list.replaceChildren(el('p', { class: 'senders-loading', text: 'Asking the store…' }));
    if (!dialog.open) dialog.showModal();
    try {
      const senders = await call('senders');
      if (mine !== gen) return;
      render(senders);
    } catch (e) {
      if (mine !== gen || e.handled) return;
      list.replaceChildren();
      say(e.message);
    }
  }

  button.addEventListener('click', open);
  byId('senders-close').addEventListener('click', () => dialog.close());
  return {
    setAllowed(allowed) {
      button.hidden = !allowed;
    },
    close() {
      gen += 1;
      if (dialog.open) dialog.close();
    },
  };
}
