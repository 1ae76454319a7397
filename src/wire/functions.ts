/**
 * How functions reach workers (API.md, "How functions reach workers").
 *
 * Python sends a function by reference: module and name. Here:
 * 1. A function or class exported by a known module goes as (module URL, export
 *    name) and is imported in the worker. Known modules: the program's entry
 *    module, the `modules` option, and mp.registerModule(url).
 * 2. Anything else goes as source text and is compiled in the worker; if it then
 *    touches a closure variable or an import, the error says to export it.
 *
 * Resolution is synchronous (applyAsync and Process.start return at once), so it
 * cannot await import(). For modules whose namespace is already loaded it checks
 * identity against the real exports; otherwise it reads the module's source text
 * and finds the export declaring that name. The entry module is never imported
 * here: while its top level is still awaiting a pool call, importing it would
 * wait on itself forever.
 */
import { fileURLToPath, pathToFileURL, readFileSync } from "../util/lean-builtins.ts";
import { isMainProcess } from "../process-identity.ts";
import { moduleOfFunction } from "../util/function-origin.ts";
import { importModule } from "../util/import-module.ts";

export type FunctionRef =
  | { kind: "export"; module: string; name: string }
  /** `origin`: the module that defines it, when it was looked up (only to explain errors). */
  | { kind: "source"; source: string; name: string; origin?: string }
  | { kind: "global"; path: string };

/** The code of the error a source-text function raises when it needs its module's scope. */
export const SOURCE_SCOPE_ERROR = "ERR_MP_SOURCE_FUNCTION_SCOPE";

const registered: string[] = [];
const namespaces = new Map<string, Record<string, unknown>>();
const exportTables = new Map<string, Map<string, string> | null>();
const refCache = new WeakMap<object, FunctionRef>();
/** Source references -> the function they were made from (to find its module if it fails). */
const sourceFunctions = new WeakMap<FunctionRef, Function>();
let entryModule: string | null | undefined;

/** Normalizes a module given as a URL, a file URL string, or a path. */
export function toModuleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  return pathToFileURL(module).href;
}

/** The program's entry module (process.argv[1] in the main process; set by the bootstrap in workers). */
export function getEntryModule(): string | null {
  if (entryModule === undefined) {
    const script = process.argv[1];
    entryModule = script ? toModuleUrl(script) : null;
  }
  return entryModule;
}

export function setEntryModule(url: string | null): void {
  entryModule = url;
}

/**
 * Makes a module's exported functions and classes sendable by reference
 * (`mp.registerModule(import.meta.url)` in a task module registers itself).
 */
export function registerModule(module: string | URL): void {
  const url = toModuleUrl(module);
  if (!registered.includes(url)) registered.push(url);
  preload(url);
}

/** Adds a known module without importing it (a worker learning its parent's modules). */
export function rememberModule(module: string | URL): void {
  const url = toModuleUrl(module);
  if (!registered.includes(url)) registered.push(url);
}

export function registeredModules(): readonly string[] {
  return registered;
}

/** Starts importing a known module so that identity checks can use its real exports. */
export function preload(url: string): void {
  if (namespaces.has(url) || url === getEntryModule()) return;
  import(url).then(
    (ns: Record<string, unknown>) => namespaces.set(url, ns),
    () => {
      // The worker will report the import error where it matters: when it loads the module.
    },
  );
}

const IDENT = "[A-Za-z_$][\\w$]*";
const declarationPatterns = [
  new RegExp(`export\\s+(default\\s+)?(?:async\\s+)?function\\s*\\*?\\s*(${IDENT})`, "g"),
  new RegExp(`export\\s+(default\\s+)?(?:abstract\\s+)?class\\s+(${IDENT})`, "g"),
  new RegExp(`export\\s+()(?:const|let|var)\\s+(${IDENT})`, "g"),
];

