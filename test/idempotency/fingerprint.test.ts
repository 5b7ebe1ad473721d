import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { fingerprintRequest } from '../../src/index.js';
import { sha256, sha256Hex } from '../../src/idempotency/sha256.js';

const fp = (body: unknown, method = 'POST', path = '/orders') => fingerprintRequest({ method, path, body });
const HEX64 = /^[0-9a-f]{64}$/;
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('fingerprintRequest: shape', () => {
  test('64 lower-case hex characters, computed synchronously', () => {
    const result = fingerprintRequest({ method: 'POST', path: '/orders', body: { a: 1 } });
    expect(typeof result).toBe('string');
    expect(result).toMatch(HEX64);
  });

  test('the same request always gives the same fingerprint', () => {
    expect(fp({ a: 1, b: [1, 2] })).toBe(fp({ a: 1, b: [1, 2] }));
  });
});

describe('fingerprintRequest: canonical JSON', () => {
  test('object key order does not matter, at any depth', () => {
    expect(fp({ a: 1, b: 2 })).toBe(fp({ b: 2, a: 1 }));
    expect(fp({ outer: { x: 1, y: { p: true, q: null } }, list: [{ m: 1, n: 2 }] })).toBe(
      fp({ list: [{ n: 2, m: 1 }], outer: { y: { q: null, p: true }, x: 1 } }),
    );
  });

  test('raw JSON text and the parsed object give the same fingerprint, whatever the whitespace', () => {
    const parsed = { amount: 100, currency: 'EUR', items: [{ sku: 'a', qty: 2 }] };
    const texts = [
      JSON.stringify(parsed),
      JSON.stringify(parsed, null, 2),
      '{"items":[{"qty":2,"sku":"a"}],"currency":"EUR","amount":100}',
      ' \n\t{ "currency" : "EUR" ,\r\n "amount":100, "items" : [ { "sku":"a" , "qty" : 2 } ] }\n ',
    ];
    for (const text of texts) {
      expect(fp(text), text).toBe(fp(parsed));
      expect(fp(utf8(text)), text).toBe(fp(parsed));
    }
  });

  test('escapes in JSON text do not matter: "\\u0061" is "a"', () => {
    expect(fp('{"k":"\\u0061\\/"}')).toBe(fp({ k: 'a/' }));
    expect(fp('{"\\u006b":1}')).toBe(fp({ k: 1 }));
  });

  test('number spelling in JSON text does not matter: 1e2, 100.0 and 100 are one number', () => {
    expect(fp('{"n":1e2}')).toBe(fp({ n: 100 }));
    expect(fp('{"n":100.0}')).toBe(fp({ n: 100 }));
  });

  test('arrays keep their order', () => {
    expect(fp([1, 2, 3])).not.toBe(fp([3, 2, 1]));
    expect(fp({ list: ['a', 'b'] })).not.toBe(fp({ list: ['b', 'a'] }));
    expect(fp('[1,2,3]')).toBe(fp([1, 2, 3]));
  });

  test('different values give different fingerprints', () => {
    expect(fp({ a: 1 })).not.toBe(fp({ a: 2 }));
    expect(fp({ a: 1 })).not.toBe(fp({ a: '1' }));
    expect(fp({ a: 1 })).not.toBe(fp({ b: 1 }));
    expect(fp({ a: 1 })).not.toBe(fp({ a: 1, b: 2 }));
    expect(fp({ a: null })).not.toBe(fp({}));
    expect(fp({})).not.toBe(fp([]));
    expect(fp({ a: [1, [2, 3]] })).not.toBe(fp({ a: [[1, 2], 3] }));
  });

  test('top-level numbers, booleans and null: the value and its JSON text fingerprint equally', () => {
    for (const value of [0, 5, -1.5, 1e21, true, false]) {
      expect(fp(JSON.stringify(value)), String(value)).toBe(fp(value));
      expect(fp(` ${JSON.stringify(value)}\n`), String(value)).toBe(fp(value));
    }
    expect(fp('null')).toBe(fp(null));
    expect(fp(5)).not.toBe(fp(6));
    expect(fp(true)).not.toBe(fp(false));
    expect(fp(0)).not.toBe(fp(false));
  });

  test('values JSON cannot hold are dropped from objects and become null in arrays, as in JSON.stringify', () => {
    expect(fp({ a: 1, skip: undefined, fn: () => 1, sym: Symbol('s') })).toBe(fp({ a: 1 }));
    expect(fp([1, undefined, () => 1])).toBe(fp([1, null, null]));
    expect(fp({ a: 1, skip: undefined })).toBe(fp('{"a":1}'));
  });

  test('toJSON is honoured (a Date becomes its ISO string)', () => {
    const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    expect(fp({ at })).toBe(fp({ at: '2024-01-02T03:04:05.006Z' }));
    expect(fp({ at })).toBe(fp('{"at":"2024-01-02T03:04:05.006Z"}'));
    expect(fp({ at })).not.toBe(fp({ at: new Date(at.getTime() + 1) }));
    const custom = { toJSON: () => ({ b: 2, a: 1 }) };
    expect(fp({ v: custom })).toBe(fp({ v: { a: 1, b: 2 } }));
  });
});

