// What the console verified of the store (the Rust side's trust.rs does the checking): the
// header badge ("Verified to entry N" or why not), the full-screen alarm when the store's key
// changed or its history no longer extends what it showed before (the user signs out, or
// trusts the new key or history on purpose, after ticking that they checked), and the Verify
// dialog, which checks every entry of a search or an incident and reports in words.

import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatEntries, formatNumber } from '../lib/format.js';
import { formatLocalSeconds } from '../lib/time.js';
import { copyButton } from '../lib/clipboard.js';

/** "checkpoint of 50,007 entries, signed 2026-12-07 12:00:00". */
export function checkpointText(cp) {
  return `checkpoint of ${formatEntries(cp.size)}, signed ${formatLocalSeconds(cp.signed_at)}`;
}

/** The words of an entry's check, for the detail. */
export function entryCheckText(check) {
  if (check.state === 'verified') return `Verified against the ${checkpointText(check.checkpoint)}.`;
  if (check.state === 'failed') return `Not what the store signed: ${check.message}`;
  if (check.state === 'alarm') return `Not verified: ${check.message}`;
  return check.message ?? 'Not verified.';
}

/**
 * `badge` (in the header) and `alarm` (a full-screen element): `onSignOut()` signs out. Returns
 * { check(): asks the store again, alarmShown(): whether the alarm is up }.
 */
export function createTrust({ badge, alarm }, { onSignOut }) {
  let gen = 0;
  let trust = null;

  function showBadge(t) {
    badge.hidden = false;
    badge.dataset.state = t.state;
    if (t.state === 'verified') {
      badge.textContent = `✓ Verified to entry ${formatNumber(t.checkpoint.size)}`;
      badge.title = `The store's newest ${checkpointText(t.checkpoint)} by key ${t.key_id}, extends every checkpoint this console saw before.`;
    } else if (t.state === 'unverified') {
      badge.textContent = 'Not verified';
      badge.title = t.message ?? '';
    } else {
      badge.textContent = '⚠ Store not trusted';
      badge.title = t.message ?? '';
    }
  }

  function showAlarm(t) {
    const keyChanged = t.state === 'key_changed';
    const checked = el('input', { type: 'checkbox', class: 'trust-checked' });
    const accept = el('button', {
      type: 'button', class: 'trust-accept', disabled: true,
      text: keyChanged ? `Trust key ${t.offered_key_id}` : 'Take this history from now on',
    });
    const problem = el('p', { class: 'form-error trust-error', hidden: true, attrs: { role: 'alert' } });
    checked.addEventListener('change', () => { accept.disabled = !checked.checked; });
    accept.addEventListener('click', async () => {
      accept.disabled = true;
      try {
        const after = keyChanged
          ? await call('trust_new_key', { keyId: t.offered_key_id })
          : await call('trust_new_history');
        show(after);
      } catch (error) {
        if (error.handled) return;
        problem.textContent = error.message;
        problem.hidden = false;
        accept.disabled = false;
      }
    });
    const facts = keyChanged
      ? el('dl', { class: 'trust-facts' },
        el('dt', { text: 'Key pinned' }), el('dd', { class: 'mono trust-pinned', text: `${t.key_id} (${formatLocalSeconds(t.pinned_at)})` }),
        el('dt', { text: 'Key shown now' }), el('dd', { class: 'mono trust-offered', text: t.offered_key_id }))
      : el('dl', { class: 'trust-facts' },
        t.previous ? [el('dt', { text: 'Seen before' }), el('dd', { class: 'trust-previous', text: checkpointText(t.previous) })] : null,
        t.checkpoint ? [el('dt', { text: 'Shown now' }), el('dd', { class: 'trust-now', text: checkpointText(t.checkpoint) })] : null);
    alarm.replaceChildren(el('div', { class: 'trust-alarm-card' },
      el('h1', { text: keyChanged ? 'The store’s signing key has changed' : 'The store’s history has changed' }),
      el('p', { class: 'trust-message', text: t.message }),
      facts,
      el('p', {
        class: 'trust-advice',
        text: keyChanged
          ? 'Nothing this store shows is verified until you decide. Ask its administrator for the id of the new key (vigil integrity key) by another way than this store, and compare.'
          : 'Entries this console showed you before may have been changed or removed since. Nothing is verified until you decide. Keep what you exported, and ask the store’s administrator what happened (a restored backup?).',
      }),
      el('div', { class: 'trust-buttons' },
        el('button', { type: 'button', class: 'primary trust-signout', text: 'Sign out', on: { click: () => onSignOut() } })),
      el('details', { class: 'trust-override' },
        el('summary', { text: keyChanged ? 'I checked the new key' : 'I know why the history changed' }),
        el('label', { class: 'trust-check' }, checked, keyChanged
          ? ` The administrator confirmed key ${t.offered_key_id} to me.`
          : ' I know why, and I take the store’s history as it is now.'),
        accept, problem)));
    alarm.hidden = false;
    alarm.querySelector('.trust-signout').focus();
  }

  function show(t) {
    trust = t;
    showBadge(t);
    if (t.state === 'key_changed' || t.state === 'history_changed') showAlarm(t);
    else {
      alarm.hidden = true;
      alarm.replaceChildren();
    }
  }

  return {
    async check() {
      const mine = ++gen;
      try {
        const t = await call('trust');
        if (mine === gen) show(t);
      } catch (error) {
        if (error.handled || mine !== gen) return;
        show({ state: 'unverified', message: error.message });
      }
    },
    reset() {
      gen++;
      trust = null;
      badge.hidden = true;
      alarm.hidden = true;
      alarm.replaceChildren();
    },
    alarmShown: () => !alarm.hidden,
    state: () => trust?.state ?? null,
  };
}

