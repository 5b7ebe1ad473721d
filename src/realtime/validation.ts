// Checks of what callers and transports hand a RealtimeSyncService, with messages that name the
// offending value.
import { describeValue } from '../internal/validate.js';

export { describeValue };

const TYPES: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'BROADCAST']);

/** Why `value` is not a change event, or `undefined` if it is one. */
export function eventProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `got ${describeValue(value)}`;
  const event = value as Record<string, unknown>;
  if (typeof event.eventId !== 'string' || event.eventId === '') return '`eventId` must be a non-empty string';
  if (typeof event.topic !== 'string' || event.topic === '' || event.topic === '*') {
    return '`topic` must be a non-empty string other than "*"';
  }
  if (typeof event.type !== 'string' || !TYPES.has(event.type)) {
    return '`type` must be INSERT, UPDATE, DELETE or BROADCAST';
  }
  if (typeof event.timestamp !== 'number' || !Number.isFinite(event.timestamp)) {
    return '`timestamp` must be a finite number (epoch ms)';
  }
  // `null` reads as absent, as it does for records.
  const id = event.id;
  if (id != null && typeof id !== 'string' && typeof id !== 'number') return '`id` must be a string or a number';
  const version = event.version;
  if (version != null && !(typeof version === 'number' && Number.isFinite(version))) {
    return '`version` must be a finite number';
  }
  return undefined;
}

/** Throws unless `topic` is a non-empty string; `'*'` only where `wildcard` allows it. */
export function checkTopic(topic: unknown, method: string, wildcard: boolean): void {
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(`closed-loop: ${method}(): \`topic\` must be a non-empty string, got ${describeValue(topic)}`);
  }
  if (!wildcard && topic === '*') {
    throw new TypeError(`closed-loop: ${method}(): "*" means every topic and is only for subscribing`);
  }
}
