import { useCallback, useInsertionEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import type {
  RetryOptions,
  SyncClient,
  SyncHeaders,
  SyncMutationHooks,
  SyncMutationStatus,
  SyncResponse,
} from 'closed-loop';
// Bundled into closed-loop/react (the core does not export it).
import { noop } from '../../src/internal/noop.js';
import { pick, useSyncContext } from './context.js';

/** Options of {@link useSyncMutation}. @category Hooks */
export interface UseSyncMutationOptions<TData = unknown, TVars = unknown, TContext = unknown> {
  /** The path to send to, relative to the client's `baseUrl`. */
  endpoint: string;
  /** The HTTP method. Default `'POST'`. */
  method?: string | undefined;
  /** Headers of every call, on top of the client's. Compared by value: an inline object is fine. */
  headers?: SyncHeaders | undefined;
  /** Before the request is sent; may return a context (an optimistic update) that the others get back. */
  onMutate?: ((vars: TVars) => TContext | Promise<TContext>) | undefined;
  /** After the server accepted it (a queued mutation: when the queue delivered it). Runs after unmount too. */
  onSuccess?: ((data: TData, vars: TVars, context: TContext | undefined) => unknown) | undefined;
  /** After it failed for good, with the `onMutate` context to roll back. Runs after unmount too. */
  onError?: ((error: unknown, vars: TVars, context: TContext | undefined) => unknown) | undefined;
  /** After `onSuccess` or `onError`, always. Runs after unmount too. */
  onSettled?: ((data: TData | undefined, error: unknown, vars: TVars, context: TContext | undefined) => unknown) | undefined;
  /** Queue the mutation when no server can be reached (needs the client's `offlineQueue`). */
  queueWhenOffline?: boolean | undefined;
  /** Write the mutation to the client's `offlineQueue` before it is sent, so a reload mid-request does not lose it. */
  durable?: boolean | undefined;
  /**
   * Retry options merged over the client's, or `false` for a single attempt. Compared by value (its
   * functions by identity), so an inline object does not start a new mutation on every render.
   */
  retry?: RetryOptions | false | undefined;
  /** The client to send with. Default: the one of the enclosing {@link SyncProvider}. */
  client?: SyncClient | undefined;
}

/** What {@link useSyncMutation} returns: the mutation's state, and functions to send and reset it. @category Hooks */
export interface UseSyncMutationResult<TData = unknown, TVars = unknown> {
  /**
   * Sends `vars` as the request body with a fresh idempotency key. Returns nothing and never rejects:
   * the outcome is in `status`, `data` and `error`. While pending it sends nothing (a double click is
   * one mutation).
   */
  mutate: (...args: undefined extends TVars ? [vars?: TVars] : [vars: TVars]) => void;
  /**
   * Like `mutate`, but returns the call's promise: the response, or a rejection (an
   * `OfflineQueuedError` when it was queued, whose `delivery` resolves when the queue sends it).
   */
  mutateAsync: (...args: undefined extends TVars ? [vars?: TVars] : [vars: TVars]) => Promise<SyncResponse<TData>>;
  /** Back to `idle`; a call in flight goes on, but its outcome no longer shows here. */
  reset: () => void;
  /** `idle` → `pending` → `success` | `error` | `queued` (→ `success` | `error` on delivery). */
  status: SyncMutationStatus;
  /** `status === 'idle'` */
  isIdle: boolean;
  /** `status === 'pending'` */
  isPending: boolean;
  /** `status === 'queued'`: saved offline, to be sent by the queue. */
  isQueued: boolean;
  /** `status === 'success'` */
  isSuccess: boolean;
  /** `status === 'error'` */
  isError: boolean;
  /** The response body of the last success. */
  data: TData | undefined;
  /** The error of the last failure. */
  error: unknown;
  /** The attempt running (or that settled it) and the most attempts the call may make: "retrying 2 of 3". */
  progress: {
    /** The attempt running, or the one that settled it; 0 before the first. */
    attempt: number;
    /** The most attempts the call may make (the first call included). */
    maxAttempts: number;
  };
  /** The idempotency key of the current mutation, the same on every retry and offline delivery. */
  idempotencyKey: string | undefined;
}

/** The callbacks a render passed, read when the mutation reaches them (possibly after unmount). */
type Callbacks<TData, TVars, TContext> = Pick<
  UseSyncMutationOptions<TData, TVars, TContext>,
  'onMutate' | 'onSuccess' | 'onError' | 'onSettled'
>;

/**
 * Sends a mutation through the sync client and renders its state: retries with one idempotency key,
 * offline queueing and durable sends all happen in the core's `SyncMutation`; this hook only shows it.
 *
 * @example
 * ```tsx
 * const save = useSyncMutation<Todo, NewTodo>({ endpoint: '/todos', onSuccess: (todo) => toast(`Saved ${todo.title}`) })
 * return <button onClick={() => save.mutate({ title })} disabled={save.isPending}>Save</button>
 * ```
 *
 * @param options - the endpoint, method, callbacks and send options
 * @returns the state and `mutate`, `mutateAsync`, `reset`
 * @category Hooks
 */
export function useSyncMutation<TData = unknown, TVars = unknown, TContext = unknown>(
  options: UseSyncMutationOptions<TData, TVars, TContext>,
): UseSyncMutationResult<TData, TVars> {
  const { endpoint, method = 'POST', queueWhenOffline, durable } = options;
  const client = pick(options.client, useSyncContext().client, 'useSyncMutation', 'client', 'client');
  const headers = useStructural(options.headers);
  const retry = useStructural(options.retry);

  // One observer per endpoint and send options; a new one (idle) when any of them changes.
  const store = useMemo(() => {
    const mutation = client.mutation<TData, TVars>(method, endpoint, { headers, retry, queueWhenOffline, durable });
    return { mutation, subscribe: mutation.subscribe.bind(mutation), getState: mutation.getState.bind(mutation) };
  }, [client, method, endpoint, headers, retry, queueWhenOffline, durable]);
  const state = useSyncExternalStore(store.subscribe, store.getState, store.getState);

  // The latest callbacks, updated once a render commits (as React's useEffectEvent does). The core
  // runs the hooks below whenever the call settles, so they call whatever was rendered last, even
  // after unmount.
  const callbacks = useRef<Callbacks<TData, TVars, TContext>>(options);
  useInsertionEffect(() => {
    callbacks.current = options;
  });
  const hooks = useMemo<SyncMutationHooks<TData, TVars, TContext>>(
    () => ({
      onMutate: (vars) => callbacks.current.onMutate?.(vars) as TContext | Promise<TContext>,
      onSuccess: (data, vars, context) => callbacks.current.onSuccess?.(data, vars, context),
      onError: (error, vars, context) => callbacks.current.onError?.(error, vars, context),
      onSettled: (data, error, vars, context) => callbacks.current.onSettled?.(data, error, vars, context),
    }),
    [],
  );

  const mutateAsync = useCallback(
    (...args: [vars?: TVars]) => store.mutation.mutate(args[0] as TVars, hooks),
    [store, hooks],
  );
  const mutate = useCallback(
    (...args: [vars?: TVars]) => {
      // The state shows the outcome; the promise's rejection is not this caller's to handle.
      mutateAsync(...args).catch(noop);
    },
    [mutateAsync],
  );
  const reset = useCallback(() => store.mutation.reset(), [store]);

  // A result object that stays the same while the state does, so it can be a dependency.
  return useMemo(
    () => ({
      mutate,
      mutateAsync,
      reset,
      status: state.status,
      isIdle: state.status === 'idle',
      isPending: state.status === 'pending',
      isQueued: state.status === 'queued',
      isSuccess: state.status === 'success',
      isError: state.status === 'error',
      data: state.data,
      error: state.error,
      progress: { attempt: state.attempt, maxAttempts: state.maxAttempts },
      idempotencyKey: state.idempotencyKey,
    }),
    [state, mutate, mutateAsync, reset],
  );
}

/** The previous value while the new one is structurally equal, so inline option objects stay stable. */
function useStructural<T>(value: T): T {
  const ref = useRef(value);
  if (!equal(ref.current, value)) ref.current = value;
  return ref.current;
}

/** Plain objects and arrays by their entries; anything else (functions, Headers, a clock) by identity. */
function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!isPlain(a) || !isPlain(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && equal(a[key], b[key]));
}

function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === Array.prototype || proto === null;
}
