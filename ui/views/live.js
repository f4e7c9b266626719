// Live tail: while on, `live_start(q, channel)` streams new matches. They are counted, not
// inserted under the reader's eyes: "N new entries — show" reloads the search.

import { call, channel, reportSignedOut } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatNumber } from '../lib/format.js';

/** Handlers: onShow() reloads the search, onSignedOut via ipc. */
export function createLive(slot, { onShow }) {
  let on = false;
  let q = '';
  let gen = 0;
  let count = 0;
  const toggle = el('button', { type: 'button', class: 'live-toggle', text: 'Live', title: 'Follow new entries as they arrive', attrs: { 'aria-pressed': 'false' } });
  const state = el('span', { class: 'live-state', attrs: { role: 'status' } });
  const counter = el('button', { type: 'button', class: 'live-counter', hidden: true });
  slot.append(counter, state, toggle);

  function showCount() {
    counter.hidden = count === 0;
    counter.textContent = `${formatNumber(count)} new ${count === 1 ? 'entry' : 'entries'} — show`;
  }

  function say(text, problem = false) {
    state.textContent = text;
    state.classList.toggle('error', problem);
  }

  function onMessage(mine, message) {
    if (mine !== gen) return;
    if (message.type === 'connected') say('● live');
    else if (message.type === 'event') {
      count++;
      showCount();
    } else if (message.type === 'error') {
      // The tail retries by itself, except when the session is over.
      say(`Live: ${message.message}`, true);
      if (message.code === 'signed_out') {
        set(false);
        reportSignedOut(message);
      }
    }
  }

  async function start() {
    const mine = ++gen;
    say('connecting…');
    try {
      await call('live_start', { q, channel: channel((m) => onMessage(mine, m)) });
    } catch (error) {
      if (mine === gen && !error.handled) say(`Live: ${error.message}`, true);
    }
  }

  async function stop() {
    gen++;
    say('');
    try {
      await call('live_stop');
    } catch {
      // Nothing to stop is fine; a signed_out failure is handled by ipc.
    }
  }

  function set(value) {
    on = value;
    toggle.setAttribute('aria-pressed', String(on));
    toggle.classList.toggle('on', on);
    count = 0;
    showCount();
  }

  toggle.addEventListener('click', async () => {
    set(!on);
    if (on) await start();
    else await stop();
  });
  counter.addEventListener('click', () => {
    count = 0;
    showCount();
    onShow();
  });

  return {
    /** The query changed: restart the tail for it when live is on. */
    async setQuery(next) {
      q = next;
      count = 0;
      showCount();
      if (on) {
        await stop();
        await start();
      }
    },
    /** Turns live off (sign out). */
    async off() {
      if (!on) return;
      set(false);
      await stop();
    },
  };
}