/** Local name -> exported name for the exports a module's source declares. */
function exportTable(url: string): Map<string, string> | null {
  if (exportTables.has(url)) return exportTables.get(url)!;
  let table: Map<string, string> | null = null;
  try {
    const text = readFileSync(fileURLToPath(url), "utf8");
    table = new Map();
    for (const pattern of declarationPatterns) {
      for (const match of text.matchAll(pattern)) table.set(match[2]!, match[1] ? "default" : match[2]!);
    }
    for (const match of text.matchAll(/export\s*(?:type\s*)?\{([^}]*)\}/g)) {
      for (const part of match[1]!.split(",")) {
        const [local, exported] = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/);
        if (local) table.set(local, exported ?? local);
      }
    }
    for (const match of text.matchAll(new RegExp(`export\\s+default\\s+(${IDENT})\\s*;`, "g"))) {
      table.set(match[1]!, "default");
    }
  } catch {
    table = null;
  }
  exportTables.set(url, table);
  return table;
}

function findInNamespace(url: string, fn: object): string | undefined {
  const ns = namespaces.get(url);
  if (!ns) return undefined;
  for (const [name, value] of Object.entries(ns)) if (value === fn) return name;
  return undefined;
}

const GLOBAL_NAMESPACES = ["Math", "JSON", "Number", "String", "Object", "Array", "Date", "BigInt", "Atomics", "Reflect"] as const;

function findGlobal(fn: object): string | undefined {
  const holder = globalThis as unknown as Record<string, unknown>;
  for (const space of GLOBAL_NAMESPACES) {
    const ns = holder[space] as Record<string, unknown> | undefined;
    if (!ns) continue;
    for (const key of Object.getOwnPropertyNames(ns)) {
      if (ns[key] === fn) return `${space}.${key}`;
    }
  }
  return undefined;
}

/** Known modules in lookup order: per-call `modules`, registered modules, then the entry module. */
function knownModules(extra: readonly string[]): string[] {
  const entry = getEntryModule();
  const all = [...extra, ...registered];
  if (entry) all.push(entry);
  return [...new Set(all)];
}

/** Describes how `fn` (a function or class) reaches a worker. */
export function resolveFunction(fn: unknown, modules: readonly string[] = [], what = "function"): FunctionRef {
  if (typeof fn !== "function") {
    throw new TypeError(`Expected ${what} to be a function, got ${fn === null ? "null" : typeof fn}`);
  }
  const cached = refCache.get(fn);
  // A function that went as source text may be found by reference in per-call modules.
  if (cached && (cached.kind !== "source" || modules.length === 0)) return cached;
  const ref = computeRef(fn, modules);
  // Per-call modules can change the answer; cache only what does not depend on them.
  if (modules.length === 0) refCache.set(fn, ref);
  return ref;
}

function computeRef(fn: Function, modules: readonly string[]): FunctionRef {
  const known = knownModules(modules);
  for (const url of known) {
    const name = findInNamespace(url, fn);
    if (name) return { kind: "export", module: url, name };
  }
  if (fn.name && !fn.name.startsWith("bound ")) {
    for (const url of known) {
      if (namespaces.has(url)) continue; // its real exports were checked above
      const exported = exportTable(url)?.get(fn.name);
      if (exported) return { kind: "export", module: url, name: exported };
    }
  }
  const globalPath = findGlobal(fn);
  if (globalPath) return { kind: "global", path: globalPath };
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    throw new TypeError(
      `Cannot send the built-in function ${fn.name || "(anonymous)"} to a worker. ` +
        "Wrap it in a function exported from a module, and register that module with mp.registerModule(import.meta.url).",
    );
  }
  const ref: FunctionRef = { kind: "source", source, name: fn.name };
  sourceFunctions.set(ref, fn);
  return ref;
}

/** `ref` with the module that defines its function, for a worker that may have to explain a failure (Process targets). */
export function withOrigin(ref: FunctionRef): FunctionRef {
  if (ref.kind !== "source" || ref.origin !== undefined) return ref;
  const origin = originOf(ref);
  return origin ? { ...ref, origin } : ref;
}

const origins = new WeakMap<Function, string | null>();

