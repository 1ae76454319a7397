/**
 * The modules every worker loads before its first task, imported here for the bundle's
 * sake: every entry point of the build (scripts/build.mjs) imports this file, so esbuild
 * puts these modules in the one chunk that all entries share, rather than in a handful of
 * small chunks split by which entries happen to use each. A worker then loads its entry
 * and one chunk where it loaded six: every file is one more read, compile and link, about
 * 0.5 ms of a child process's start each (docs/performance.md). Nothing here runs code
 * when imported.
 */
import "./bootstrap.ts";
import "../wire/ipc-check.ts";
