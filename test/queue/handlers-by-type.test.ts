import { describe, expect, test } from 'vitest';
import { isClosedLoopError, MemoryQueueStorage, OfflineQueue } from '../../src/index.js';
import { countingHandler, recordEvents } from './_helpers.js';

describe('handlers', () => {
  test('items go to the handler of their type; items without one to the process() argument, then the handler option', async () => {
    const byType = countingHandler(() => 'typed');
    const fallback = countingHandler(() => 'fallback');
    const option = countingHandler(() => 'option');
    const queue = new OfflineQueue({ handler: option.handler, handlers: { order: byType.handler } });
    await queue.add('o', { type: 'order' });
    await queue.add('u', { type: 'unknown' });
    await queue.add('n');
    await queue.process(fallback.handler);
    expect(byType.calls.map((i) => i.payload)).toEqual(['o']);
    expect(fallback.calls.map((i) => i.payload)).toEqual(['u', 'n']);
    await queue.add('n2');
    await queue.process();
    expect(option.calls.map((i) => i.payload)).toEqual(['n2']);
  });

  test('registerHandler adds or replaces a type\'s handler after construction and beats the handlers option', async () => {
    const fromOptions = countingHandler();
    const registered = countingHandler();
    const replacement = countingHandler();
    const queue = new OfflineQueue({ handlers: { order: fromOptions.handler } });
    queue.registerHandler('order', registered.handler);
    await queue.add('a', { type: 'order' });
    await queue.process();
    const unregister = queue.registerHandler('order', replacement.handler);
    await queue.add('b', { type: 'order' });
    await queue.process();
    unregister();
    await queue.add('c', { type: 'order' });
    await queue.process();
    expect(registered.calls.map((i) => i.payload)).toEqual(['a']);
    expect(replacement.calls.map((i) => i.payload)).toEqual(['b']);
    expect(fromOptions.calls.map((i) => i.payload)).toEqual(['c']);
  });

  test('an unregister function only removes its own handler', async () => {
    const queue = new OfflineQueue();
    const first = countingHandler();
    const second = countingHandler();
    const offFirst = queue.registerHandler('t', first.handler);
    queue.registerHandler('t', second.handler);
    offFirst();
    await queue.add('x', { type: 't' });
    await queue.process();
    expect(second.calls).toHaveLength(1);
  });

  test('an item with no handler stays pending, is reported by failed with a clear error, and is not dead-lettered', async () => {
    const queue = new OfflineQueue();
    const { log } = recordEvents(queue);
    const item = await queue.add('x', { type: 'restored-after-reload' });
    for (let i = 0; i < 3; i++) {
      expect(await queue.process()).toMatchObject({ processed: 0, failed: 1, deadLettered: 0, remaining: 1 });
    }
    const failed = log.filter(([n]) => n === 'failed');
    expect(failed).toHaveLength(3);
    expect(failed[0]![1]).toMatchObject({ id: item.id });
    const error = failed[0]![2];
    expect(isClosedLoopError(error) && error.code).toBe('QUEUE_NO_HANDLER');
    expect((error as Error).message).toContain('registerHandler("restored-after-reload"');
    expect(await queue.getItems()).toEqual([item]);
    expect(await queue.getDeadLetters()).toEqual([]);

    // Once a handler is registered (the client was created), the item is delivered, never having cost an attempt.
    const { handler, calls } = countingHandler();
    queue.registerHandler('restored-after-reload', handler);
    await queue.process();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.attempts).toBe(0);
  });

  test('items restored from storage by a new queue find their handler by type', async () => {
    const storage = new MemoryQueueStorage();
    await new OfflineQueue({ storage }).add({ sku: 'A-1' }, { type: 'order' });
    const { handler, calls } = countingHandler();
    const reloaded = new OfflineQueue({ storage, handlers: { order: handler } });
    await reloaded.process();
    expect(calls.map((i) => i.payload)).toEqual([{ sku: 'A-1' }]);
  });

  test('a handler that throws synchronously counts like a rejection', async () => {
    const queue = new OfflineQueue();
    await queue.add('x');
    const result = await queue.process(() => {
      throw new Error('sync');
    });
    expect(result).toMatchObject({ failed: 1, remaining: 1 });
  });
});