/** The module that defines a source reference's function (looked up once per function). */
function originOf(ref: FunctionRef): string | undefined {
  const fn = sourceFunctions.get(ref);
  if (!fn) return undefined;
  if (!origins.has(fn)) origins.set(fn, moduleOfFunction(fn) ?? null);
  return origins.get(fn) ?? undefined;
}

/**
 * What to do about a source-text function that needed its module's scope. When
 * its module is known by URL, the advice names it: export the function there,
 * or make the module known if it exports the function already.
 */
function sourceScopeAdvice(name: string, origin: string | undefined): string {
  const generic =
    "Export it from a module (the entry module, a module listed in the `modules` option, or one that calls mp.registerModule(import.meta.url)).";
  if (!origin || !origin.startsWith("file:")) return generic;
  const exported = exportTable(origin)?.has(name) === true;
  if (exported) {
    return (
      `It is exported by ${origin}, which is not a known module: list that module in the \`modules\` option ` +
      "or call mp.registerModule(import.meta.url) in it, and the worker will import it instead."
    );
  }
  const known = knownModules([]).includes(origin);
  return `It is defined in ${origin}: export it from there${known ? "" : " and list that module in the `modules` option or call mp.registerModule(import.meta.url) in it"}.`;
}

/**
 * In the caller: completes a worker's SOURCE_SCOPE_ERROR for a source reference
 * made here with the function's module (looked up now, on the error path only).
 */
export function explainSourceError(error: unknown, ref: FunctionRef): unknown {
  if (ref.kind !== "source" || ref.origin !== undefined || !(error instanceof Error)) return error;
  if ((error as { code?: unknown }).code !== SOURCE_SCOPE_ERROR) return error;
  const origin = originOf(ref);
  if (!origin) return error;
  const generic = sourceScopeAdvice(ref.name, undefined);
  const advice = sourceScopeAdvice(ref.name, origin);
  error.message = error.message.replace(generic, advice);
  if (error.stack) error.stack = error.stack.replace(generic, advice);
  return error;
}

/**
 * A stand-in for an export of `module`, to hand to a Pool without importing the module
 * here: the pool's workers import it and run the real function. For a cluster worker's
 * supervisor, which runs no task code of its own. Calling the stand-in itself throws.
 */
export function exportStandIn(module: string, name: string): Function {
  const standIn = function (): never {
    throw new Error(`${name} of ${module} runs only in pool workers (this is a stand-in)`);
  };
  Object.defineProperty(standIn, "name", { value: name });
  refCache.set(standIn, { kind: "export", module, name });
  return standIn;
}

/**
 * For a function that would go as source text: a reference by export when the module
 * that defines it exports it under its name, though that module is not a known one (a
 * cluster task, which only ever goes by reference). Asks V8 where the function is
 * defined: slow, once per function.
 */
export function exportedOrigin(ref: FunctionRef): Extract<FunctionRef, { kind: "export" }> | undefined {
  if (ref.kind !== "source" || !ref.name) return undefined;
  const origin = originOf(ref);
  if (!origin?.startsWith("file:")) return undefined;
  const exported = exportTable(origin)?.get(ref.name);
  return exported ? { kind: "export", module: origin, name: exported } : undefined;
}

/**
 * A reference to `fn` only if it is exported by a known module (never source
 * text): how an error class travels, so the caller can rebuild that very class.
 */
export function exportRefOf(fn: Function): Extract<FunctionRef, { kind: "export" }> | undefined {
  const known = knownModules([]);
  for (const url of known) {
    const name = findInNamespace(url, fn);
    if (name) return { kind: "export", module: url, name };
  }
  if (!fn.name) return undefined;
  for (const url of known) {
    if (namespaces.has(url)) continue;
    const exported = exportTable(url)?.get(fn.name);
    if (exported) return { kind: "export", module: url, name: exported };
  }
  return undefined;
}

/** The value a module exports under `name`, if that module is loaded here already (else undefined). */
export function loadedExport(ref: Extract<FunctionRef, { kind: "export" }>): unknown {
  return namespaces.get(ref.module)?.[ref.name];
}

