import { describe, expect, expectTypeOf, test, vi } from 'vitest';
import {
  CircuitBreaker,
  CircuitBreakerError,
  type CircuitState,
  HttpError,
  ManualClock,
} from '../../src/index.js';
import { deferred, failTimes, ok } from './_helpers.js';

function recorded(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1_000, clock, ...options });
  const log: unknown[][] = [];
  breaker.on('stateChange', (from, to) => log.push(['stateChange', from, to]));
  breaker.on('success', (...args: unknown[]) => log.push(['success', ...args]));
  breaker.on('failure', (error) => log.push(['failure', error]));
  breaker.on('rejected', (error) => log.push(['rejected', error]));
  return { clock, breaker, log };
}

describe('events', () => {
  test('success is emitted for each successful call, with no arguments', async () => {
    const { breaker, log } = recorded();
    await breaker.execute(ok);
    await breaker.execute(() => 1);
    expect(log).toEqual([['success'], ['success']]);
  });

  test('failure carries the error, and fires after the call failed', async () => {
    const { breaker, log } = recorded();
    const error = new Error('down');
    let seenDuringCall = 0;
    await breaker
      .execute(() => {
        seenDuringCall = log.length;
        return Promise.reject(error);
      })
      .catch(() => undefined);
    expect(seenDuringCall).toBe(0);
    expect(log).toEqual([['failure', error]]);
    expect(log[0]![1]).toBe(error);
  });

  test('an error that is not a failure (4xx) emits success, not failure', async () => {
    const { breaker, log } = recorded();
    await breaker.execute(() => Promise.reject(new HttpError(404))).catch(() => undefined);
    expect(log).toEqual([['success']]);
  });

  test('rejected carries the same CircuitBreakerError the caller gets', async () => {
    const { breaker, log } = recorded();
    await failTimes(breaker, 2);
    log.length = 0;
    const error = await breaker.execute(ok).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitBreakerError);
    expect(log).toEqual([['rejected', error]]);
    expect(log[0]![1]).toBe(error);
  });

  test('a busy HALF_OPEN circuit emits rejected with state HALF_OPEN', async () => {
    const { clock, breaker, log } = recorded();
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    const probe = deferred();
    const call = breaker.execute(() => probe.promise);
    log.length = 0;
    await breaker.execute(ok).catch(() => undefined);
    expect(log).toHaveLength(1);
    expect(log[0]![0]).toBe('rejected');
    expect((log[0]![1] as CircuitBreakerError).state).toBe('HALF_OPEN');
    probe.resolve('x');
    await call;
  });

  test('a whole cycle, in order: open, probe fails, reopen, probe succeeds, close', async () => {
    const { clock, breaker, log } = recorded();
    const e1 = new Error('1');
    const e2 = new Error('2');
    const e3 = new Error('3');
    await breaker.execute(() => Promise.reject(e1)).catch(() => undefined);
    await breaker.execute(() => Promise.reject(e2)).catch(() => undefined);
    const r1 = await breaker.execute(ok).catch((e: unknown) => e);
    await clock.advance(1_000);
    await breaker.execute(() => Promise.reject(e3)).catch(() => undefined);
    const r2 = await breaker.execute(ok).catch((e: unknown) => e);
    await clock.advance(1_000);
    await breaker.execute(ok);
    await breaker.execute(ok);
    expect(log).toEqual([
      ['failure', e1],
      // an outcome is announced first, then the transition it causes
      ['failure', e2],
      ['stateChange', 'CLOSED', 'OPEN'],
      ['rejected', r1],
      ['stateChange', 'OPEN', 'HALF_OPEN'],
      ['failure', e3],
      ['stateChange', 'HALF_OPEN', 'OPEN'],
      ['rejected', r2],
      ['stateChange', 'OPEN', 'HALF_OPEN'],
      ['success'],
      ['stateChange', 'HALF_OPEN', 'CLOSED'],
      ['success'],
    ]);
  });

  test('OPEN → HALF_OPEN is announced once, when it is first observed, however often state is read', async () => {
    const { clock, breaker, log } = recorded();
    await failTimes(breaker, 2);
    log.length = 0;
    await clock.advance(1_000);
    expect(log).toEqual([]); // no timer: nothing happens until someone looks
    for (let i = 0; i < 3; i++) expect(breaker.state).toBe('HALF_OPEN');
    breaker.getMetrics();
    expect(log).toEqual([['stateChange', 'OPEN', 'HALF_OPEN']]);
  });

  test('a listener sees the new state when stateChange fires', async () => {
    const { breaker } = recorded();
    const seen: CircuitState[] = [];
    breaker.on('stateChange', () => seen.push(breaker.state));
    await failTimes(breaker, 2);
    expect(seen).toEqual(['OPEN']);
  });

  test('once() and off() work (eventemitter3)', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    let count = 0;
    const listener = () => count++;
    breaker.once('success', listener);
    await breaker.execute(ok);
    await breaker.execute(ok);
    expect(count).toBe(1);
    breaker.on('success', listener);
    breaker.off('success', listener);
    await breaker.execute(ok);
    expect(count).toBe(1);
  });

  test('listeners are typed', () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    breaker.on('stateChange', (from, to) => {
      expectTypeOf(from).toEqualTypeOf<CircuitState>();
      expectTypeOf(to).toEqualTypeOf<CircuitState>();
    });
    breaker.on('rejected', (error) => {
      expectTypeOf(error).toEqualTypeOf<CircuitBreakerError>();
    });
    // @ts-expect-error an unknown event name is refused
    breaker.on('opened', () => undefined);
    // @ts-expect-error stateChange listeners get states, not numbers
    breaker.on('stateChange', (from: number) => from);
    expect(breaker.listenerCount('stateChange')).toBe(2);
  });

  test('a throwing listener does not change the call\'s outcome; its error is reported', async () => {
    const reported: unknown[] = [];
    vi.stubGlobal('reportError', (error: unknown) => reported.push(error));
    try {
      const breaker = new CircuitBreaker({ clock: new ManualClock(), failureThreshold: 1 });
      const oops = new Error('listener bug');
      breaker.on('success', () => {
        throw oops;
      });
      breaker.on('stateChange', () => {
        throw oops;
      });
      await expect(breaker.execute(() => 'charged')).resolves.toBe('charged');
      const cause = new Error('down');
      await expect(breaker.execute(() => Promise.reject(cause))).rejects.toBe(cause);
      expect(breaker.state).toBe('OPEN');
      expect(reported).toEqual([oops, oops]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
