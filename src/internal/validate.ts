// Option and argument checks shared by every constructor and function that takes options: a wrong
// value throws a TypeError at once, naming the option and the rule (and, for a number, the value it
// got), in one shape: "closed-loop: <where>: `<name>` must be <rule>, got <value>". Not exported.

/** What a numeric option must be: its test, and the words the error message says it in. */
export interface NumberRule {
  readonly text: string;
  readonly test: (value: number) => boolean;
}

// One constant per rule (not one table), so a bundle keeps only the rules its code uses. Each is an
// object literal of arrow functions and strings only: a property read such as `Number.isFinite` in
// one would keep it in every bundle (a bundler cannot tell that reading it has no side effect).

/** Any finite number. */
export const finiteNumber: NumberRule = { text: 'a finite number', test: (value) => Number.isFinite(value) };
/** A finite number >= 0. */
export const nonNegative: NumberRule = { text: 'a finite number >= 0', test: (value) => Number.isFinite(value) && value >= 0 };
/** A finite number > 0. */
export const positive: NumberRule = { text: 'a finite number > 0', test: (value) => Number.isFinite(value) && value > 0 };
/** A number >= 0, Infinity included ("no limit"); never NaN. */
export const nonNegativeOrInfinity: NumberRule = { text: 'a number >= 0', test: (value) => value >= 0 };
/** An integer >= 0. */
export const nonNegativeInteger: NumberRule = { text: 'an integer >= 0', test: (value) => Number.isInteger(value) && value >= 0 };
/** An integer >= 1. */
export const positiveInteger: NumberRule = { text: 'an integer >= 1', test: (value) => Number.isInteger(value) && value >= 1 };
/** A ratio in (0, 1]. */
export const ratio: NumberRule = { text: 'a ratio in (0, 1]', test: (value) => value > 0 && value <= 1 };

/**
 * Checks the numeric option `name`: returns `value` (`undefined` when it is absent, for `?? default`)
 * if it follows `rule`; otherwise throws a TypeError such as "closed-loop: SseTransport:
 * `idleTimeoutMs` must be a finite number >= 0, got Infinity".
 *
 * @param where - what takes the option, when the option's name alone would not say (`'RetryBudget'`)
 * @internal
 */
export function checkNumber(name: string, value: number | undefined, rule: NumberRule, where?: string): number | undefined {
  if (value !== undefined && (typeof value !== 'number' || !rule.test(value))) {
    // The message of optionError, written out: a bundle with no other check then needs no optionError.
    // A string is quoted, so that '10' does not read as the number 10.
    const got = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new TypeError(`closed-loop: ${where ? `${where}: ` : ''}\`${name}\` must be ${rule.text}, got ${got}`);
  }
  return value;
}

/**
 * Checks an optional function option the same way: "closed-loop: OfflineQueue: `handler` must be a
 * function".
 *
 * @internal
 */
export function checkFunction(name: string, value: unknown, where?: string): void {
  if (value !== undefined && typeof value !== 'function') throw optionError(name, 'a function', where);
}

/**
 * The TypeError of a bad option or argument: "closed-loop: <where>: `<name>` must be <what>" (`what`
 * may end with ", got <value>").
 *
 * @internal
 */
export function optionError(name: string, what: string, where?: string): TypeError {
  return new TypeError(`closed-loop: ${where ? `${where}: ` : ''}\`${name}\` must be ${what}`);
}

/**
 * Whether `value` is an object with a function at each of `methods`: the check of an object option
 * that stands for an interface (a clock, a storage, a queue, a lease store).
 *
 * @internal
 */
export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
}

/**
 * A short description of a bad value for a message: its type, and the value itself when it is a
 * primitive.
 *
 * @internal
 */
export function describeValue(value: unknown): string {
  if (value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}

/**
 * `Array.isArray` for an option typed as a list: it keeps the element type where `Array.isArray`
 * narrows to `any[]` (a list checked for JavaScript callers stays a list of strings).
 *
 * @internal
 */
export function isList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}
