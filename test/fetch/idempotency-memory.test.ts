// The fifteen idempotency behaviours over real HTTP, on the memory store, for withIdempotency()
// from closed-loop/fetch, served with @hono/node-server's serve({ fetch }).
import { type Clock, MemoryIdempotencyStore } from 'closed-loop';
import { describeIdempotencyBehaviours } from '../express/idempotency-behaviours.js';
import { fetchServer } from './fetch-server.js';

describeIdempotencyBehaviours('withIdempotency, memory store', {
  server: fetchServer(),
  makeStore: (opts: { clock?: Clock } = {}) => ({ store: new MemoryIdempotencyStore(opts.clock ? { clock: opts.clock } : {}) }),
});