/**
 * The Verify dialog in `host`: run(q, title) checks every entry of the search `q`. `onOpen(id)`
 * opens an entry that failed.
 */
export function createVerify(host, { onOpen }) {
  let gen = 0;
  const heading = el('h2', { class: 'verify-title' });
  const query = el('p', { class: 'verify-query mono' });
  const body = el('div', { class: 'verify-body', attrs: { role: 'status' } });
  const close = el('button', { type: 'button', class: 'verify-close', text: 'Close' });
  const dialog = el('dialog', { class: 'verify-dialog', attrs: { 'aria-labelledby': 'verify-title' } },
    heading, query, body, el('div', { class: 'dialog-buttons' }, close));
  heading.id = 'verify-title';
  host.append(dialog);
  close.addEventListener('click', () => { gen++; dialog.close(); });

  function report(r) {
    const failures = r.failures.length
      ? el('ol', { class: 'verify-failures' }, r.failures.map((f) => el('li', { data: { seq: String(f.seq) } },
        el('button', { type: 'button', class: 'link verify-open', text: `Entry ${formatNumber(f.seq)}`, on: { click: () => { dialog.close(); onOpen(f.id); } } }),
        el('span', { class: 'mono dim', text: ` ${f.id} ` }), copyButton('id', f.id),
        el('p', { class: 'verify-why', text: f.message }))))
      : null;
    body.replaceChildren(
      el('p', { class: `verify-outcome verify-${r.state}`, data: { state: r.state }, text: `${r.state === 'verified' ? '✓ ' : r.state === 'failed' ? '✗ ' : ''}${r.message}` }),
      r.checkpoint ? el('p', { class: 'verify-checkpoint dim', text: `Against the ${checkpointText(r.checkpoint)} (key ${r.checkpoint.key_id}); ${formatEntries(r.entries)} read in ${r.seconds.toFixed(1)} s.` }) : null,
      r.failed > r.failures.length ? el('p', { class: 'notice notice-warn', text: `The first ${formatNumber(r.failures.length)} of ${formatNumber(r.failed)} are listed.` }) : null,
      failures);
  }

  return {
    async run(q, title) {
      const mine = ++gen;
      heading.textContent = title;
      query.textContent = q === '' ? 'Every entry' : q;
      body.replaceChildren(el('p', { class: 'verify-running', text: 'Verifying: reading every entry and its proof…' }));
      if (!dialog.open) dialog.showModal();
      try {
        const r = await call('verify_search', { q });
        if (mine === gen) report(r);
      } catch (error) {
        if (error.handled || mine !== gen) return;
        body.replaceChildren(el('p', { class: 'form-error verify-error', text: error.message }));
      }
    },
    isOpen: () => dialog.open,
    close() {
      gen++;
      if (dialog.open) dialog.close();
    },
  };
}
