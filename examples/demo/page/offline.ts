// The page's offline switch. While it is on, the sync client's fetch fails the way a browser's does
// with no network (a TypeError), and `navigator.onLine` reads false, with the `offline` and `online`
// events a browser fires: the client and the queue see an offline browser through their own hooks.

const nativeFetch: typeof fetch = globalThis.fetch.bind(globalThis);
// eslint-disable-next-line @typescript-eslint/unbound-method -- a getter, called with navigator below
const nativeOnLine = Object.getOwnPropertyDescriptor(Navigator.prototype, 'onLine')?.get;
let offline = false;

Object.defineProperty(navigator, 'onLine', {
  configurable: true,
  get: () => !offline && (nativeOnLine ? Boolean(nativeOnLine.call(navigator)) : true),
});

/** The fetch the sync client uses. */
export const switchableFetch: typeof fetch = (input, init) =>
  offline ? Promise.reject(new TypeError('Failed to fetch (the demo page is offline)')) : nativeFetch(input, init);

/** The real fetch: for the page's own reports, which are instrumentation and never go offline. */
export const reportFetch = nativeFetch;

export function isPageOffline(): boolean {
  return offline;
}

export function setPageOffline(value: boolean): void {
  if (value === offline) return;
  offline = value;
  window.dispatchEvent(new Event(value ? 'offline' : 'online'));
}
