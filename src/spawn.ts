/**
 * What a parent tells every worker it starts: who the worker is, who its parent
 * is, and which modules it needs to resolve functions. Shared by Pool and Process.
 */
import { getRootPid } from "./memory/shm.ts";
import { typeScriptLoader } from "./backends/loader.ts";
import { compiledTypeScript } from "./backends/typescript-build.ts";
import { currentAuthkey, currentIdentity, identityPath } from "./process-identity.ts";
import type { BootstrapCommon } from "./wire/protocol.ts";
import { getEntryModule, registeredModules, toModuleUrl } from "./wire/functions.ts";

let processCounter = 0;

/**
 * The identity of this process's next child (Python's `_identity`): this
 * process's own path plus the next number of one counter shared by Process and
 * pool workers, named as Python names them: "Process-3" in the main process,
 * "Process-3:1" for the first child of that child.
 */
export function nextChildIdentity(prefix: string): { name: string; path: number[] } {
  const path = [...identityPath(), ++processCounter];
  return { name: `${prefix}-${path.join(":")}`, path };
}

export interface ChildDescription {
  name: string;
  path: number[];
  daemon: boolean;
  modules?: readonly (string | URL)[];
}

/** Validates the `modules` option and returns module URLs. */
export function moduleUrls(modules: unknown, optionName = "modules"): string[] {
  if (modules === undefined) return [];
  if (!Array.isArray(modules)) {
    throw new TypeError(`Expected \`${optionName}\` to be an array of module URLs or paths, got ${typeof modules}`);
  }
  return modules.map((module, i) => {
    if (typeof module !== "string" && !(module instanceof URL)) {
      throw new TypeError(`Expected \`${optionName}[${i}]\` to be a string or URL, got ${typeof module}`);
    }
    return toModuleUrl(module);
  });
}

export function commonBootstrap(child: ChildDescription): BootstrapCommon {
  const entryModule = getEntryModule();
  const known = [...registeredModules()];
  const preloadModules = moduleUrls(child.modules);
  return {
    identity: { name: child.name, daemon: child.daemon, path: child.path },
    parent: { ...currentIdentity() },
    rootPid: getRootPid(),
    authkey: currentAuthkey().toString("hex"),
    entryModule,
    registeredModules: known,
    preloadModules,
    loader: typeScriptLoader(),
    compiledModules: compiledTypeScript([...(entryModule ? [entryModule] : []), ...known, ...preloadModules]),
  };
}
