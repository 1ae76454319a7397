/**
 * Which methods of a served object a client may call (CPython's `public_methods`):
 * functions found on the object and its prototype chain up to, and without,
 * Object.prototype, whose names do not start with `_` and are not `constructor`.
 * Nor `...Sync` methods (a served mp.Queue's getSync): one of those would block
 * the server's only thread, and with it every other client.
 * `#private` members are invisible to this walk by the language itself. The list
 * is computed once per prototype, so a call checks one Set.
 */
function isPublicName(name: string): boolean {
  return name !== "constructor" && !name.startsWith("_") && !name.endsWith("Sync");
}

const cache = new WeakMap<object, ReadonlySet<string>>();

function collect(from: object | null, names: Set<string>): void {
  for (let proto = from; proto !== null && proto !== Object.prototype && proto !== Function.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (!isPublicName(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (descriptor && typeof descriptor.value === "function") names.add(name);
    }
  }
}

export function exposedMethods(referent: object): ReadonlySet<string> {
  const proto = Object.getPrototypeOf(referent) as object | null;
  const own = Object.getOwnPropertyNames(referent).some((name) => typeof Object.getOwnPropertyDescriptor(referent, name)?.value === "function");
  if (!own && proto !== null) {
    const cached = cache.get(proto);
    if (cached) return cached;
  }
  const names = new Set<string>();
  if (own) {
    for (const name of Object.getOwnPropertyNames(referent)) {
      if (!isPublicName(name)) continue;
      if (typeof Object.getOwnPropertyDescriptor(referent, name)?.value === "function") names.add(name);
    }
  }
  collect(proto, names);
  if (!own && proto !== null) cache.set(proto, names);
  return names;
}
