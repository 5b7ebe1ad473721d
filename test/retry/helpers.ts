// Shared helpers for the retry tests. Not a test file: runs in Node and in the browser alike, so it
// uses nothing Node-only.
import type { ManualClock, RetryContext } from '../../src/index.js';

/** What one call of a scripted `fn` saw. */
export interface CallRecord {
  attempt: number;
  /** The clock time the attempt started at. */
  at: number;
  context: RetryContext;
}

/**
 * A `fn` for retryWithBackoff that follows a script: each entry is what that call does — an
 * `Error`/any value to throw (wrapped as `{ throw: value }`), or `{ value }` to resolve with.
 * Calls past the end of the script repeat the last entry. Records every call with its clock time.
 */
export type Step<T> = { throw: unknown } | { reject: unknown } | { value: T } | { hang: true };

export function scripted<T>(clock: ManualClock, steps: Step<T>[]) {
  const calls: CallRecord[] = [];
  const fn = (context: RetryContext): T | Promise<T> => {
    calls.push({ attempt: context.attempt, at: clock.now(), context });
    const step = steps[Math.min(calls.length, steps.length) - 1]!;
    if ('throw' in step) throw step.throw;
    if ('reject' in step) return Promise.reject(step.reject);
    if ('hang' in step) return new Promise<T>(() => {});
    return Promise.resolve(step.value);
  };
  return { fn, calls };
}

/** A fn that always fails with a fresh `Error(`fail N`)`. */
export function alwaysFailing(clock: ManualClock) {
  const calls: CallRecord[] = [];
  const errors: Error[] = [];
  const fn = (context: RetryContext): Promise<never> => {
    calls.push({ attempt: context.attempt, at: clock.now(), context });
    const error = new Error(`fail ${context.attempt}`);
    errors.push(error);
    return Promise.reject(error);
  };
  return { fn, calls, errors };
}

/** Watches a promise without letting its rejection go unhandled. */
export function observe<T>(promise: Promise<T>) {
  const state = {
    settled: false,
    fulfilled: false,
    rejected: false,
    value: undefined as T | undefined,
    error: undefined as unknown,
  };
  promise.then(
    (value) => {
      state.settled = true;
      state.fulfilled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.rejected = true;
      state.error = error;
    },
  );
  return state;
}

/** Lets every pending promise callback run, without moving the clock. */
export function flush(clock: ManualClock): Promise<void> {
  return clock.advance(0);
}