/**
 * Loads the module of `ref` so that loadedExport() finds it. Never the main
 * thread's entry module: its top level may be awaiting this very call, and
 * importing it would wait on itself. Resolves false when the module is not loadable here.
 */
export async function loadExport(ref: Extract<FunctionRef, { kind: "export" }>): Promise<boolean> {
  if (namespaces.has(ref.module)) return true;
  if (ref.module === getEntryModule() && isMainProcess()) return false;
  try {
    namespaces.set(ref.module, await importModule(ref.module));
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- worker side

const loaded = new Map<string, Promise<Function>>();

/** A key that is equal for references to the same function content (module and export, global path, or name and source). */
export function refKey(ref: FunctionRef): string {
  switch (ref.kind) {
    case "export":
      return `e:${ref.module}#${ref.name}`;
    case "global":
      return `g:${ref.path}`;
    case "source":
      return `s:${ref.name}:${ref.source}`;
  }
}

/** esbuild (tsx) wraps functions in __name(fn, "name") when it keeps names; source text may call it. */
const keepNamesHelper = (target: Function, value: string) =>
  Object.defineProperty(target, "name", { value, configurable: true });

function compileSource(ref: Extract<FunctionRef, { kind: "source" }>): Function {
  const attempts = [`return (${ref.source});`, `return ({ ${ref.source} })[${JSON.stringify(ref.name)}];`];
  let firstError: unknown;
  for (const body of attempts) {
    try {
      const compiled = new Function("__name", `"use strict";\n${body}`)(keepNamesHelper) as unknown;
      if (typeof compiled === "function") return explainMissingClosure(compiled, ref);
    } catch (error) {
      firstError ??= error;
    }
  }
  throw new TypeError(
    `Cannot compile function ${ref.name || "(anonymous)"} in the worker from its source text. ` +
      "Export it from a module and register that module (the `modules` option or mp.registerModule(import.meta.url)).",
    { cause: firstError },
  );
}

/** Wraps a source-compiled function so a ReferenceError says why and how to fix it. */
function explainMissingClosure(compiled: Function, ref: Extract<FunctionRef, { kind: "source" }>): Function {
  const explain = (error: unknown): never => {
    if (error instanceof ReferenceError && !error.message.includes("sent to the worker as source text")) {
      error.message =
        `${error.message}. Function ${ref.name || "(anonymous)"} was sent to the worker as source text because it is not ` +
        "exported from a known module, so it cannot use variables or imports from its module. " +
        sourceScopeAdvice(ref.name, ref.origin);
      Object.assign(error, { code: SOURCE_SCOPE_ERROR });
    }
    throw error;
  };
  if (/^class\b/.test(ref.source)) return compiled;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    try {
      const result = compiled.apply(this, args);
      if (result instanceof Promise) return result.catch(explain);
      return result;
    } catch (error) {
      return explain(error);
    }
  };
  Object.defineProperty(wrapped, "name", { value: ref.name, configurable: true });
  return wrapped;
}

async function loadUncached(ref: FunctionRef): Promise<Function> {
  switch (ref.kind) {
    case "global": {
      const [space, key] = ref.path.split(".");
      const value = ((globalThis as unknown as Record<string, Record<string, unknown>>)[space!] ?? {})[key!];
      if (typeof value !== "function") throw new TypeError(`${ref.path} is not a function in this worker`);
      return value as Function;
    }
    case "source":
      return compileSource(ref);
    case "export": {
      const ns = await importModule(ref.module);
      const value = ns[ref.name];
      if (typeof value !== "function") {
        throw new TypeError(
          `Module ${ref.module} has no exported function or class named ${ref.name} in the worker ` +
            `(found ${value === undefined ? "nothing" : typeof value}). Export it with that name.`,
        );
      }
      return value as Function;
    }
  }
}

/** Loads (and caches) the function a reference names. */
export function loadFunction(ref: FunctionRef): Promise<Function> {
  const key = refKey(ref);
  let pending = loaded.get(key);
  if (!pending) {
    pending = loadUncached(ref);
    loaded.set(key, pending);
    pending.catch(() => loaded.delete(key));
  }
  return pending;
}
