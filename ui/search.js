// The search screen: wires the filter bar, results, timeline, facets, detail, saved searches,
// live tail and export together. One query text at a time drives them all; pivots, facets, brushing and
// saved searches change it through the filter bar, so the text and the controls never disagree.
// Investigators' writes (annotations, incidents, pins, notes) go to the outbox, whose badge and
// offline banner live here too; the incident panel and the entry detail share the right column
// (the entry in front; closing it shows the incident again). What the user's roles do not allow
// is not offered (lib/rights.js): Export… without `export`, the write controls without `annotate`.

import { call } from './ipc.js';
import { byId, el, typingIn } from './lib/dom.js';
import { clause, narrowed, valuesOf, withValues } from './lib/clauses.js';
import { ceilMinute, floorMinute, formatLocalSeconds, toQueryMinute } from './lib/time.js';
import { createFilterbar } from './views/filterbar.js';
import { createResults } from './views/results.js';
import { createTimeline } from './views/timeline.js';
import { createFacets } from './views/facets.js';
import { createDetail } from './views/detail.js';
import { createSaved } from './views/saved.js';
import { createLive } from './views/live.js';
import { createExport } from './views/export.js';
import { createIncidents } from './views/incidents.js';
import { createIncidentPanel } from './views/incident.js';
import { createOutbox } from './views/outbox.js';
import { createTrust, createVerify } from './views/trust.js';
import { loadMarks } from './lib/marks.js';
import { can } from './lib/rights.js';

const SUGGESTIONS = 50;
/** How often the store's newest checkpoint is checked against the one seen. */
const TRUST_EVERY_MS = 60_000;

const PROBLEM_PREFIX = {
  unreachable: 'Cannot reach the server — the results on screen are the last ones loaded. ',
  server: 'The audit store failed: ',
  keyring: 'The OS keyring refused: ',
  forbidden: 'Not allowed: ',
};

