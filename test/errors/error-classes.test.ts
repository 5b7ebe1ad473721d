import { describe, expect, test } from 'vitest';
import {
  CircuitBreakerError,
  ClosedLoopError,
  HttpError,
  IDEMPOTENCY_ERROR_STATUS,
  IdempotencyError,
  type IdempotencyErrorCode,
  NetworkError,
  OfflineQueuedError,
  RetryExhaustedError,
  TimeoutError,
} from '../../src/index.js';

const delivery = Promise.resolve({ status: 201 });

const cases: Array<{ name: string; make: () => ClosedLoopError; code: string }> = [
  { name: 'ClosedLoopError', make: () => new ClosedLoopError('base', 'SOMETHING'), code: 'SOMETHING' },
  { name: 'HttpError', make: () => new HttpError(503), code: 'HTTP_ERROR' },
  { name: 'NetworkError', make: () => new NetworkError(), code: 'NETWORK_ERROR' },
  { name: 'TimeoutError', make: () => new TimeoutError(100), code: 'TIMEOUT' },
  { name: 'RetryExhaustedError', make: () => new RetryExhaustedError(3, new Error('last')), code: 'RETRY_EXHAUSTED' },
  { name: 'CircuitBreakerError', make: () => new CircuitBreakerError('OPEN', 1_000), code: 'CIRCUIT_OPEN' },
  { name: 'IdempotencyError', make: () => new IdempotencyError('KEY_IN_USE'), code: 'KEY_IN_USE' },
  { name: 'OfflineQueuedError', make: () => new OfflineQueuedError('item-1', 'key-1', delivery), code: 'OFFLINE_QUEUED' },
];

describe.each(cases)('$name', ({ name, make, code }) => {
  test('extends ClosedLoopError and Error', () => {
    const error = make();
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(ClosedLoopError);
  });

  test(`has name ${name} and a string code`, () => {
    const error = make();
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(typeof error.code).toBe('string');
    expect(String(error).startsWith(`${name}: `)).toBe(true);
  });

  test('has a message and a stack', () => {
    const error = make();
    expect(typeof error.message).toBe('string');
    expect(error.message.length).toBeGreaterThan(0);
    expect(typeof error.stack).toBe('string');
  });
});

describe('cause', () => {
  test('is absent when not given', () => {
    for (const error of [new ClosedLoopError('m', 'C'), new HttpError(500), new NetworkError(), new TimeoutError(1)]) {
      expect('cause' in error).toBe(false);
      expect(error.cause).toBeUndefined();
    }
  });

  test('is kept when given', () => {
    const root = new TypeError('fetch failed');
    expect(new ClosedLoopError('m', 'C', { cause: root }).cause).toBe(root);
    expect(new HttpError(500, { cause: root }).cause).toBe(root);
    expect(new NetworkError('offline', { cause: root }).cause).toBe(root);
    expect(new TimeoutError(5, undefined, { cause: root }).cause).toBe(root);
    expect(new IdempotencyError('STORE_UNAVAILABLE', undefined, { cause: root }).cause).toBe(root);
    expect(new OfflineQueuedError('i', 'k', delivery, { cause: root }).cause).toBe(root);
  });
});

describe('retryable', () => {
  test('is undefined unless given', () => {
    expect(new ClosedLoopError('m', 'C').retryable).toBeUndefined();
    expect(new ClosedLoopError('m', 'C', { retryable: false }).retryable).toBe(false);
    expect(new ClosedLoopError('m', 'C', { retryable: true }).retryable).toBe(true);
  });

  test('is false for RetryExhaustedError and (by default) OfflineQueuedError', () => {
    expect(new RetryExhaustedError(2, new Error('x')).retryable).toBe(false);
    expect(new OfflineQueuedError('i', 'k', delivery).retryable).toBe(false);
  });
});

