/**
 * Process: one function (or a subclass's run()) in its own worker, with
 * Python's lifecycle: start, join, isAlive, exitCode, terminate, kill, close.
 *
 * A subclass that overrides run() must be exported from a known module: the
 * worker imports the class, builds an instance without calling its constructor,
 * copies the parent instance's own fields onto it (library objects among them
 * arrive as the same shared objects) and calls run(), as Python unpickles a
 * Process object in the child.
 */
import os from "node:os";
import type { WorkerExit, WorkerHandle } from "./backends/backend.ts";
import { backendFor } from "./backends/index.ts";
import { kExited } from "./symbols.ts";
import { checkNotImporting, currentAuthkey, currentIdentity, parentIdentity, type ProcessIdentity } from "./process-identity.ts";
import { commonBootstrap, moduleUrls, nextChildIdentity } from "./spawn.ts";
import { resolveStartMethod } from "./start-method.ts";
import { uncloneableError } from "./wire/clone-check.ts";
import { decodeError } from "./wire/errors.ts";
import { resolveFunction, withOrigin, type FunctionRef } from "./wire/functions.ts";
import type { ProcessTarget, RunMessage } from "./wire/protocol.ts";
import { encodeForWire } from "./wire/serialize.ts";
import type { StartMethod } from "./backends/backend.ts";

/** Options of `new mp.Process(...)` (Python's Process(target, name, args, daemon)). */
export interface ProcessOptions {
  /** The function to run in the worker; it may be async. */
  target?: (...args: never[]) => unknown;
  /** Arguments for `target`. @default [] */
  args?: unknown[];
  /** @default "Process-N" */
  name?: string;
  /** A daemon process is terminated when its parent finishes. @default the parent's daemon flag */
  daemon?: boolean;
  /** The worker kind. @default mp.getStartMethod() */
  context?: StartMethod;
  /** Modules whose exports the worker may be sent by reference; imported first in the worker. */
  modules?: (string | URL)[];
}

type State = "initial" | "started" | "closed";

const liveChildren = new Set<Process>();

/** Python prints a child's unhandled exception on stderr; so do we, for errors the child could not print itself. */
function reportChildError(name: string, error: Error): void {
  process.stderr.write(`Process ${name}:\n${error.stack ?? `${error.name}: ${error.message}`}\n`);
}

/** The fields a subclass instance carries to its worker: everything but the parent-side bookkeeping. */
const PARENT_ONLY_FIELDS = new Set(["name"]);

export class Process {
  /** Python's `name`: "Process-N" unless given. */
  name: string;
  #daemon: boolean;
  readonly #target: ProcessOptions["target"];
  readonly #args: unknown[];
  readonly #method: StartMethod;
  readonly #modules: string[];
  #state: State = "initial";
  #handle: WorkerHandle | null = null;
  #exit: WorkerExit | null = null;
  #exited: Promise<void> | null = null;
  #joiners = 0;
  /** Python's `_identity`: the parent's path plus this child's number. */
  readonly #path: number[];

