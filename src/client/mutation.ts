import { isOfflineQueuedError } from '../errors/errors.js';
import { createIdempotencyKey } from '../idempotency/key.js';
import { noop } from '../internal/noop.js';
import { reportUncaught } from '../internal/report-uncaught.js';
import { Store } from '../internal/store.js';
import type { RetryOptions } from '../retry/options.js';
import type { SyncHeaders, SyncRequestOptions, SyncResponse } from './options.js';

/** Options of {@link SyncClient.mutation}, applied to every `mutate`. @category Client */
export interface SyncMutationOptions {
  /** Headers of every call, on top of the client's. */
  headers?: SyncHeaders;
  /** Retry options merged over the client's, or `false` for a single attempt. */
  retry?: RetryOptions | false;
  /** Queue the mutation when no server can be reached (needs the client's `offlineQueue`). */
  queueWhenOffline?: boolean;
  /**
   * Write each mutation to the client's `offlineQueue` before it is sent, so a reload or a closed tab
   * mid-request does not lose it (see {@link SyncRequestOptions.durable}). Default: the client's `durable`.
   */
  durable?: boolean;
}

/**
 * Lifecycle callbacks of one {@link SyncMutation.mutate} call, for optimistic updates: `onMutate`
 * may return a context (for example the previous list) that the others get back to roll back.
 * @category Client
 */
export interface SyncMutationHooks<TData = unknown, TVars = unknown, TContext = unknown> {
  /** Before the request is sent. Its result (awaited) is the context; if it throws, nothing is sent and the call fails with that error. */
  onMutate?: (vars: TVars) => TContext | Promise<TContext>;
  /** After the server accepted it (for a queued mutation: when the queue delivered it). */
  onSuccess?: (data: TData, vars: TVars, context: TContext | undefined) => unknown;
  /** After it failed for good (for a queued mutation: when the queue gave it up). */
  onError?: (error: unknown, vars: TVars, context: TContext | undefined) => unknown;
  /** After `onSuccess` or `onError`, always. */
  onSettled?: (data: TData | undefined, error: unknown, vars: TVars, context: TContext | undefined) => unknown;
}

/** Where a {@link SyncMutation} is. @category Client */
export type SyncMutationStatus = 'idle' | 'pending' | 'queued' | 'success' | 'error';

/** What {@link SyncMutation.getState} returns: a new object on every change, the same one until then. @category Client */
export interface SyncMutationState<TData = unknown> {
  /** `idle` → `pending` → `success` | `error` | `queued` (→ `success` | `error` on delivery). */
  readonly status: SyncMutationStatus;
  /** The attempt running, or the one that settled it; 0 before the first. */
  readonly attempt: number;
  /** The most attempts the call may make. */
  readonly maxAttempts: number;
  /** The response body of the last success. */
  readonly data: TData | undefined;
  /** The error of the last failure. */
  readonly error: unknown;
  /** The key of the current mutation: the same on its every retry and its offline delivery. */
  readonly idempotencyKey: string | undefined;
}

/** A listener of {@link SyncMutation.subscribe}. @category Client */
export type SyncMutationListener<TData = unknown> = (state: SyncMutationState<TData>) => void;

/** How a mutation sends: the client's request, bound to a method and a path. @category Client */
export type SyncMutationSend<TData, TVars> = (
  vars: TVars,
  options: SyncRequestOptions,
) => Promise<SyncResponse<TData>>;

/**
 * A framework-free observer of one mutation endpoint, for a UI to render: `mutate(vars)` sends,
 * `subscribe(listener)` hears every change, `getState()` reads the current state (the same object
 * until it changes, as `useSyncExternalStore` needs). Made by {@link SyncClient.mutation}.
 *
 * @example
 * ```ts
 * const save = client.mutation('POST', '/todos')
 * const stop = save.subscribe(({ status, attempt, maxAttempts }) => render(status, attempt, maxAttempts))
 * button.onclick = () => save.mutate({ title: input.value }) // a second click while pending sends nothing
 * ```
 * @category Client
 */
export class SyncMutation<TData = unknown, TVars = unknown> {
  private readonly store: Store<SyncMutationState<TData>>;
  private pending: Promise<SyncResponse<TData>> | undefined;
  /** Bumped by every mutate and reset: outcomes of an older generation change nothing. */
  private generation = 0;
  private readonly requestOptions: SyncRequestOptions;

  /**
   * @param send - sends one mutation (the client's request for a method and path)
   * @param maxAttempts - the most attempts a call makes, shown before the first attempt starts
   * @param options - headers, retry and offline queueing for every `mutate`
   */
  constructor(
    private readonly send: SyncMutationSend<TData, TVars>,
    private readonly maxAttempts: number,
    options: SyncMutationOptions = {},
  ) {
    this.requestOptions = {};
    if (options.headers !== undefined) this.requestOptions.headers = options.headers;
    if (options.retry !== undefined) this.requestOptions.retry = options.retry;
    if (options.queueWhenOffline !== undefined) this.requestOptions.queueWhenOffline = options.queueWhenOffline;
    if (options.durable !== undefined) this.requestOptions.durable = options.durable;
    this.store = new Store(idleState<TData>(maxAttempts), 'SyncMutation', { withState: true });
  }

