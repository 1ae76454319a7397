/**
 * What an OS child process of the built package runs (dist/runtime/process-entry.cjs;
 * scripts/build.mjs copies it there): it loads process-entry.js, an ES module, with
 * require(). A child whose entry is CommonJS and whose modules are all loaded by
 * require() never starts Node's asynchronous ES module loader: about 3.5 ms of every
 * child's start here (docs/performance.md, W5 on processes). Run from the TypeScript
 * sources, a child runs process-entry.ts itself, under tsx.
 */
"use strict";
// Tells util/lean-builtins.ts that this is a child process's main thread, and lends it require().
globalThis[Symbol.for("multiproc.child-process-require")] = require;
try {
  require("./process-entry.js");
} catch (error) {
  // A Node without require(esm) (before 20.19 and 22.12, which package.json's engines exclude).
  if (error?.code !== "ERR_REQUIRE_ESM") throw error;
  import("./process-entry.js");
}
