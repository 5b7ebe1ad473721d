import { type Clock, type TimerHandle, unrefTimer } from '../clock/clock.js';
import { isOffline } from '../internal/failure.js';
import { checkNumber, positive } from '../internal/validate.js';
import type { ProcessOptions, ProcessResult } from './flush.js';

/** Options of {@link OfflineQueue.startAutoSync}. @category Offline queue */
export interface AutoSyncOptions {
  /** Flush this often, in ms (skipped while the browser reports itself offline). Default 30000. */
  intervalMs?: number;
  /** Flush once at start too (items restored after a reload go out at once). Default true. */
  immediate?: boolean;
}

const DEFAULT_AUTO_SYNC_MS = 30_000;

/**
 * {@link OfflineQueue.startAutoSync}: calls `process` on the `online` event, every `intervalMs` and
 * once at start; its failures go to `onError`.
 *
 * @returns a function that stops it (idempotent)
 */
export function startAutoSync(
  clock: Clock,
  process: (options: ProcessOptions) => Promise<ProcessResult>,
  onError: (error: unknown) => void,
  options: AutoSyncOptions,
): () => void {
  const intervalMs = options.intervalMs ?? DEFAULT_AUTO_SYNC_MS;
  checkNumber('intervalMs', intervalMs, positive, 'OfflineQueue.startAutoSync');
  let stopped = false;
  let timer: TimerHandle; // undefined while none is set
  const flush = (processOptions: ProcessOptions): void => {
    if (stopped || isOffline()) return;
    process(processOptions).catch(onError);
  };
  const tick = (): void => {
    timer = undefined;
    if (stopped) return;
    flush({ ifAvailable: true });
    schedule();
  };
  const schedule = (): void => {
    timer = unrefTimer(clock.setTimeout(tick, intervalMs));
  };
  // Back online: flush at once, after any flush under way, and without waiting out network backoffs.
  const onOnline = (): void => flush({ networkRestored: true });
  const target = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
  const listens = typeof target.addEventListener === 'function' && typeof target.removeEventListener === 'function';
  if (listens) target.addEventListener!('online', onOnline);
  schedule();
  if (options.immediate !== false) flush({ ifAvailable: true });
  return () => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    if (listens) target.removeEventListener!('online', onOnline);
  };
}
