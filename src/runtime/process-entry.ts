/**
 * The file an OS child process runs (the process context): wires the runtime to
 * the parent's IPC channel. The parent's first message is the BootstrapData.
 *
 * Unlike a MessagePort, an IPC channel does not hold messages for a listener that
 * is not there yet, so everything after the bootstrap is queued here until the
 * runtime registers its listener.
 *
 * A child must not outlive its parent: pool workers and daemon processes stop at
 * once when the parent dies (the kernel's parent-death signal, and the channel
 * closing), as Python terminates daemonic children; a non-daemon Process runs on
 * to its end, as Python's parent would have joined it.
 */
import type { TransferListItem } from "node:worker_threads";
import { setDefaultMemoryKind } from "../memory/kind.ts";
import { osConstants } from "../util/lean-builtins.ts";
import { native } from "../util/native.ts";
import { encodeError } from "../wire/errors.ts";
import { ipcMessageError, isCloneError } from "../wire/ipc-check.ts";
import type { BootstrapData, ParentMessage, WorkerMessage } from "../wire/protocol.ts";
import { runWorker } from "./bootstrap.ts";
import type { ParentChannel } from "./channel.ts";
// For the bundle: see worker-core.ts.
import "./worker-core.ts";

if (!process.send) {
  throw new Error("multiproc's process-entry runs only as a child process started by multiproc (it needs an IPC channel)");
}
const send = process.send.bind(process) as (message: unknown, callback: (error: Error | null) => void) => boolean;

let bootstrap: ((data: BootstrapData) => void) | null = null;
const started = new Promise<BootstrapData>((resolve) => (bootstrap = resolve));
let listener: ((message: ParentMessage) => void) | null = null;
const early: ParentMessage[] = [];
let exiting = false;
/** Messages handed to IPC but not yet written to the pipe; exit() waits for them. */
let pendingSends = 0;
let whenSent: (() => void) | null = null;

process.on("message", (message) => {
  if (bootstrap) {
    const start = bootstrap;
    bootstrap = null;
    start(message as BootstrapData);
    return;
  }
  if (exiting) return;
  if (listener) listener(message as ParentMessage);
  else early.push(message as ParentMessage);
});

function onSent(): void {
  if (--pendingSends === 0 && whenSent) whenSent();
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return stream.writableLength === 0 ? Promise.resolve() : new Promise((resolve) => stream.write("", () => resolve()));
}

/**
 * Whether this process may end with _exit rather than process.exit: nobody listens for
 * 'exit' (the user's code, or ours: a SharedMemory this child must unlink), and no
 * profile or coverage is written at exit. Node's teardown is then all process.exit would
 * add: about 1 ms of every pool worker's stop (see native.ts exitNow).
 */
function mayExitNow(): boolean {
  if (process.listenerCount("exit") > 0 || process.env.NODE_V8_COVERAGE) return false;
  return !process.execArgv.some((arg) => /^--(cpu-prof|heap-prof|prof)/.test(arg));
}

function exitProcess(code: number): never {
  if (mayExitNow()) native().exitNow(code);
  process.exit(code);
}

const channel: ParentChannel = {
  post(message: WorkerMessage, _transfer?: readonly TransferListItem[]): void {
    // Nothing is transferred between processes: ArrayBuffers are copied, and the child exits or drops them.
    if (exiting || !process.connected) return;
    try {
      send(message, onSent);
    } catch (error) {
      throw isCloneError(error) ? ipcMessageError(message, error) : error;
    }
    pendingSends++;
  },
  onMessage(receive: (message: ParentMessage) => void): void {
    listener = receive;
    while (early.length > 0 && !exiting) receive(early.shift()!);
  },
  exit(code: number): never {
    // Stdout, stderr and IPC writes are usually done already (pipes and files are
    // synchronous on Linux); otherwise stop taking work and exit once they are.
    if (!exiting && pendingSends === 0 && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) {
      exitProcess(code);
    }
    if (!exiting) {
      exiting = true;
      process.exitCode = code;
      const sent = pendingSends === 0 ? Promise.resolve() : new Promise<void>((resolve) => (whenSent = resolve));
      void Promise.all([sent, flushed(process.stdout), flushed(process.stderr)]).then(() => exitProcess(code));
    }
    return undefined as never;
  },
};

/** Runs the worker once the parent sent its BootstrapData. */
function start(data: BootstrapData): Promise<void> {
  // What this process makes must be able to reach its parent and siblings: OS shared memory.
  setDefaultMemoryKind("os");
  if (data.role === "pool" || data.identity.daemon) {
    // The kernel kills this child when its parent dies, even while its JavaScript is
    // busy in a task and never sees the channel close. If the parent died before
    // we asked, this child has a new parent already: it goes now.
    if (native().setParentDeathSignal(osConstants.signals.SIGKILL) !== data.parent.pid) process.kill(process.pid, "SIGKILL");
    // Ctrl-C reaches the whole process group: the parent decides (it ends, or handles the
    // signal and terminates its pool), and the kernel's parent-death signal or the pool's
    // terminate() ends this worker, never half-way through a task on its own.
    process.on("SIGINT", () => {});
    process.once("disconnect", () => {
      // Ended as terminate() ends it: exitCode -15 for anyone still watching.
      process.kill(process.pid, "SIGTERM");
    });
  }
  // Die of an uncaught exception as Node does (the error on stderr, exit code 1), and tell
  // the parent what of: a pool fails the lost task with it.
  process.on("uncaughtException", (error) => {
    // node:util only now: its ES module face costs every child about 0.3 ms of its start.
    process.stderr.write(`${process.getBuiltinModule("node:util").inspect(error)}\n`);
    channel.post({ type: "crashed", error: encodeError(error) });
    channel.exit(1);
  });
  return runWorker(data, channel);
}

// No top-level await: the launcher (dist/runtime/process-entry.cjs) loads this module with
// require(), which refuses a module graph that awaits at its top.
void started.then(start);
