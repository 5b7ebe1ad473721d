/**
 * Does nothing: the handler for a promise whose rejection nobody needs to see (`promise.catch(noop)`).
 *
 * @internal
 */
export function noop(): void {}
