import type { IdempotencyLease } from '../guard.js';
import type { WaitingAnswer } from './answer-waits.js';
import { putStoredHeader } from './headers.js';
import type { HttpIdempotency } from './http-idempotency.js';
import { ResponseCapture } from './response-capture.js';
import type { StoredHttpResponse } from './stored-response.js';

/**
 * One request that holds its key, from the claim until its result is stored or released: it
 * captures the body the handler sends (see {@link ResponseCapture}), applies the release rule when
 * the handler finishes, and holds the end of the response until the store has confirmed (at most
 * `min(leaseMs, 5 s)`), so a retry sent the moment the client has its answer is replayed rather
 * than refused with 409.
 *
 * An adapter subclasses it once: {@link header} reads a header of the response being sent, and
 * {@link ready} lets a held-back end go out. One object per request, no closures.
 *
 * @category Idempotency
 */
export abstract class HeldHttpResponse<Req> extends ResponseCapture {
  /** True once the result is being stored or released: nothing else is stored for this request. */
  settled = false;
  /** True once a thrown error reached the app's error handling: the answer releases the key whatever its status. */
  failed = false;
  /** @internal */
  waiting = false;
  /** @internal */
  waitUntil = 0;
  /** @internal */
  waitPrev: WaitingAnswer | undefined;
  /** @internal */
  waitNext: WaitingAnswer | undefined;
  /** A store or release has not answered yet (and its wait has not run out). */
  private storing = false;
  /** The end of the response waits for the store. */
  private held = false;

  /**
   * @param rules - the guard's rules
   * @param req - the request, as the adapter hands it to `onStoreError`
   * @param lease - the lease `begin` gave this request
   */
  constructor(
    readonly rules: HttpIdempotency<Req>,
    readonly req: Req,
    private readonly lease: IdempotencyLease,
  ) {
    super(rules.maxResponseBytes);
  }

  /**
   * Stores `result` now, as the response every retry gets; what the handler sends afterwards still
   * reaches this client but is not stored.
   *
   * @param result - the response to replay
   * @returns whether it was stored: false when something was stored or released already, the
   *   lease was lost or the store failed (reported to `onStoreError`)
   */
  store(result: StoredHttpResponse): Promise<boolean> {
    if (this.settled) return Promise.resolve(false);
    this.settled = true;
    const done = this.rules.complete(this.lease, result);
    return typeof done === 'boolean' ? Promise.resolve(done) : this.track(done);
  }

  /**
   * The handler has finished its response with `status`: it is stored, or the key released by the
   * release rule ({@link HttpIdempotency.releases}), unless that happened already.
   *
   * @param status - the response's status
   * @returns true when the end of the response may go out now; false when it must wait, and
   *   {@link ready} is called once it may
   */
  finish(status: number): boolean {
    if (!this.settled) {
      this.settled = true;
      const rules = this.rules;
      const done = rules.releases(status, this.failed) ? rules.release(this.lease) : rules.complete(this.lease, this.stored(status, this.replayedHeaders()));
      if (typeof done !== 'boolean') void this.track(done);
    }
    if (!this.storing) return true;
    this.held = true;
    return false;
  }

  /**
   * The response will not complete normally (the handler failed after it had started sending, or
   * its body broke off): the key is released, whatever `cacheServerErrors` says, so a retry runs
   * the handler again instead of waiting out the lease.
   */
  abandon(): void {
    if (this.settled) return;
    this.settled = true;
    const done = this.rules.release(this.lease);
    if (typeof done !== 'boolean') void this.track(done);
  }

  /**
   * The value of a response header as the handler set it, `undefined` when absent.
   *
   * @param name - a lower-case header name
   */
  protected abstract header(name: string): unknown;

  /** Called once when an end that {@link finish} held back may go out. */
  protected abstract ready(): void;

  /** @internal The store answered, or the wait for it ran out. */
  storeAnswered(): void {
    if (!this.storing) return;
    this.storing = false;
    this.rules.waits.remove(this);
    if (this.held) {
      this.held = false;
      this.ready();
    }
  }

  private replayedHeaders(): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = {};
    for (const name of this.rules.replayedHeaders) putStoredHeader(headers, name, this.header(name));
    return headers;
  }

  /** Waits for a store write at most the answer wait; never rejects (the client has its response). */
  private track(op: Promise<boolean>): Promise<boolean> {
    this.storing = true;
    this.rules.waits.add(this);
    return op.then(
      (ok) => {
        this.storeAnswered();
        return ok;
      },
      (error: unknown) => {
        this.rules.reportStoreError(error, this.req);
        this.storeAnswered();
        return false;
      },
    );
  }
}
