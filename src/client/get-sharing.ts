// GET sharing of a sync client (its `dedupe` option): identical GETs in flight at once share one
// request. Not exported.
import { noop } from '../internal/noop.js';
import type { Call } from './call.js';
import type { SyncResponse } from './options.js';

/** An in-flight GET that identical GETs join. */
interface SharedGet {
  promise: Promise<SyncResponse>;
  controller: AbortController | undefined;
  interested: number;
}

/** The GETs in flight, by {@link Call.cacheKey}. */
export class GetSharing {
  private readonly inflight = new Map<string, SharedGet>();

  /** @param run - sends a call (the shared request) */
  constructor(private readonly run: (call: Call) => Promise<SyncResponse>) {}

  /** Joins an identical GET in flight, or starts one that later identical GETs join. */
  share(call: Call): Promise<SyncResponse> {
    const key = call.cacheKey;
    const callerSignal = call.signal;
    let entry = this.inflight.get(key);
    if (entry === undefined) {
      // The shared request has a signal of its own only when its first caller can abort: it aborts
      // once every caller has aborted (a caller without a signal keeps it alive).
      const controller = callerSignal === undefined ? undefined : new AbortController();
      call.signal = controller?.signal;
      const created: SharedGet = { promise: undefined!, controller, interested: 0 };
      created.promise = this.run(call).finally(() => {
        if (this.inflight.get(key) === created) this.inflight.delete(key);
      });
      created.promise.catch(noop);
      this.inflight.set(key, created);
      entry = created;
    }
    return this.join(entry, key, callerSignal);
  }

  private join(entry: SharedGet, key: string, signal: AbortSignal | undefined): Promise<SyncResponse> {
    if (signal === undefined) {
      entry.interested = Number.POSITIVE_INFINITY;
      return entry.promise.then(copyResponse);
    }
    entry.interested++;
    return new Promise<SyncResponse>((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason);
        if (--entry.interested === 0 && entry.controller !== undefined) {
          if (this.inflight.get(key) === entry) this.inflight.delete(key);
          entry.controller.abort(signal.reason);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      entry.promise.then(
        (response) => {
          signal.removeEventListener('abort', onAbort);
          resolve(copyResponse(response));
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}

/** Each caller gets a response object of its own. */
function copyResponse(response: SyncResponse): SyncResponse {
  return { ...response };
}
