// How the guards (`isHttpError(e)` …) recognise closed-loop errors: by a `Symbol.for` brand rather
// than `instanceof`, so they also work when an app ends up with two copies of the package (one
// loaded by `import`, one by `require`). docs/decisions.md 5.

/** The registry symbol every copy of the package shares. */
export const BRAND = Symbol.for('closed-loop.error');

type Branded = { [BRAND]?: readonly string[] };

// Each class names its kind in a static field; the base class's brand getter collects the kinds up
// the prototype chain. Static literal fields, unlike top-level calls, let bundlers drop the error
// classes an app does not use.
/** The kinds of `instance` and its ancestors, most derived first. */
export function kindsOf(instance: object): string[] {
  const kinds: string[] = [];
  const parentOf = (o: object): object | null => Object.getPrototypeOf(o) as object | null;
  for (let proto = parentOf(instance); proto !== null; proto = parentOf(proto)) {
    const ctor = proto.constructor;
    const kind = Object.hasOwn(ctor, 'errorKind') ? (ctor as { errorKind?: unknown }).errorKind : undefined;
    if (typeof kind === 'string') kinds.push(kind);
  }
  return kinds;
}

/** Whether `value` carries the brand of `kind` (from any copy of the package). */
export function hasBrand(value: unknown, kind: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const kinds = (value as Branded)[BRAND];
  return Array.isArray(kinds) && kinds.includes(kind);
}
