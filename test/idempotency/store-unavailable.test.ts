import { describe, expect, test } from 'vitest';
import {
  asStoreUnavailable,
  IdempotencyError,
  IdempotencyGuard,
  isIdempotencyError,
  ManualClock,
  MemoryIdempotencyStore,
} from '../../src/index.js';

describe('asStoreUnavailable', () => {
  test('any failure becomes STORE_UNAVAILABLE (503) with it as cause, under the given message', () => {
    const cause = new Error('connection reset');
    const error = asStoreUnavailable(cause, 'The idempotency claim failed in my store: connection reset');
    expect(isIdempotencyError(error)).toBe(true);
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('The idempotency claim failed in my store: connection reset');
    expect(asStoreUnavailable('down').message).toBe('The idempotency store is unavailable');
  });

  test('an IdempotencyError passes through as it is', () => {
    const own = new IdempotencyError('KEY_MISMATCH');
    expect(asStoreUnavailable(own, 'ignored')).toBe(own);
  });

  test("a store of one's own that rejects with it: the guard keeps its message and cause", async () => {
    const cause = new Error('socket closed');
    class FlakyStore extends MemoryIdempotencyStore {
      override claim(): never {
        throw asStoreUnavailable(cause, 'The idempotency claim failed in FlakyStore');
      }
    }
    const guard = new IdempotencyGuard({ store: new FlakyStore(), clock: new ManualClock() });
    const error = await guard.begin('k', 'fp').then(
      () => undefined,
      (e: unknown) => e as IdempotencyError,
    );
    expect(error?.message).toBe('The idempotency claim failed in FlakyStore');
    expect(error?.cause).toBe(cause);
  });
});
