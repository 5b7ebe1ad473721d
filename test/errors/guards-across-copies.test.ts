// Node only: the browser project's module runner keeps one instance per module URL (vi.resetModules
// does not evaluate the errors again there), so a second copy of the package can only be loaded
// here, as an app does when it loads the package once by `import` and once by `require`.
import { describe, expect, test, vi } from 'vitest';
import * as core from '../../src/index.js';
import { CircuitBreakerError, HttpError, IdempotencyError, OfflineQueuedError, RetryExhaustedError, isClosedLoopError } from '../../src/index.js';
import { type ErrorsModule, delivery, guards, instances } from './_guards.js';

describe('guards work across copies of the package', () => {
  test('a second, separately loaded copy of the errors module has other classes, yet guards agree both ways', async () => {
    // With the module registry reset, the loader evaluates the errors module and every file behind it
    // again: a second copy, as when an app loads the package once by `import` and once by `require`.
    vi.resetModules();
    const copy: ErrorsModule = await import('../../src/errors/errors.js');
    expect(copy.HttpError).not.toBe(HttpError);
    expect(new copy.HttpError(500)).not.toBeInstanceOf(HttpError);

    const fromCopy = instances(copy);
    const fromCore = instances(core);
    for (const [kind, guard] of Object.entries(guards)) {
      const copyGuard = (copy as unknown as Record<string, (v: unknown) => boolean>)[`is${kind}`]!;
      for (const [otherKind, error] of Object.entries(fromCopy)) expect(guard(error), `${kind} on copy ${otherKind}`).toBe(kind === otherKind);
      for (const [otherKind, error] of Object.entries(fromCore)) expect(copyGuard(error), `copy ${kind} on ${otherKind}`).toBe(kind === otherKind);
    }
    for (const error of Object.values(fromCopy)) expect(isClosedLoopError(error)).toBe(true);
    expect(copy.isClosedLoopError(new CircuitBreakerError('OPEN', 1))).toBe(true);
    expect(copy.isIdempotencyError(new IdempotencyError('KEY_MISMATCH'))).toBe(true);
    expect(copy.isRetryExhaustedError(new RetryExhaustedError(1, null))).toBe(true);
    expect(copy.isOfflineQueuedError(new OfflineQueuedError('i', 'k', delivery))).toBe(true);
  });
});