  /**
   * Sends `vars` as the request body with a fresh idempotency key. While a mutation is pending this
   * sends nothing, runs none of `hooks`, and returns the pending promise (a double click is one
   * mutation). The promise rejects like `client.request` (an `OfflineQueuedError` when queued); the
   * state reflects the outcome either way, so a UI may ignore the promise.
   *
   * `hooks` run for this call whatever happens to the UI that started it (also after `reset()` or an
   * unmount): `onMutate` before the request is sent, then `onSuccess` or `onError`, then `onSettled`.
   * A queued mutation is not settled yet: its hooks run when the queue delivers it (success) or gives
   * it up (error), so an optimistic update is not rolled back while it waits. A hook that throws or
   * rejects is reported as an uncaught error and changes nothing else.
   *
   * @param vars - the request body
   * @param hooks - lifecycle callbacks of this call (optimistic updates)
   * @returns the response
   */
  mutate<TContext = unknown>(vars: TVars, hooks?: SyncMutationHooks<TData, TVars, TContext>): Promise<SyncResponse<TData>> {
    if (this.pending !== undefined) return this.pending;
    const generation = ++this.generation;
    const key = createIdempotencyKey();
    this.store.set({ status: 'pending', attempt: 0, maxAttempts: this.maxAttempts, data: undefined, error: undefined, idempotencyKey: key });
    const current = (): boolean => generation === this.generation;
    const promise = this.run(vars, key, current, hooks ?? {});
    // The state carries the outcome: a caller that ignores the promise gets no unhandled rejection.
    promise.catch(noop);
    this.pending = promise;
    const clear = (): void => {
      if (this.pending === promise) this.pending = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  private async run<TContext>(
    vars: TVars,
    key: string,
    current: () => boolean,
    hooks: SyncMutationHooks<TData, TVars, TContext>,
  ): Promise<SyncResponse<TData>> {
    let context: TContext | undefined;
    let response: SyncResponse<TData>;
    try {
      if (hooks.onMutate !== undefined) {
        // A synchronous onMutate does not delay the send by a tick: the first attempt then starts in
        // the same task as the click, and a UI renders `pending` with its attempt once.
        const result = hooks.onMutate(vars);
        context = isPromiseLike(result) ? await result : result;
      }
      response = await this.send(vars, {
        ...this.requestOptions,
        idempotencyKey: key,
        onAttempt: (attempt, maxAttempts) => {
          if (current()) this.store.set({ ...this.store.getState(), attempt, maxAttempts });
        },
      });
    } catch (error) {
      if (!isOfflineQueuedError(error)) {
        if (current()) {
          this.pending = undefined;
          this.store.set({ ...this.store.getState(), status: 'error', error });
        }
        await settle(hooks, vars, context, undefined, error);
        throw error;
      }
      if (current()) this.store.set({ ...this.store.getState(), status: 'queued', error: undefined });
      // Settled when the queue delivers it (or gives up); the call itself rejects now, as the client's.
      (error.delivery as Promise<SyncResponse<TData>>).then(
        (delivered) => {
          if (current()) this.succeed(delivered);
          return settle(hooks, vars, context, delivered, undefined);
        },
        (reason: unknown) => {
          if (current()) this.store.set({ ...this.store.getState(), status: 'error', error: reason });
          return settle(hooks, vars, context, undefined, reason);
        },
      );
      throw error;
    }
    if (current()) {
      // Settled: a press from now on is a new mutation, even while the hooks below still run.
      this.pending = undefined;
      this.succeed(response);
    }
    await settle(hooks, vars, context, response, undefined);
    return response;
  }

  /**
   * Back to `idle`. A mutation still in flight keeps going (it may already have reached the
   * server), but its outcome no longer changes the state, and `mutate` may send a new one.
   */
  reset(): void {
    this.generation++;
    this.pending = undefined;
    if (this.store.getState().status !== 'idle') this.store.set(idleState(this.maxAttempts));
  }

  /**
   * Calls `listener` with the new state on every change.
   *
   * @param listener - receives the state
   * @returns a function that unsubscribes (calling it twice is harmless)
   */
  subscribe(listener: SyncMutationListener<TData>): () => void {
    return this.store.subscribe(listener);
  }

  /** The current state: the same object until the state changes. */
  getState(): SyncMutationState<TData> {
    return this.store.getState();
  }

  private succeed(response: SyncResponse<TData>): void {
    this.store.set({ ...this.store.getState(), status: 'success', data: response.data, error: undefined });
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Runs the settle hooks of one call in order; a hook that fails is reported, never thrown. */
async function settle<TData, TVars, TContext>(
  hooks: SyncMutationHooks<TData, TVars, TContext>,
  vars: TVars,
  context: TContext | undefined,
  response: SyncResponse<TData> | undefined,
  error: unknown,
): Promise<void> {
  const run = async (hook: () => unknown): Promise<void> => {
    try {
      await hook();
    } catch (thrown) {
      reportUncaught(thrown);
    }
  };
  if (response !== undefined) {
    if (hooks.onSuccess !== undefined) await run(() => hooks.onSuccess!(response.data, vars, context));
  } else if (hooks.onError !== undefined) {
    await run(() => hooks.onError!(error, vars, context));
  }
  if (hooks.onSettled !== undefined) await run(() => hooks.onSettled!(response?.data, error, vars, context));
}

function idleState<TData>(maxAttempts: number): SyncMutationState<TData> {
  return { status: 'idle', attempt: 0, maxAttempts, data: undefined, error: undefined, idempotencyKey: undefined };
}

