/**
 * The worker-kind seam. Pool and Process talk to workers only through this
 * interface (CPython's Popen): start one, post it messages, hear its messages,
 * learn that it exited and how, and stop it. `thread.ts` implements it with
 * worker_threads; the OS-process kind plugs in here without touching Pool or Process.
 */
import type { BootstrapData, WorkerMessage } from "../wire/protocol.ts";

export type StartMethod = "thread" | "process";

export interface ResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  stackSizeMb?: number;
}

export interface WorkerExit {
  /** Python's exitcode: N after exit(N), -SIGNUM after terminate()/kill() (-15 / -9). */
  exitCode: number;
  /** The signal that ended the worker, if any ("SIGTERM" after terminate(), "SIGKILL" after kill()). */
  signal: NodeJS.Signals | null;
  /** An error the worker died of (an uncaught exception or a resource limit), if Node reported one. */
  error?: Error;
  /** The worker printed `error` itself (an OS process, as Node prints an uncaught exception). */
  errorPrinted?: boolean;
}

export interface WorkerEvents {
  message(message: WorkerMessage): void;
  exit(exit: WorkerExit): void;
}

export interface SpawnOptions {
  bootstrap: BootstrapData;
  resourceLimits?: ResourceLimits;
  events: WorkerEvents;
}

export interface WorkerHandle {
  /** The OS process id of the worker (the parent's pid for a worker thread). */
  readonly pid: number;
  /** The thread id (thread kind) or the pid (process kind). */
  readonly ident: number;
  /** Whether the worker is still running. */
  readonly alive: boolean;
  /** Posts a message; throws synchronously when it cannot be cloned (nothing is sent then). */
  post(message: unknown, transfer?: readonly import("node:worker_threads").TransferListItem[]): void;
  /** Asks the worker to stop now (SIGTERM for processes). Resolves once it has exited. */
  terminate(): Promise<void>;
  /** Stops the worker at once (SIGKILL for processes). Resolves once it has exited. */
  kill(): Promise<void>;
  /** Lets (or stops letting) this worker keep the parent's event loop alive. */
  ref(): void;
  unref(): void;
}

export interface WorkerBackend {
  readonly method: StartMethod;
  /**
   * Whether a big typed array in a posted message is cheaper copied once and transferred
   * than cloned (src/wire/copy-to-transfer.ts): true for worker threads, whose clone copies
   * it twice; false for processes, whose channel copies every message anyway.
   */
  readonly copyThenTransfer: boolean;
  spawn(options: SpawnOptions): WorkerHandle;
}
