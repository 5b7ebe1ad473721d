import type { RealtimeErrorContext } from './service-options.js';
import type { ChangeEvent } from './types.js';

/** One `subscribe` call: inactive once unsubscribed (a delivery in progress then skips it). */
export interface Subscriber {
  readonly callback: (event: ChangeEvent) => void;
  readonly filter: ((event: ChangeEvent) => boolean) | undefined;
  readonly topic: string;
  active: boolean;
}

/**
 * A service's subscribers per topic, in subscription order, and their delivery: a topic's
 * subscribers, then the `'*'` ones. Lists are copied on write, so that a delivery in progress keeps
 * iterating the array it started with: one added meanwhile starts with the next event, one removed
 * is skipped (inactive).
 */
export class SubscriberRegistry {
  private readonly byTopic = new Map<string, readonly Subscriber[]>();
  private total = 0;

  /** @param report - reports a callback or filter that threw */
  constructor(private readonly report: (error: unknown, context: RealtimeErrorContext) => void) {}

  /** Adds `subscriber`; true when it is the first on its topic (the transport should watch it). */
  add(subscriber: Subscriber): boolean {
    const topic = subscriber.topic;
    const list = this.byTopic.get(topic);
    const next = list === undefined ? [subscriber] : [...list, subscriber];
    this.byTopic.set(topic, next);
    this.total++;
    return list === undefined;
  }

  /** Deactivates and removes `subscriber`; true when it was the last on its topic (unwatch it). */
  remove(subscriber: Subscriber): boolean {
    if (!subscriber.active) return false;
    subscriber.active = false;
    const topic = subscriber.topic;
    const list = this.byTopic.get(topic);
    if (list === undefined) return false;
    this.total--;
    if (list.length === 1) {
      this.byTopic.delete(topic);
      return true;
    }
    const index = list.indexOf(subscriber);
    const next = [...list.slice(0, index), ...list.slice(index + 1)];
    this.byTopic.set(topic, next);
    return false;
  }

  /** How many subscriptions are active: on `topic`, or on all topics. */
  count(topic?: string): number {
    if (topic === undefined) return this.total;
    return this.byTopic.get(topic)?.length ?? 0;
  }

  /** Calls the subscribers of the event's topic, then the `'*'` ones; a throw is reported, not raised. */
  deliver(event: ChangeEvent): void {
    const list = this.byTopic.get(event.topic);
    if (list !== undefined) this.deliverTo(list, event);
    const any = this.byTopic.get('*');
    if (any !== undefined) this.deliverTo(any, event);
  }

  /** Deactivates and drops every subscriber (the service is destroyed). */
  clear(): void {
    for (const list of this.byTopic.values()) for (const subscriber of list) subscriber.active = false;
    this.byTopic.clear();
    this.total = 0;
  }

  private deliverTo(list: readonly Subscriber[], event: ChangeEvent): void {
    for (let i = 0; i < list.length; i++) {
      const subscriber = list[i]!;
      if (!subscriber.active) continue;
      try {
        if (subscriber.filter === undefined || subscriber.filter(event)) subscriber.callback(event);
      } catch (error) {
        this.report(error, { source: 'subscriber', topic: subscriber.topic, event });
      }
    }
  }
}