describe('fingerprintRequest: method and path', () => {
  test('the method is case-insensitive', () => {
    expect(fp({ a: 1 }, 'post')).toBe(fp({ a: 1 }, 'POST'));
    expect(fp({ a: 1 }, 'Patch')).toBe(fp({ a: 1 }, 'PATCH'));
  });

  test('the method changes it', () => {
    expect(fp({ a: 1 }, 'POST')).not.toBe(fp({ a: 1 }, 'PUT'));
    expect(fp(undefined, 'POST')).not.toBe(fp(undefined, 'DELETE'));
  });

  test('the path changes it, case included', () => {
    expect(fp({ a: 1 }, 'POST', '/orders')).not.toBe(fp({ a: 1 }, 'POST', '/payments'));
    expect(fp({ a: 1 }, 'POST', '/orders/1')).not.toBe(fp({ a: 1 }, 'POST', '/orders/2'));
    expect(fp({ a: 1 }, 'POST', '/orders')).not.toBe(fp({ a: 1 }, 'POST', '/Orders'));
    expect(fp({ a: 1 }, 'POST', '/orders')).not.toBe(fp({ a: 1 }, 'POST', '/orders/'));
  });

  test('the query string is the caller\'s to strip: the path is hashed exactly as given', () => {
    // The Express adapter passes req.baseUrl + req.path (no query); fingerprintRequest does not parse it.
    expect(fp({ a: 1 }, 'POST', '/orders?x=1')).not.toBe(fp({ a: 1 }, 'POST', '/orders'));
    expect(fp({ a: 1 }, 'POST', '/orders?x=1')).toBe(fp({ a: 1 }, 'POST', '/orders?x=1'));
  });

  test('method, path and body cannot be shifted into each other', () => {
    expect(fingerprintRequest({ method: 'POST', path: '/a', body: 'b' })).not.toBe(
      fingerprintRequest({ method: 'POST', path: '/ab', body: undefined }),
    );
    expect(fingerprintRequest({ method: 'POST', path: '/', body: undefined })).not.toBe(
      fingerprintRequest({ method: 'POS', path: 'T/', body: undefined }),
    );
  });
});

