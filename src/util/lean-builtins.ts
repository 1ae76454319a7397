/**
 * The few functions of Node's modules that every worker's start-up path uses, taken with
 * process.getBuiltinModule rather than `import ... from "node:fs"`: the ES module face of
 * node:fs reads every export of the module, which loads fs/promises, its streams and
 * readline with it (node:util's likewise loads parseArgs and MIME types). That is about
 * 0.8 ms of every child process's start for nothing (docs/performance.md). Modules the
 * workers load only later import Node's modules as usual.
 */
export const { readFileSync, readdirSync } = process.getBuiltinModule("node:fs");
