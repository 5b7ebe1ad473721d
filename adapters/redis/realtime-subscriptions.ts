import type { Cluster, Redis } from 'ioredis';
import { ALL } from './realtime-message.js';

/**
 * The topics the service watches and the subscriptions that carry them on the subscriber
 * connection: one SUBSCRIBE per watched topic's channel, or, while `'*'` is watched, one PSUBSCRIBE
 * on the pattern of every channel under the prefix instead (a channel and a matching pattern would
 * make Redis send every message twice).
 */
export class RealtimeSubscriptions {
  /** The pattern that covers every topic. */
  readonly pattern: string;
  /** What the service watches. */
  private readonly topics = new Set<string>();
  /** What has been sent to the current subscriber connection (ordered after anything sent before). */
  private readonly channelsOnWire = new Set<string>();
  private patternOnWire = false;

  constructor(private readonly prefix: string) {
    this.pattern = `${escapeGlob(prefix)}*`;
  }

  /** The Redis channel of `topic`. */
  channelOf(topic: string): string {
    return this.prefix + topic;
  }

  /** Adds `topic`; false when it was watched already. */
  watch(topic: string): boolean {
    if (this.topics.has(topic)) return false;
    this.topics.add(topic);
    return true;
  }

  /** Removes `topic`; false when it was not watched. */
  unwatch(topic: string): boolean {
    return this.topics.delete(topic);
  }

  /** Forgets every watched topic (the transport is closing). */
  clear(): void {
    this.topics.clear();
  }

  /**
   * The topic of a message that arrived on `channel` when the service watches it (directly or through
   * `'*'`), else `undefined`: a late message from a subscription being dropped, or one ioredis
   * restored by itself.
   */
  watchedTopicOf(channel: string): string | undefined {
    if (!channel.startsWith(this.prefix)) return undefined;
    const topic = channel.slice(this.prefix.length);
    return this.topics.has(ALL) || this.topics.has(topic) ? topic : undefined;
  }

  /** A new connection has no subscriptions (ioredis' own resubscription is off). */
  forgetWire(): void {
    this.channelsOnWire.clear();
    this.patternOnWire = false;
  }

  /**
   * Brings the subscriptions on `subscriber` in line with the watched topics: subscribes first, then
   * unsubscribes, so a topic switching between its channel and the pattern is covered throughout.
   * Resolves true when Redis confirmed every command sent; a refused one is passed to `refused`
   * (with the command, for the message) and makes it resolve false.
   */
  async sync(subscriber: Redis | Cluster, refused: (command: string, error: unknown) => void): Promise<boolean> {
    const wantPattern = this.topics.has(ALL);
    const wantChannels = new Set<string>();
    if (!wantPattern) for (const topic of this.topics) wantChannels.add(this.channelOf(topic));
    const sent: Array<Promise<boolean>> = [];
    const send = (command: string, call: () => Promise<unknown>) => {
      sent.push(
        call().then(
          () => true,
          (error: unknown) => {
            refused(command, error);
            return false;
          },
        ),
      );
    };
    if (wantPattern && !this.patternOnWire) {
      this.patternOnWire = true;
      send(`PSUBSCRIBE ${this.pattern}`, () => subscriber.psubscribe(this.pattern));
    }
    const add = [...wantChannels].filter((c) => !this.channelsOnWire.has(c));
    if (add.length > 0) {
      for (const c of add) this.channelsOnWire.add(c);
      send(`SUBSCRIBE ${add.join(' ')}`, () => subscriber.subscribe(...add));
    }
    const remove = [...this.channelsOnWire].filter((c) => !wantChannels.has(c));
    if (remove.length > 0) {
      for (const c of remove) this.channelsOnWire.delete(c);
      send(`UNSUBSCRIBE ${remove.join(' ')}`, () => subscriber.unsubscribe(...remove));
    }
    if (!wantPattern && this.patternOnWire) {
      this.patternOnWire = false;
      send(`PUNSUBSCRIBE ${this.pattern}`, () => subscriber.punsubscribe(this.pattern));
    }
    const results = await Promise.all(sent);
    return results.every(Boolean);
  }

  /**
   * Sends the unsubscribes of everything on `subscriber` and forgets it; `undefined` when there is
   * nothing to drop.
   */
  leave(subscriber: Redis | Cluster): Promise<unknown> | undefined {
    const leaving: Array<Promise<unknown>> = [];
    if (this.channelsOnWire.size > 0) leaving.push(subscriber.unsubscribe(...this.channelsOnWire));
    if (this.patternOnWire) leaving.push(subscriber.punsubscribe(this.pattern));
    this.forgetWire();
    return leaving.length > 0 ? Promise.all(leaving) : undefined;
  }
}

/** Escapes the glob characters of a PSUBSCRIBE pattern. */
function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]]/g, '\\$&');
}
