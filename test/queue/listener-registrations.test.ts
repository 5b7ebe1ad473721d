// Each on()/subscribe() is one registration: the same function added twice is called twice, and
// each remover removes its own registration only. A listener added during an event hears the next one.
import { describe, expect, test, vi } from 'vitest';
import { makeQueue } from './_helpers.js';

describe('listener registrations', () => {
  test('on: the same listener twice is called twice; each remover removes one registration', async () => {
    const { queue } = makeQueue();
    const listener = vi.fn();
    const offFirst = queue.on('enqueued', listener);
    queue.on('enqueued', listener);
    await queue.add('a');
    expect(listener).toHaveBeenCalledTimes(2);
    offFirst();
    offFirst();
    await queue.add('b');
    expect(listener).toHaveBeenCalledTimes(3);
  });

  test('on: a listener added during an event is called from the next one', async () => {
    const { queue } = makeQueue();
    const late = vi.fn();
    const off = queue.on('enqueued', () => {
      off();
      queue.on('enqueued', late);
    });
    await queue.add('a');
    expect(late).not.toHaveBeenCalled();
    await queue.add('b');
    expect(late).toHaveBeenCalledTimes(1);
  });

  test('subscribe: the same listener twice, one unsubscribed, is still called', async () => {
    const { queue } = makeQueue();
    const listener = vi.fn();
    const stop = queue.subscribe(listener);
    queue.subscribe(listener);
    stop();
    stop();
    await queue.add('a');
    await vi.waitFor(() => expect(queue.getState().pending).toBe(1));
    expect(listener).toHaveBeenCalledTimes(1);
  });
});
