// The fifteen idempotency behaviours over real HTTP, on the memory store, for Express 5 and 4.
import express from 'express';
import express4 from 'express4';
import { MemoryIdempotencyStore } from 'closed-loop';
import { describeIdempotencyBehaviours } from './idempotency-behaviours.js';
import { expressServer } from './express-server.js';

const makeStore = (opts: { clock?: import('closed-loop').Clock } = {}) => ({
  store: new MemoryIdempotencyStore(opts.clock ? { clock: opts.clock } : {}),
});

describeIdempotencyBehaviours('Express 5, memory store', { server: expressServer('Express 5', express), makeStore });
describeIdempotencyBehaviours('Express 4, memory store', { server: expressServer('Express 4', express4), makeStore });
