import { useInsertionEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { RealtimeObserver } from 'closed-loop';
import type { ChangeEvent, RealtimeObserverState, RealtimeSyncService, RecordId } from 'closed-loop';
import { pick, useSyncContext } from './context.js';

/** Options of {@link useRealtime}. @category Hooks */
export interface UseRealtimeOptions<T = unknown> {
  /** Follow one record: `latest` is that record, `events` only its changes. Default: the whole topic. */
  id?: RecordId | undefined;
  /** Which events `events` keeps. An inline function is fine: the latest one rendered is used. */
  filter?: ((event: ChangeEvent<T>) => boolean) | undefined;
  /** How many recent events `events` keeps, newest last. Default 50. */
  maxEvents?: number | undefined;
  /** The service to listen to. Default: the `realtime` service of the enclosing {@link SyncProvider}. */
  service?: RealtimeSyncService | undefined;
}

/**
 * What {@link useRealtime} returns: `latest` (the latest record of the topic, or of `id`), `events`
 * (recent change events, newest last) and the service's connection `status` (`'resynced'`: events
 * may have been missed, refetch).
 * @category Hooks
 */
export type UseRealtimeResult<T = unknown> = RealtimeObserverState<T>;

/**
 * Renders a topic (or one record) of a realtime service: re-renders on each change event and on each
 * change of the connection status. Subscribes while mounted, leaves on unmount.
 *
 * @example
 * ```tsx
 * const { latest: order, status } = useRealtime<Order>('orders', { id: orderId })
 * return <p>{order?.state}{status === 'reconnecting' && ' (reconnecting…)'}</p>
 * ```
 *
 * @param topic - the topic (`'*'`: every topic)
 * @param options - `id`, `filter`, `maxEvents`, `service`
 * @returns `{ latest, events, status }`
 * @category Hooks
 */
export function useRealtime<T = unknown>(topic: string, options: UseRealtimeOptions<T> = {}): UseRealtimeResult<T> {
  const { id, maxEvents } = options;
  const service = pick(options.service, useSyncContext().realtime, 'useRealtime', 'service', 'realtime');

  // The filter is read through a ref so an inline function does not make a new observer each render.
  const filterRef = useRef(options.filter);
  useInsertionEffect(() => {
    filterRef.current = options.filter;
  });

  const store = useMemo(() => {
    const observer = new RealtimeObserver<T>(service, topic, {
      id,
      maxEvents,
      filter: (event) => filterRef.current === undefined || filterRef.current(event),
    });
    return { subscribe: observer.subscribe.bind(observer), getState: observer.getState.bind(observer) };
  }, [service, topic, id, maxEvents]);
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}
