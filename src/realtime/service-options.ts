// The public shapes a RealtimeSyncService takes and reports (its options, a subscription's options,
// a change to publish, its `status`/`error` events), and the check of its options.
import { type Clock, realClock } from '../clock/clock.js';
import { checkNumber, nonNegativeInteger, positiveInteger } from '../internal/validate.js';
import { InMemoryTransport } from './in-memory-transport.js';
import type { ChangeEvent, ChangeType, RealtimeStatus, RealtimeTransport, RecordId } from './types.js';

/** Options of {@link RealtimeSyncService}. @category Realtime */
export interface RealtimeSyncServiceOptions {
  /**
   * How this service reaches others. Default: a new {@link InMemoryTransport} of its own (pass one
   * shared instance to several services to connect them inside one process or tab).
   */
  transport?: RealtimeTransport;
  /** The clock for event timestamps and `waitForChange` deadlines. Default {@link realClock}. */
  clock?: Clock;
  /**
   * How many recent event ids from elsewhere (the transport, or events published with their own
   * `eventId`) are remembered to drop duplicates. A duplicate older than that many events is
   * delivered again. Default 10000.
   */
  dedupeLimit?: number;
  /**
   * Most records the latest-state cache holds, over all topics; the least recently changed make
   * room. `0` turns the cache off (`getLatest` answers `undefined`). Default 10000.
   */
  maxLatestRecords?: number;
  /**
   * Called each time the transport reports `resynced` (after the `status` event): events may have
   * been missed, so refetch what the screen shows.
   */
  onResync?: () => void;
}

/** Options of {@link RealtimeSyncService.subscribe}. @category Realtime */
export interface RealtimeSubscribeOptions<T = unknown> {
  /** Only events for which this returns `true` reach the callback. */
  filter?: (event: ChangeEvent<T>) => boolean;
}

/**
 * A change for {@link RealtimeSyncService.publishChange}: a change event without the parts the
 * service fills in (`topic`, `eventId`, and `timestamp` unless given).
 * @category Realtime
 */
export interface RealtimeChange<T = unknown> {
  /** What happened to the record. */
  type: ChangeType;
  /** The record's id, when the change is about one record. */
  id?: RecordId;
  /** The record after the change (absent for `DELETE`). */
  new?: T;
  /** The record before the change, when known. */
  old?: T;
  /** The record's version, for ordering in the latest-state cache. */
  version?: number;
  /** When the change happened, in epoch ms. Default: now, on the service's clock. */
  timestamp?: number;
}

/** Where an error reported through a {@link RealtimeSyncService}'s `error` event came from. @category Realtime */
export interface RealtimeErrorContext {
  /**
   * `subscriber`: a subscriber callback or its filter threw. `status`: a `status` listener or
   * `onResync` threw. `transport`: the transport's `publish`/`watch`/`unwatch` failed, or it delivered
   * something that is not a change event.
   */
  source: 'subscriber' | 'status' | 'transport';
  /** The topic of the subscriber or of the `watch`/`unwatch` call, when there is one. */
  topic?: string;
  /** The event being delivered or published, when there is one. */
  event?: ChangeEvent;
}

/** The events of a {@link RealtimeSyncService}, for {@link RealtimeSyncService.on}. @category Realtime */
export interface RealtimeSyncServiceEvents {
  /** The connection status changed; `resynced` is reported every time it happens. */
  status: (status: RealtimeStatus) => void;
  /** Something failed that no caller awaits: a subscriber threw, or the transport failed. */
  error: (error: unknown, context: RealtimeErrorContext) => void;
}

/** {@link RealtimeSyncServiceOptions} with the defaults filled in. */
interface ResolvedOptions {
  readonly clock: Clock;
  readonly dedupeLimit: number;
  readonly maxLatestRecords: number;
  readonly onResync: (() => void) | undefined;
  readonly transport: RealtimeTransport;
}

/** The options with their defaults, or a TypeError naming the first bad one. */
export function resolveOptions(options: RealtimeSyncServiceOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('closed-loop: RealtimeSyncService options must be an object');
  }
  const clock = options.clock ?? realClock;
  const dedupeLimit = checkNumber('dedupeLimit', options.dedupeLimit, positiveInteger) ?? 10_000;
  const maxLatestRecords = checkNumber('maxLatestRecords', options.maxLatestRecords, nonNegativeInteger) ?? 10_000;
  if (options.onResync !== undefined && typeof options.onResync !== 'function') {
    throw new TypeError('closed-loop: `onResync` must be a function');
  }
  const transport = options.transport ?? new InMemoryTransport();
  if (
    typeof transport !== 'object' ||
    transport === null ||
    typeof transport.connect !== 'function' ||
    typeof transport.publish !== 'function' ||
    typeof transport.close !== 'function'
  ) {
    throw new TypeError('closed-loop: `transport` must implement connect, publish and close (a RealtimeTransport)');
  }
  return { clock, dedupeLimit, maxLatestRecords, onResync: options.onResync, transport };
}
