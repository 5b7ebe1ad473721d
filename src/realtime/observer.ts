import { Store } from '../internal/store.js';
import type { RealtimeSyncService } from './service.js';
import type { ChangeEvent, RealtimeStatus, RecordId } from './types.js';

/** Options of a {@link RealtimeObserver}. @category Realtime */
export interface RealtimeObserverOptions<T = unknown> {
  /** Follow one record: `latest` is that record, `events` only its changes. Default: the whole topic. */
  id?: RecordId;
  /** Which events `events` keeps; `latest` is the service's latest-state cache for the record or topic. */
  filter?: (event: ChangeEvent<T>) => boolean;
  /** How many recent events `events` keeps, newest last. Default 50. */
  maxEvents?: number;
}

/** What {@link RealtimeObserver.getState} returns: a new object on every change, the same one until then. @category Realtime */
export interface RealtimeObserverState<T = unknown> {
  /** The latest record (of `id`, or of the topic), from the service's latest-state cache. */
  readonly latest: T | undefined;
  /** The events seen since the first listener subscribed, newest last, at most `maxEvents`. */
  readonly events: ReadonlyArray<ChangeEvent<T>>;
  /** The service's connection status. */
  readonly status: RealtimeStatus;
}

const DEFAULT_MAX_EVENTS = 50;

/**
 * A framework-free observer of one topic (or one record) of a {@link RealtimeSyncService}, in the
 * shape `useSyncExternalStore` needs: `subscribe(listener)` and `getState()`, the same object until
 * something changes. It subscribes to the service while it has listeners and leaves when the last one
 * goes, so an unmounted view holds nothing.
 *
 * @example
 * ```ts
 * const order = new RealtimeObserver(service, 'orders', { id: 42 })
 * const stop = order.subscribe(() => render(order.getState().latest))
 * ```
 * @category Realtime
 */
export class RealtimeObserver<T = unknown> {
  private readonly store: Store<RealtimeObserverState<T>>;
  private stop: (() => void) | undefined;
  private readonly maxEvents: number;

  /**
   * @param service - the service to observe
   * @param topic - the topic (`'*'`: every topic)
   * @param options - `id`, `filter`, `maxEvents`
   */
  constructor(
    private readonly service: RealtimeSyncService,
    private readonly topic: string,
    private readonly options: RealtimeObserverOptions<T> = {},
  ) {
    if (typeof service !== 'object' || service === null || typeof service.subscribe !== 'function') {
      throw new TypeError('closed-loop: new RealtimeObserver(service, topic): `service` must be a RealtimeSyncService');
    }
    if (typeof topic !== 'string' || topic === '') {
      throw new TypeError('closed-loop: new RealtimeObserver(service, topic): `topic` must be a non-empty string');
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('closed-loop: new RealtimeObserver(service, topic, options): `options` must be an object');
    }
    const max = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
      throw new TypeError(`closed-loop: RealtimeObserver: \`maxEvents\` must be an integer >= 0, got ${String(max)}`);
    }
    if (options.filter !== undefined && typeof options.filter !== 'function') {
      throw new TypeError('closed-loop: RealtimeObserver: `filter` must be a function');
    }
    const id = options.id;
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError('closed-loop: RealtimeObserver: `id` must be a string or a number');
    }
    this.maxEvents = max;
    const initial = { latest: this.readLatest(), events: [], status: service.status };
    this.store = new Store<RealtimeObserverState<T>>(initial, 'RealtimeObserver', { onChange: () => this.follow() });
  }

  /**
   * Calls `listener` (with no arguments) whenever {@link getState} changes. The first listener
   * subscribes to the service; the last one to leave unsubscribes.
   *
   * @param listener - called after each change
   * @returns a function that unsubscribes (idempotent)
   */
  subscribe(listener: () => void): () => void {
    return this.store.subscribe(listener);
  }

  /** @returns the current state: the same object until something changes */
  getState(): RealtimeObserverState<T> {
    return this.store.getState();
  }

  /** The first listener subscribes to the service; the last one to leave unsubscribes. */
  private follow(): void {
    if (this.store.watched) {
      if (this.stop === undefined) this.start();
    } else if (this.stop !== undefined) {
      this.stop();
      this.stop = undefined;
    }
  }

  private start(): void {
    const service = this.service;
    if (service.status === 'closed') {
      this.store.set({ ...this.store.getState(), status: 'closed' });
      this.stop = () => {};
      return;
    }
    const offEvents = service.subscribe<T>(this.topic, (event) => this.onEvent(event));
    const offStatus = service.on('status', (status) => this.store.set({ ...this.store.getState(), status }));
    this.stop = () => {
      offEvents();
      offStatus();
    };
    // Anything that changed while nobody listened.
    const latest = this.readLatest();
    const state = this.store.getState();
    if (latest !== state.latest || service.status !== state.status) this.store.set({ ...state, latest, status: service.status });
  }

  private onEvent(event: ChangeEvent<T>): void {
    const { id, filter } = this.options;
    if (id !== undefined && event.id !== id) return;
    const latest = this.readLatest();
    const counts = filter === undefined || filter(event);
    const state = this.store.getState();
    if (!counts && latest === state.latest) return;
    let events = state.events;
    if (counts && this.maxEvents > 0) {
      events = events.length >= this.maxEvents ? [...events.slice(events.length - this.maxEvents + 1), event] : [...events, event];
    }
    this.store.set({ ...state, latest, events });
  }

  private readLatest(): T | undefined {
    const topic = this.topic;
    if (topic === '*') return undefined;
    return this.options.id === undefined ? this.service.getLatest<T>(topic) : this.service.getLatest<T>(topic, this.options.id);
  }
}
