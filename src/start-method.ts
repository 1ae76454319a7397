/**
 * The default start method (Python's set_start_method/get_start_method), used
 * by every constructor that starts workers when it is given no `context`.
 */
import type { StartMethod } from "./backends/backend.ts";
import { setDefaultMemoryKind, type MemoryKind } from "./memory/kind.ts";

const ALL_METHODS: readonly StartMethod[] = ["thread", "process"];
let defaultMethod: StartMethod | null = null;

export function validateStartMethod(method: unknown, optionName = "context"): StartMethod {
  if (method === "thread" || method === "process") return method;
  throw new TypeError(`Expected \`${optionName}\` to be "thread" or "process", got ${JSON.stringify(method)}`);
}

/** Sets the default start method once (Python raises if it is already set, unless `force`). */
export function setStartMethod(method: StartMethod | null, options: { force?: boolean } = {}): void {
  if (defaultMethod !== null && !options.force) {
    throw new Error("context has already been set; pass { force: true } to change it");
  }
  defaultMethod = method === null ? null : validateStartMethod(method, "method");
  setDefaultMemoryKind(memoryKindOf(defaultMethod ?? "thread"));
}

/** The memory that objects of a start method's context live in. */
export function memoryKindOf(method: StartMethod): MemoryKind {
  return method === "process" ? "os" : "thread";
}

/** The default start method ("thread" unless set); with `allowNone`, null while none was set. */
export function getStartMethod(): StartMethod;
export function getStartMethod(options: { allowNone?: boolean }): StartMethod | null;
export function getStartMethod(options: { allowNone?: boolean } = {}): StartMethod | null {
  if (defaultMethod === null && options.allowNone) return null;
  return defaultMethod ?? "thread";
}

export function getAllStartMethods(): StartMethod[] {
  return [...ALL_METHODS];
}

/** The start method for an object built with `{ context }` (or the default). */
export function resolveStartMethod(context: unknown): StartMethod {
  return context === undefined ? getStartMethod() : validateStartMethod(context);
}
