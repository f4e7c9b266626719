// ui/lib/json.js, the JSON reader that keeps number literals and key order: it agrees with
// JSON.parse on everything else, rejects what JSON.parse rejects, and writes back the same text
// as JSON.stringify (compact and indented). Plain module, so tested in Node without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonNumber, entriesOf, fromValue, isContainer, parseJson, stringifyJson } from '../../ui/lib/json.js';

/** A tree as plain data for deepEqual: numbers as {num}, objects as [[key, value]] lists. */
function plain(v) {
  if (v instanceof JsonNumber) return { num: v.text };
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return { obj: [...v].map(([k, x]) => [k, plain(x)]) };
  return v;
}

/** A tree as JSON.parse would give it (numbers rounded). */
function toJs(v) {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(toJs);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toJs(x)]));
  return v;
}

/** The tree JSON.parse's value would give if no digit were lost. */
function viaJs(text) {
  return plain(fromValue(JSON.parse(text)));
}

test('numbers keep their literal: trailing zeros, 20 digits, exponents, negative zero', () => {
  for (const n of ['100.10', '0.00', '-5.5', '12345678901234567890', '-12345678901234567890.000', '9007199254740993',
    '1e400', '1E+2', '-0', '-0.0e-5', '0', '3.14159265358979323846264338327950288']) {
    assert.deepEqual(plain(parseJson(n)), { num: n }, n);
    assert.deepEqual(plain(parseJson(` \n\t${n}\r `)), { num: n }, `${n} in spaces`);
    assert.equal(stringifyJson(parseJson(n)), n);
  }
  assert.equal(String(parseJson('100.10')), '100.10');
  assert.ok(Object.isFrozen(parseJson('1')));
});

test('objects keep their key order, integer-like keys included; a repeated key keeps its last value', () => {
  const v = parseJson('{"b": 1, "10": {"z": true, "2": null, "a": [0.50]}, "__proto__": "x", "constructor": {}}');
  assert.ok(v instanceof Map);
  assert.deepEqual([...v.keys()], ['b', '10', '__proto__', 'constructor']);
  assert.deepEqual([...v.get('10').keys()], ['z', '2', 'a']);
  assert.equal(v.get('__proto__'), 'x');
  assert.equal(stringifyJson(v), '{"b":1,"10":{"z":true,"2":null,"a":[0.50]},"__proto__":"x","constructor":{}}');
  assert.deepEqual(plain(parseJson('{"a": 1, "b": 2, "a": 3}')), { obj: [['a', { num: '3' }], ['b', { num: '2' }]] });
});

test('strings decode every escape as JSON.parse does', () => {
  const samples = ['""', '"plain"', '"a\\"b\\\\c\\/d"', '"\\b\\f\\n\\r\\t"', '"\\u00e9\\u20AC\\ud83c\\udfb0"', '"\\ud800 lone"',
    '"שלום \\"עולם\\" =SUM(A1)"', '"<script>alert(1)</script>"', '"emoji 🎰 and tab\\tafter"', '"\u007f\u0080\u2028"'];
  for (const s of samples) assert.equal(parseJson(s), JSON.parse(s), s);
});

test('agrees with JSON.parse on values whose numbers JavaScript holds exactly', () => {
  const samples = ['true', 'false', 'null', '[]', '{}', '[[]]', '[{}]', '{"a":[]}', ' [ 1 , 2 ,[ 3 ] ] ',
    '{"campaign":"winter","ticket":4411,"nested":{"ok":true,"list":[1,2]},"note":"مرحبا \\"quoted\\" <b>bold</b>"}',
    '[-1.5, 0, 2.25, 1000, "x", null, false, {"k": [true]}]'];
  for (const s of samples) {
    assert.deepEqual(plain(parseJson(s)), viaJs(s), s);
  }
});

