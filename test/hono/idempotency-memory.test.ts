// The fifteen idempotency behaviours over real HTTP, on the memory store, for idempotency() from
// closed-loop/hono in a Hono app served with @hono/node-server.
import { type Clock, MemoryIdempotencyStore } from 'closed-loop';
import { describeIdempotencyBehaviours } from '../express/idempotency-behaviours.js';
import { honoServer } from './hono-server.js';

describeIdempotencyBehaviours('Hono, memory store', {
  server: honoServer(),
  makeStore: (opts: { clock?: Clock } = {}) => ({ store: new MemoryIdempotencyStore(opts.clock ? { clock: opts.clock } : {}) }),
});
