import { reportUncaught } from '../internal/report-uncaught.js';
import { once, without } from './copy-on-write.js';
import type { RealtimeErrorContext, RealtimeSyncServiceEvents } from './service-options.js';
import type { RealtimeStatus } from './types.js';

/** The `status` and `error` listeners of a service, and the reporting of errors nobody awaits. */
export class ServiceEvents {
  private statusListeners: ReadonlyArray<RealtimeSyncServiceEvents['status']> = [];
  private errorListeners: ReadonlyArray<RealtimeSyncServiceEvents['error']> = [];

  /** Adds a `status` or `error` listener; returns its (idempotent) remover. */
  on<E extends keyof RealtimeSyncServiceEvents>(event: E, listener: RealtimeSyncServiceEvents[E]): () => void {
    if (typeof listener !== 'function') throw new TypeError('closed-loop: the listener must be a function');
    if (event === 'status') {
      const fn = listener as RealtimeSyncServiceEvents['status'];
      this.statusListeners = [...this.statusListeners, fn];
      return once(() => {
        this.statusListeners = without(this.statusListeners, fn);
      });
    }
    if (event === 'error') {
      const fn = listener as RealtimeSyncServiceEvents['error'];
      this.errorListeners = [...this.errorListeners, fn];
      return once(() => {
        this.errorListeners = without(this.errorListeners, fn);
      });
    }
    throw new TypeError(`closed-loop: unknown RealtimeSyncService event ${JSON.stringify(String(event))} (use 'status' or 'error')`);
  }

  /** Calls every `status` listener; one that throws is reported and does not stop the others. */
  emitStatus(status: RealtimeStatus): void {
    for (const listener of this.statusListeners) {
      try {
        listener(status);
      } catch (error) {
        this.report(error, { source: 'status' });
      }
    }
  }

  /**
   * Reports an error nobody awaits to the `error` listeners; without any, the way the platform
   * reports an uncaught error in an event listener, so that it is neither lost nor able to stop the
   * delivery in progress.
   */
  report(error: unknown, context: RealtimeErrorContext): void {
    const listeners = this.errorListeners;
    if (listeners.length === 0) {
      reportUncaught(error);
      return;
    }
    for (const listener of listeners) {
      try {
        listener(error, context);
      } catch (thrown) {
        reportUncaught(thrown);
      }
    }
  }
}
