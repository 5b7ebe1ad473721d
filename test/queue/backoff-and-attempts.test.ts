import { describe, expect, test } from 'vitest';
import {
  CircuitBreakerError,
  IdempotencyError,
  NetworkError,
  RetryExhaustedError,
  TimeoutError,
} from '../../src/index.js';
import { countingHandler, http, makeQueue, recordEvents } from './_helpers.js';

describe('backoff between an item\'s attempts', () => {
  test('after a failure the item waits out computeBackoffDelay; process skips it until then', async () => {
    const { queue, clock } = makeQueue({ retry: { initialDelayMs: 1000, backoffMultiplier: 2 } });
    const item = await queue.add('x');
    const { handler, calls } = countingHandler(() => {
      throw http(503);
    });
    const start = clock.now();
    await queue.process(handler);
    expect((await queue.getItems())[0]).toMatchObject({ id: item.id, attempts: 1, failures: 1, nextAttemptAt: start + 1000 });

    await clock.advance(999);
    expect(await queue.process(handler)).toMatchObject({ processed: 0, failed: 0, remaining: 1 });
    expect(calls).toHaveLength(1);

    await clock.advance(1);
    await queue.process(handler);
    expect(calls).toHaveLength(2);
    // 2nd failure: 1000 × 2
    expect((await queue.getItems())[0]).toMatchObject({ attempts: 2, nextAttemptAt: clock.now() + 2000 });
  });

  test('a not-yet-due item does not hold up due ones behind it', async () => {
    const { queue } = makeQueue();
    await queue.add('first', { priority: 1 });
    await queue.add('second');
    const { handler, calls } = countingHandler((item) => {
      if (item.payload === 'first') throw http(500);
    });
    await queue.process(handler);
    await queue.process(handler);
    expect(calls.map((i) => i.payload)).toEqual(['first', 'second']);
  });

  test('Retry-After from the server sets the wait instead of the backoff', async () => {
    const { queue, clock } = makeQueue();
    await queue.add('x');
    const now = clock.now();
    await queue.process(() => {
      throw http(429, undefined, { 'retry-after': '7' });
    });
    expect((await queue.getItems())[0]!.nextAttemptAt).toBe(now + 7000);
  });

  test('with respectRetryAfter false, Retry-After is ignored', async () => {
    const { queue, clock } = makeQueue({ retry: { respectRetryAfter: false } });
    await queue.add('x');
    const now = clock.now();
    await queue.process(() => {
      throw http(429, undefined, { 'retry-after': '7' });
    });
    expect((await queue.getItems())[0]!.nextAttemptAt).toBe(now + 1000);
  });

  test('the delay never passes maxDelayMs', async () => {
    const { queue, clock } = makeQueue({ retry: { initialDelayMs: 1000, maxDelayMs: 4000, maxAttempts: 50 } });
    await queue.add('x');
    for (let i = 0; i < 8; i++) {
      await queue.process(() => {
        throw http(500);
      });
      const next = (await queue.getItems())[0]!.nextAttemptAt!;
      expect(next - clock.now()).toBeLessThanOrEqual(4000);
      await clock.advance(4000);
    }
  });
});

describe('attempts count only answered failures', () => {
  test('network failures cost no attempt: 30 of them leave the item pending with maxAttempts 3', async () => {
    const { queue, clock } = makeQueue({ retry: { maxAttempts: 3, maxDelayMs: 1000 } });
    const item = await queue.add('x');
    for (let i = 0; i < 30; i++) {
      await queue.process(() => {
        throw new NetworkError('offline');
      });
      await clock.advance(1000);
    }
    const [stored] = await queue.getItems();
    expect(stored).toMatchObject({ id: item.id, attempts: 0, failures: 30, state: 'pending', lastFailureUnanswered: true });
    expect(await queue.getDeadLetters()).toEqual([]);
  });

  test('errors that mean "no answer" cost none: timeouts, open breakers, aborts, exhausted retries of network errors, 409 KEY_IN_USE', async () => {
    const unanswered: unknown[] = [
      new TimeoutError(100),
      new CircuitBreakerError('OPEN', 5000),
      new DOMException('aborted', 'AbortError'),
      new RetryExhaustedError(3, new NetworkError('down')),
      http(409, { code: 'KEY_IN_USE' }),
      new IdempotencyError('KEY_IN_USE'),
    ];
    for (const error of unanswered) {
      const { queue } = makeQueue({ retry: { maxAttempts: 1 } });
      await queue.add('x');
      const result = await queue.process(() => {
        throw error;
      });
      expect(result, String(error)).toMatchObject({ failed: 1, deadLettered: 0 });
      expect((await queue.getItems())[0]!.attempts).toBe(0);
    }
  });

  test('answered failures count, and the item goes to the dead letters when maxAttempts are spent', async () => {
    const { queue, clock } = makeQueue({ retry: { maxAttempts: 3 } });
    const events = recordEvents(queue);
    const item = await queue.add('x');
    const answers = [new NetworkError('offline'), http(500), new NetworkError('offline'), http(503), http(502)];
    const { handler, calls } = countingHandler((_item, call) => {
      throw answers[call - 1];
    });
    for (let i = 0; i < answers.length; i++) {
      await queue.process(handler);
      await clock.advance(60_000);
    }
    expect(calls).toHaveLength(5);
    expect(await queue.getItems()).toEqual([]);
    const [letter] = await queue.getDeadLetters();
    expect(letter).toMatchObject({ id: item.id, reason: 'exhausted', attempts: 3, failures: 5, idempotencyKey: item.idempotencyKey });
    expect(letter!.lastError).toMatchObject({ name: 'HttpError', status: 502 });
    expect(events.names()).toEqual(['enqueued', 'failed', 'failed', 'failed', 'failed', 'deadLettered', 'drained']);
  });

  test('the default budget is 10 answered attempts', async () => {
    const { queue, clock } = makeQueue();
    await queue.add('x');
    const { handler, calls } = countingHandler(() => {
      throw http(500);
    });
    for (let i = 0; i < 15; i++) {
      await queue.process(handler);
      await clock.advance(120_000);
    }
    expect(calls).toHaveLength(10);
    expect((await queue.getDeadLetters())[0]).toMatchObject({ reason: 'exhausted', attempts: 10 });
  });

  test('a handler error of unknown kind (a bug) counts as an answered attempt, so it cannot loop forever', async () => {
    const { queue, clock } = makeQueue({ retry: { maxAttempts: 2 } });
    await queue.add('x');
    for (let i = 0; i < 3; i++) {
      await queue.process(() => {
        throw new TypeError('cannot read properties of undefined');
      });
      await clock.advance(60_000);
    }
    expect((await queue.getDeadLetters())[0]).toMatchObject({ reason: 'exhausted', attempts: 2, lastError: { name: 'TypeError' } });
  });

  test('networkRestored: items whose last failure got no answer are due at once; answered ones keep their backoff', async () => {
    const { queue } = makeQueue({ retry: { initialDelayMs: 60_000 } });
    await queue.add('offline-one');
    await queue.add('server-error-one');
    const { handler, calls } = countingHandler((item, call) => {
      if (call > 2) return 'ok';
      throw item.payload === 'offline-one' ? new NetworkError('offline') : http(500);
    });
    await queue.process(handler);
    expect(await queue.process(handler)).toMatchObject({ processed: 0, remaining: 2 });
    const result = await queue.process(handler, { networkRestored: true });
    expect(result).toMatchObject({ processed: 1, remaining: 1 });
    expect(calls.map((i) => i.payload)).toEqual(['offline-one', 'server-error-one', 'offline-one']);
  });
});
