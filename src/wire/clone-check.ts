/**
 * Explains why a value cannot cross a worker boundary: which part (its path)
 * and what to do instead. Runs only after a clone has already failed, so its
 * cost does not matter.
 */
import { isWireable } from "./serialize.ts";
import { childrenWithPaths } from "./value-paths.ts";

function reasonFor(value: unknown): string | undefined {
  if (typeof value === "function") {
    return "functions cannot be sent to another worker; send data, or export the function from a module and call it there";
  }
  if (typeof value === "symbol") return "symbols cannot be sent to another worker";
  if (typeof value !== "object" || value === null) return undefined;
  if (isWireable(value)) return undefined;
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return `a ${value.constructor.name} cannot be sent to another worker`;
  }
  if (value instanceof Promise) return "a Promise cannot be sent to another worker; await it first";
  return undefined;
}

/** Returns `{ path, reason }` for the first part of `value` that cannot be cloned, or undefined. */
export function findUncloneable(value: unknown, rootName: string): { path: string; reason: string } | undefined {
  const seen = new Set<object>();
  const visit = (current: unknown, path: string): { path: string; reason: string } | undefined => {
    const reason = reasonFor(current);
    if (reason) return { path, reason };
    if (typeof current !== "object" || current === null || seen.has(current) || isWireable(current)) return undefined;
    seen.add(current);
    if (ArrayBuffer.isView(current) || current instanceof ArrayBuffer || current instanceof SharedArrayBuffer) return undefined;
    for (const [child, childPath] of childrenWithPaths(current, path)) {
      const found = visit(child, childPath);
      if (found) return found;
    }
    try {
      structuredClone(current);
    } catch (error) {
      return { path, reason: `a ${current.constructor?.name ?? "value"} cannot be cloned (${(error as Error).message})` };
    }
    return undefined;
  };
  return visit(value, rootName);
}


/** A TypeError that names the uncloneable part of `value`, wrapping the original clone error. */
export function uncloneableError(value: unknown, rootName: string, what: string, original: unknown): TypeError {
  const found = findUncloneable(value, rootName);
  const detail = found
    ? `${found.path} cannot be cloned: ${found.reason}.`
    : `${rootName} cannot be cloned (${(original as Error)?.message ?? String(original)}).`;
  return new TypeError(`Cannot send ${what}: ${detail}`, { cause: original });
}
