import { RealtimeSyncService, type RealtimeSyncServiceOptions } from './service.js';

// Kept on globalThis under a registry symbol, so that an app that loads closed-loop twice (once by
// `import`, once by `require`) still has one shared bus, not two that do not hear each other.
const SHARED = Symbol.for('closed-loop.realtime.shared');

type Holder = { [SHARED]?: RealtimeSyncService };

/**
 * The process-wide (or tab-wide) shared service, created on first use. Pass `options` to configure
 * it (a transport, a clock) on that first call; a later call with options throws, since they could
 * not apply, until {@link resetRealtimeSyncService}.
 *
 * @example
 * ```ts
 * // at startup
 * getRealtimeSyncService({ transport: new BroadcastChannelTransport('my-app') })
 * // anywhere
 * getRealtimeSyncService().publish('orders', order)
 * ```
 *
 * @param options - options for the service, used only when it is created
 * @category Realtime
 */
export function getRealtimeSyncService(options?: RealtimeSyncServiceOptions): RealtimeSyncService {
  const holder = globalThis as Holder;
  const existing = holder[SHARED];
  if (existing !== undefined) {
    if (options !== undefined) {
      throw new TypeError(
        'closed-loop: getRealtimeSyncService(options): the shared service already exists; options apply only to the first call (call resetRealtimeSyncService() first)',
      );
    }
    return existing;
  }
  const service = new RealtimeSyncService(options);
  holder[SHARED] = service;
  return service;
}

/**
 * Destroys the shared service, if any (its subscriptions end, its transport closes); the next
 * {@link getRealtimeSyncService} creates a new one. For tests, and for logging out.
 *
 * @returns settles when the old service's transport has closed
 * @category Realtime
 */
export function resetRealtimeSyncService(): Promise<void> {
  const holder = globalThis as Holder;
  const existing = holder[SHARED];
  if (existing === undefined) return Promise.resolve();
  Reflect.deleteProperty(holder, SHARED);
  return existing.destroy();
}
