/**
 * TypeScript in workers. A program run by tsx (`tsx main.ts`, `node --import tsx`)
 * has tsx's hooks on its main thread only: on Node 20 a worker thread that inherits
 * `--import tsx` still cannot import a .ts file. So the parent finds tsx's API
 * and the worker calls its `register()` before importing any user module.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { getEntryModule } from "../wire/functions.ts";

const TS_FILE = /\.(?:c|m)?tsx?$/;

let cached: string | null | undefined;
/** typeScriptImport()'s answer, found once (it reads tsx's package.json). */
let cachedImport: string | null | undefined;
/** tsx's package.json, found along with `cached`. */
let tsxManifest: string | null = null;

let typeScriptWanted = false;

/**
 * Says that workers will import TypeScript modules although this program is not
 * TypeScript itself (a cluster worker run by `npx multiproc worker --module tasks.ts`).
 */
export function wantTypeScript(): void {
  typeScriptWanted = true;
  if (cached === null) cached = undefined;
  if (cachedImport === null) cachedImport = undefined;
}

function usesTypeScript(): boolean {
  return (
    typeScriptWanted ||
    TS_FILE.test(new URL(import.meta.url).pathname) ||
    TS_FILE.test(getEntryModule() ?? "") ||
    process.execArgv.some((arg) => arg.includes("tsx"))
  );
}

type ExportTarget = string | { [condition: string]: ExportTarget } | undefined;

/** The ESM file a package exports under `subpath` (its CommonJS twin cannot register hooks in a worker). */
function esmEntry(packageJsonPath: string, subpath: string): string {
  const manifest = JSON.parse(readFileSync(packageJsonPath, "utf8")) as { exports?: Record<string, ExportTarget> };
  let target: ExportTarget = manifest.exports?.[subpath];
  while (target && typeof target === "object") target = target.import ?? target.default;
  if (typeof target !== "string") throw new Error(`${packageJsonPath} exports no ESM entry for ${subpath}`);
  return new URL(target, pathToFileURL(packageJsonPath)).href;
}

/** URL of tsx's `esm/api` module when the program runs TypeScript, else null. */
export function typeScriptLoader(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (!usesTypeScript()) return cached;
  const bases = [getEntryModule(), pathToFileURL(`${process.cwd()}/`).href, import.meta.url];
  for (const base of bases) {
    if (!base?.startsWith("file:")) continue;
    try {
      const manifest = createRequire(base).resolve("tsx/package.json");
      cached = esmEntry(manifest, "./esm/api");
      tsxManifest = manifest;
      break;
    } catch {
      // not resolvable from there; try the next base
    }
  }
  return cached;
}

/** Path of tsx's package.json when the program runs TypeScript, else null (esbuild is found from it). */
export function typeScriptManifest(): string | null {
  return typeScriptLoader() ? tsxManifest : null;
}

/**
 * URL of tsx's `esm` entry (importing it registers tsx's ESM hooks) when the program
 * runs TypeScript, else null. An OS child process takes it as `--import <url>`: unlike a
 * worker thread, a process can load hooks from its command line.
 */
export function typeScriptImport(): string | null {
  if (cachedImport !== undefined) return cachedImport;
  cachedImport = typeScriptLoader() && tsxManifest ? esmEntry(tsxManifest, "./esm") : null;
  return cachedImport;
}

/** The parent's execArgv without tsx's own hooks (the worker registers tsx itself). */
export function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (/^--(import|require|loader|experimental-loader)$/.test(arg) && argv[i + 1]?.includes("tsx")) {
      i++;
      continue;
    }
    if (/^--(import|require|loader|experimental-loader)=/.test(arg) && arg.includes("tsx")) continue;
    out.push(arg);
  }
  return out;
}