describe('fingerprintRequest: body forms', () => {
  test('a Uint8Array body holding JSON equals the parsed object', () => {
    expect(fp(utf8('{"b":2,"a":1}'))).toBe(fp({ a: 1, b: 2 }));
  });

  test('a Uint8Array view is read from its offset, not from the start of its buffer', () => {
    const whole = utf8('XXXX{"a":1}YYYY');
    const view = whole.subarray(4, 11);
    expect(fp(view)).toBe(fp({ a: 1 }));
  });

  test('a Uint8Array of text equals the same string', () => {
    expect(fp(utf8('hello world'))).toBe(fp('hello world'));
    expect(fp(utf8('grüße'))).toBe(fp('grüße'));
  });

  test('binary bodies that are not UTF-8 are told apart byte by byte', () => {
    // A lossy decode turns every invalid byte into U+FFFD, which would make these equal.
    const a = new Uint8Array([0xff, 0x00, 0x10]);
    const b = new Uint8Array([0xfe, 0x00, 0x10]);
    const c = new Uint8Array([0x80, 0x00, 0x10]);
    expect(fp(a)).toMatch(HEX64);
    expect(fp(a)).not.toBe(fp(b));
    expect(fp(a)).not.toBe(fp(c));
    expect(fp(b)).not.toBe(fp(c));
    expect(fp(a)).toBe(fp(new Uint8Array([0xff, 0x00, 0x10])));
    // Nor does a binary body equal the text a lossy decode would give.
    expect(fp(a)).not.toBe(fp('\ufffd\u0000\u0010'));
  });

  test('an ArrayBuffer or DataView body is bytes too, not an empty object', () => {
    const one = new Uint8Array([1, 2, 3]).buffer;
    const two = new Uint8Array([1, 2, 4]).buffer;
    expect(fp(one)).not.toBe(fp(two));
    expect(fp(one)).not.toBe(fp({}));
    expect(fp(one)).toBe(fp(new Uint8Array([1, 2, 3])));
    expect(fp(new DataView(one))).toBe(fp(new Uint8Array([1, 2, 3])));
    expect(fp(utf8('{"b":1,"a":2}').buffer)).toBe(fp({ a: 2, b: 1 }));
  });

  test('non-JSON text is hashed as it is: whitespace and case matter there', () => {
    expect(fp('hello')).toMatch(HEX64);
    expect(fp('hello')).not.toBe(fp('Hello'));
    expect(fp('hello')).not.toBe(fp('hello '));
    expect(fp('a=1&b=2')).not.toBe(fp('b=2&a=1'));
    expect(fp('hello')).toBe(fp('hello'));
  });

  test('text that only looks like JSON is hashed as text, not rejected', () => {
    expect(fp('{not json')).toMatch(HEX64);
    expect(fp('{not json')).not.toBe(fp('{not  json'));
    expect(fp('[1, 2')).not.toBe(fp([1, 2]));
  });

  test('no body: undefined, an empty string and empty bytes are the same', () => {
    const none = fp(undefined);
    expect(fp('')).toBe(none);
    expect(fp(new Uint8Array(0))).toBe(none);
    expect(fingerprintRequest({ method: 'POST', path: '/orders' })).toBe(none);
  });

  test('null (JSON null) is the same as no body, as the text "null" is', () => {
    expect(fp(null)).toBe(fp(undefined));
    expect(fp('null')).toBe(fp(null));
  });

  test('an empty body differs from an empty object, an empty array, an empty string value and zero', () => {
    const none = fp(undefined);
    expect(fp({})).not.toBe(none);
    expect(fp('{}')).not.toBe(none);
    expect(fp([])).not.toBe(none);
    expect(fp('""')).not.toBe(none);
    expect(fp(0)).not.toBe(none);
    expect(fp(false)).not.toBe(none);
  });

  test('whitespace-only text is no body', () => {
    expect(fp('  \n ')).toBe(fp(undefined));
  });
});

describe('fingerprintRequest: hostile bodies', () => {
  function nestedArray(depth: number): unknown {
    let value: unknown = [];
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  }
  function nestedObject(depth: number): unknown {
    let value: unknown = {};
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  }

  test('ordinary nesting (200 levels) is fine', () => {
    expect(fp(nestedArray(200))).toMatch(HEX64);
    expect(fp(nestedObject(200))).toMatch(HEX64);
    expect(fp(nestedObject(200))).toBe(fp(JSON.stringify(nestedObject(200))));
  });

  test('a body nested too deeply throws a TypeError, not a stack overflow', () => {
    for (const body of [nestedArray(1000), nestedObject(1000), nestedObject(100_000)]) {
      let caught: unknown;
      try {
        fp(body);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TypeError);
      expect((caught as Error).message).toMatch(/nested too deeply/);
    }
  });

  test('a cyclic object throws a TypeError, not a stack overflow', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => fp(cyclic)).toThrow(TypeError);
  });

  test('deeply nested JSON text does not crash: it is fingerprinted (as text)', () => {
    const depth = 100_000;
    const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const other = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    expect(fp(text)).toMatch(HEX64);
    expect(fp(text)).not.toBe(fp(other));
  });
});

// --- property: a JSON value and any serialisation of it fingerprint the same ----------------

