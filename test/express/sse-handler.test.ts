// realtimeSse() over real HTTP: the wire format, topics, Last-Event-ID resumes and resyncs, heartbeats on
// a ManualClock, batching, backpressure, and cleanup.
import express4 from 'express4';
import type { RequestHandler } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, RealtimeSyncService } from 'closed-loop';
import { realtimeSse } from 'closed-loop/express';
import { openStream, pause, request, type SseApp, type SseStream, startSseApp, waitUntil } from './sse-harness.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function newService(): RealtimeSyncService {
  const service = new RealtimeSyncService();
  cleanups.push(() => service.destroy());
  return service;
}

async function app(service: RealtimeSyncService, options: Parameters<typeof startSseApp>[1] = {}, setup: Parameters<typeof startSseApp>[2] = {}): Promise<SseApp> {
  const running = await startSseApp(service, options, setup);
  cleanups.push(() => running.close());
  return running;
}

async function stream(running: SseApp, path = '/events', headers: Record<string, string> = {}): Promise<SseStream> {
  const s = await openStream(running.url, path, headers);
  cleanups.push(() => s.close());
  return s;
}

/** Publishes records n = from..to on `topic`; returns their event ids. */
function publish(service: RealtimeSyncService, topic: string, from: number, to: number): string[] {
  const ids: string[] = [];
  for (let n = from; n <= to; n++) ids.push(service.publish(topic, { id: `r${n}`, n }).eventId);
  return ids;
}

const ns = (s: SseStream) => s.events().map((e) => (e.new as { n: number }).n);

