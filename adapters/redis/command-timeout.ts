import { type Clock, unrefTimer } from 'closed-loop';

/**
 * Runs one Redis call under a time limit on `clock`, whatever the client's own retry settings.
 * Whichever settles first wins: the answer (the timer is cleared) or the timer (the late answer, or
 * its rejection, is swallowed). A call that throws at once rejects with `wrap(error)`.
 *
 * @param clock - the clock the limit runs on
 * @param ms - the limit
 * @param call - the Redis call
 * @param onTimeout - the error when the limit passes
 * @param wrap - what a failure of the call becomes
 * @param unref - unref the timer (for calls nobody awaits)
 * @internal
 */
export function withCommandTimeout<T>(
  clock: Clock,
  ms: number,
  call: () => Promise<T>,
  onTimeout: () => Error,
  wrap: (error: unknown) => Error,
  unref = false,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(call());
    } catch (error) {
      reject(wrap(error));
      return;
    }
    const handle = clock.setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(onTimeout());
    }, ms);
    const timer = unref ? unrefTimer(handle) : handle;
    pending.then(
      (value) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        reject(wrap(error));
      },
    );
  });
}
