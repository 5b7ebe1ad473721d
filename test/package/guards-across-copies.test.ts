// Node only (test/package is not in the browser project): builds the core as CommonJS, the way the
// published `require` entry is built, loads that copy with `require` next to the ESM source, and
// checks that each copy's guards recognise the other copy's errors.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as esm from '../../src/index.js';
import { buildCoreCopy } from './build-core-copy.js';

type Core = typeof esm;

let copy: Awaited<ReturnType<typeof buildCoreCopy>> | undefined;
let cjs: Core;

beforeAll(async () => {
  copy = await buildCoreCopy('cjs');
  cjs = createRequire(import.meta.url)(join(copy.dir, 'index.cjs')) as Core;
}, 60_000);

afterAll(() => copy?.remove());

function make(core: Core) {
  return {
    ClosedLoopError: new core.ClosedLoopError('m', 'C'),
    HttpError: new core.HttpError(503),
    NetworkError: new core.NetworkError(),
    TimeoutError: new core.TimeoutError(1),
    RetryExhaustedError: new core.RetryExhaustedError(2, new Error('x')),
    CircuitBreakerError: new core.CircuitBreakerError('OPEN', 1),
    IdempotencyError: new core.IdempotencyError('KEY_IN_USE'),
    OfflineQueuedError: new core.OfflineQueuedError('i', 'k', Promise.resolve()),
  };
}

const kinds = [
  'HttpError',
  'NetworkError',
  'TimeoutError',
  'RetryExhaustedError',
  'CircuitBreakerError',
  'IdempotencyError',
  'OfflineQueuedError',
] as const;

describe('guards across an ESM copy and a CommonJS copy of the package', () => {
  test('the CommonJS copy really is another copy', () => {
    expect(cjs.HttpError).not.toBe(esm.HttpError);
    expect(new cjs.HttpError(500)).not.toBeInstanceOf(esm.HttpError);
  });

  test.each([
    ['ESM guards on CommonJS errors', () => esm, () => cjs],
    ['CommonJS guards on ESM errors', () => cjs, () => esm],
  ])('%s', (_label, guardsOf, errorsOf) => {
    const guards = guardsOf();
    const errors = make(errorsOf());
    for (const [made, error] of Object.entries(errors)) {
      expect(guards.isClosedLoopError(error), `isClosedLoopError(${made})`).toBe(true);
      for (const kind of kinds) {
        const guard = guards[`is${kind}`] as (v: unknown) => boolean;
        expect(guard(error), `is${kind}(${made})`).toBe(kind === made);
      }
    }
  });

  test('a subclass of a CommonJS class passes the ESM guard', () => {
    class Gone extends cjs.HttpError {
      constructor() {
        super(410);
      }
    }
    expect(esm.isHttpError(new Gone())).toBe(true);
    expect(esm.isNetworkError(new Gone())).toBe(false);
  });

  test('a CircuitBreaker from one copy rejects with an error the other copy recognises', async () => {
    const breaker = new cjs.CircuitBreaker({ failureThreshold: 1, clock: new esm.ManualClock() });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    const error = await breaker.execute(() => 'never').catch((e: unknown) => e);
    expect(esm.isCircuitBreakerError(error)).toBe(true);
    expect(error).not.toBeInstanceOf(esm.CircuitBreakerError);
  });
});
