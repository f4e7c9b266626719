// A scroll frame-rate probe for the results table, run in the page.

/**
 * Loads every row, then scrolls the table from top to bottom in `frames` equal steps, one per
 * requestAnimationFrame, and reports frame intervals and the time the table's own scroll work
 * took. Dropped frames are intervals over 1.5 × the display's frame time (measured first).
 */
export async function measureScroll(page, { frames = 240 } = {}) {
  await page.$eval('.table-body', (b) => { b.scrollTop = b.scrollHeight; });
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('.table-rows .row:not([hidden])');
    return rows.length > 0 && ![...rows].some((r) => r.classList.contains('placeholder'));
  }, null, { timeout: 30000 });
  return page.evaluate(async (steps) => {
    const body = document.querySelector('.table-body');
    const nextFrame = () => new Promise((r) => requestAnimationFrame(r));
    body.scrollTop = 0;
    await nextFrame();
    let t0 = await nextFrame();
    const idle = [];
    for (let i = 0; i < 30; i++) { const t = await nextFrame(); idle.push(t - t0); t0 = t; }
    idle.sort((a, b) => a - b);
    const frameTime = idle[Math.floor(idle.length / 2)] || 16.7;
    // The table's own scroll work: a capturing listener starts the clock before the table's
    // listener runs, one added after it stops the clock.
    let work = 0;
    let workMax = 0;
    let began = 0;
    const start0 = () => { began = performance.now(); };
    const stop0 = () => {
      const w = performance.now() - began;
      work += w;
      workMax = Math.max(workMax, w);
    };
    body.addEventListener('scroll', start0, { capture: true });
    body.addEventListener('scroll', stop0);
    const intervals = [];
    const max = body.scrollHeight - body.clientHeight;
    const start = await nextFrame();
    let last = start;
    for (let i = 1; i <= steps; i++) {
      body.scrollTop = (max * i) / steps;
      const t = await nextFrame();
      intervals.push(t - last);
      last = t;
    }
    body.removeEventListener('scroll', start0, { capture: true });
    body.removeEventListener('scroll', stop0);
    const sorted = [...intervals].sort((a, b) => a - b);
    const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    const round = (x) => Math.round(x * 10) / 10;
    const ms = last - start;
    return {
      rows: Number(document.querySelector('.table-body').getAttribute('aria-rowcount')),
      frames: steps,
      ms: Math.round(ms),
      fps: round((steps * 1000) / ms),
      budget: round(frameTime * 1.5),
      dropped: intervals.filter((x) => x > frameTime * 1.5).length,
      p50: round(q(0.5)),
      p95: round(q(0.95)),
      max: round(sorted.at(-1)),
      workAvg: round(work / steps),
      workMax: round(workMax),
      domRows: document.querySelectorAll('.table-rows .row').length,
    };
  }, frames);
}
