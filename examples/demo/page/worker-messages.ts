// What a demo tab tells the service worker (sw.ts): its offline switch's state. `offline: false`
// is also sent on `pagehide`, since a closed tab's simulated outage ends with it.

/** A tab's offline switch changed, or the tab is going away (`offline: false`). */
export interface DemoWorkerMessage {
  type: 'demo:offline';
  offline: boolean;
}

/** The Cache Storage name where the worker keeps the ids of the tabs whose switch is on. */
export const OFFLINE_TABS_CACHE = 'closed-loop-demo-offline-tabs';
