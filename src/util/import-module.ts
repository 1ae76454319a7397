/**
 * Imports a user module in a worker, registering the TypeScript loader (tsx)
 * first only when the module is TypeScript. Workers whose modules are all
 * JavaScript never load tsx, which keeps their start-up fast.
 */
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
  // Their inline source maps point stack traces at the .ts lines, as tsx does.
  if (Object.keys(compiled).length) process.setSourceMapsEnabled(true);
}

function registerLoader(url: string): Promise<void> {
  registered ??= import(url).then((api: { register?: () => void; default?: { register?: () => void } }) => {
    (api.register ?? api.default?.register)?.();
  });
  return registered;
}

/**
 * `import(url)`, with TypeScript support switched on first when `url` needs it.
 * While the module's top level runs, the worker counts as importing: starting a
 * Pool or Process then is refused (see checkNotImporting).
 */
export async function importModule(url: string): Promise<Record<string, unknown>> {
  const compiled = compiledModules[url];
  if (compiled) return whileImporting(url, import(compiled) as Promise<Record<string, unknown>>);
  if (loaderUrl && TYPESCRIPT_MODULE.test(url)) await registerLoader(loaderUrl);
  return whileImporting(url, import(url) as Promise<Record<string, unknown>>);
}
