// The change event that `publish` or `publishChange` makes of what it is given: checked, with a fresh
// `eventId` and a clock `timestamp` where the caller gave none. (`topic` is checked by the caller.)
import type { Clock } from '../clock/clock.js';
import type { EventIdGenerator } from './event-id.js';
import type { RealtimeChange } from './service-options.js';
import type { ChangeEvent } from './types.js';
import { optionError } from '../internal/validate.js';
import { describeValue, eventProblem } from './validation.js';

/** The payload of `publish(topic, payload)`: a record or a change event (an object), or a TypeError. */
export function publishPayload(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw optionError('payload', `a record or a change event (an object), got ${describeValue(payload)}`, 'publish(topic, payload)');
  }
  return payload as Record<string, unknown>;
}

/** A complete change event given to `publish`, as it is, once checked (its topic must be `topic`). */
export function givenEvent(topic: string, input: Record<string, unknown>): ChangeEvent {
  const problem = eventProblem(input);
  if (problem !== undefined) throw new TypeError(`closed-loop: publish(): not a valid change event: ${problem}`);
  if (input.topic !== topic) {
    throw new TypeError(
      `closed-loop: publish(${JSON.stringify(topic)}, event): the event's topic is ${JSON.stringify(input.topic)}`,
    );
  }
  return input as unknown as ChangeEvent;
}

/** The `UPDATE` event of a record given to `publish`: its `id` and `version` go into the event. */
export function recordEvent(topic: string, input: Record<string, unknown>, clock: Clock, ids: EventIdGenerator): ChangeEvent {
  const id = input.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
    throw optionError('record.id', `a string or a number, got ${describeValue(id)}`, 'publish()');
  }
  const version = input.version;
  if (version !== undefined && version !== null && !(typeof version === 'number' && Number.isFinite(version))) {
    throw optionError('record.version', `a finite number, got ${describeValue(version)}`, 'publish()');
  }
  // Always the same keys in the same order: one object shape for every published record.
  return {
    topic,
    type: 'UPDATE',
    id: id ?? undefined,
    new: input,
    version: version ?? undefined,
    timestamp: clock.now(),
    eventId: ids.next(),
  };
}

/** The event of a change given to `publishChange`. */
export function changeEvent<T>(topic: string, change: RealtimeChange<T>, clock: Clock, ids: EventIdGenerator): ChangeEvent<T> {
  if (typeof change !== 'object' || change === null || Array.isArray(change)) {
    throw optionError('change', `an object, got ${describeValue(change)}`, 'publishChange(topic, change)');
  }
  const event: ChangeEvent<T> = {
    topic,
    type: change.type,
    id: change.id ?? undefined,
    new: change.new,
    old: change.old,
    version: change.version ?? undefined,
    timestamp: change.timestamp ?? clock.now(),
    eventId: '-',
  };
  const problem = eventProblem(event);
  if (problem !== undefined) throw new TypeError(`closed-loop: publishChange(): ${problem}`);
  event.eventId = ids.next();
  return event;
}
