// closed-loop/service-worker's checks, in Node: bad options get a clear TypeError at once, and
// outside a browser with service workers registerBackgroundSync does nothing (the page's auto-sync
// stays the path). What the two functions do in a real worker is background-sync.test.ts.
import { MemoryQueueStorage, OfflineQueue } from 'closed-loop';
import { handleBackgroundSync, isBackgroundSyncMessage, registerBackgroundSync } from 'closed-loop/service-worker';
import { describe, expect, test } from 'vitest';

const queue = () => new OfflineQueue({ storage: new MemoryQueueStorage() });

describe('handleBackgroundSync', () => {
  test('outside a service worker it says so', () => {
    expect(() => handleBackgroundSync({ queue: queue() })).toThrow(
      new TypeError('closed-loop: handleBackgroundSync runs in a service worker: this global scope has no `clients` (pass `scope` elsewhere)'),
    );
  });

  test.each([
    [undefined, 'closed-loop: handleBackgroundSync(options): `options` must be an object'],
    [{ queue: {} }, 'closed-loop: handleBackgroundSync: `queue` must be an OfflineQueue'],
    [{ queue: queue(), client: {} }, 'closed-loop: handleBackgroundSync: `client` must be a sync client made with `offlineQueue: queue`'],
    [{ queue: queue(), handler: 'send' }, 'closed-loop: handleBackgroundSync: `handler` must be a function'],
    [{ queue: queue(), tag: '' }, 'closed-loop: handleBackgroundSync: `tag` must be a non-empty string'],
  ])('refuses %j', (options, message) => {
    expect(() => handleBackgroundSync(options as never)).toThrow(new TypeError(message));
  });

  test('refuses a negative maxWaitMs', () => {
    const scope = { addEventListener() {}, removeEventListener() {}, clients: { matchAll: async () => [] } };
    expect(() => handleBackgroundSync({ queue: queue(), maxWaitMs: -1, scope })).toThrow(
      new TypeError('closed-loop: handleBackgroundSync: `maxWaitMs` must be a finite number >= 0, got -1'),
    );
  });
});

describe('registerBackgroundSync', () => {
  test('without navigator.serviceWorker it does nothing and returns a stop function', () => {
    const q = queue();
    const stop = registerBackgroundSync(q);
    expect(stop).toBeTypeOf('function');
    stop();
    stop();
  });

  test.each([
    [{}, undefined, 'closed-loop: registerBackgroundSync(queue): `queue` must be an OfflineQueue'],
    [queue(), null, 'closed-loop: registerBackgroundSync(queue, options): `options` must be an object'],
    [queue(), { tag: 7 }, 'closed-loop: registerBackgroundSync: `tag` must be a non-empty string'],
    [queue(), { onError: true }, 'closed-loop: registerBackgroundSync: `onError` must be a function'],
    [queue(), { periodic: true }, 'closed-loop: registerBackgroundSync: `periodic` must be an object or false'],
    [queue(), { periodic: { minIntervalMs: 0 } }, 'closed-loop: registerBackgroundSync: `periodic.minIntervalMs` must be a finite number > 0, got 0'],
  ])('refuses %j, %j', (q, options, message) => {
    expect(() => registerBackgroundSync(q as never, options as never)).toThrow(new TypeError(message));
  });
});

test('isBackgroundSyncMessage tells the worker’s messages from others', () => {
  expect(isBackgroundSyncMessage({ type: 'closed-loop:processed', tag: 'closed-loop', item: { id: 'a' } })).toBe(true);
  expect(isBackgroundSyncMessage({ type: 'closed-loop:dead-lettered', tag: 'closed-loop', item: { id: 'a' } })).toBe(true);
  expect(isBackgroundSyncMessage({ type: 'closed-loop:processed' })).toBe(false);
  expect(isBackgroundSyncMessage({ type: 'app:hello', item: {} })).toBe(false);
  expect(isBackgroundSyncMessage('closed-loop:processed')).toBe(false);
  expect(isBackgroundSyncMessage(null)).toBe(false);
});
