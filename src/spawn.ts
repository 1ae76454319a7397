/**
 * What a parent tells every worker it starts: who the worker is, who its parent
 * is, and which modules it needs to resolve functions. Shared by Pool and Process.
 */
import { typeScriptLoader } from "./backends/loader.ts";
import { currentIdentity } from "./process-identity.ts";
import type { BootstrapCommon } from "./wire/protocol.ts";
import { getEntryModule, registeredModules, toModuleUrl } from "./wire/functions.ts";

let processCounter = 0;

/**
 * The next child number of this process. Python numbers Process and pool workers
 * from one counter (Process-1, SpawnPoolWorker-2, ...); so does multiproc.
 */
export function nextChildNumber(): number {
  return ++processCounter;
}

export interface ChildDescription {
  name: string;
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
  return {
    identity: { name: child.name, daemon: child.daemon },
    parent: { ...currentIdentity() },
    entryModule: getEntryModule(),
    registeredModules: [...registeredModules()],
    preloadModules: moduleUrls(child.modules),
    loader: typeScriptLoader(),
  };
}
