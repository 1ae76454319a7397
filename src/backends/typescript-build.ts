/**
 * TypeScript task modules compiled once per program, not once per worker.
 *
 * A worker can only load a `.ts` module through tsx's hooks, and registering them
 * costs each worker thread a hooks thread of its own and each child process a second
 * loader (150-400 ms a worker here, against ~50 ms for the worker itself). So the
 * parent compiles the TypeScript modules its workers will import (the entry module,
 * registered modules and the `modules` option) into plain JavaScript once, with
 * esbuild on a helper thread, and tells every worker where the outputs are; a worker
 * imports those and never loads tsx (see typescript-compiler.ts for what the outputs
 * keep of their sources).
 *
 * This runs only when multiproc itself runs from its build and the program runs under
 * tsx (whose esbuild it uses). Anything it cannot compile (CommonJS TypeScript, a
 * syntax error, esbuild missing) falls back to tsx in the worker, which reports real
 * errors as before. `MULTIPROC_TYPESCRIPT=tsx` turns it off.
 */
import { readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { typeScriptLoader, typeScriptManifest } from "./loader.ts";
import type { CompileAnswer, CompileRequest } from "./typescript-compiler.ts";

const TYPESCRIPT_URL = /^file:.*\.(?:m)?tsx?$/;
const fromBuild = new URL(import.meta.url).pathname.endsWith(".js");
/** A compile that takes longer than this is given up on (tsx then loads the modules). */
const COMPILE_TIMEOUT_MS = 60_000;

/** Source URL -> compiled URL, for every module compiled so far. */
const compiled = new Map<string, string>();
/** Sources that could not be compiled: their workers use tsx, and they are not tried again. */
const refused = new Set<string>();
let outDir: string | undefined;

function enabled(): boolean {
  return fromBuild && process.env.MULTIPROC_TYPESCRIPT !== "tsx" && typeScriptLoader() !== null;
}

/** The --conditions of this program (command line and NODE_OPTIONS), which package resolution must honour. */
function conditions(): string[] {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS?.split(/\s+/) ?? [])];
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const inline = /^(?:--conditions|-C)=(.+)$/.exec(arg);
    if (inline) out.push(inline[1]!);
    else if ((arg === "--conditions" || arg === "-C") && args[i + 1]) out.push(args[++i]!);
  }
  return out;
}

const OUT_DIR = /^multiproc-ts-(\d+)-/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function programOutDir(): string {
  if (!outDir) {
    // A program that was killed could not remove its outputs: the next one does.
    for (const name of readdirSync(tmpdir())) {
      const pid = OUT_DIR.exec(name)?.[1];
      if (pid && !isAlive(Number(pid))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
    outDir = join(tmpdir(), `multiproc-ts-${process.pid}-${Date.now().toString(36)}`);
    const dir = outDir;
    // The outputs serve this program's workers only: they go when it does.
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return outDir;
}

/** Compiles `files` on a helper thread and waits for it: a one-time cost, paid before the first worker starts. */
function compileSync(files: string[]): CompileAnswer {
  const manifest = typeScriptManifest();
  let esbuild: string;
  try {
    esbuild = pathToFileURL(createRequire(manifest!).resolve("esbuild")).href;
  } catch {
    return { ok: false, error: "esbuild (tsx's compiler) cannot be found from tsx's package" };
  }
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const request: CompileRequest = { files, outDir: programOutDir(), conditions: conditions(), esbuild, port: port2, signal };
  const helper = new Worker(new URL("../backends/typescript-compiler.js", import.meta.url), {
    workerData: request,
    transferList: [port2],
    execArgv: [],
    name: "multiproc TypeScript compiler",
  });
  try {
    if (Atomics.wait(signal, 0, 0, COMPILE_TIMEOUT_MS) === "timed-out") {
      return { ok: false, error: `compiling took longer than ${COMPILE_TIMEOUT_MS / 1000} s` };
    }
    return (receiveMessageOnPort(port1)?.message as CompileAnswer | undefined) ?? { ok: false, error: "the compiler thread did not answer" };
  } finally {
    void helper.terminate();
    port1.close();
  }
}

/**
 * Compiles those of `urls` that are TypeScript and not compiled yet (with their imports),
 * and returns every compiled URL so far keyed by source URL; empty when precompiling is off.
 */
export function compiledTypeScript(urls: readonly string[]): Record<string, string> {
  if (!enabled()) return {};
  const missing = urls.filter((url) => TYPESCRIPT_URL.test(url) && !refused.has(url) && !compiled.has(url));
  if (missing.length) {
    const answer = compileSync(missing.map((url) => fileURLToPath(url)));
    if (answer.ok) {
      for (const [source, output] of Object.entries(answer.outputs)) compiled.set(pathToFileURL(source).href, output);
    } else {
      for (const url of missing) refused.add(url);
      process.emitWarning(`multiproc could not compile ${missing.join(", ")} for its workers (${answer.error}); they load it through tsx instead.`);
    }
  }
  // All of them, imports included: a worker may be asked for a function of any.
  return Object.fromEntries(compiled);
}
