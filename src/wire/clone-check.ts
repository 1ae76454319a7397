/**
 * Explains why a value cannot cross a worker boundary: which part (its path)
 * and what to do instead. Runs only after a clone has already failed, so its
 * cost does not matter.
 */
import { isWireable } from "./serialize.ts";

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

function formatKey(key: string | number): string {
  if (typeof key === "number") return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
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
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const found = visit(current[i], path + formatKey(i));
        if (found) return found;
      }
      return undefined;
    }
    if (current instanceof Map) {
      let i = 0;
      for (const [key, item] of current) {
        const found = visit(key, `${path}.keys()[${i}]`) ?? visit(item, `${path}.get(${safeKey(key)})`);
        if (found) return found;
        i++;
      }
      return undefined;
    }
    if (current instanceof Set) {
      let i = 0;
      for (const item of current) {
        const found = visit(item, `${path}.values()[${i++}]`);
        if (found) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(current)) {
      const found = visit((current as Record<string, unknown>)[key], path + formatKey(key));
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

function safeKey(key: unknown): string {
  return typeof key === "string" ? JSON.stringify(key) : String(key);
}

/** A TypeError that names the uncloneable part of `value`, wrapping the original clone error. */
export function uncloneableError(value: unknown, rootName: string, what: string, original: unknown): TypeError {
  const found = findUncloneable(value, rootName);
  const detail = found
    ? `${found.path} cannot be cloned: ${found.reason}.`
    : `${rootName} cannot be cloned (${(original as Error)?.message ?? String(original)}).`;
  return new TypeError(`Cannot send ${what}: ${detail}`, { cause: original });
}