  constructor(options: ProcessOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Expected Process options to be an object ({ target, args, name, daemon }), got ${typeof options}`);
    }
    const { target, args = [], name, daemon, context, modules } = options;
    if (target !== undefined && typeof target !== "function") {
      throw new TypeError(`Expected \`target\` to be a function, got ${typeof target}`);
    }
    if (!Array.isArray(args)) throw new TypeError(`Expected \`args\` to be an array, got ${typeof args}`);
    if (name !== undefined && typeof name !== "string") throw new TypeError(`Expected \`name\` to be a string, got ${typeof name}`);
    this.#target = target;
    this.#args = args;
    this.#method = resolveStartMethod(context);
    this.#modules = moduleUrls(modules);
    const identity = nextChildIdentity("Process");
    this.#path = identity.path;
    this.name = name ?? identity.name;
    this.#daemon = daemon ?? currentIdentity().daemon;
  }

  /** Python's `daemon`: a daemon process is stopped when its parent finishes. Settable only before start(). */
  get daemon(): boolean {
    return #daemon in this ? this.#daemon : currentIdentity().daemon;
  }

  set daemon(value: boolean) {
    if (!(#state in this)) throw new Error("a running process cannot change its daemon flag");
    if (this.#state !== "initial") throw new Error("process has already started; set daemon before start()");
    this.#daemon = Boolean(value);
  }

  /** Runs in the worker: calls `target(...args)`. Subclasses override it. */
  run(): unknown {
    return this.#target?.(...(this.#args as never[]));
  }

  /**
   * False on the instance a worker rebuilt for a subclass's run(): it was made
   * without the constructor, so it has no parent-side state and describes the
   * worker it runs in (as `self.pid` in a Python child is the child's own pid).
   */
  #isParentSide(): boolean {
    return #state in this;
  }

  #checkNotClosed(): void {
    if (this.#state === "closed") throw new Error(`process object ${this.name} is closed`);
  }

  /** Starts the worker (Python's start()). Throws if started twice or if an argument cannot be sent. */
  start(): void {
    this.#checkNotClosed();
    if (this.#state !== "initial") throw new Error("cannot start a process twice");
    checkNotImporting(`Process ${this.name} was started`);
    if (currentIdentity().daemon) throw new Error("daemonic processes are not allowed to have children");
    const { message, transfer } = this.#runMessage();
    let resolveExited!: () => void;
    this.#exited = new Promise((resolve) => (resolveExited = resolve));
    const handle = backendFor(this.#method).spawn({
      bootstrap: { ...commonBootstrap({ name: this.name, path: this.#path, daemon: this.daemon, modules: this.#modules }), role: "process" },
      events: {
        message: (message) => {
          if (message.type === "startup-failed") reportChildError(this.name, decodeError(message.error));
        },
        exit: (exit) => {
          if (exit.error && !exit.errorPrinted) reportChildError(this.name, exit.error);
          this.#exit = exit;
          liveChildren.delete(this);
          resolveExited();
        },
      },
    });
    try {
      handle.post(message, transfer);
    } catch (error) {
      void handle.kill();
      // A backend that already named the part and the fix (an OS process refusing shared memory) says it best.
      if (error instanceof TypeError) throw error;
      throw uncloneableError(message.target.kind === "function" ? message.target.args : message.target.fields, "args", `the arguments of ${this.name}`, error);
    }
    if (this.daemon) handle.unref();
    this.#handle = handle;
    this.#state = "started";
    liveChildren.add(this);
  }

  #runMessage(): { message: RunMessage; transfer: [] } {
    let target: ProcessTarget;
    if (this.run !== Process.prototype.run) {
      const cls = resolveFunction(this.constructor, this.#modules, "the Process subclass");
      if (cls.kind !== "export") {
        throw new TypeError(
          `The Process subclass ${this.constructor.name} overrides run(), so the worker must import it: export it from a module ` +
            "(the entry module, a module listed in `modules`, or one that calls mp.registerModule(import.meta.url)).",
        );
      }
      const fields: Record<string, unknown> = {};
      for (const key of Object.keys(this)) if (!PARENT_ONLY_FIELDS.has(key)) fields[key] = (this as Record<string, unknown>)[key];
      const encoded = encodeForWire(fields);
      target = { kind: "instance", cls, fields: encoded.value as Record<string, unknown> };
      return { message: { type: "run", target, wired: encoded.wired }, transfer: [] };
    }
    // A target sent as source text prints its own error in the child: it carries its module to name there.
    const fn: FunctionRef | null = this.#target ? withOrigin(resolveFunction(this.#target, this.#modules, "`target`")) : null;
    const encoded = encodeForWire(this.#args);
    target = fn
      ? { kind: "function", fn, args: encoded.value as unknown[] }
      : { kind: "function", fn: { kind: "source", source: "function noTarget() {}", name: "noTarget" }, args: [] };
    return { message: { type: "run", target, wired: encoded.wired }, transfer: [] };
  }

  /**
   * Waits until the process exits, or `timeout` ms pass (Python's join(timeout)).
   * Resolves either way; check isAlive() or exitCode afterwards.
   */
  async join(timeout?: number): Promise<void> {
    this.#checkNotClosed();
    if (this.#state !== "started" || !this.#exited) throw new Error("can only join a started process");
    if (timeout !== undefined && (typeof timeout !== "number" || Number.isNaN(timeout))) {
      throw new TypeError(`Expected \`timeout\` to be a number of milliseconds, got ${typeof timeout}`);
    }
    // A daemon's worker does not keep the program alive, but someone waiting for it must.
    const handle = this.#handle;
    if (this.daemon && this.#joiners++ === 0) handle?.ref();
    try {
      if (timeout === undefined || timeout === Infinity) return await this.#exited;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeout))))]);
      clearTimeout(timer);
    } finally {
      if (this.daemon && --this.#joiners === 0) handle?.unref();
    }
  }

  /** @internal Settles when the started process exits; unlike join(), waiting on it keeps no handle alive. */
  [kExited](): Promise<void> {
    if (!this.#exited) throw new Error("the process has not started");
    return this.#exited;
  }

  /** Whether the process has started and not yet exited. */
  isAlive(): boolean {
    if (!this.#isParentSide()) return true;
    this.#checkNotClosed();
    return this.#state === "started" && this.#exit === null;
  }

  /** Python's exitcode: null while running, 0 on success, 1 after an error, N after exit(N), -SIGNUM if killed. */
  get exitCode(): number | null {
    if (!this.#isParentSide()) return null;
    this.#checkNotClosed();
    return this.#exit?.exitCode ?? null;
  }

  /** The OS process id (null before start). In the thread context every worker shares the parent's pid. */
  get pid(): number | null {
    if (!this.#isParentSide()) return currentIdentity().pid;
    this.#checkNotClosed();
    return this.#handle?.pid ?? null;
  }

  /** A per-worker id: the thread id (thread context) or the pid (process context); null before start. */
  get ident(): number | null {
    if (!this.#isParentSide()) return currentIdentity().ident;
    this.#checkNotClosed();
    return this.#handle?.ident ?? null;
  }

  /** Stops the process (SIGTERM; exitCode -15). */
  terminate(): void {
    this.#checkNotClosed();
    void this.#handle?.terminate();
  }

  /** Stops the process at once (SIGKILL; exitCode -9). */
  kill(): void {
    this.#checkNotClosed();
    void this.#handle?.kill();
  }

  /** Releases the process object (Python's close()); throws while it is still running. */
  close(): void {
    if (this.#state === "started" && this.#exit === null) {
      throw new Error(`Cannot close a process while it is still running. You should first call join() or terminate().`);
    }
    this.#state = "closed";
    this.#handle = null;
  }

  /** `await using p = ...`: joins a started process, then closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === "started") await this.join();
    if (this.#state !== "closed") this.close();
  }

  toString(): string {
    const status =
      this.#state === "closed" ? "closed" : this.#state === "initial" ? "initial" : this.#exit ? `stopped exitcode=${this.#exit.exitCode}` : "started";
    return `<Process name='${this.name}' ${status}${this.daemon ? " daemon" : ""}>`;
  }
}

/** The number of CPUs (Python's cpu_count()): the parallelism this process may use. */
export function cpuCount(): number {
  return os.availableParallelism();
}

/** The current process as current_process() describes it, with its authkey. */
export interface CurrentProcess extends ProcessIdentity {
  /** Python's `authkey`: random in the main process, inherited by workers; managers' default key. Not enumerable. */
  readonly authkey: Buffer;
}

/** The current process's identity (Python's current_process()): "MainProcess" in the main thread. */
export function currentProcess(): CurrentProcess {
  const identity = { ...currentIdentity() };
  // Not enumerable: an identity logged or sent somewhere does not carry the key along.
  return Object.defineProperty(identity, "authkey", { value: Buffer.from(currentAuthkey()), enumerable: false }) as CurrentProcess;
}

/** The parent as a child sees it (Python's `_ParentProcess`). */
export interface ParentProcess extends ProcessIdentity {
  /** Whether the parent is still running. */
  isAlive(): boolean;
  /** Waits until the parent exits, or `timeout` ms pass. */
  join(timeout?: number): Promise<void>;
}

/**
 * The parent of this worker, or null in the main process (Python's parent_process()).
 * A worker thread cannot outlive the thread that started it (Node stops a thread's
 * workers when it exits), so from inside a thread-context worker the parent is
 * always alive, and join() waits as long as Python's would: until the timeout, or forever.
 */
export function parentProcess(): ParentProcess | null {
  const parent = parentIdentity();
  if (!parent) return null;
  return {
    ...parent,
    isAlive: () => true,
    join: (timeout?: number) =>
      new Promise<void>((resolve) => {
        if (timeout !== undefined && timeout !== Infinity) setTimeout(resolve, Math.max(0, timeout));
        else setInterval(() => {}, 1 << 30);
      }),
  };
}

/** The started Processes of this process that have not exited yet (Python's active_children()). */
export function activeChildren(): Process[] {
  return [...liveChildren];
}
