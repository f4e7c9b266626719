// The timeline: a uPlot bar histogram of `timeline(q)`, matches per bucket with the critical
// ones in red over them. Dragging across it narrows the query's date range; a double-click
// zooms back out. Its bucket counts add up to the number of matches the table shows.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { call } from '../ipc.js';
import { el } from '../lib/dom.js';
import { formatNumber } from '../lib/format.js';
import { formatLocalSeconds } from '../lib/time.js';

const HEIGHT = 96;
const BUCKETS = 120;

const pad = (n) => String(n).padStart(2, '0');

/** Axis labels in local 24-hour time; the date where the day changes, dates alone past a day. */
function tickLabels(u, splits, axis, space, incr) {
  let lastDay = '';
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (incr >= 86400) return day;
    const label = day !== lastDay && lastDay !== '' ? `${day.slice(5)} ${time}` : time;
    lastDay = day;
    return label;
  });
}

/** Handlers: onBrush(fromMs, toMs), onZoomOut(). */
export function createTimeline(root, { onBrush, onZoomOut }) {
  let plot = null;
  let range = [0, 1];
  let buckets = [];
  let gen = 0;
  const caption = el('div', { class: 'timeline-caption', text: ' ' });
  const chart = el('div', { class: 'timeline-chart', title: 'Drag to narrow the date range · double-click to zoom out' });
  root.replaceChildren(chart, caption);

  function describe(i) {
    if (i == null || !buckets[i]) {
      const any = buckets.some((b) => b.count > 0);
      caption.textContent = any ? 'Drag across the chart to narrow the range; double-click to zoom out.' : 'No entries in this range.';
      return;
    }
    const b = buckets[i];
    caption.textContent = `${formatLocalSeconds(b.start)} · ${formatNumber(b.count)} entries · ${formatNumber(b.critical)} critical`;
  }

  function make(data) {
    const bars = uPlot.paths.bars({ size: [0.9, 60], align: 1 });
    plot = new uPlot({
      width: Math.max(200, chart.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: { x: { time: true, range: () => range }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [
        { size: 22, font: '11px system-ui, sans-serif', stroke: '#5b6472', grid: { show: false }, ticks: { size: 3 }, values: tickLabels },
        { size: 40, font: '11px system-ui, sans-serif', stroke: '#5b6472', grid: { stroke: '#eceff3', width: 1 }, ticks: { show: false }, values: (u, vals) => vals.map((v) => (v >= 1000 ? `${v / 1000}k` : String(v))) },
      ],
      series: [
        {},
        { label: 'entries', fill: '#8fa9c9', stroke: '#6f8db5', width: 0, paths: bars, points: { show: false } },
        { label: 'critical', fill: '#d0312d', stroke: '#d0312d', width: 0, paths: bars, points: { show: false } },
      ],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const from = u.posToVal(u.select.left, 'x') * 1000;
          const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          onBrush(from, to);
        }],
        setCursor: [(u) => describe(u.cursor.idx)],
      },
    }, data, chart);
    plot.over.addEventListener('dblclick', () => onZoomOut());
  }

  new ResizeObserver(() => {
    if (plot && chart.clientWidth > 0) plot.setSize({ width: chart.clientWidth, height: HEIGHT });
  }).observe(chart);

  return {
    /** Loads the histogram for `q`; resolves to the number of matches (null when it failed). */
    async load(q) {
      const mine = ++gen;
      let answer;
      try {
        answer = await call('timeline', { q, buckets: BUCKETS });
      } catch (error) {
        if (mine === gen) root.classList.add('stale');
        throw error;
      }
      if (mine !== gen) return null;
      root.classList.remove('stale');
      buckets = answer.buckets ?? [];
      const xs = buckets.map((b) => Date.parse(b.start) / 1000);
      const from = Date.parse(answer.from) / 1000;
      const to = Date.parse(answer.to) / 1000;
      const now = Date.now() / 1000;
      if (Number.isFinite(from) && Number.isFinite(to) && to > from) range = [from, to];
      else if (xs.length) range = [xs[0], xs.at(-1) + (answer.interval_seconds || 1)];
      else range = [now - 3600, now];
      const data = [xs, buckets.map((b) => b.count), buckets.map((b) => b.critical)];
      if (!plot) make(data);
      else plot.setData(data);
      describe(null);
      return buckets.reduce((sum, b) => sum + b.count, 0);
    },
  };
}
