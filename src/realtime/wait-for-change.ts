import type { Clock } from '../clock/clock.js';
import { TimeoutError } from '../errors/errors.js';
import { Timeout } from '../internal/timeout.js';
import { checkFunction, checkNumber, nonNegativeOrInfinity } from '../internal/validate.js';
import type { ChangeEvent } from './types.js';

interface PendingWait {
  fail(error: unknown): void;
}

/**
 * The pending `waitForChange` calls of a service: each is a subscription that settles on the first
 * matching event, at its deadline on the clock, or when the service is destroyed.
 */
export class PendingWaits {
  private readonly pending = new Set<PendingWait>();

  /** @param clock - the clock of the deadlines */
  constructor(private readonly clock: Clock) {}

  /**
   * Waits for the next event on `topic` that `predicate` accepts (`topic` checked by the caller);
   * rejects at once if `predicate` or `timeoutMs` is not valid.
   *
   * @param subscribe - the service's `subscribe`
   */
  wait<T>(
    subscribe: (topic: string, callback: (event: ChangeEvent<T>) => void) => () => void,
    topic: string,
    predicate: ((event: ChangeEvent<T>) => boolean) | undefined,
    timeoutMs: number,
  ): Promise<ChangeEvent<T>> {
    try {
      // `null` reads as no predicate, as `undefined` does.
      checkFunction('predicate', predicate ?? undefined, 'waitForChange()');
      checkNumber('timeoutMs', timeoutMs, nonNegativeOrInfinity, 'waitForChange()');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<ChangeEvent<T>>((resolve, reject) => {
      const deadline = new Timeout(this.clock);
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        unsubscribe();
        deadline.clear();
        this.pending.delete(wait);
        return true;
      };
      const wait: PendingWait = {
        fail: (error) => {
          if (finish()) reject(error);
        },
      };
      const unsubscribe = subscribe(topic, (event) => {
        let matched: boolean;
        try {
          matched = predicate == null || Boolean(predicate(event));
        } catch (error) {
          wait.fail(error);
          return;
        }
        if (matched && finish()) resolve(event);
      });
      this.pending.add(wait);
      // A wait the caller awaits keeps a Node process alive, like any setTimeout: not unref'd.
      if (timeoutMs !== Number.POSITIVE_INFINITY) {
        deadline.set(() => {
          wait.fail(new TimeoutError(timeoutMs, `closed-loop: no matching change on ${JSON.stringify(topic)} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /** Rejects every pending wait with `error` (the service is destroyed). */
  failAll(error: unknown): void {
    for (const wait of [...this.pending]) wait.fail(error);
  }
}
