/** What kind of change a {@link ChangeEvent} reports. `BROADCAST` is a message that is not a record change. @category Realtime */
export type ChangeType = 'INSERT' | 'UPDATE' | 'DELETE' | 'BROADCAST';

/** The id of a record, as carried in {@link ChangeEvent.id}. @category Realtime */
export type RecordId = string | number;

/**
 * One change on a topic, as delivered to subscribers and carried by every transport. Events are plain
 * JSON-serialisable objects so that any transport (Redis, SSE, Supabase, BroadcastChannel) can carry
 * them as they are.
 *
 * @typeParam T - the record type
 * @category Realtime
 */
export interface ChangeEvent<T = unknown> {
  /** The topic the event was published on. */
  topic: string;
  /** What happened to the record. */
  type: ChangeType;
  /** The record's id, when the event is about one record. */
  id?: RecordId;
  /** The record after the change (absent for `DELETE`). */
  new?: T;
  /** The record before the change, when the publisher knows it. */
  old?: T;
  /** The record's version: the latest-state cache keeps the highest; without it, the newest `timestamp`. */
  version?: number;
  /** When the change happened, in epoch milliseconds. */
  timestamp: number;
  /** A globally unique id: every subscriber sees each `eventId` at most once. */
  eventId: string;
}

/**
 * The connection state of a realtime service, as reported by its transport.
 *
 * - `connecting`: not yet connected for the first time.
 * - `connected`: events flow.
 * - `reconnecting`: the connection dropped; events published elsewhere meanwhile may arrive late or not at all.
 * - `resynced`: connected again, but events may have been missed: refetch what the screen shows.
 * - `closed`: the service was destroyed.
 * @category Realtime
 */
export type RealtimeStatus = 'connecting' | 'connected' | 'reconnecting' | 'resynced' | 'closed';

/** What a {@link RealtimeTransport} calls back into. The service passes one to `connect`. @category Realtime */
export interface RealtimeTransportListener {
  /**
   * An event from elsewhere on the transport. Echoes of the service's own events and duplicates are
   * fine: the service drops any `eventId` it has already delivered.
   */
  onEvent(event: ChangeEvent): void;
  /** The transport's connection state changed. */
  onStatus(status: RealtimeStatus): void;
}

/**
 * How a realtime service reaches other services: other tabs, other server instances, a server's
 * event stream. Implement it to carry events over anything else.
 * @category Realtime
 */
export interface RealtimeTransport {
  /**
   * Starts delivering events and status changes to `listener`. Called once, by the service that
   * owns the transport, before any other method. (A bus that several services share, such as
   * `InMemoryTransport`, is connected once per service and implements {@link disconnect}.)
   */
  connect(listener: RealtimeTransportListener): void;
  /**
   * Sends an event to the other services on this transport. The publishing service has already
   * delivered it to its own subscribers, so a transport need not echo it back (it may).
   * A rejection is reported through the service's `error` event.
   */
  publish(event: ChangeEvent): void | Promise<void>;
  /**
   * The service now has subscribers on `topic` (`'*'`: on every topic). Optional: a transport that
   * joins a channel per topic joins it here; one that receives everything can leave it out.
   */
  watch?(topic: string): void;
  /** The service's last subscriber on `topic` left. Optional, the counterpart of `watch`. */
  unwatch?(topic: string): void;
  /**
   * Optional, for a transport several services share: stops delivery to `listener` only, leaving the
   * other services connected. A destroyed service calls it instead of {@link close} when present.
   */
  disconnect?(listener: RealtimeTransportListener): void | Promise<void>;
  /** Stops delivery and releases connections. The transport is not used again. */
  close(): void | Promise<void>;
}
