// An Express app with every server helper of closed-loop/express, mounted in the recommended order.
// test/docs/server-helpers-guide.test.ts serves it over real HTTP and checks what
// docs/server-helpers.md says about it; the guide shows the part between the `readme` markers
// (test/docs/readme-examples.test.ts checks that it still does).
// #region readme
import express from 'express';
import { MemoryIdempotencyStore } from 'closed-loop';
import {
  cacheControl,
  cors,
  createIdempotencyMiddleware,
  errorHandler,
  getIdempotencyCacheStats,
  getRequestId,
  requestId,
  storeIdempotentResult,
} from 'closed-loop/express';

/** The payment provider the shop calls (a fake one in tests). */
export interface Payments {
  charge(amountCents: number): Promise<{ id: string }>;
  receiptUrl(paymentId: string): Promise<string>;
}

export function createShop(payments: Payments) {
  const store = new MemoryIdempotencyStore(); // a RedisIdempotencyStore with several instances
  const orders: Array<{ id: string; sku: string }> = [];
  const app = express();

  app.use(cors({ origin: 'https://shop.example.com' })); // first: every answer readable by the page
  app.use(requestId()); // before anything can fail: every answer carries X-Request-ID
  app.use(express.json()); // fills req.body, which the idempotency fingerprint covers
  app.use(createIdempotencyMiddleware({ store })); // POST, PUT, PATCH with a key run once

  app.get('/health', cacheControl('health'), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/orders', cacheControl('api_short'), (_req, res) => {
    res.json(orders);
  });
  app.get('/orders/:id', cacheControl('api_short'), (req, res) => {
    const { id } = req.params as { id: string };
    const order = orders.find((o) => o.id === id);
    if (!order) throw Object.assign(new Error(`No order ${id}`), { status: 404 });
    res.json(order);
  });

  app.post('/orders', (req, res) => {
    const { sku } = req.body as { sku: string }; // express.json() types the body any
    const order = { id: String(orders.length + 1), sku: String(sku) };
    orders.push(order); // once per Idempotency-Key
    res.status(201).location(`/orders/${order.id}`).json(order);
  });

  app.post('/payments', async (req, res) => {
    const { amountCents } = req.body as { amountCents: number };
    const payment = await payments.charge(amountCents); // a throw here releases the key
    // Charged: from now on a retry gets this answer, even if the rest of the handler throws.
    await storeIdempotentResult(req, { status: 201, body: { id: payment.id } });
    res.status(201).json({ id: payment.id, receiptUrl: await payments.receiptUrl(payment.id) });
  });

  // Record counts for a dashboard; put it behind your admin auth.
  app.get('/admin/idempotency', cacheControl('no_cache'), async (_req, res) => {
    res.json(await getIdempotencyCacheStats(store));
  });

  // No route matched: a 404 problem+json rather than Express's HTML page.
  app.use((req, _res, next) => {
    next(Object.assign(new Error(`No route for ${req.method} ${req.path}`), { status: 404 }));
  });
  // Last: problem+json for every error; 5xx logged with the request id.
  app.use(
    errorHandler({
      onError: (error, req, status) => {
        if (status >= 500) console.error(`request ${getRequestId(req)} failed:`, error);
      },
    }),
  );

  return { app, store, orders };
}
// #endregion readme
