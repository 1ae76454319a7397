/**
 * Who "this process" is: the main thread, a pool worker or a Process. Kept on
 * globalThis under a Symbol.for key, because a worker may load two copies of the
 * library (its runtime and a user module importing "multiproc") and both must agree.
 */
import { threadId } from "node:worker_threads";
import { kProcessState } from "./symbols.ts";

export interface ProcessIdentity {
  name: string;
  /** The OS process id (in the thread context every worker shares the main process's pid). */
  pid: number;
  /** A per-worker identifier: the OS pid for processes, the thread id for worker threads. */
  ident: number;
  daemon: boolean;
}

interface IdentityState {
  current: ProcessIdentity;
  parent: ProcessIdentity | null;
  isMain: boolean;
  /** Python's `_identity`: [] in the main process, the parent's path plus this child's number below it. */
  path: number[];
}

function state(): IdentityState {
  const holder = globalThis as unknown as Record<symbol, IdentityState | undefined>;
  return (holder[kProcessState] ??= {
    current: { name: "MainProcess", pid: process.pid, ident: threadId === 0 ? process.pid : threadId, daemon: false },
    parent: null,
    isMain: true,
    path: [],
  });
}

export function currentIdentity(): ProcessIdentity {
  return state().current;
}

export function parentIdentity(): ProcessIdentity | null {
  return state().parent;
}

/** True in the program's main process; false inside workers started by multiproc. */
export function isMainProcess(): boolean {
  return state().isMain;
}

/** Called once by a worker's bootstrap, before any user module is imported. */
export function becomeWorker(current: ProcessIdentity, parent: ProcessIdentity, path: number[]): void {
  const holder = globalThis as unknown as Record<symbol, IdentityState>;
  holder[kProcessState] = { current, parent, isMain: false, path };
}

/** This process's identity path (see IdentityState.path). */
export function identityPath(): readonly number[] {
  return state().path;
}