test('writes back what JSON.stringify writes, compact and indented', () => {
  const values = [
    { campaign: 'winter', ticket: 4411, note: 'مرحبا "quoted" <b>bold</b>\n', nested: { ok: true, list: [1, 2], empty: {}, none: [] } },
    [1, 'two', [3, [4, {}]], null, false, -0.5],
    'just a string', 12, null, {}, [],
  ];
  for (const v of values) {
    const tree = fromValue(v);
    assert.equal(stringifyJson(tree), JSON.stringify(v));
    for (const indent of [2, 4]) assert.equal(stringifyJson(tree, indent), JSON.stringify(v, null, indent));
    assert.equal(stringifyJson(parseJson(JSON.stringify(v, null, 2)), 2), JSON.stringify(v, null, 2), 'round trip');
  }
  // Indented exactly like serde_json's to_string_pretty, digits kept.
  const text = '{\n  "amount": 100.10,\n  "ledger": 12345678901234567890,\n  "fees": {\n    "fixed": 0.00,\n    "rate": -5.5\n  },\n  "tags": [],\n  "more": {}\n}';
  assert.equal(stringifyJson(parseJson(text), 2), text);
  assert.equal(stringifyJson(parseJson(text)), '{"amount":100.10,"ledger":12345678901234567890,"fees":{"fixed":0.00,"rate":-5.5},"tags":[],"more":{}}');
});

test('rejects what is not JSON, naming where', () => {
  const bad = ['', ' ', '01', '1.', '.5', '+1', '-', '1e', '1e+', '0x10', 'NaN', 'Infinity', '-Infinity', 'tru', 'nul', 'True',
    '"unterminated', '"bad \\x escape"', '"bad \\u12 escape"', '"raw\nnewline"', '"raw\ttab"', "'single'",
    '[1,]', '[,1]', '[1 2]', '[', ']', '{"a":1,}', '{"a" 1}', '{a:1}', '{"a":1', '{,}', '1 2', '[] x', '{}{}', '// c\n1', '\ufeff1'];
  for (const s of bad) {
    assert.throws(() => JSON.parse(s), SyntaxError, `JSON.parse rejects ${JSON.stringify(s)}`);
    assert.throws(() => parseJson(s), (e) => e instanceof SyntaxError && /at offset \d+/.test(e.message), JSON.stringify(s));
  }
  assert.throws(() => parseJson(undefined), TypeError);
});

test('random values: parse ∘ stringify is the identity, and JSON.parse agrees', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const chars = ['a', 'é', '"', '\\', '\n', '\u0001', '🎰', 'ש', ' ', '/', '\u2028'];
  const literal = () => {
    const r = random();
    if (r < 0.2) return `${random() < 0.5 ? '-' : ''}${Math.floor(random() * 1e6)}.${String(Math.floor(random() * 100)).padStart(2, '0')}`;
    if (r < 0.3) return `${Math.floor(random() * 9) + 1}${'0123456789'.repeat(2)}`;
    if (r < 0.4) return `${Math.floor(random() * 10)}e${random() < 0.5 ? '-' : '+'}${Math.floor(random() * 30)}`;
    return String(Math.floor(random() * 1000));
  };
  const gen = (depth) => {
    const r = random();
    if (depth > 3 || r < 0.3) return new JsonNumber(literal());
    if (r < 0.45) return Array.from({ length: Math.floor(random() * 4) }, () => chars[Math.floor(random() * chars.length)]).join('');
    if (r < 0.55) return [true, false, null][Math.floor(random() * 3)];
    if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => gen(depth + 1));
    const map = new Map();
    for (let i = Math.floor(random() * 4); i > 0; i--) map.set(random() < 0.3 ? String(Math.floor(random() * 20)) : `k${Math.floor(random() * 50)}`, gen(depth + 1));
    return map;
  };
  for (let i = 0; i < 500; i++) {
    const tree = gen(0);
    for (const indent of [0, 2]) {
      const text = stringifyJson(tree, indent);
      assert.deepEqual(plain(parseJson(text)), plain(tree), text);
      assert.equal(stringifyJson(parseJson(text), indent), text);
      assert.deepEqual(toJs(parseJson(text)), JSON.parse(text), 'the same values as JSON.parse, numbers rounded');
    }
  }
});

test('containers: arrays and Maps, their entries in order', () => {
  assert.equal(isContainer([]), true);
  assert.equal(isContainer(new Map()), true);
  assert.equal(isContainer(new JsonNumber('1')), false);
  assert.equal(isContainer(null), false);
  assert.equal(isContainer('x'), false);
  assert.deepEqual(entriesOf(parseJson('["a", "b"]')), [[0, 'a'], [1, 'b']]);
  assert.deepEqual(entriesOf(parseJson('{"y": "a", "1": "b"}')), [['y', 'a'], ['1', 'b']]);
  assert.deepEqual(plain(fromValue({ a: undefined, b: [undefined, 1.5] })), { obj: [['b', [null, { num: '1.5' }]]] });
});