/** A small seeded PRNG (mulberry32), so fast-check can shrink and replay a serialisation. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON text of `value` with shuffled keys, random JSON whitespace and random \\u escapes in strings. */
function scramble(value: unknown, random: () => number): string {
  const ws = () => {
    let out = '';
    while (random() < 0.3) out += [' ', '\n', '\t', '\r'][Math.floor(random() * 4)]!;
    return out;
  };
  const str = (s: string) => {
    let out = '"';
    for (const ch of JSON.stringify(s).slice(1, -1).match(/\\u[0-9a-fA-F]{4}|\\.|[\s\S]/g) ?? []) {
      if (ch.length === 1 && random() < 0.2) {
        out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
      } else {
        out += ch;
      }
    }
    return `${out}"`;
  };
  const go = (v: unknown): string => {
    if (v === null || typeof v !== 'object') return typeof v === 'string' ? str(v) : JSON.stringify(v);
    if (Array.isArray(v)) return `[${ws()}${v.map((item) => `${ws()}${go(item)}${ws()}`).join(',')}${ws()}]`;
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    const entries = keys.map((k) => `${ws()}${str(k)}${ws()}:${ws()}${go((v as Record<string, unknown>)[k])}${ws()}`);
    return `{${entries.join(',')}${ws()}}`;
  };
  return `${ws()}${go(value)}${ws()}`;
}

describe('fingerprintRequest: property', () => {
  // A top-level string is excluded: a string body means raw text (see the tests above), so the
  // value "abc" and the JSON text "\"abc\"" are different bodies by design.
  const body = fc.jsonValue().filter((v) => typeof v !== 'string');

  test('a random JSON value and a key-shuffled, re-spaced serialisation of it fingerprint equally', () => {
    fc.assert(
      fc.property(body, fc.integer(), fc.constantFrom('POST', 'put', 'Patch'), (value, seed, method) => {
        const text = scramble(value, prng(seed));
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        const expected = fingerprintRequest({ method, path: '/p', body: value });
        expect(fingerprintRequest({ method: method.toUpperCase(), path: '/p', body: text })).toBe(expected);
        expect(fingerprintRequest({ method, path: '/p', body: utf8(text) })).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  test('two different JSON values fingerprint differently', () => {
    fc.assert(
      fc.property(body, body, (a, b) => {
        fc.pre(canonical(a) !== canonical(b));
        expect(fp(a)).not.toBe(fp(b));
      }),
      { numRuns: 300 },
    );
  });
});

/** A reference canonical text: keys sorted at every depth (written out, so a "__proto__" key survives). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`)
    .join(',')}}`;
}

// --- SHA-256 ---------------------------------------------------------------------------------

describe('sha256Hex: FIPS 180-4 / NIST known answers', () => {
  test('the empty string', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test('"abc"', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('the 448-bit message', () => {
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  test('the 896-bit message', () => {
    expect(
      sha256Hex(
        'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      ),
    ).toBe('cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1');
  });

  test('one million "a"', () => {
    expect(sha256Hex('a'.repeat(1_000_000))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  test('strings are hashed as UTF-8', () => {
    expect(sha256Hex('grüße')).toBe(sha256Hex(new TextEncoder().encode('grüße')));
    expect(sha256Hex('€')).toBe(sha256Hex(new Uint8Array([0xe2, 0x82, 0xac])));
  });
});

describe('sha256Hex: agrees with WebCrypto', () => {
  async function subtleHex(data: Uint8Array): Promise<string> {
    const copy = new Uint8Array(data); // a plain ArrayBuffer-backed copy for digest()
    const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', copy));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  test('every length around the padding boundaries (0..200 bytes)', async () => {
    for (let length = 0; length <= 200; length++) {
      const data = new Uint8Array(length);
      for (let i = 0; i < length; i++) data[i] = (i * 131 + length * 7) & 0xff;
      expect(sha256Hex(data), `length ${length}`).toBe(await subtleHex(data));
    }
  });

  test('random byte strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (data) => {
        expect(sha256Hex(data)).toBe(await subtleHex(data));
      }),
      { numRuns: 200 },
    );
  });

  test('a view with an offset hashes only its own bytes', async () => {
    const whole = new Uint8Array(300).map((_, i) => i & 0xff);
    const view = whole.subarray(17, 250);
    expect(sha256Hex(view)).toBe(await subtleHex(view));
  });
});

describe('sha256: the runtime\'s own SHA-256 where it has one, else sha256Hex', () => {
  test('gives the same hex as the pure-JS one for text and bytes (Node: crypto.hash; Chromium: the pure-JS one)', () => {
    const inputs: Array<string | Uint8Array> = ['', 'abc', 'é€😀', 'x'.repeat(1000), new Uint8Array([0, 255, 128, 7]), new Uint8Array(0)];
    for (const input of inputs) expect(sha256(input)).toBe(sha256Hex(input));
  });
});
