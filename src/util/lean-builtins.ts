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
export const { isMainThread, threadId } = process.getBuiltinModule("node:worker_threads");
export const { createRequire } = process.getBuiltinModule("node:module");
export const { serialize, deserialize } = process.getBuiltinModule("node:v8");
export const { constants: osConstants } = process.getBuiltinModule("node:os");
