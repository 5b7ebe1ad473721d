// Subscriber and listener lists are copied on write, so that a delivery in progress keeps iterating
// the array it started with; removing from one is done by a function that works once.

/** `list` without `item` (a new array), or `list` itself when `item` is not in it. */
export function without<T>(list: readonly T[], item: T): readonly T[] {
  const index = list.indexOf(item);
  if (index === -1) return list;
  return [...list.slice(0, index), ...list.slice(index + 1)];
}

/** `fn`, made idempotent: it runs on the first call only. */
export function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
