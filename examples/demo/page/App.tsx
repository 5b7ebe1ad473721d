import { type ReactNode, useCallback, useEffect, useState } from 'react';
import type { OfflineQueue } from 'closed-loop';
import {
  SyncButton,
  SyncButtonWithConfirm,
  SyncButtonWithProgress,
  useOfflineSync,
  useRealtime,
  useSyncMutation,
} from 'closed-loop/react';
import { isPageOffline, reportFetch, setPageOffline } from './offline.js';
import type { CartItem, Chaos, Counts, DemoConfig, Order, Shop } from './types.js';

/** Tells the server what only the page sees. A side channel: no chaos, never offline. */
function report(kind: 'click' | 'queued'): void {
  void reportFetch('/api/report', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind }),
    keepalive: true,
  }).catch(() => {});
}

/** A press that started a mutation: the buttons' `onMutate` runs exactly then. */
const reportClick = () => {
  report('click');
  return undefined;
};

/** The newest of a record the page read at start and the one the realtime bus last pushed. */
function useLive<T extends { version?: number }>(topic: string, id: string, initial: T): T {
  const { latest } = useRealtime<T>(topic, { id });
  if (latest === undefined) return initial;
  return (latest.version ?? 0) >= (initial.version ?? 0) ? latest : initial;
}

export function App({ config, reload, queue }: { config: DemoConfig; reload: () => Promise<DemoConfig>; queue: OfflineQueue }) {
  const [initial, setInitial] = useState(config);
  const { status } = useRealtime('counts');

  // After a gap in the stream (`resynced`), read everything again.
  useEffect(() => {
    if (status === 'resynced') reload().then(setInitial, () => {});
  }, [status, reload]);

  // Every mutation this page puts in its queue: offline, or out of attempts under chaos.
  useEffect(() => queue.on('enqueued', () => report('queued')), [queue]);

  const counts = useLive<Counts>('counts', 'totals', initial.counts);
  const chaos = useLive<Chaos>('chaos', 'settings', initial.chaos);
  const shop = useLive<Shop>('shop', 'shop', { id: 'shop', version: 0, ...initial.shop });

  return (
    <main>
      <header>
        <h1>closed-loop</h1>
        <p className="tagline">
          Every press below reaches the server exactly once, however bad the network. Break it with the chaos
          panel, open a second tab, and watch the counts.
        </p>
      </header>
      <Verdict counts={counts} />
      <CountsPanel counts={counts} live={status} />
      <div className="columns">
        <ShopPanel shop={shop} />
        <div className="stack">
          <ChaosPanel chaos={chaos} />
          <QueuePanel />
          <About config={config} />
        </div>
      </div>
    </main>
  );
}

/** The one line a person reads at a glance. */
function Verdict({ counts }: { counts: Counts }) {
  const { clicks, charged, refused } = counts;
  const answered = charged + refused;
  const times = (n: number) => (n === 1 ? 'once' : `${n} times`);
  const clicksText = `${clicks} accepted click${clicks === 1 ? '' : 's'}`;
  const refusedText = refused > 0 ? ` (${refused} refused, nothing to charge)` : '';
  let kind: 'ok' | 'waiting' | 'bad';
  let text: string;
  if (answered === clicks) {
    kind = 'ok';
    text = `Charged ${times(charged)} for ${clicksText}${refusedText} ✓`;
  } else if (answered < clicks) {
    kind = 'waiting';
    text = `Charged ${times(charged)} for ${clicksText}: ${clicks - answered} still on the way…`;
  } else {
    kind = 'bad';
    text = `Charged ${times(charged)} for ${clicksText}: ${answered - clicks} too many ✗`;
  }
  return (
    <p className={`verdict verdict-${kind}`} data-verdict={kind} role="status">
      {text}
    </p>
  );
}

const COUNT_LABELS: Array<[keyof Counts, string, string]> = [
  ['clicks', 'clicks', 'presses that started a mutation'],
  ['requests', 'requests', 'received by the server, retries included'],
  ['handlerRuns', 'handler runs', 'times a route handler ran'],
  ['replays', 'replays', 'answered from the idempotency store'],
  ['conflicts', '409s', 'same key while the first was running'],
  ['queued', 'queued', 'put in an offline queue'],
  ['charged', 'charged', 'handler runs with a side effect'],
];

