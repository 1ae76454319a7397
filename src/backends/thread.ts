/**
 * The "thread" worker kind: one worker_threads Worker per worker.
 *
 * Run from the TypeScript sources (tests, examples), the entry file is .ts, which a
 * worker cannot load by itself on Node 20; a tiny evaluated script registers tsx
 * first and then imports it. Run from the build, the worker loads the .js entry directly.
 */
import { Worker } from "node:worker_threads";
import type { SpawnOptions, WorkerBackend, WorkerExit, WorkerHandle } from "./backend.ts";
import { typeScriptLoader, workerExecArgv } from "./loader.ts";

const sourceExtension = new URL(import.meta.url).pathname.endsWith(".ts") ? ".ts" : ".js";
const entryUrl = new URL(`../runtime/thread-entry${sourceExtension}`, import.meta.url);

/** Python's exit code for a worker ended by terminate() (-SIGTERM) or kill() (-SIGKILL). */
const SIGNAL_EXIT_CODES = { SIGTERM: -15, SIGKILL: -9 } as const;

/**
 * Flags of the parent's command line that a Worker refuses (V8 flags such as
 * --expose-gc or --max-old-space-size apply to the whole process and are shared
 * by its threads anyway). Node names them in ERR_WORKER_INVALID_EXEC_ARGV; we
 * drop those and start the worker again, once per program.
 */
const refusedFlags = new Set<string>();

function createWorker(...args: ConstructorParameters<typeof Worker>): Worker {
  const [script, options] = args;
  for (;;) {
    const execArgv = options?.execArgv?.filter((flag) => !refusedFlags.has(flag));
    try {
      return new Worker(script, { ...options, execArgv });
    } catch (error) {
      const refused = /invalid execArgv flags: (.*)$/.exec((error as Error).message)?.[1]?.split(", ");
      if ((error as { code?: string }).code !== "ERR_WORKER_INVALID_EXEC_ARGV" || !refused?.some((flag) => !refusedFlags.has(flag))) {
        throw error;
      }
      for (const flag of refused) refusedFlags.add(flag);
    }
  }
}

function startWorker(options: SpawnOptions): Worker {
  const { bootstrap, resourceLimits } = options;
  const common = { resourceLimits, execArgv: workerExecArgv(), name: bootstrap.identity.name };
  if (sourceExtension === ".ts") {
    const loader = typeScriptLoader();
    if (!loader) throw new Error("multiproc runs from its TypeScript sources but cannot find tsx to load them in workers");
    const code =
      `import(${JSON.stringify(loader)})` +
      `.then((api) => (api.register ?? api.default.register)())` +
      `.then(() => import(${JSON.stringify(entryUrl.href)}))`;
    // The evaluated script registered tsx already; the entry must not do it again.
    return createWorker(code, { ...common, eval: true, workerData: { ...bootstrap, loader: null } });
  }
  return createWorker(entryUrl, { ...common, workerData: bootstrap });
}

class ThreadHandle implements WorkerHandle {
  readonly #worker: Worker;
  /** Kept from the start: Node reports -1 once the thread has exited. */
  readonly ident: number;
  readonly #exited: Promise<void>;
  #alive = true;
  #stopSignal: keyof typeof SIGNAL_EXIT_CODES | null = null;
  #error: Error | undefined;

  constructor(options: SpawnOptions) {
    this.#worker = startWorker(options);
    this.ident = this.#worker.threadId;
    const { events } = options;
    this.#worker.on("message", (message) => events.message(message));
    this.#worker.on("error", (error) => {
      this.#error = error;
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once("exit", (code) => {
        this.#alive = false;
        const signal = this.#stopSignal;
        const exit: WorkerExit = {
          exitCode: signal ? SIGNAL_EXIT_CODES[signal] : code,
          signal,
          ...(this.#error ? { error: this.#error } : {}),
        };
        events.exit(exit);
        resolve();
      });
    });
  }

  get pid(): number {
    return process.pid;
  }

  get alive(): boolean {
    return this.#alive;
  }

  post(message: unknown, transfer?: readonly import("node:worker_threads").TransferListItem[]): void {
    this.#worker.postMessage(message, transfer);
  }

  #stop(signal: keyof typeof SIGNAL_EXIT_CODES): Promise<void> {
    if (this.#alive && !this.#stopSignal) {
      this.#stopSignal = signal;
      void this.#worker.terminate();
    }
    return this.#exited;
  }

  terminate(): Promise<void> {
    return this.#stop("SIGTERM");
  }

  kill(): Promise<void> {
    return this.#stop("SIGKILL");
  }

  ref(): void {
    this.#worker.ref();
  }

  unref(): void {
    this.#worker.unref();
  }
}

export const threadBackend: WorkerBackend = {
  method: "thread",
  copyThenTransfer: true,
  spawn: (options) => new ThreadHandle(options),
};