describe('realtimeSse: the stream', () => {
  it('answers text/event-stream with the anti-buffering headers and a cursor frame', async () => {
    const running = await app(newService());
    const s = await stream(running);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(s.headers['cache-control']).toContain('no-cache');
    expect(s.headers['connection']).toBe('keep-alive');
    expect(s.headers['x-accel-buffering']).toBe('no');
    await s.until((x) => x.messages.length === 1);
    expect(s.messages[0]).toMatchObject({ type: 'cursor', data: '' });
    expect(s.lastEventId).not.toBe('');
  });

  it('sends each change event as an id: line and a data: line with the event as JSON', async () => {
    const service = newService();
    const running = await app(service);
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    const event = service.publish('orders', { id: 7, status: 'paid', version: 3 });
    await s.until((x) => x.events().length === 1);
    expect(s.raw).toContain(`id: ${event.eventId}\ndata: ${JSON.stringify(event)}\n\n`);
    expect(s.events()[0]).toEqual(JSON.parse(JSON.stringify(event)));
    expect(s.lastEventId).toBe(event.eventId);
  });

  it('sends events of every topic by default, and only the ?topics= ones when asked', async () => {
    const service = newService();
    const running = await app(service);
    const all = await stream(running);
    const some = await stream(running, '/events?topics=a,%20c');
    const repeated = await stream(running, '/events?topics=b&topics=c');
    await Promise.all([all, some, repeated].map((s) => s.until((x) => x.messages.length === 1)));
    for (const topic of ['a', 'b', 'c', 'd']) service.publish(topic, { id: topic });
    await all.until((x) => x.events().length === 4);
    await some.until((x) => x.events().length === 2);
    await repeated.until((x) => x.events().length === 2);
    await pause(20);
    expect(all.events().map((e) => e.topic)).toEqual(['a', 'b', 'c', 'd']);
    expect(some.events().map((e) => e.topic)).toEqual(['a', 'c']);
    expect(repeated.events().map((e) => e.topic)).toEqual(['b', 'c']);
  });

  it('with a topics option, serves only those and rejects a request for others with a 400', async () => {
    const service = newService();
    const running = await app(service, { topics: ['a', 'b'] });
    expect(service.getSubscriptionCount()).toBe(2);
    const bad = await request(running.url, '/events?topics=a,secret');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(JSON.parse(bad.text).detail).toContain('"secret"');
    // The same problem shape as every other closed-loop error answer.
    expect(JSON.parse(bad.text)).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400, instance: '/events?topics=a,secret' });
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    for (const topic of ['a', 'secret', 'b']) service.publish(topic, { id: topic });
    await s.until((x) => x.events().length === 2);
    await pause(20);
    expect(s.events().map((e) => e.topic)).toEqual(['a', 'b']);
  });

  it('without Last-Event-ID sends only what is published from now on', async () => {
    const service = newService();
    const running = await app(service);
    publish(service, 't', 1, 3);
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    publish(service, 't', 4, 5);
    await s.until((x) => x.events().length === 2);
    expect(ns(s)).toEqual([4, 5]);
  });

  it('works on Express 4 too', async () => {
    const service = newService();
    const running = await app(service, {}, { express: express4 as never });
    const ids = publish(service, 't', 1, 3);
    const s = await stream(running, '/events', { 'last-event-id': ids[0]! });
    await s.until((x) => x.events().length === 2);
    expect(ns(s)).toEqual([2, 3]);
  });

  it('answers HEAD with the headers only and other methods with 405', async () => {
    const running = await app(newService());
    const head = await request(running.url, '/events', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(running.handler.connectionCount).toBe(0);
    const mounted = realtimeSse(newService());
    cleanups.push(() => mounted.close());
    const other = await startSseApp(newService(), {}, { routes: (a) => a.post('/events', mounted) });
    cleanups.push(() => other.close());
    const post = await request(other.url, '/events', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('rejects bad options with a TypeError', () => {
    const service = newService();
    expect(() => realtimeSse({} as never)).toThrow(TypeError);
    expect(() => realtimeSse(service, { bufferSize: -1 })).toThrow(/bufferSize/);
    expect(() => realtimeSse(service, { bufferSize: 1.5 })).toThrow(/bufferSize/);
    expect(() => realtimeSse(service, { heartbeatMs: Number.NaN })).toThrow(/heartbeatMs/);
    expect(() => realtimeSse(service, { topics: [] })).toThrow(/topics/);
    expect(() => realtimeSse(service, { topics: ['*'] })).toThrow(/topic/);
    expect(() => realtimeSse(service, { maxQueuedBytes: 0 })).toThrow(/maxQueuedBytes/);
    expect(() => realtimeSse(service, { retryMs: -5 })).toThrow(/retryMs/);
    expect(service.getSubscriptionCount()).toBe(0);
  });
});

describe('realtimeSse: resuming with Last-Event-ID', () => {
  it('replays exactly the buffered events after the Last-Event-ID header, then continues live', async () => {
    const service = newService();
    const running = await app(service);
    const ids = publish(service, 't', 1, 5);
    const s = await stream(running, '/events', { 'last-event-id': ids[1]! });
    await s.until((x) => x.events().length === 3);
    publish(service, 't', 6, 6);
    await s.until((x) => x.events().length === 4);
    await pause(20);
    expect(ns(s)).toEqual([3, 4, 5, 6]);
    expect(s.messages.some((m) => m.type === 'resync')).toBe(false);
  });

  it('takes the position from the lastEventId query parameter too; the header wins over it', async () => {
    const service = newService();
    const running = await app(service);
    const ids = publish(service, 't', 1, 5);
    const byQuery = await stream(running, `/events?lastEventId=${encodeURIComponent(ids[2]!)}`);
    const both = await stream(running, `/events?lastEventId=${encodeURIComponent(ids[0]!)}`, { 'last-event-id': ids[3]! });
    await byQuery.until((x) => x.events().length === 2);
    await both.until((x) => x.events().length === 1);
    await pause(20);
    expect(ns(byQuery)).toEqual([4, 5]);
    expect(ns(both)).toEqual([5]);
  });

  it('covers events published while no client was connected (it subscribes when created)', async () => {
    const service = newService();
    const running = await app(service);
    const first = await stream(running);
    await first.until((x) => x.messages.length === 1);
    const cursor = first.lastEventId;
    first.close();
    await waitUntil(() => running.handler.connectionCount === 0);
    publish(service, 't', 1, 3);
    // The client had seen no event, only the opening cursor frame: resuming from it gets all three.
    const again = await stream(running, '/events', { 'last-event-id': cursor });
    await again.until((x) => x.events().length === 3);
    expect(ns(again)).toEqual([1, 2, 3]);
  });

  it('replays only the asked topics, and an unfiltered client resumes from a filtered one\'s position', async () => {
    const service = newService();
    const running = await app(service);
    const start = publish(service, 'a', 0, 0)[0]!;
    service.publish('b', { id: 'b1' });
    publish(service, 'a', 1, 1);
    service.publish('b', { id: 'b2' });
    const s = await stream(running, '/events?topics=a', { 'last-event-id': start });
    await s.until((x) => x.events().length === 1);
    expect(ns(s)).toEqual([1]);
    // It was told the position moved past b2, so a resume from there replays nothing stale.
    await s.until((x) => x.messages.at(-1)?.type === 'cursor');
    const resumed = await stream(running, '/events', { 'last-event-id': s.lastEventId });
    await resumed.until((x) => x.messages.length >= 1);
    service.publish('c', { id: 'c1' });
    await resumed.until((x) => x.events().length === 1);
    expect(resumed.events().map((e) => e.id)).toEqual(['c1']);
  });

  it('sends the resync signal when the buffer no longer reaches back, then continues live', async () => {
    const service = newService();
    const running = await app(service, { bufferSize: 3 });
    const ids = publish(service, 't', 1, 5);
    const s = await stream(running, '/events', { 'last-event-id': ids[0]! });
    await s.until((x) => x.messages.some((m) => m.type === 'resync'));
    const resync = s.messages.find((m) => m.type === 'resync')!;
    expect(JSON.parse(resync.data)).toEqual({ lastEventId: ids[0] });
    // The resync frame moves the client to the newest position: a resume from it is exact again.
    expect(resync.lastEventId).toBe(ids[4]);
    expect(s.raw).toMatch(/event: resync\n/);
    publish(service, 't', 6, 6);
    await s.until((x) => x.events().length === 1);
    expect(ns(s)).toEqual([6]);
    // The buffer now holds 4, 5 and 6: a resume from 4 is exact.
    const exact = await stream(running, '/events', { 'last-event-id': ids[3]! });
    await exact.until((x) => x.events().length === 2);
    expect(ns(exact)).toEqual([5, 6]);
    expect(exact.messages.some((m) => m.type === 'resync')).toBe(false);
  });

  it('sends the resync signal for an id it never saw (another server, a restart)', async () => {
    const service = newService();
    const running = await app(service);
    publish(service, 't', 1, 2);
    const s = await stream(running, '/events', { 'last-event-id': 'from-somewhere-else' });
    await s.until((x) => x.messages.length === 1);
    expect(s.messages[0]!.type).toBe('resync');
    expect(s.events()).toEqual([]);
  });

  it('with bufferSize 0 keeps nothing: every resume is a resync', async () => {
    const service = newService();
    const running = await app(service, { bufferSize: 0 });
    const ids = publish(service, 't', 1, 2);
    const s = await stream(running, '/events', { 'last-event-id': ids[1]! });
    await s.until((x) => x.messages.length === 1);
    expect(s.messages[0]!.type).toBe('resync');
  });

  it('resumes across handlers that share a bus when both have seen the event', async () => {
    // Two server instances whose services share one in-memory bus, like instances on Redis.
    const { InMemoryTransport } = await import('closed-loop');
    const bus = new InMemoryTransport();
    const one = new RealtimeSyncService({ transport: bus });
    const two = new RealtimeSyncService({ transport: bus });
    cleanups.push(() => one.destroy(), () => two.destroy());
    const appOne = await app(one);
    const appTwo = await app(two);
    const ids = publish(one, 't', 1, 4);
    const s = await stream(appTwo, '/events', { 'last-event-id': ids[1]! });
    await s.until((x) => x.events().length === 2);
    expect(ns(s)).toEqual([3, 4]);
    expect(appOne.handler.connectionCount).toBe(0);
  });
});

describe('realtimeSse: heartbeats, batching, backpressure, cleanup', () => {
  it('sends a heartbeat comment every heartbeatMs on the clock, and runs no timer without clients', async () => {
    const clock = new ManualClock();
    const running = await app(newService(), { clock, heartbeatMs: 1000 });
    expect(clock.pendingTimers).toBe(0);
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(999);
    await pause(30);
    expect(s.raw).not.toContain(': heartbeat');
    await clock.advance(1);
    await s.until((x) => x.raw.split(': heartbeat\n').length - 1 === 1);
    await clock.advance(2000);
    await s.until((x) => x.raw.split(': heartbeat\n').length - 1 === 3);
    s.close();
    await waitUntil(() => running.handler.connectionCount === 0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('moves a filtered client\'s position on at heartbeats when other topics had events', async () => {
    const clock = new ManualClock();
    const service = newService();
    const running = await app(service, { clock, heartbeatMs: 1000 });
    const s = await stream(running, '/events?topics=a');
    await s.until((x) => x.messages.length === 1);
    const others = publish(service, 'b', 1, 3);
    await clock.advance(1000);
    await s.until((x) => x.lastEventId === others[2]);
    expect(s.events()).toEqual([]);
    // Nothing new: the next heartbeat is a bare comment.
    const before = s.messages.length;
    await clock.advance(1000);
    await s.until((x) => x.raw.split(': heartbeat\n').length - 1 === 2);
    await pause(20);
    expect(s.messages.length).toBe(before);
  });

  it('writes what one turn of the event loop published to a connection with a single write', async () => {
    const service = newService();
    let writes = 0;
    const countWrites: RequestHandler = (_req, res, next) => {
      const write = res.write;
      res.write = function (this: typeof res, ...args: unknown[]) {
        writes++;
        return (write as (...a: unknown[]) => boolean).apply(this, args);
      } as typeof res.write;
      next();
    };
    const running = await app(service, {}, { before: [countWrites] });
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    await pause(20);
    writes = 0;
    publish(service, 't', 1, 200);
    await s.until((x) => x.events().length === 200);
    expect(writes).toBe(1);
    expect(ns(s)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('drops a client that does not read instead of buffering for it without bound; it can resume', async () => {
    const service = newService();
    const running = await app(service, { maxQueuedBytes: 64 * 1024 });
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    const position = s.lastEventId;
    s.res.pause();
    const blob = 'x'.repeat(4096);
    let published = 0;
    // Publish until the kernel buffers are full and the queue passes the limit.
    while (running.handler.connectionCount > 0 && published < 20_000) {
      service.publish('t', { id: `r${published}`, n: published, blob });
      published++;
      if (published % 50 === 0) await pause(1);
    }
    expect(running.handler.connectionCount).toBe(0);
    expect(published).toBeLessThan(20_000);
    // Its replay is far larger than maxQueuedBytes, yet it is not dropped again: it gets every event
    // (or, if more than the buffer's 1000 went out, the resync signal).
    const resumed = await stream(running, '/events', { 'last-event-id': position });
    if (published > 1000) {
      await resumed.until((x) => x.messages.length >= 1);
      expect(resumed.messages[0]!.type).toBe('resync');
    } else {
      await resumed.until((x) => x.events().length === published, 10_000);
      expect(ns(resumed)).toEqual(Array.from({ length: published }, (_, i) => i));
      expect(resumed.ended).toBe(false);
    }
  });

  it('cleans up when a client disconnects: no connection, no extra subscription, no timer', async () => {
    const clock = new ManualClock();
    const service = newService();
    const running = await app(service, { clock });
    expect(service.getSubscriptionCount()).toBe(1);
    const streams = await Promise.all([stream(running), stream(running), stream(running)]);
    await waitUntil(() => running.handler.connectionCount === 3);
    expect(service.getSubscriptionCount()).toBe(1);
    streams[0].close();
    running.dropAll();
    await waitUntil(() => running.handler.connectionCount === 0);
    expect(service.getSubscriptionCount()).toBe(1);
    expect(clock.pendingTimers).toBe(0);
    // Publishing to a handler whose clients left is harmless.
    publish(service, 't', 1, 3);
  });

  it('close() ends open streams, unsubscribes, and answers later requests with 503', async () => {
    const clock = new ManualClock();
    const service = newService();
    const running = await app(service, { clock });
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    publish(service, 't', 1, 1);
    running.handler.close();
    await s.until((x) => x.ended);
    expect(ns(s)).toEqual([1]);
    expect(service.getSubscriptionCount()).toBe(0);
    expect(running.handler.connectionCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    const late = await request(running.url, '/events');
    expect(late.status).toBe(503);
    running.handler.close();
  });

  it('sends the retry hint when asked to', async () => {
    const running = await app(newService(), { retryMs: 2500 });
    const s = await stream(running);
    await s.until((x) => x.messages.length === 1);
    expect(s.raw.startsWith('retry: 2500\n')).toBe(true);
  });
});
