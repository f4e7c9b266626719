// In-page generator of a casino back office's audit journal for the UI tests: deterministic
// (seeded), newest entry first when searched, with the strings that break careless UIs (RTL,
// emoji, quotes, `<script>`, `=SUM(A1)`, newlines) and the numbers JavaScript cannot hold
// (`100.10`, 20-digit integers). Every entry carries `exact` as the Rust commands send it.
// Defines window.__vigilFakeData.
(() => {
  /** A number as the store holds it, digits kept (JSON.parse would make `100.10` 100.1). */
  const num = (text) => JSON.rawJSON(text);

  /**
   * `exact` as console.rs writes it with serde_json: the JSON text of each change's values
   * (compact) and of the details (two-space indent, absent with them). `stored` may hold num(…).
   */
  function exactOf(stored) {
    const exact = { changes: (stored.changes ?? []).map((c) => ({ before: JSON.stringify(c.before), after: JSON.stringify(c.after) })) };
    if (stored.details != null) exact.details = JSON.stringify(stored.details, null, 2);
    return exact;
  }

  /**
   * The entry a command hands the UI for an entry as the store holds it: the values as
   * JavaScript parses the command's JSON (digits lost), plus `exact` (digits kept).
   */
  function fromStore(stored) {
    return { ...JSON.parse(JSON.stringify(stored)), exact: exactOf(stored) };
  }

  function rng(seed) {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const ACTORS = [
    { id: 'k.morel', name: 'Karine Morel', role: 'vip-manager', kind: 'staff' },
    { id: 'm.dupont', name: 'Marie Dupont', role: 'finance-officer', kind: 'staff' },
    { id: 'a.haddad', name: 'أحمد حداد', role: 'support-lead', kind: 'staff' },
    { id: 's.levi', name: 'שרה לוי', role: 'compliance', kind: 'staff' },
    { id: 'j.obrien', name: 'Jack "Lucky" O\'Brien', role: 'pit-boss', kind: 'staff' },
    { id: 'z.nowak', name: 'Zoë Nowak 🎲', role: 'marketing', kind: 'staff' },
    { id: 'batch-bot', name: 'Nightly batch', kind: 'system' },
    { id: 'partner-api', name: 'Affiliate API', kind: 'api' },
  ];
  const ACTIONS = [
    ['finance', 'player.balance.adjust', 'change'], ['finance', 'withdrawal.approve', 'change'],
    ['finance', 'withdrawal.cancel', 'change'], ['finance', 'deposit.refund', 'change'],
    ['bonuses', 'bonus.grant', 'create'], ['bonuses', 'bonus.cancel', 'delete'], ['bonuses', 'bonus.create', 'create'],
    ['players', 'player.kyc.approve', 'change'], ['players', 'player.limits.update', 'change'],
    ['players', 'player.self_exclusion.lift', 'change'], ['players', 'player.view', 'access'],
    ['staff', 'role.grant', 'rights'], ['staff', 'role.revoke', 'rights'], ['staff', 'staff.create', 'create'],
    ['settings', 'setting.update', 'change'], ['content', 'page.publish', 'change'], ['reports', 'report.export', 'access'],
  ];
  const PLAYERS = ['Lucas B.', 'Élodie Martin', 'محمد علي', 'דוד כהן', '=SUM(A1)', '<script>alert("x")</script>', 'Zoë 🎰 "Lucky"', 'Ana-María Núñez', "D'Artagnan", '王小明'];
  const REASONS = ['on the player\'s request', 'goodwill', 'Remboursé à la demande du joueur', 'طلب العميل', 'fraud check — see ticket', 'line one\nline two', '=HYPERLINK("x")', null, null];

  /** `count` entries ending at `end` (ISO), oldest first, seq 1…count. */
  function generate(count, end = '2026-11-20T03:10:00Z', seed = 42) {
    const random = rng(seed);
    const pick = (list) => list[Math.floor(random() * list.length)];
    const out = new Array(count);
    let t = Date.parse(end);
    const times = new Array(count);
    for (let i = count - 1; i >= 0; i--) {
      times[i] = t;
      t -= Math.floor(5000 + random() * 40000);
    }
    for (let i = 0; i < count; i++) {
      const [section, action, kind] = pick(ACTIONS);
      const actor = pick(ACTORS);
      const r = random();
      const severity = action === 'role.grant' || action === 'player.self_exclusion.lift' || r < 0.04 ? 'critical' : r < 0.15 ? 'warning' : 'info';
      const o = random();
      const outcome = o < 0.04 ? 'denied' : o < 0.07 ? 'failure' : 'success';
      const micros = String(Math.floor(random() * 1e6)).padStart(6, '0');
      const occurred = new Date(times[i]).toISOString().replace(/\.\d{3}Z$/, `.${micros}Z`);
      const e = {
        seq: i + 1,
        received_at: new Date(times[i] + 700).toISOString().replace('Z', '456Z'),
        hash: (i.toString(16).padStart(8, '0') + 'a1b2c3d4').repeat(4).slice(0, 64),
        id: `${(0x01930000 + i).toString(16).padStart(8, '0')}-7c1d-7000-8000-${String(i).padStart(12, '0')}`,
        occurred_at: occurred,
        actor: { ...actor },
        action, kind, section, severity, outcome,
      };
      if (section !== 'reports') {
        const name = pick(PLAYERS);
        e.target = section === 'staff' ? { type: 'staff', id: pick(ACTORS).id } : { type: section === 'settings' ? 'setting' : 'player', id: String(300000 + Math.floor(random() * 400)), name };
      }
      if (random() < 0.9) e.ip = random() < 0.8 ? `192.0.2.${1 + Math.floor(random() * 40)}` : `2001:db8::${Math.floor(random() * 99)}`;
      const reason = pick(REASONS);
      if (reason) e.reason = reason;
      if (kind === 'change' && random() < 0.7) {
        const before = (random() * 1000).toFixed(2);
        e.changes = [{ field: 'balance', before, after: (Number(before) + 50).toFixed(2) }];
      }
      if (random() < 0.3) e.details = { ticket: Math.floor(random() * 9000), channel: pick(['back-office', 'api', 'phone']) };
      e.exact = exactOf(e);
      out[i] = e;
    }
    return out;
  }

  /**
   * The entry the detail tests open, as the store holds it: newest, critical, with every kind of
   * change and text, and numbers that JavaScript rounds (SPECIAL is what the UI gets).
   */
  const SPECIAL_STORED = {
    seq: 0,
    received_at: '2026-11-20T03:12:09.123456Z',
    hash: '9f2c4e1d0b8a7f6e5d4c3b2a19080706f5e4d3c2b1a09f8e7d6c5b4a39281706',
    id: '0193a5e2-7c1d-7000-8000-00000000beef',
    occurred_at: '2026-11-20T03:12:08.000123Z',
    actor: { id: 'k.morel', name: 'Karine Morel', role: 'vip-manager', kind: 'staff' },
    action: 'bonus.grant', kind: 'change', section: 'bonuses', severity: 'critical', outcome: 'success',
    target: { type: 'player', id: '312284', name: 'Lucas B. 🎰 <script>alert(1)</script>' },
    changes: [
      { field: 'balance.bonus', before: '0.00', after: '1500.00' },
      { field: 'limits', before: { daily: 100, vip: false, caps: { weekly: 500, monthly: 2000 }, tags: ['new'] }, after: { daily: 500, vip: true, caps: { weekly: 500, monthly: 4000 }, note: 'VIP ✓' } },
      { field: 'nickname', before: 'Lucky Luke', after: 'Lucky Lucas 🎰' },
      { field: 'comment', before: 'שלום "עולם"', after: 'שלום "עולם" =SUM(A1)' },
      { field: 'wager.amount', before: num('100.00'), after: num('100.10') },
      { field: 'balance.cash', before: num('-5.5'), after: num('0.00') },
      { field: 'ledger.ref', before: num('12345678901234567890'), after: num('12345678901234567891') },
      { field: 'payout', before: { amount: num('100.10'), ref: num('12345678901234567890'), fees: [num('0.00'), num('-5.5')], currency: 'EUR' },
        after: { amount: num('100.1'), ref: num('12345678901234567891'), fees: [num('0.00'), num('0.00')], currency: 'EUR' } },
    ],
    ip: '192.0.2.66',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Vigil',
    session_id: 's-7781',
    request_id: 'r-99120',
    correlation_id: 'wd-2026-000417',
    on_behalf_of: { type: 'player', id: '312284', name: 'Lucas B. "ש" 🎰' },
    source_seq: 10412,
    stream: 'node-2',
    sender: 'backoffice "prod" 🎰',
    reason: 'Geste commercial — "VIP" <script>alert(1)</script>\nسبب: طلب اللاعب 🎰 =SUM(A1)',
    details: {
      campaign: 'winter', ticket: 4411, note: 'مرحبا "quoted" <b>bold</b>', nested: { ok: true, list: [1, 2] },
      amount: num('100.10'), ledger: num('12345678901234567890'), fees: { fixed: num('0.00'), rate: num('-5.5') },
    },
  };
  const SPECIAL = fromStore(SPECIAL_STORED);

  window.__vigilFakeData = { generate, SPECIAL, SPECIAL_STORED, ACTORS, fromStore };
})();