function CountsPanel({ counts, live }: { counts: Counts; live: string }) {
  return (
    <section className="counts" aria-label="Counts, live from the server">
      <dl>
        {COUNT_LABELS.map(([name, label, hint]) => (
          <div key={name} className={`count count-${name}`} title={hint}>
            <dt>{label}</dt>
            <dd data-count={name}>{String(counts[name] ?? 0)}</dd>
          </div>
        ))}
      </dl>
      <p className="live">
        <span className={`dot dot-${live}`} aria-hidden="true" /> {live === 'connected' ? 'live over SSE' : live}
      </p>
    </section>
  );
}

/** Every button reports its press as a click. */
const CLICK = { onMutate: reportClick };

/** What both Buy buttons share: they post an order. */
const BUY = {
  endpoint: '/orders',
  loadingText: 'Paying…',
  successText: 'Paid ✓',
  successMessage: 'Order placed.',
  successDurationMs: 600,
  mutationConfig: CLICK,
} as const;

/** One row of the shop: what it is, its price, the button that acts on it, and which button that is. */
function Product({ name, price, caption, children }: { name: string; price: string; caption: string; children: ReactNode }) {
  return (
    <div className="product">
      <span className="product-name">{name}</span>
      <span className="price">{price}</span>
      {children}
      <small>{caption}</small>
    </div>
  );
}

