import { describe, expect, test } from 'vitest';
import { IdempotencyError, isIdempotencyError, parseIdempotencyKey } from '../../src/index.js';

/** Asserts that parsing `value` fails with KEY_INVALID (400), and returns the error. */
function expectInvalid(value: Parameters<typeof parseIdempotencyKey>[0], options?: { maxLength?: number }): IdempotencyError {
  let caught: unknown;
  try {
    const key = parseIdempotencyKey(value, options);
    caught = new Error(`accepted ${JSON.stringify(value)} as ${JSON.stringify(key)}`);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(IdempotencyError);
  expect(isIdempotencyError(caught)).toBe(true);
  const error = caught as IdempotencyError;
  expect(error.code).toBe('KEY_INVALID');
  expect(error.status).toBe(400);
  expect(error.name).toBe('IdempotencyError');
  return error;
}

describe('parseIdempotencyKey: accepted forms', () => {
  test('a bare token is the key as it is', () => {
    expect(parseIdempotencyKey('abc')).toBe('abc');
    expect(parseIdempotencyKey('01936f0e-8d4b-7c3a-9f1e-2b5d8a6c4e10')).toBe('01936f0e-8d4b-7c3a-9f1e-2b5d8a6c4e10');
    expect(parseIdempotencyKey('order:42/attempt_1.x~y')).toBe('order:42/attempt_1.x~y');
  });

  test('the structured-field string "abc" means abc', () => {
    expect(parseIdempotencyKey('"abc"')).toBe('abc');
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
  });

  test('an sf-string may hold spaces, commas and the escapes \\" and \\\\', () => {
    expect(parseIdempotencyKey('"a b"')).toBe('a b');
    expect(parseIdempotencyKey('"a,b"')).toBe('a,b');
    expect(parseIdempotencyKey(String.raw`"say \"hi\""`)).toBe('say "hi"');
    expect(parseIdempotencyKey(String.raw`"back\\slash"`)).toBe('back\\slash');
    expect(parseIdempotencyKey(String.raw`"\\\""`)).toBe('\\"');
  });

  test('spaces and tabs around the value are trimmed (bare and quoted)', () => {
    expect(parseIdempotencyKey('  abc  ')).toBe('abc');
    expect(parseIdempotencyKey('\tabc\t')).toBe('abc');
    expect(parseIdempotencyKey(' \t"abc" \t')).toBe('abc');
    // Inside the quotes, spaces are part of the key.
    expect(parseIdempotencyKey('" abc "')).toBe(' abc ');
  });

  test('undefined, null and an empty list mean no header: undefined', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey(null)).toBeUndefined();
    expect(parseIdempotencyKey([])).toBeUndefined();
  });

  test('a list of one value is that value', () => {
    expect(parseIdempotencyKey(['abc'])).toBe('abc');
    expect(parseIdempotencyKey(['"abc"'])).toBe('abc');
  });
});

describe('parseIdempotencyKey: length', () => {
  test('255 characters is the default limit; 256 is KEY_INVALID', () => {
    expect(parseIdempotencyKey('k'.repeat(255))).toBe('k'.repeat(255));
    expectInvalid('k'.repeat(256));
  });

  test('maxLength moves the boundary', () => {
    expect(parseIdempotencyKey('k'.repeat(10), { maxLength: 10 })).toBe('k'.repeat(10));
    expectInvalid('k'.repeat(11), { maxLength: 10 });
    expect(parseIdempotencyKey('k'.repeat(1000), { maxLength: 1000 })).toBe('k'.repeat(1000));
    expectInvalid('k'.repeat(1001), { maxLength: 1000 });
  });

  test('a quoted key is measured without its quotes and escapes', () => {
    expect(parseIdempotencyKey(`"${'k'.repeat(255)}"`)).toBe('k'.repeat(255));
    expectInvalid(`"${'k'.repeat(256)}"`);
    // 9 characters once unescaped, 10 raw.
    expect(parseIdempotencyKey(String.raw`"\"${'k'.repeat(9)}"`, { maxLength: 10 })).toBe(`"${'k'.repeat(9)}`);
    expectInvalid(String.raw`"\"${'k'.repeat(10)}"`, { maxLength: 10 });
  });

  test('surrounding whitespace does not count toward the length', () => {
    expect(parseIdempotencyKey(`   ${'k'.repeat(255)}   `)).toBe('k'.repeat(255));
  });
});

describe('parseIdempotencyKey: KEY_INVALID (400)', () => {
  test('an empty value', () => {
    expectInvalid('');
    expectInvalid(['']);
  });

  test('whitespace only', () => {
    expectInvalid('   ');
    expectInvalid('\t');
  });

  test('an empty sf-string ""', () => {
    expectInvalid('""');
    expectInvalid('  ""  ');
  });

  test('control characters, bare or quoted', () => {
    for (const value of ['ab\x00c', 'ab\x01c', 'ab\x1fc', 'ab\x7fc', 'ab\tc', 'ab\nc', 'ab\rc']) {
      expectInvalid(value);
      expectInvalid(`"${value}"`);
    }
  });

  test('control characters at either end are not trimmed away', () => {
    // Only spaces and tabs are optional whitespace in a header value.
    for (const value of ['\x0babc', 'abc\x0b', '\fabc', 'abc\f', '\nabc', 'abc\r\n', '\x00abc', 'abc\x00']) {
      expectInvalid(value);
    }
  });

  test('non-ASCII characters, bare or quoted', () => {
    for (const value of ['clé', 'キー', 'key🔑', 'a\u00a0b']) {
      expectInvalid(value);
      expectInvalid(`"${value}"`);
    }
  });

  test('non-ASCII whitespace at either end is not trimmed away', () => {
    for (const value of ['\u00a0abc', 'abc\u00a0', '\ufeffabc', 'abc\u2028', '\u3000abc']) {
      expectInvalid(value);
    }
  });

  test('a space inside a bare token', () => {
    expectInvalid('a b');
  });

  test('a comma list of two values: a, b', () => {
    expectInvalid('a, b');
    expectInvalid('a,b');
    expectInvalid('abc,');
  });

  test('two quoted values', () => {
    expectInvalid('"a", "b"');
    expectInvalid('"a","b"');
  });

  test('a list (repeated header) of two values, even two equal ones', () => {
    expectInvalid(['a', 'b']);
    expectInvalid(['abc', 'abc']);
    expectInvalid(['"a"', '"b"']);
  });

  test('an unterminated quote', () => {
    expectInvalid('"abc');
    expectInvalid('"');
    expectInvalid(String.raw`"abc\"`);
  });

  test('a bad escape in an sf-string', () => {
    expectInvalid(String.raw`"a\nb"`);
    expectInvalid(String.raw`"a\x"`);
    expectInvalid(String.raw`"a\u0041"`);
  });

  test('characters after the closing quote', () => {
    expectInvalid('"abc"def');
    expectInvalid('"abc" x');
  });

  test('the message says what was wrong', () => {
    expect(expectInvalid('k'.repeat(300)).message).toMatch(/longer than 255/);
    expect(expectInvalid('a, b').message).toMatch(/more than one/);
    expect(expectInvalid(['a', 'b']).message).toMatch(/more than one/);
    expect(expectInvalid('"abc').message).toMatch(/not terminated/);
  });
});
