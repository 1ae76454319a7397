/**
 * Who "this process" is: the main thread, a pool worker or a Process. Kept on
 * globalThis under a Symbol.for key, because a worker may load two copies of the
 * library (its runtime and a user module importing "multiproc") and both must agree.
 */
import { threadId } from "./util/lean-builtins.ts";
import { StartedWhileImportingError } from "./errors.ts";
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
  /**
   * Python's `current_process().authkey`: 32 random bytes in the main process,
   * inherited by every worker; the default key of managers.
   */
  authkey: Buffer;
  /** URLs of the user modules this worker is importing now (Python's `_inheriting`). */
  importing?: string[];
}

function state(): IdentityState {
  const holder = globalThis as unknown as Record<symbol, IdentityState | undefined>;
  return (holder[kProcessState] ??= {
    current: { name: "MainProcess", pid: process.pid, ident: threadId === 0 ? process.pid : threadId, daemon: false },
    parent: null,
    isMain: true,
    path: [],
    // node:crypto is loaded here, in the main process, not by every worker at start-up (about 6 ms of a child's start).
    authkey: process.getBuiltinModule("node:crypto").randomBytes(32),
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
export function becomeWorker(current: ProcessIdentity, parent: ProcessIdentity, path: number[], authkey: Buffer): void {
  const holder = globalThis as unknown as Record<symbol, IdentityState>;
  holder[kProcessState] = { current, parent, isMain: false, path, authkey };
}

/** This process's authkey (see IdentityState.authkey). */
export function currentAuthkey(): Buffer {
  return state().authkey;
}

/** Python's `current_process().authkey = ...`. */
export function setCurrentAuthkey(authkey: Buffer): void {
  state().authkey = authkey;
}

/** This process's identity path (see IdentityState.path). */
export function identityPath(): readonly number[] {
  return state().path;
}

/** Marks `url` as being imported by this worker while `load` runs and until what it returns settles. */
export async function whileImporting<T>(url: string, load: () => Promise<T> | T): Promise<T> {
  const importing = (state().importing ??= []);
  importing.push(url);
  try {
    return await load();
  } finally {
    importing.splice(importing.lastIndexOf(url), 1);
  }
}

/**
 * Refuses to start workers from a worker that is still importing a module
 * (CPython's spawn._check_not_importing_main): that is a program whose main code
 * runs again in every worker, because it is not guarded, and would start workers
 * without end.
 * @throws Error naming mp.isMainProcess() and the two-line fix.
 */
export function checkNotImporting(what: string): void {
  const importing = state().importing;
  if (!importing || importing.length === 0) return;
  const module = importing[importing.length - 1]!;
  throw new StartedWhileImportingError(
      `${what} in worker ${state().current.name} while it was still importing ${module}. ` +
        "A worker imports your program's modules to find its functions, and that runs their top level again: " +
        "this usually means the main code is not guarded, and every worker would start workers of its own. " +
        "Guard the code that creates pools and starts processes (Python's `if __name__ == \"__main__\":`):\n\n" +
        "    if (mp.isMainProcess()) {\n" +
        "      // create pools, start processes\n" +
        "    }\n",
  );
}