export function createSearchScreen() {
  const app = byId('app-screen');
  const status = byId('status');
  let current = '';
  let order = 'newest';
  let zoomStack = [];
  let zooming = false;
  let trustTimer = null;

  const filterbar = createFilterbar(byId('filterbar'), {
    onSearch: search, onError: showProblem, onValidity: (valid) => exporter.setValid(valid),
  });
  const results = createResults(byId('results'), {
    onOpen: open, onSelect, onPivot: pivot, onError: searchError,
    onOrder: (o) => { order = o; search(current); },
    onBack: () => search(current),
    onOffline: (offline) => outbox.searched(offline),
    onIndexed: () => search(current),
  });
  const live = createLive(results.toolbar, { onShow: () => search(current) });
  const exporter = createExport(results.countTools, app, { queryBarText: () => filterbar.text() });
  const trust = createTrust({ badge: byId('header-trust'), alarm: byId('trust-alarm') }, {
    onSignOut: () => byId('signout').click(),
  });
  const verifier = createVerify(app, { onOpen: openById });
  const verifyButton = el('button', {
    type: 'button', class: 'verify-search', text: 'Verify',
    title: 'Check every entry of this search against the store’s signed checkpoint',
    on: { click: () => verifier.run(current, 'Verify this search') },
  });
  results.countTools.append(verifyButton);
  const timeline = createTimeline(byId('timeline'), { onBrush: brush, onZoomOut: zoomOut });
  const facets = createFacets(byId('facets'), {
    onPick: (key, value, negated) => filterbar.apply(narrowed(filterbar.clauses(), key, value, negated)),
  });
  const detail = createDetail(byId('detail'), {
    onPivot: pivot, onTarget, onAround, onGroup, onClose: closeDetail,
    onEntry: (entry) => results.update(entry),
    onWrote: (box) => outbox.written(box),
    onIncident: openIncident,
    onIncidents: () => incidents.load(),
    onAlarm: () => trust.check(),
  });
  const saved = createSaved(byId('saved'), { currentQuery: () => filterbar.text(), onRun: (q) => filterbar.run(q), onError: showProblem });
  const incidents = createIncidents(byId('incidents'), {
    onOpen: openIncident,
    onList: (list) => detail.setIncidents(list),
  });
  const incidentPanel = createIncidentPanel(byId('incident'), {
    onSearch: (q) => filterbar.run(q),
    onWrote: (box) => outbox.written(box),
    onChanged: () => incidents.load(),
    onClose: closeIncident,
    onVerify: (q, title) => verifier.run(q, title),
  });
  const outbox = createOutbox({ badge: byId('header-outbox'), panel: byId('outbox-panel'), banner: byId('offline-banner') }, {
    // Items left the outbox: what showed them as waiting is fetched again.
    onSent: () => {
      incidents.load();
      detail.refresh();
      incidentPanel.refresh();
    },
    onItems: (items) => {
      if (!items.some((i) => i.kind === 'pin')) detail.forgetPins();
    },
  });

  function showProblem(error) {
    if (error.handled) return;
    status.replaceChildren(
      el('span', { class: 'status-text', text: (PROBLEM_PREFIX[error.code] ?? '') + error.message, data: { code: error.code } }),
      el('button', { type: 'button', class: 'status-close', text: '×', attrs: { 'aria-label': 'Dismiss' }, on: { click: hideProblem } }));
    status.hidden = false;
  }

  function hideProblem() {
    status.hidden = true;
    status.replaceChildren();
  }

  function searchError(error) {
    if (error.handled) return;
    if (error.code === 'bad_query') filterbar.showError(error, current);
    else showProblem(error);
  }

  /** A timeline's or facets' error: not when the store is unavailable (the results bar says why). */
  function besideResults(error) {
    if (error.code !== 'unavailable') searchError(error);
  }

  /** Runs `q` everywhere: table, timeline (and so the count), facets, live tail. */
  function search(q) {
    current = q;
    if (!zooming) zoomStack = [];
    zooming = false;
    hideProblem();
    results.load(q, order);
    exporter.setQuery(q);
    timeline.load(q).then((n) => {
      if (n == null) return;
      results.setTotal(n, q);
      exporter.setCount(n, q);
    }, besideResults);
    facets.load(q).catch(besideResults);
    live.setQuery(q);
  }

  /** Click: search on the value; Shift-click: add it to the query; Alt-click: exclude it. */
  function pivot(key, value, how) {
    if (how === 'replace') filterbar.apply([clause(key, [value])]);
    else filterbar.apply(narrowed(filterbar.clauses(), key, value, how === 'exclude'));
  }

  /** Applies a new date range from the timeline, keeping the zoom history. */
  function zoomTo(clauses, after, before) {
    const next = withValues(withValues(clauses, 'after', after), 'before', before);
    if (next === clauses) return false;
    zooming = true;
    filterbar.apply(next);
    return true;
  }

  function brush(fromMs, toMs) {
    const clauses = filterbar.clauses();
    const from = floorMinute(fromMs);
    const to = Math.max(ceilMinute(toMs), from + 60000);
    const previous = { after: valuesOf(clauses, 'after'), before: valuesOf(clauses, 'before') };
    if (zoomTo(clauses, [toQueryMinute(new Date(from))], [toQueryMinute(new Date(to))])) zoomStack.push(previous);
  }

  function zoomOut() {
    const previous = zoomStack.at(-1) ?? { after: [], before: [] };
    zoomStack.pop();
    zoomTo(filterbar.clauses(), previous.after, previous.before);
  }

  /** The right column: the entry detail in front of the incident panel; the grid makes room. */
  function layout() {
    incidentPanel.setVisible(!detail.isOpen());
    app.classList.toggle('detail-open', detail.isOpen() || incidentPanel.isOpen());
  }

  function open(entry) {
    detail.open(entry);
    layout();
  }

  /** Opens an entry known by its id only (from the Verify report). */
  async function openById(id) {
    try {
      open(await call('event', { id }));
    } catch (error) {
      showProblem(error);
    }
  }

  /** Opens an incident (from the sidebar or an entry's incidents) and searches its entries. */
  function openIncident(ref) {
    const known = incidents.list().find((i) => i.id === ref.id);
    if (detail.isOpen()) detail.close();
    incidents.setActive(ref.id);
    incidentPanel.open(known ?? { status: 'open', ...ref });
    layout();
  }

  function closeIncident() {
    incidentPanel.close();
    incidents.setActive(null);
    layout();
    results.focus();
  }

  /** `p`: the selected entry's detail, with the focus on "Pin to incident" (if it is offered). */
  function pinSelected() {
    const entry = results.selected();
    if (!entry) return;
    open(entry);
    if (can('annotate')) detail.focusPin();
  }

  function onSelect(entry) {
    if (detail.isOpen()) detail.open(entry);
  }

  function closeDetail() {
    detail.close();
    layout();
    results.focus();
  }

  function onTarget(entry) {
    order = 'oldest';
    filterbar.apply([clause('target', [`${entry.target.type}/${entry.target.id}`])]);
  }

  /** Every entry of one request (`request:`) or one business action (`correlation:`), in order. */
  function onGroup(key, value) {
    order = 'oldest';
    filterbar.apply([clause(key, [value])]);
  }

  async function onAround(entry) {
    try {
      const { events } = await call('around', { id: entry.id });
      results.showList(events, `Around ${entry.action} by ${entry.actor.id} at ${formatLocalSeconds(entry.occurred_at)}: the same actor and target within ±15 min`);
      results.selectId(entry.id);
    } catch (error) {
      showProblem(error);
    }
  }

  async function suggest() {
    for (const field of ['actor', 'section', 'action']) {
      call('facets', { q: '', field, limit: SUGGESTIONS })
        .then((a) => filterbar.suggest(field, a.values.map((v) => v.value)), () => {});
    }
  }

  /** `/` query, j/k selection, Enter detail, `p` pin, Esc closes the detail, then the incident. */
  function handleKey(e) {
    // The export and verify dialogs are modal, and so is the trust alarm: the keys stay there.
    if (exporter.isOpen() || verifier.isOpen() || trust.alarmShown()) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape' && detail.isOpen()) {
      e.preventDefault();
      closeDetail();
      return;
    }
    if (e.key === 'Escape' && incidentPanel.isOpen() && !typingIn(e.target)) {
      e.preventDefault();
      closeIncident();
      return;
    }
    if (typingIn(e.target)) return;
    if (e.key === '/') {
      e.preventDefault();
      filterbar.focus();
    } else if (e.key === 'j' || (e.key === 'ArrowDown' && e.target === results.body)) {
      e.preventDefault();
      results.move(1);
    } else if (e.key === 'k' || (e.key === 'ArrowUp' && e.target === results.body)) {
      e.preventDefault();
      results.move(-1);
    } else if (e.key === 'p') {
      e.preventDefault();
      pinSelected();
    } else if (e.key === 'Enter' && !(e.target instanceof Element && e.target.closest('button, a'))) {
      const entry = results.selected();
      if (entry) {
        e.preventDefault();
        open(entry);
      }
    }
  }

  return {
    /** Shows the screen for a fresh session: everything, newest first. */
    start(session) {
      order = 'newest';
      exporter.setAllowed(can('export'));
      outbox.start(session);
      loadMarks();
      saved.load();
      incidents.load();
      suggest();
      filterbar.run('');
      void trust.check();
      clearInterval(trustTimer);
      trustTimer = setInterval(() => void trust.check(), TRUST_EVERY_MS);
    },
    /** Leaves the screen (sign out). */
    async stop() {
      if (detail.isOpen()) closeDetail();
      if (incidentPanel.isOpen()) closeIncident();
      outbox.stop();
      clearInterval(trustTimer);
      trustTimer = null;
      trust.reset();
      verifier.close();
      await Promise.all([live.off(), exporter.stop()]);
    },
    handleKey,
    showProblem,
    /** Runs a query from elsewhere (the Senders dialog), newest first. */
    search(q) {
      order = 'newest';
      if (detail.isOpen()) closeDetail();
      filterbar.run(q);
    },
  };
}
