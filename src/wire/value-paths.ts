/**
 * The parts of a value, each with the path a user would write to reach it
 * (`args[0].items.get("k")`), for the error messages that name what could not be sent.
 */

/** `[3]` for an index, `.name` for an identifier key, `["odd key"]` otherwise. */
export function formatKey(key: string | number): string {
  if (typeof key === "number") return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function mapKey(key: unknown): string {
  return typeof key === "string" ? JSON.stringify(key) : String(key);
}

/** The direct children of a container (Map keys and values, Set items, array items, own keys), with their paths. */
export function* childrenWithPaths(container: object, path: string): Generator<[unknown, string]> {
  if (container instanceof Map) {
    let i = 0;
    for (const [key, item] of container) {
      yield [key, `${path}.keys()[${i++}]`];
      yield [item, `${path}.get(${mapKey(key)})`];
    }
    return;
  }
  if (container instanceof Set) {
    let i = 0;
    for (const item of container) yield [item, `${path}.values()[${i++}]`];
    return;
  }
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) yield [container[i], path + formatKey(i)];
    return;
  }
  const record = container as Record<string, unknown>;
  for (const key of Object.keys(record)) yield [record[key], path + formatKey(key)];
}
