import type { Clock } from '../clock/clock.js';
import { TimeoutError } from '../errors/errors.js';
import { Timeout } from '../internal/timeout.js';
import type { QueueItem } from './storage.js';

// Handlers: what delivers an item, which one an item gets, and the deadline of one call.

/** What a handler receives besides the item. @category Offline queue */
export interface QueueHandlerContext {
  /**
   * Aborts when the attempt's deadline (`retry.timeoutMs`) passes; `undefined` when no deadline is
   * set. Pass it on to `fetch`.
   */
  readonly signal: AbortSignal | undefined;
}

/**
 * Delivers one item, with its `idempotencyKey`. Resolve (with anything: it is passed to the
 * `processed` event) once the server has it; throw or reject otherwise — an `HttpError` with the
 * server's status, a `NetworkError` when no answer came (see {@link OfflineQueue} for what each costs).
 * @category Offline queue
 */
export type QueueHandler<P = unknown> = (item: QueueItem<P>, context: QueueHandlerContext) => unknown;

const NO_DEADLINE: QueueHandlerContext = /* @__PURE__ */ Object.freeze({ signal: undefined });

/**
 * The handlers of one queue. Items restored after a reload carry no closure, only a `type`, so the
 * handler is found by it: registered first, then the `handlers` option, then the one passed to
 * `process`, then the `handler` option.
 */
export class HandlerRegistry<P> {
  private readonly registered = new Map<string, QueueHandler<P>>();
  private readonly byOption: ReadonlyMap<string, QueueHandler<P>>;
  private readonly fallback: QueueHandler<P> | undefined;

  /**
   * @param byOption - the `handlers` option, by type
   * @param fallback - the `handler` option
   */
  constructor(byOption: ReadonlyMap<string, QueueHandler<P>>, fallback: QueueHandler<P> | undefined) {
    this.byOption = byOption;
    this.fallback = fallback;
  }

  /** Registers (or replaces) the handler of `type`; the returned function unregisters it if it is still the one. */
  register(type: string, handler: QueueHandler<P>): () => void {
    this.registered.set(type, handler);
    return () => {
      if (this.registered.get(type) === handler) this.registered.delete(type);
    };
  }

  /** The handler for an item of `type`, with `handlerArg` from `process(handler)`; `undefined` when there is none. */
  find(type: string | undefined, handlerArg: QueueHandler<P> | undefined): QueueHandler<P> | undefined {
    return (type !== undefined ? (this.registered.get(type) ?? this.byOption.get(type)) : undefined) ?? handlerArg ?? this.fallback;
  }
}

/**
 * Calls a handler with the item, bounded by `timeoutMs` (0: none): past it, the call's signal aborts
 * and the attempt fails with a {@link TimeoutError}, which costs no attempt. A handler that throws
 * synchronously rejects like one that rejects.
 */
export function callHandler<P>(handler: QueueHandler<P>, item: QueueItem<P>, timeoutMs: number, clock: Clock): Promise<unknown> {
  const ms = timeoutMs;
  if (ms <= 0) {
    try {
      return Promise.resolve(handler(item, NO_DEADLINE));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise<unknown>((resolve, reject) => {
    const controller = new AbortController();
    const deadline = new Timeout(clock);
    deadline.set(() => {
      const error = new TimeoutError(ms, `closed-loop: the handler of queue item ${item.id} did not settle within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
    const settle = (): void => deadline.clear();
    try {
      Promise.resolve(handler(item, { signal: controller.signal })).then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    } catch (error) {
      settle();
      reject(error);
    }
  });
}