describe('HttpError', () => {
  test('carries status, body and a default message', () => {
    const body = { title: 'Service Unavailable' };
    const error = new HttpError(503, { body });
    expect(error.status).toBe(503);
    expect(error.body).toBe(body);
    expect(error.message).toBe('HTTP 503');
    expect(error.retryAfterMs).toBeUndefined();
    expect(new HttpError(404, { message: 'not here' }).message).toBe('not here');
  });

  test('headers from a Headers object have lower-cased names', () => {
    const headers = new Headers({ 'Content-Type': 'application/json', 'X-Request-ID': 'abc' });
    const error = new HttpError(500, { headers });
    expect(error.headers).toEqual({ 'content-type': 'application/json', 'x-request-id': 'abc' });
  });

  test('headers from a record have lower-cased names; lists are joined, undefined dropped', () => {
    const error = new HttpError(500, {
      headers: { 'Content-Type': 'text/plain', 'X-Many': ['a', 'b'], 'X-None': undefined },
    });
    expect(error.headers).toEqual({ 'content-type': 'text/plain', 'x-many': 'a, b' });
  });

  test('headers default to an empty record', () => {
    expect(new HttpError(500).headers).toEqual({});
  });

  test('retryAfterMs comes from Retry-After seconds', () => {
    expect(new HttpError(429, { headers: { 'Retry-After': '120' } }).retryAfterMs).toBe(120_000);
    expect(new HttpError(503, { headers: new Headers({ 'retry-after': '0' }) }).retryAfterMs).toBe(0);
  });

  test('retryAfterMs comes from a Retry-After HTTP-date, measured from `now`', () => {
    const now = Date.UTC(2015, 9, 21, 7, 27, 30);
    const error = new HttpError(503, { headers: { 'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT' }, now });
    expect(error.retryAfterMs).toBe(30_000);
  });

  test('an explicit retryAfterMs wins over the header', () => {
    expect(new HttpError(429, { headers: { 'Retry-After': '120' }, retryAfterMs: 5 }).retryAfterMs).toBe(5);
  });

  test('an unreadable Retry-After leaves retryAfterMs undefined', () => {
    const error = new HttpError(503, { headers: { 'Retry-After': 'soon' } });
    expect(error.retryAfterMs).toBeUndefined();
  });
});

describe('NetworkError', () => {
  test('carries the fetch failure as cause and a default message', () => {
    const failure = new TypeError('Failed to fetch');
    const error = new NetworkError(undefined, { cause: failure });
    expect(error.cause).toBe(failure);
    expect(error.message).toBe('Network request failed');
    expect(new NetworkError('DNS lookup failed').message).toBe('DNS lookup failed');
  });
});

describe('TimeoutError', () => {
  test('carries timeoutMs', () => {
    const error = new TimeoutError(2_500);
    expect(error.timeoutMs).toBe(2_500);
    expect(error.message).toContain('2500');
    expect(new TimeoutError(1, 'custom').message).toBe('custom');
  });
});

describe('RetryExhaustedError', () => {
  test('carries attempts and the last error as cause', () => {
    const last = new HttpError(503);
    const error = new RetryExhaustedError(4, last);
    expect(error.attempts).toBe(4);
    expect(error.cause).toBe(last);
    expect(error.message).toContain('4 attempts');
    expect(error.message).toContain('HTTP 503');
    expect(new RetryExhaustedError(1, 'plain').message).toContain('1 attempt:');
  });
});

describe('CircuitBreakerError', () => {
  test('carries state, retryAfterMs and the breaker name', () => {
    const error = new CircuitBreakerError('HALF_OPEN', 1_500, 'payments');
    expect(error.state).toBe('HALF_OPEN');
    expect(error.retryAfterMs).toBe(1_500);
    expect(error.breakerName).toBe('payments');
    expect(error.message).toContain('HALF_OPEN');
    expect(new CircuitBreakerError('OPEN', 0).breakerName).toBeUndefined();
  });
});

describe('IdempotencyError', () => {
  const expected: Array<[IdempotencyErrorCode, number]> = [
    ['KEY_MISSING', 400],
    ['KEY_INVALID', 400],
    ['KEY_IN_USE', 409],
    ['KEY_MISMATCH', 422],
    ['STORE_UNAVAILABLE', 503],
  ];

  test.each(expected)('%s answers with status %i', (code, status) => {
    const error = new IdempotencyError(code);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.message.length).toBeGreaterThan(0);
    expect(IDEMPOTENCY_ERROR_STATUS[code]).toBe(status);
  });

  test('the status table is frozen and complete', () => {
    expect(Object.isFrozen(IDEMPOTENCY_ERROR_STATUS)).toBe(true);
    expect(Object.keys(IDEMPOTENCY_ERROR_STATUS).sort()).toEqual(expected.map(([c]) => c).sort());
  });

  test('takes a custom message', () => {
    expect(new IdempotencyError('KEY_INVALID', 'too long').message).toBe('too long');
  });
});

describe('OfflineQueuedError', () => {
  test('carries itemId, idempotencyKey and the delivery promise', async () => {
    let deliver!: (value: string) => void;
    const pending = new Promise<string>((resolve) => {
      deliver = resolve;
    });
    const error = new OfflineQueuedError('item-7', 'key-7', pending);
    expect(error.itemId).toBe('item-7');
    expect(error.idempotencyKey).toBe('key-7');
    expect(error.delivery).toBe(pending);
    deliver('delivered');
    await expect(error.delivery).resolves.toBe('delivered');
  });
});
