/**
 * Every message between a parent and its workers, as discriminated unions on `type`.
 * Payloads that may hold library objects carry `wired: true` after encodeForWire
 * replaced them, so the receiver revives only when needed.
 */
import type { RingState } from "../memory/ring.ts";
import type { ProcessIdentity } from "../process-identity.ts";
import type { EncodedError } from "./errors.ts";
import type { FunctionRef } from "./functions.ts";

/** What every worker learns at start (workerData / the first message). */
export interface BootstrapCommon {
  /** The worker's name and daemon flag; it fills in its own pid and ident when it starts. */
  identity: Pick<ProcessIdentity, "name" | "daemon"> & { path: number[] };
  parent: ProcessIdentity;
  /** The pid of the program's main process (shared-memory names start with it; see memory/shm.ts). */
  rootPid: number;
  /** The parent's authkey, hex (Python's children inherit `current_process().authkey`). */
  authkey: string;
  entryModule: string | null;
  registeredModules: string[];
  /** Modules the worker imports before anything else (the `modules` option). */
  preloadModules: string[];
  /** URL of a module loader API to register first (tsx, when the program runs TypeScript). */
  loader: string | null;
  /** TypeScript modules the parent compiled for its workers: source URL -> JavaScript URL (typescript-build.ts). */
  compiledModules: Record<string, string>;
}

export interface PoolBootstrap extends BootstrapCommon {
  role: "pool";
  initializer: FunctionRef | null;
  initArgs: unknown[];
  initArgsWired: boolean;
  /** Retire after this many tasks (maxTasksPerChild); null: never. */
  maxTasks: number | null;
  /**
   * The ring the worker writes its results into (see ResultsMessage): shared memory
   * outlives the worker, so a result written before it died is still read.
   */
  results: RingState;
  /** The ring the parent writes this worker's tasks into (see TasksMessage). */
  tasks: RingState;
}

export interface ProcessBootstrap extends BootstrapCommon {
  role: "process";
}

export type BootstrapData = PoolBootstrap | ProcessBootstrap;

// ------------------------------------------------------------ parent -> worker

/** One chunk of a pool job: call `fn` on each item (spread when `star`). */
export interface TaskMessage {
  type: "task";
  /**
   * Numbers a worker's tasks from 0: they come through its task ring or as messages
   * (those with a transfer list, or too big for the ring), and it queues them in this order.
   */
  seq: number;
  job: number;
  chunk: number;
  /**
   * The function, as a number in the worker's function table. The first task a
   * worker gets for a number also carries `ref`; later ones carry the number only,
   * so a stream of small tasks does not clone and look up the reference each time.
   */
  fn: number;
  /** What `fn` names, sent once per worker and function. */
  ref?: FunctionRef;
  items: unknown[];
  star: boolean;
  wired: boolean;
  /** Index of items[0] in the job's input, to name a bad result; null for apply (one call, one result). */
  start: number | null;
}

/**
 * Tasks wait in the worker's task ring (PoolBootstrap.tasks): the doorbell that wakes
 * a worker, sent only when the ring says none is on its way already, so tasks queued
 * while the worker runs others cost no message.
 */
export interface TasksMessage {
  type: "tasks";
}

/** What a Process runs: a function, or an instance of an exported Process subclass. */
export type ProcessTarget =
  | { kind: "function"; fn: FunctionRef; args: unknown[] }
  | { kind: "instance"; cls: FunctionRef; fields: Record<string, unknown> };

export interface RunMessage {
  type: "run";
  target: ProcessTarget;
  wired: boolean;
}

/** Finish the current task, then exit cleanly. */
export interface StopMessage {
  type: "stop";
}

export type ParentMessage = TaskMessage | TasksMessage | RunMessage | StopMessage;

// ------------------------------------------------------------ worker -> parent

/** The worker finished starting (modules imported, initializer run). */
export interface ReadyMessage {
  type: "ready";
}

/** Starting failed (a module threw on import, the initializer threw); the worker exits next. */
export interface StartupFailedMessage {
  type: "startup-failed";
  error: EncodedError;
}

/**
 * A chunk's answer. `seq` numbers a worker's answers from 0: they come through the
 * result ring or as messages, and the parent takes them in this order.
 */
export type ResultMessage =
  | { type: "result"; seq: number; job: number; chunk: number; ok: true; values: unknown[]; wired: boolean }
  | { type: "result"; seq: number; job: number; chunk: number; ok: false; error: EncodedError };

/**
 * Results wait in the worker's result ring (PoolBootstrap.results): the doorbell
 * that wakes the parent, sent only when the ring says none is on its way already,
 * so results written while the parent is busy cost no message at all. Every other
 * message from the worker is read after the results written before it.
 */
export interface ResultsMessage {
  type: "results";
}

/** The worker reached maxTasksPerChild and will exit once this is sent. */
export interface RetiringMessage {
  type: "retiring";
}

/**
 * An OS child process dies of an uncaught exception (it printed it, as Node does);
 * its parent learns what it died of (a worker thread's parent gets its "error" event).
 */
export interface CrashedMessage {
  type: "crashed";
  error: EncodedError;
}

export type WorkerMessage = ReadyMessage | StartupFailedMessage | ResultMessage | ResultsMessage | RetiringMessage | CrashedMessage;
