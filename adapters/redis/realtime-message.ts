// The wire format of the Redis transport: a message is the change event as JSON, on the channel of
// its topic. What arrives is checked by the core's rule for change events, plus the channel's topic.
import type { ChangeEvent } from 'closed-loop';
import { eventProblem } from '../../src/realtime/validation.js';

/** The topic that stands for every topic (the service watches it for `subscribe('*', …)`). */
export const ALL = '*';

/** Throws a TypeError unless `topic` is a non-empty string. */
export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new TypeError(`closed-loop: a realtime topic must be a non-empty string, got ${topic === '' ? 'an empty string' : typeof topic}`);
  }
}

/**
 * The message that carries `event`: its JSON. Throws a TypeError for an event that is not an object
 * with a topic one can publish on, or that is not JSON-serialisable.
 */
export function encodeEvent(event: ChangeEvent): string {
  if (!event || typeof event !== 'object') {
    throw new TypeError(`closed-loop: RedisTransport.publish needs a change event, got ${event === null ? 'null' : typeof event}`);
  }
  checkTopic(event.topic);
  if (event.topic === ALL) throw new TypeError('closed-loop: "*" means every topic and is only for watching; an event needs its own topic');
  try {
    return JSON.stringify(event);
  } catch (error) {
    throw new TypeError(`closed-loop: the change event on "${event.topic}" is not JSON-serialisable`, { cause: error });
  }
}

/** Reads a message from the channel of `topic` as a change event of `topic`, or throws saying what is wrong with it. */
export function decodeEvent(message: string, topic: string): ChangeEvent {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    throw new TypeError('not JSON');
  }
  const problem = eventProblem(value);
  if (problem !== undefined) throw new TypeError(`not a change event: ${problem}`);
  const event = value as ChangeEvent;
  if (event.topic !== topic) throw new TypeError(`its topic is ${JSON.stringify(event.topic)}, not the channel's "${topic}"`);
  return event;
}
