// The Senders dialog: each sender with what it sent, its numbering's gaps in words, a silent
// sender marked, "In the journal" searching what the store wrote about it, and the store's
// refusal shown as it says it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, queryIs } from './support/harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const ODD = 'clé "ünï" 🎰';
const SENDERS = [
  {
    name: 'backoffice', first_at: '2026-11-01T08:00:00.000000Z', last_at: '2026-11-20T03:12:09.123456Z',
    last_entry: 50007, events: 50000, per_hour: 2400, silent_in: 50012,
    streams: [{
      stream: 'bo-1', low: 1, high: 50008, events: 50000, repeats: 2, last_repeat: 17, missing: 8,
      gaps: [
        { first: 40982, last: 40986, opened_at: '2026-11-18T03:00:01.000000Z', reported_in: 50010 },
        { first: 47119, last: 47121, opened_at: '2026-11-19T03:00:01.000000Z' },
      ],
    }],
  },
  {
    name: ODD, first_at: '2026-11-02T08:00:00.000000Z', last_at: '2026-11-20T01:00:00.000000Z',
    last_entry: 49000, events: 12, per_hour: 0, streams: [],
  },
];

test('each sender with its gaps in words; "In the journal" searches what the store wrote about it', async () => {
  const app = await openApp(browser, { config: { count: 500, senders: SENDERS } });
  const { page } = app;
  await page.click('#header-senders');
  await page.waitForSelector('#senders-dialog[open] .senders-item');
  const back = '#senders-dialog .senders-item[data-sender="backoffice"]';
  assert.deepEqual(await page.$$eval(`${back} .senders-gap-text`, (n) => n.map((x) => x.textContent)),
    ['events 40,982–40,986 never arrived', 'events 47,119–47,121 never arrived']);
  assert.match(await page.textContent(`${back} .senders-gap`), /reported in entry 50010\)$/);
  assert.equal(await page.textContent(`${back} .senders-silent`), 'silent');
  assert.equal(await page.textContent(`${back} .senders-missing`), '8 missing');
  assert.equal(await page.textContent(`${back} .senders-stream`), 'stream bo-1: 1 to 50,008, 50,000 received, 2 received twice under other ids');
  assert.match(await page.textContent(`${back} .senders-facts`), /^50,000 entries, about 2,400 an hour lately; the newest 2026-11-20 04:12:09 \(seq 50007\)$/);

  // A name with quotes and a space is searched quoted, byte-exact.
  await page.click(`#senders-dialog .senders-item:nth-child(2) .senders-journal`);
  await page.waitForSelector('#senders-dialog', { state: 'hidden' });
  const want = 'section:vigil target:"sender/clé \\"ünï\\" 🎰"';
  await queryIs(page, want);
  await page.waitForFunction((q) => window.__fake.callsOf('search').at(-1)?.q === q, want);
  await app.assertClean();
});

test('a reader the store refuses is told why', async () => {
  const app = await openApp(browser, { config: { count: 50, sendersRefused: true } });
  const { page } = app;
  await page.click('#header-senders');
  await page.waitForSelector('#senders-error:not([hidden])');
  assert.match(await page.textContent('#senders-error'), /needs the read right over the whole journal/);
  assert.equal(await page.$$eval('#senders-list .senders-item', (n) => n.length), 0);
  await page.click('#senders-close');
  await page.waitForSelector('#senders-dialog', { state: 'hidden' });
  await app.assertClean();
});
