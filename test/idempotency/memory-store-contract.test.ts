// The IdempotencyStore contract against MemoryIdempotencyStore (Node and browser).
import { MemoryIdempotencyStore } from 'closed-loop';
import { describeIdempotencyStoreContract } from './store-contract.js';

describeIdempotencyStoreContract('MemoryIdempotencyStore', async ({ clock }) => ({
  store: new MemoryIdempotencyStore({ clock }),
}));
