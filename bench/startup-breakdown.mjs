/**
 * Where a worker's start-up time goes: a bare worker thread / child process, then the
 * same importing multiproc (from dist/), then one registering tsx's loader, each
 * exiting at once; median of 10 sequential starts. The table in docs/performance.md
 * ("Where start-up time goes") comes from this script.
 *
 * Run: npm run build && node bench/startup-breakdown.mjs
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const RUNS = 10;
const library = new URL("../dist/index.js", import.meta.url).href;
// What a pool worker imports (runtime/bootstrap.ts and the modules under it, not the whole
// library): the chunk of the bundle that holds the bootstrap, found by its source comment.
const chunks = new URL("../dist/chunks/", import.meta.url);
const workerChunk = readdirSync(chunks)
  .filter((file) => file.endsWith(".js"))
  .find((file) => readFileSync(new URL(file, chunks), "utf8").includes("// src/runtime/bootstrap.ts"));
if (!workerChunk) throw new Error("No chunk of dist/ holds src/runtime/bootstrap.ts: run `npm run build` first");
const workerModules = new URL(workerChunk, chunks).href;
const tsxPackage = createRequire(import.meta.url).resolve("tsx/package.json");
const tsxApi = pathToFileURL(tsxPackage.replace(/package\.json$/, "dist/esm/api/index.mjs")).href;

async function median(start) {
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(await start());
  times.sort((a, b) => a - b);
  return times[RUNS >> 1].toFixed(1);
}

const thread = (code) => () =>
  new Promise((resolve) => {
    const t0 = performance.now();
    new Worker(code, { eval: true }).on("exit", () => resolve(performance.now() - t0));
  });

const child = (args) => () =>
  new Promise((resolve) => {
    const t0 = performance.now();
    spawn(process.execPath, args, { stdio: "ignore" }).on("exit", () => resolve(performance.now() - t0));
  });

console.log("worker thread, bare:             ", await median(thread("0")), "ms");
console.log("worker thread, a pool worker's modules:", await median(thread(`import(${JSON.stringify(workerModules)}).then(() => process.exit(0))`)), "ms");
console.log("worker thread, import multiproc: ", await median(thread(`import(${JSON.stringify(library)}).then(() => process.exit(0))`)), "ms");
console.log("worker thread, tsx register():   ", await median(thread(`import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); process.exit(0); })`)), "ms");
console.log("child process, bare:             ", await median(child(["-e", "0"])), "ms");
console.log("child process, a pool worker's modules:", await median(child(["--input-type=module", "-e", `await import(${JSON.stringify(workerModules)})`])), "ms");
console.log("child process, import multiproc: ", await median(child(["--input-type=module", "-e", `await import(${JSON.stringify(library)})`])), "ms");
console.log("child process, --import tsx:     ", await median(child(["--import", "tsx", "-e", "0"])), "ms");
