import type { RealtimeErrorContext } from './service-options.js';
import type { RealtimeStatus, RealtimeTransport } from './types.js';
import { describeValue } from './validation.js';

const STATUSES: ReadonlySet<string> = new Set(['connecting', 'connected', 'reconnecting', 'resynced', 'closed']);

/**
 * A service's status, combined from its transport's and its receive-only sources' (`addSource`).
 * Without sources it is the transport's as reported. With sources: `reconnecting` (or `connecting`)
 * while any member is; `resynced` whenever one of them resynced, also if that happened while another
 * was still down (held until all are up); else `connected`. Every resync is passed on (each may have
 * lost events); other statuses only when they change.
 */
export class CombinedStatus {
  /** The status last passed on; `closed` once the service is destroyed. */
  current: RealtimeStatus = 'connecting';
  // Each source with the status it last reported (undefined: none yet), the transport's own last
  // status, and a resync reported while another member held the status down.
  private readonly sources = new Map<RealtimeTransport, RealtimeStatus | undefined>();
  private transportStatus: RealtimeStatus = 'connecting';
  private pendingResync = false;
  private closed = false;

  /**
   * @param changed - called with each status passed on
   * @param report - reports an unknown status as a transport error
   */
  constructor(
    private readonly changed: (status: RealtimeStatus) => void,
    private readonly report: (error: unknown, context: RealtimeErrorContext) => void,
  ) {}

  /** The transport reported `status`. */
  fromTransport(status: RealtimeStatus): void {
    this.transportStatus = status;
    this.combine(status);
  }

  /** Adds a source; it joins the status from its first report. */
  addSource(source: RealtimeTransport): void {
    this.sources.set(source, undefined);
  }

  /** Whether `source` is added (its events and reports count). */
  hasSource(source: RealtimeTransport): boolean {
    return this.sources.has(source);
  }

  /** `source` reported `status`; ignored unless it is added. */
  fromSource(source: RealtimeTransport, status: RealtimeStatus): void {
    if (!this.sources.has(source)) return;
    this.sources.set(source, status);
    this.combine(status);
  }

  /** Removes `source` without a new status (it failed to connect). */
  forgetSource(source: RealtimeTransport): void {
    this.sources.delete(source);
  }

  /** Removes `source` and recombines the status; false if it was not added. */
  removeSource(source: RealtimeTransport): boolean {
    if (!this.sources.delete(source)) return false;
    this.combine(undefined);
    return true;
  }

  /** From now on, reports change nothing (the service is being destroyed). */
  stop(): void {
    this.closed = true;
  }

  /** Passes on `closed`, the last status, and hands back the sources (now removed) to close. */
  close(): RealtimeTransport[] {
    this.current = 'closed';
    this.changed('closed');
    const sources = [...this.sources.keys()];
    this.sources.clear();
    return sources;
  }

  /**
   * The status from the transport's and the sources'. `reported` is the status just reported
   * (undefined: a source was removed). Without sources, the transport's status as it is.
   */
  private combine(reported: RealtimeStatus | undefined): void {
    if (this.closed) return;
    if (this.sources.size === 0) {
      // The transport alone (as without addSource), or the last source just left.
      let status = reported ?? (this.transportStatus === 'resynced' ? 'connected' : this.transportStatus);
      if (this.pendingResync && status === 'connected') status = 'resynced';
      this.pendingResync = false;
      if (reported === undefined && status === 'connected' && this.current === 'resynced') return;
      this.set(status);
      return;
    }
    if (reported !== undefined && !STATUSES.has(reported)) {
      this.set(reported); // reports the unknown status as an error
      return;
    }
    let down: RealtimeStatus | undefined;
    for (const status of [this.transportStatus, ...this.sources.values()]) {
      if (status === 'reconnecting') down = status;
      else if (status === 'connecting' && down === undefined) down = status;
    }
    if (down !== undefined) {
      if (reported === 'resynced') this.pendingResync = true;
      this.set(down);
      return;
    }
    if (reported === 'resynced' || this.pendingResync) {
      this.pendingResync = false;
      this.set('resynced');
    } else if (this.current !== 'resynced') {
      this.set('connected');
    }
  }

  private set(status: RealtimeStatus): void {
    if (this.closed) return;
    if (!STATUSES.has(status)) {
      this.report(new TypeError(`closed-loop: the transport reported an unknown status ${describeValue(status)}`), {
        source: 'transport',
      });
      return;
    }
    // Every resync is reported (each may have lost events); other statuses only when they change.
    if (status === this.current && status !== 'resynced') return;
    this.current = status;
    this.changed(status);
  }
}
