/**
 * The "process" worker kind: one OS child process per worker (CPython's
 * popen_spawn_posix), started with child_process.fork and spoken to over its IPC
 * channel with serialization: "advanced" (V8's serializer: Map, Set, Date, Error,
 * bigint, typed arrays... travel as structured clone carries them).
 *
 * The child runs runtime/process-entry; its first IPC message is the BootstrapData.
 * Its stdout and stderr are the parent's (Python's children write to the same
 * terminal). Run from the TypeScript sources, the child gets `--import <tsx/esm>`:
 * unlike a worker thread, a process can register tsx's hooks from its command line.
 *
 * Exits map to Python's exitcode: the child's code, or -SIGNUM when a signal ended
 * it (-15 after terminate(), -9 after kill()).
 */
import { fork, type ChildProcess } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import type { TransferListItem } from "node:worker_threads";
import { sweepAtExit } from "../memory/shm.ts";
import { decodeError } from "../wire/errors.ts";
import { ipcCloneError, ipcMessageError, isCloneError } from "../wire/ipc-check.ts";
import type { ResourceLimits, SpawnOptions, WorkerBackend, WorkerExit, WorkerHandle } from "./backend.ts";
import { typeScriptImport, workerExecArgv } from "./loader.ts";

const sourceExtension = new URL(import.meta.url).pathname.endsWith(".ts") ? ".ts" : ".js";
// The build's child starts from a CommonJS launcher (runtime/process-entry.cjs says why).
const entryPath = fileURLToPath(new URL(`../runtime/process-entry${sourceExtension === ".ts" ? ".ts" : ".cjs"}`, import.meta.url));

/** Python's exitcode for a child ended by `signal`: -SIGNUM. */
function signalExitCode(signal: NodeJS.Signals): number {
  const number = os.constants.signals[signal];
  return typeof number === "number" ? -number : -1;
}

/** Node's resourceLimits as V8 flags of the child (a Worker takes them as options, a process on its command line). */
function limitFlags(limits: ResourceLimits | undefined): string[] {
  if (!limits) return [];
  const flags: string[] = [];
  if (limits.maxOldGenerationSizeMb !== undefined) flags.push(`--max-old-space-size=${Math.max(1, Math.floor(limits.maxOldGenerationSizeMb))}`);
  if (limits.maxYoungGenerationSizeMb !== undefined) {
    // V8's young generation is three semi-spaces.
    flags.push(`--max-semi-space-size=${Math.max(1, Math.floor(limits.maxYoungGenerationSizeMb / 3))}`);
  }
  if (limits.stackSizeMb !== undefined) {
    // --stack-size is in KiB and must stay below the OS stack of the main thread (8 MiB by default), or V8 overruns it.
    flags.push(`--stack-size=${Math.max(64, Math.min(Math.floor(limits.stackSizeMb * 1024), 7 * 1024))}`);
  }
  return flags;
}

function childExecArgv(limits: ResourceLimits | undefined): { execArgv: string[]; registered: boolean } {
  const execArgv = workerExecArgv();
  const tsx = sourceExtension === ".ts" ? typeScriptImport() : null;
  if (sourceExtension === ".ts" && !tsx) {
    throw new Error("multiproc runs from its TypeScript sources but cannot find tsx to load them in child processes");
  }
  // First: the program's own --import modules may be TypeScript too.
  if (tsx) execArgv.unshift("--import", tsx);
  execArgv.push(...limitFlags(limits));
  return { execArgv, registered: tsx !== null };
}

/**
 * A child with resourceLimits that ends by SIGABRT: that is how V8 stops a process
 * whose heap outgrew --max-old-space-size (it prints "JavaScript heap out of memory").
 */
function abortedError(): Error {
  return new Error(
    "aborted (SIGABRT), as V8 ends a process whose heap outgrows its resourceLimits: it most likely ran out of memory",
  );
}