function ShopPanel({ shop }: { shop: Shop }) {
  const latestPaid = [...shop.orders].reverse().find((o) => o.status === 'paid');
  const orders = [...shop.orders].reverse().slice(0, 6);
  return (
    <section className="panel shop" aria-labelledby="shop-title">
      <h2 id="shop-title">Shop</h2>
      <div className="products">
        <Product name="Green tea, 100 g" price="€6" caption="SyncButton">
          <SyncButton id="buy-tea" body={{ sku: 'tea' }} {...BUY}>
            Buy
          </SyncButton>
        </Product>
        <Product name="Coffee beans, 250 g" price="€9" caption="SyncButtonWithProgress: shows its retries">
          <SyncButtonWithProgress id="buy-beans" body={{ sku: 'beans' }} {...BUY}>
            Buy
          </SyncButtonWithProgress>
        </Product>
        <Product
          name={latestPaid ? `Refund ${latestPaid.name}` : 'Nothing to refund'}
          price={latestPaid ? latestPaid.id : ''}
          caption="SyncButtonWithConfirm"
        >
          <SyncButtonWithConfirm
            id="refund"
            endpoint={`/orders/${latestPaid?.id ?? 'none'}`}
            method="DELETE"
            disabled={latestPaid === undefined}
            confirmTitle="Refund this order?"
            confirmMessage="The card is refunded once, however many times the request is retried."
            confirmText="Refund"
            cancelText="Keep it"
            successMessage="Refunded."
            successDurationMs={600}
            mutationConfig={CLICK}
          >
            Refund…
          </SyncButtonWithConfirm>
        </Product>
      </div>
      <Cart cart={shop.cart} />
      <h3>Latest orders</h3>
      {orders.length === 0 ? (
        <p className="empty">No orders yet.</p>
      ) : (
        <ul className="orders">
          {orders.map((o) => (
            <li key={o.id} className={`order order-${o.status}`}>
              <span>{o.name}</span>
              <code>{o.id}</code>
              <span className="tag">{o.status}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

interface PendingLine {
  id: string;
  name: string;
}

/** The optimistic list: a line shows at once, and goes away again if the server refuses it. */
function Cart({ cart }: { cart: CartItem[] }) {
  const [optimistic, setOptimistic] = useState<PendingLine[]>([]);
  const drop = useCallback((id: string | undefined) => setOptimistic((lines) => lines.filter((l) => l.id !== id)), []);
  const add = useSyncMutation<CartItem, { sku: string }, { lineId: string }>({
    endpoint: '/cart',
    onMutate: () => {
      report('click');
      const lineId = `pending-${Math.random().toString(36).slice(2)}`;
      setOptimistic((lines) => [...lines, { id: lineId, name: 'Stoneware mug' }]);
      return { lineId };
    },
    onError: (_error, _vars, context) => drop(context?.lineId), // roll back
    onSuccess: (_item, _vars, context) => drop(context?.lineId), // the server's line arrives over SSE
  });
  const lines = cart.slice(-5);
  return (
    <div className="cart">
      <h3>
        Cart <span className="muted">({cart.length})</span>
      </h3>
      <button id="add-mug" type="button" className="closed-loop-button" onClick={() => add.mutate({ sku: 'mug' })} disabled={add.isPending}>
        Add a mug
      </button>
      <small> useSyncMutation with an optimistic line</small>
      <ul className="cart-lines">
        {lines.map((item) => (
          <li key={item.id}>{item.name}</li>
        ))}
        {optimistic.map((line) => (
          <li key={line.id} className="optimistic">
            {line.name} <span className="muted">{add.isQueued ? 'queued' : 'sending…'}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The chaos panel's sliders: the setting each moves, its range, and what it does. */
const CHAOS_SLIDERS: Array<{
  name: 'failureRate' | 'dropRate' | 'latencyMs';
  id: string;
  max: number;
  step: number;
  label: (value: number) => string;
  hint?: string;
}> = [
  {
    name: 'failureRate',
    id: 'failure-rate',
    max: 1,
    step: 0.05,
    label: (rate) => `Failure rate: ${Math.round(rate * 100)}%`,
    hint: 'a 503 before the handler runs',
  },
  {
    name: 'dropRate',
    id: 'drop-rate',
    max: 1,
    step: 0.05,
    label: (rate) => `Dropped responses: ${Math.round(rate * 100)}%`,
    hint: 'the handler ran, then the connection is cut',
  },
  { name: 'latencyMs', id: 'latency', max: 2000, step: 50, label: (ms) => `Latency: ${ms} ms` },
];

function ChaosPanel({ chaos }: { chaos: Chaos }) {
  const send = (change: Partial<Chaos>) => {
    void reportFetch('/api/chaos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(change),
    }).catch(() => {});
  };
  const [offline, setOffline] = useState(isPageOffline());
  return (
    <section className="panel chaos" aria-labelledby="chaos-title">
      <h2 id="chaos-title">Chaos</h2>
      <p className="muted">Applied by the server, live, to every tab.</p>
      {CHAOS_SLIDERS.map(({ name, id, max, step, label, hint }) => (
        <label key={id}>
          <span>{label(chaos[name])}</span>
          <input
            id={id}
            type="range"
            min={0}
            max={max}
            step={step}
            value={chaos[name]}
            onChange={(e) => send({ [name]: Number(e.target.value) })}
          />
          {hint === undefined ? null : <small>{hint}</small>}
        </label>
      ))}
      <label className="switch">
        <input
          id="offline"
          type="checkbox"
          checked={offline}
          onChange={(e) => {
            setPageOffline(e.target.checked);
            setOffline(e.target.checked);
          }}
        />
        <span>This page is offline</span>
      </label>
      <small className="switch-hint">
        Try it: switch offline, buy, close the tab, reopen. The service worker delivers what the tab queued, each once.
      </small>
      <button type="button" className="link" onClick={() => send({ failureRate: 0, dropRate: 0, latencyMs: 0 })}>
        Calm everything
      </button>
    </section>
  );
}

function QueuePanel() {
  const { isOnline, pending, deadLettered, isSyncing } = useOfflineSync();
  return (
    <section className="panel queue" aria-labelledby="queue-title">
      <h2 id="queue-title">This page</h2>
      <p>
        <span className={`dot ${isOnline ? 'dot-connected' : 'dot-offline'}`} aria-hidden="true" />{' '}
        <span data-online={String(isOnline)}>{isOnline ? 'Online' : 'Offline'}</span>
        {' · '}
        <span data-pending={pending}>{pending}</span> waiting to be sent{isSyncing ? ' (sending…)' : ''}
        {deadLettered > 0 ? ` · ${deadLettered} given up` : ''}
      </p>
    </section>
  );
}

function About({ config }: { config: DemoConfig }) {
  return (
    <section className="panel about">
      <p className="muted">
        Store: {config.store === 'redis' ? 'Redis, shared by every server' : 'memory'}.
        {config.servers.length > 1 ? ` Failover list: ${config.servers.join(', ')}.` : ''} Each mutation carries one
        Idempotency-Key on every retry and from the offline queue; the server runs it once and replays the answer.
      </p>
    </section>
  );
}

export type { Order };
