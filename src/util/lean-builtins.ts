/**
 * The functions of Node's modules that every worker's start-up path uses, taken with
 * process.getBuiltinModule rather than `import ... from "node:..."`. A built-in module's
 * ES module face is one more module to make, link and fill with every export, and
 * node:fs's reads all of them, which loads fs/promises, its streams and readline with it
 * (node:util's likewise loads parseArgs and MIME types). In a forked child, importing
 * node:worker_threads, node:url, node:os, node:v8 and node:module took 4.1 ms as ES
 * modules and 2.6 ms this way (docs/performance.md). Modules the workers load only later
 * import Node's modules as usual.
 */
export const { readFileSync, readdirSync } = process.getBuiltinModule("node:fs");
export const { fileURLToPath, pathToFileURL } = process.getBuiltinModule("node:url");

/**
 * What runtime/process-entry.cjs leaves on globalThis before it loads the rest: its own
 * require(), and with it the word that this is an OS child process's main thread. Such a
 * child then loads neither node:worker_threads (whose answers are known) nor node:module
 * (a require() is at hand): 0.7 ms of a forked child's start here. Taken off at once.
 */
const CHILD_REQUIRE = Symbol.for("multiproc.child-process-require");
const childRequire = (globalThis as { [CHILD_REQUIRE]?: NodeJS.Require })[CHILD_REQUIRE];
delete (globalThis as { [CHILD_REQUIRE]?: NodeJS.Require })[CHILD_REQUIRE];

export const { isMainThread, threadId } = childRequire
  ? { isMainThread: true, threadId: 0 }
  : process.getBuiltinModule("node:worker_threads");

/** A require() that loads files by absolute path (where it resolves relative ones from is not defined). */
export function pathRequire(): NodeJS.Require {
  return childRequire ?? process.getBuiltinModule("node:module").createRequire(import.meta.url);
}
export const { serialize, deserialize } = process.getBuiltinModule("node:v8");
export const { constants: osConstants } = process.getBuiltinModule("node:os");
