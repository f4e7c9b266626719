// Measures (does not assert) how smoothly the table scrolls through 100k rows in headless
// Chromium: every row is loaded first, then the table is scrolled from top to bottom one step
// per animation frame, and the frame times are reported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './support/harness.mjs';
import { measureScroll } from './support/scroll.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

test('scroll frame rate over 100k rows (measurement)', async (t) => {
  const app = await openApp(browser, { config: { count: 100000 } });
  const { page } = app;
  const m = await measureScroll(page, { frames: 150 });
  const line = `scroll over ${m.rows} rows: ${m.frames} frames in ${m.ms} ms, ${m.fps} fps, ${m.dropped} dropped (>${m.budget} ms), `
    + `frame p50 ${m.p50} ms, p95 ${m.p95} ms, max ${m.max} ms; render work ${m.workAvg} ms/frame avg, ${m.workMax} ms max; ${m.domRows} rows in the DOM`;
  t.diagnostic(line);
  assert.equal(m.rows, 100001);
  await app.assertClean();
});
