/** The counts every server keeps and pushes to every tab (topic `counts`, record `totals`). */
export interface Counts {
  id: 'totals';
  /** Presses that started a mutation, as the pages report them. */
  clicks: number;
  /** Mutation requests that reached a server (first sends, retries, replays of queued items). */
  requests: number;
  /** Times a mutation's handler ran. */
  handlerRuns: number;
  /** Answers sent from the idempotency store instead of running the handler again. */
  replays: number;
  /** 409 answers: the same key while its first request was still running. */
  conflicts: number;
  /** Mutations the pages put in their offline queue (offline, or out of attempts). */
  queued: number;
  /** Handler runs with a side effect: an order charged, a refund, a cart line. */
  charged: number;
  /** Handler runs that refused (404, 422): nothing charged. */
  refused: number;
  version: number;
}

export interface Chaos {
  id: 'settings';
  failureRate: number;
  dropRate: number;
  latencyMs: number;
  version?: number;
}

export interface Order {
  id: string;
  sku: string;
  name: string;
  status: 'paid' | 'refunded';
  at: number;
}

export interface CartItem {
  id: string;
  sku: string;
  name: string;
  at: number;
}

export interface Shop {
  id: 'shop';
  orders: Order[];
  cart: CartItem[];
  version: number;
}

export interface DemoConfig {
  /** The failover list, when the server was started with DEMO_SERVERS; else empty (this origin). */
  servers: string[];
  store: 'memory' | 'redis';
  bootId: string;
  chaos: Chaos;
  counts: Counts;
  shop: Omit<Shop, 'id' | 'version'>;
}
