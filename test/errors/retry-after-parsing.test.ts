import { describe, expect, test } from 'vitest';
import { HttpError, parseRetryAfter } from '../../src/index.js';

const NOW = Date.UTC(1994, 10, 6, 8, 49, 0); // Sun, 06 Nov 1994 08:49:00 GMT

describe('parseRetryAfter: delay-seconds', () => {
  test.each([
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    ['  5  ', 5_000],
    ['86400', 86_400_000],
  ])('%j → %i ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  test('does not depend on now', () => {
    expect(parseRetryAfter('3', 0)).toBe(3_000);
    expect(parseRetryAfter('3', NOW)).toBe(3_000);
  });
});

describe('parseRetryAfter: HTTP-date', () => {
  test('IMF-fixdate, measured from now', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(37_000);
  });

  test('the obsolete RFC 850 form', () => {
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(37_000);
  });

  test('the obsolete asctime form, which is GMT whatever the local time zone', () => {
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', NOW)).toBe(37_000);
  });

  test('a date in the past means no wait, never a negative one', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:48:00 GMT', NOW)).toBe(0);
  });

  test('a date far ahead is kept as it is (capping is the caller\'s job)', () => {
    expect(parseRetryAfter('Mon, 07 Nov 1994 08:49:00 GMT', NOW)).toBe(86_400_000);
  });
});

describe('parseRetryAfter: unreadable values give undefined', () => {
  test.each([
    ['null', null],
    ['undefined', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['a word', 'soon'],
    ['negative seconds', '-5'],
    ['signed seconds', '+5'],
    ['exponent', '1e3'],
    ['hex', '0x10'],
    ['an ISO date', '2030-01-01T00:00:00Z'],
    ['a word and a number', 'foo 12'],
    ['dotted numbers', '1.5.3'],
    ['a time without a date', '08:49:37'],
    ['Infinity', 'Infinity'],
  ])('%s', (_label, value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('HttpError reads Retry-After', () => {
  test('from a Headers object, any case', () => {
    expect(new HttpError(503, { headers: new Headers({ 'RETRY-AFTER': '7' }) }).retryAfterMs).toBe(7_000);
  });

  test('from a record, any case', () => {
    expect(new HttpError(429, { headers: { 'retry-AFTER': '2' } }).retryAfterMs).toBe(2_000);
  });

  test('an HTTP-date relative to the given now', () => {
    const error = new HttpError(503, { headers: { 'Retry-After': 'Sun, 06 Nov 1994 08:50:00 GMT' }, now: NOW });
    expect(error.retryAfterMs).toBe(60_000);
  });

  test('garbage gives no retryAfterMs, so the caller falls back to its own backoff', () => {
    expect(new HttpError(503, { headers: { 'Retry-After': '-5' } }).retryAfterMs).toBeUndefined();
  });
});