class ProcessHandle implements WorkerHandle {
  readonly #child: ChildProcess;
  readonly pid: number;
  readonly #exited: Promise<void>;
  #alive = true;
  /** fork's own error (the child could not be started). */
  #error: Error | undefined;
  /** What the child said it died of (an uncaught exception it printed). */
  #crash: Error | undefined;

  constructor(options: SpawnOptions) {
    const { bootstrap, resourceLimits, events } = options;
    // A child may make OS shared memory and be killed before it unlinks it: the root sweeps at exit.
    sweepAtExit();
    const { execArgv, registered } = childExecArgv(resourceLimits);
    this.#child = fork(entryPath, [], {
      serialization: "advanced",
      execArgv,
      stdio: ["inherit", "inherit", "inherit", "ipc"],
    });
    const child = this.#child;
    // fork reports a failed spawn (EAGAIN, ENOMEM) as an "error" event, with no pid; -1 marks "never ran".
    this.pid = child.pid ?? -1;
    child.on("message", (message) => {
      const received = message as Parameters<typeof events.message>[0];
      if (received.type === "crashed") {
        this.#crash = decodeError(received.error, `${bootstrap.identity.name} (pid ${this.pid})`);
        return;
      }
      events.message(received);
    });
    child.on("error", (error) => {
      this.#error ??= error;
    });
    this.#exited = new Promise((resolve) => {
      // "close", not "exit": it comes after the IPC channel has delivered everything the
      // child sent, so a pool sees a task's result before it sees its worker exit.
      child.once("close", (code, signal) => {
        this.#alive = false;
        const error = this.#error ?? this.#crash ?? (signal === "SIGABRT" && resourceLimits ? abortedError() : undefined);
        const exit: WorkerExit = {
          exitCode: signal ? signalExitCode(signal) : (code ?? 1),
          signal,
          ...(error ? { error, errorPrinted: error !== this.#error } : {}),
        };
        events.exit(exit);
        resolve();
      });
    });
    // The tsx hooks came with --import already; a build run passes the loader on for user .ts modules.
    const data = registered ? { ...bootstrap, loader: null } : bootstrap;
    if (child.pid === undefined) return;
    try {
      child.send(data);
    } catch (error) {
      child.kill("SIGKILL");
      if (!isCloneError(error)) throw error;
      // Only a pool's initArgs are user data in the bootstrap.
      const initArgs = bootstrap.role === "pool" ? bootstrap.initArgs : bootstrap;
      throw ipcCloneError(initArgs, "initArgs", "the initializer's arguments to a pool worker", error);
    }
  }

  get ident(): number {
    return this.pid;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /**
   * Sends over IPC. V8 serializes synchronously, so a value it cannot carry
   * throws here and nothing is sent. Transferred ArrayBuffers are copied, then
   * detached, so the sender sees the same "moved" buffer as in the thread context.
   */
  post(message: unknown, transfer?: readonly TransferListItem[]): void {
    if (!this.#alive || !this.#child.connected) return;
    try {
      this.#child.send(message as object);
    } catch (error) {
      throw isCloneError(error) ? ipcMessageError(message, error) : error;
    }
    if (transfer) {
      for (const item of transfer) {
        if (item instanceof ArrayBuffer && item.byteLength > 0) structuredClone(item, { transfer: [item] });
      }
    }
  }

  #stop(signal: NodeJS.Signals): Promise<void> {
    if (this.#alive) this.#child.kill(signal);
    return this.#exited;
  }

  terminate(): Promise<void> {
    return this.#stop("SIGTERM");
  }

  kill(): Promise<void> {
    return this.#stop("SIGKILL");
  }

  // The child process handle and its IPC channel each keep the event loop alive.
  ref(): void {
    this.#child.ref();
    this.#child.channel?.ref();
  }

  unref(): void {
    this.#child.unref();
    this.#child.channel?.unref();
  }
}

export const processBackend: WorkerBackend = {
  method: "process",
  copyThenTransfer: false,
  spawn: (options) => new ProcessHandle(options),
};
