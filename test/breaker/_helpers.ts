import { expect } from 'vitest';
import type { CircuitBreaker } from '../../src/index.js';
import { type Deferred, deferred as settleLater } from '../support/deferred.js';

export type { Deferred };

/** A promise settled from outside, to keep a call in flight while the test moves the breaker on. */
export function deferred<T = string>(): Deferred<T> {
  return settleLater<T>();
}

export const ok = (): Promise<string> => Promise.resolve('ok');

export function boom(message = 'boom'): () => Promise<never> {
  return () => Promise.reject(new Error(message));
}

/** Runs `n` calls that fail with a counted error and checks each reaches the caller. */
export async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(breaker.execute(boom())).rejects.toThrow('boom');
}

/** Runs `n` calls that succeed. */
export async function succeedTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(breaker.execute(ok)).resolves.toBe('ok');
}

/** Lets queued promise callbacks run (a few microtask turns). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
