// JSON text read without losing what JavaScript's JSON.parse loses: number literals keep their
// digits (`100.10`, `12345678901234567890`, `1e400`) and object keys keep their order (an object
// with the key "10" after "b" stays so). The detail pane reads the entries' `exact` texts with it.
//
// A parsed value (a "tree") is made of: strings, true, false, null, JsonNumber (the literal as
// written), arrays of trees, and Maps from key to tree (for objects, in the text's order; a
// repeated key keeps its first place and its last value, as JSON.parse does).

/** A JSON number as written in the text. */
export class JsonNumber {
  constructor(text) {
    this.text = text;
    Object.freeze(this);
  }

  toString() {
    return this.text;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// A run of string characters that need no decoding: no quote, no backslash, no control character.
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const ESCAPES = new Map([['"', '"'], ['\\', '\\'], ['/', '/'], ['b', '\b'], ['f', '\f'], ['n', '\n'], ['r', '\r'], ['t', '\t']]);

/**
 * Parses JSON text (RFC 8259, nothing more: no comments, no trailing commas, no NaN) into a tree.
 * Throws a SyntaxError naming the offset of the first problem.
 */
export function parseJson(text) {
  if (typeof text !== 'string') throw new TypeError('parseJson wants a string');
  let at = 0;

  const fail = (what) => {
    throw new SyntaxError(`${what} at offset ${at} of the JSON text`);
  };

  const space = () => {
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else return;
    }
  };

  const string = () => {
    at++; // the opening quote
    let out = '';
    for (;;) {
      PLAIN.lastIndex = at;
      PLAIN.test(text);
      out += text.slice(at, PLAIN.lastIndex);
      at = PLAIN.lastIndex;
      const c = text[at];
      if (c === '"') {
        at++;
        return out;
      }
      if (c === undefined) fail('unterminated string');
      if (c !== '\\') fail('control character in a string');
      const e = text[at + 1];
      if (e === 'u') {
        const hex = text.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        at += 6;
      } else if (ESCAPES.has(e)) {
        out += ESCAPES.get(e);
        at += 2;
      } else {
        fail('bad escape');
      }
    }
  };

  const literal = (word, value) => {
    if (text.startsWith(word, at)) {
      at += word.length;
      return value;
    }
    return fail('unexpected character');
  };

  const value = () => {
    space();
    const c = text[at];
    if (c === '"') return string();
    if (c === '{') {
      at++;
      const map = new Map();
      space();
      if (text[at] === '}') {
        at++;
        return map;
      }
      for (;;) {
        space();
        if (text[at] !== '"') fail('expected a key');
        const key = string();
        space();
        if (text[at] !== ':') fail('expected ":"');
        at++;
        map.set(key, value());
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') {
          at++;
          return map;
        } else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const list = [];
      space();
      if (text[at] === ']') {
        at++;
        return list;
      }
      for (;;) {
        list.push(value());
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') {
          at++;
          return list;
        } else fail('expected "," or "]"');
      }
    }
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    NUMBER.lastIndex = at;
    if (NUMBER.test(text)) {
      const number = new JsonNumber(text.slice(at, NUMBER.lastIndex));
      at = NUMBER.lastIndex;
      return number;
    }
    return fail(c === undefined ? 'unexpected end' : 'unexpected character');
  };

  const out = value();
  space();
  if (at < text.length) fail('unexpected text after the value');
  return out;
}

/** The tree of a JavaScript value (as JSON.parse gives them); undefined stays undefined. */
export function fromValue(v) {
  if (v === undefined || v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return new JsonNumber(JSON.stringify(v));
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : fromValue(x)));
  if (typeof v === 'object') {
    const map = new Map();
    for (const [k, x] of Object.entries(v)) if (x !== undefined) map.set(k, fromValue(x));
    return map;
  }
  return undefined;
}

/** Whether a tree is an object or an array. */
export const isContainer = (v) => Array.isArray(v) || v instanceof Map;

/** A container's [key, value] pairs: array indexes as numbers, object keys in order. */
export function entriesOf(v) {
  return Array.isArray(v) ? v.map((x, i) => [i, x]) : [...v];
}

/**
 * JSON text of a tree, numbers as written: compact without `indent`, else laid out as
 * JSON.stringify(value, null, indent) lays it out.
 */
export function stringifyJson(tree, indent = 0) {
  const pad = typeof indent === 'number' ? ' '.repeat(Math.min(10, Math.max(0, indent))) : '';
  const write = (v, margin) => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
    if (v instanceof JsonNumber) return v.text;
    if (typeof v === 'number') return JSON.stringify(v);
    if (!Array.isArray(v) && !(v instanceof Map)) return write(fromValue(v), margin);
    const list = Array.isArray(v);
    const items = list ? v : [...v];
    if (items.length === 0) return list ? '[]' : '{}';
    const inner = margin + pad;
    const parts = list
      ? items.map((x) => write(x, inner))
      : items.map(([k, x]) => `${JSON.stringify(k)}:${pad ? ' ' : ''}${write(x, inner)}`);
    const [open, close] = list ? ['[', ']'] : ['{', '}'];
    if (!pad) return `${open}${parts.join(',')}${close}`;
    return `${open}\n${inner}${parts.join(`,\n${inner}`)}\n${margin}${close}`;
  };
  return write(tree, '');
}
