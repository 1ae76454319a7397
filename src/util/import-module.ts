/**
 * Imports a user module in a worker, registering the TypeScript loader (tsx)
 * first only when the module is TypeScript. Workers whose modules are all
 * JavaScript never load tsx, which keeps their start-up fast.
 *
 * A JavaScript module is loaded with require() where that gives the same module:
 * Node's asynchronous ES module loader then never starts in a child process whose
 * entry is CommonJS (runtime/process-entry.cjs), about 3.5 ms of its start.
 */
import { fileURLToPath, pathRequire } from "./lean-builtins.ts";
import { whileImporting } from "../process-identity.ts";

const TYPESCRIPT_MODULE = /\.(?:c|m)?tsx?(?:[?#].*)?$/;

let loaderUrl: string | null = null;
let registered: Promise<void> | null = null;

/** TypeScript modules the parent compiled (source URL -> JavaScript URL): imported without tsx. */
let compiledModules: Record<string, string> = {};

/** Called by the worker's bootstrap with the loader its parent found (or null) and the modules it compiled. */
export function setTypeScriptLoader(url: string | null, compiled: Record<string, string> = {}): void {
  loaderUrl = url;
  compiledModules = compiled;
}

function registerLoader(url: string): Promise<void> {
  registered ??= import(url).then((api: { register?: () => void; default?: { register?: () => void } }) => {
    (api.register ?? api.default?.register)?.();
  });
  return registered;
}

const JAVASCRIPT_FILE = /^file:.*\.(?:m|c)?js$/;

/**
 * Loader hooks (`--import`, `--loader`, in the flags or NODE_OPTIONS, or tsx registered
 * here) see what import() loads, and in Node 20 not what require() loads; a `--require`d
 * hook may compile what require() loads as CommonJS. With any, only import() is used.
 */
const HOOK_FLAG = /(?:^|\s)(?:--(?:import|loader|experimental-loader|require)\b|-r\b)/;
const syncLoadable = !process.execArgv.some((arg) => HOOK_FLAG.test(arg)) && !HOOK_FLAG.test(process.env.NODE_OPTIONS ?? "");

/** Errors with which require() refuses an ES module that import() loads: require loaded none of its graph. */
const IMPORT_ONLY = new Set(["ERR_REQUIRE_ASYNC_MODULE", "ERR_REQUIRE_ESM", "ERR_UNKNOWN_FILE_EXTENSION", "ERR_UNSUPPORTED_ESM_URL_SCHEME"]);

let requireHere: NodeJS.Require | null = null;

/**
 * The ES module at `url` (a JavaScript file), loaded with require() (Node's require(esm)),
 * or null where only import() loads it as import() would: a graph with top-level await
 * or files require() cannot read, or a CommonJS module, whose namespace only import()
 * makes (require gives its `module.exports`; import() then takes the module as loaded, not
 * again). A module that throws at its top level throws here, as import() would.
 */
function requireModule(url: string): Record<string, unknown> | null {
  if (!syncLoadable || registered !== null || !JAVASCRIPT_FILE.test(url)) return null;
  requireHere ??= pathRequire();
  let loaded: unknown;
  try {
    loaded = requireHere(fileURLToPath(url));
  } catch (error) {
    if (IMPORT_ONLY.has((error as NodeJS.ErrnoException)?.code ?? "")) return null;
    throw error;
  }
  return Object.prototype.toString.call(loaded) === "[object Module]" ? (loaded as Record<string, unknown>) : null;
}

/** `url` loaded: with require() where it gives the same module (see requireModule), else import(). */
function load(url: string): Promise<Record<string, unknown>> | Record<string, unknown> {
  return requireModule(url) ?? (import(url) as Promise<Record<string, unknown>>);
}

/**
 * `import(url)`, with TypeScript support switched on first when `url` needs it.
 * While the module's top level runs, the worker counts as importing: starting a
 * Pool or Process then is refused (see checkNotImporting).
 */
export async function importModule(url: string): Promise<Record<string, unknown>> {
  const compiled = compiledModules[url];
  if (compiled) {
    // Their inline source maps point stack traces at the .ts lines, as tsx does. Switched on
    // only when one is loaded: with source maps on, Node looks for a map in every module it
    // loads from then on, and a worker given only JavaScript modules would pay for that.
    process.setSourceMapsEnabled(true);
    return whileImporting(url, () => load(compiled));
  }
  if (loaderUrl && TYPESCRIPT_MODULE.test(url)) await registerLoader(loaderUrl);
  return whileImporting(url, () => load(url));
}
