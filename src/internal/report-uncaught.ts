/**
 * Reports an error nobody can catch (a throwing event listener or subscriber) the way the platform
 * reports an uncaught one, without breaking the caller: `reportError` in browsers and workers (an
 * `error` event, shown in the console), a thrown exception on a microtask in Node (an
 * `uncaughtException`). Shared by the breaker, the queue, the realtime service and SyncMutation.
 *
 * @internal
 */
export function reportUncaught(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === 'function') {
    report(error);
    return;
  }
  queueMicrotask(() => {
    throw error;
  });
}
