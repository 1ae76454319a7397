/**
 * OS shared memory: POSIX shared-memory objects (shm_open + mmap, through the
 * native addon) seen as SharedArrayBuffers, for the "process" context.
 *
 * Names look like "/mp-<root>-<pid>-<counter>-<random>": the pid and counter make
 * them unique within this machine's live processes, the random part guards
 * against a stale name left by a killed process that had the same pid, and the
 * root (the program's main process) removes them all when it exits.
 *
 * Lifetime:
 * - the creator unlinks the name when its process (worker thread: its thread) exits,
 *   or earlier with unlinkShm; the memory stays valid for everyone who mapped it;
 * - a mapping is undone when its last SharedArrayBuffer is garbage-collected
 *   (the addon's backing-store deleter munmaps);
 * - opening a name twice in one thread gives the same SharedArrayBuffer (a weak
 *   cache), so views from both opens see one another and identity checks hold.
 *
 * Every buffer made here is recorded in `osSharedBuffers`; wait.ts uses it to wait
 * on those with the kernel futex (Atomics.wait cannot wake another process).
 */
import { isMainThread } from "../util/lean-builtins.ts";
import { native } from "../util/native.ts";
import { onExit } from "../util/finalize.ts";
import { sweepProgramShm } from "./shm-sweeper.ts";

/** SharedArrayBuffers over OS shared memory, in this thread. */
export const osSharedBuffers = new WeakSet<SharedArrayBuffer>();

/**
 * True once this thread has made or opened any OS shared memory: until then the
 * wait core skips the WeakSet lookup altogether (the thread context never pays).
 */
export let osSharedInUse = false;

const opened = new Map<string, WeakRef<SharedArrayBuffer>>();
const forgetOpened = new FinalizationRegistry<string>((name) => {
  if (opened.get(name)?.deref() === undefined) opened.delete(name);
});
const unlinkAtExit = new Map<string, () => void>();
let counter = 0;

function remember(name: string, buffer: SharedArrayBuffer): SharedArrayBuffer {
  markOsShared(buffer, name);
  opened.set(name, new WeakRef(buffer));
  forgetOpened.register(buffer, name);
  return buffer;
}

/**
 * The pid of the program's root process (its main process), which every
 * shared-memory name of the program starts with: "/mp-<root>-...". The root
 * removes what is left of them when it exits, whoever made them.
 */
let rootPid = process.pid;

/** Set by a worker's bootstrap: the root of the program it belongs to. */
export function setRootPid(pid: number): void {
  rootPid = pid;
}

export function getRootPid(): number {
  return rootPid;
}

/** A fresh name for a shared-memory object of this process. */
export function newShmName(): string {
  return `/mp-${rootPid}-${process.pid}-${++counter}-${process.getBuiltinModule("node:crypto").randomBytes(4).toString("hex")}`;
}

let ticketCounter = 0;

/**
 * A ticket for an OS buffer of a ring (buffer-store.ts): this pid and a counter
 * in one exact double (pid < 2^22, counter < 2^31), unique among live processes.
 */
export function nextTicket(): number {
  ticketCounter = (ticketCounter + 1) % 2 ** 31;
  return process.pid * 2 ** 31 + ticketCounter;
}

/** The shm name a ticket stands for. */
export function ticketName(ticket: number): string {
  return `/mp-${rootPid}-t${ticket.toString(36)}`;
}

/**
 * In the root process: make sure the program's names go when it ends (shm-sweeper.ts).
 * Called when the root first maps OS memory or starts an OS process.
 */
export function sweepAtExit(): void {
  if (rootPid === process.pid && isMainThread) sweepProgramShm(rootPid);
}

/**
 * Creates a zero-filled OS shared-memory object of `byteLength` bytes; its name is
 * unlinked when this process exits (or by unlinkShm).
 */
export function createShm(byteLength: number): { name: string; buffer: SharedArrayBuffer } {
  if (!Number.isInteger(byteLength) || byteLength < 0) {
    throw new RangeError(`Expected \`byteLength\` to be an integer >= 0, got \`${String(byteLength)}\` (${typeof byteLength})`);
  }
  for (;;) {
    const name = newShmName();
    let buffer: SharedArrayBuffer;
    try {
      buffer = native().shmCreate(name, byteLength);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue; // a stale name from a dead process
      throw error;
    }
    unlinkAtExit.set(
      name,
      onExit(() => native().shmUnlink(name)),
    );
    return { name, buffer: remember(name, buffer) };
  }
}

/**
 * Creates the OS shared-memory object `name` (a SharedMemory block): unlike
 * createShm's, it lives until unlinked, as Python's named blocks do.
 * Throws an Error with `code` "EEXIST" when the name is taken.
 */
export function createNamedShm(name: string, byteLength: number): SharedArrayBuffer {
  return markOsShared(native().shmCreate(name, byteLength), name);
}

/**
 * Maps the named block `name` afresh (no cache: after any process unlinks the
 * name, attaching fails with ENOENT, as in Python). Throws with `code` "ENOENT".
 */
export function openNamedShm(name: string): SharedArrayBuffer {
  return markOsShared(native().shmOpen(name), name);
}

function markOsShared(buffer: SharedArrayBuffer, name: string): SharedArrayBuffer {
  sweepAtExit();
  osSharedInUse = true;
  osSharedBuffers.add(buffer);
  osSharedNames.set(buffer, name);
  return buffer;
}

/** The name of the OS shared-memory object under each buffer made or opened here. */
const osSharedNames = new WeakMap<SharedArrayBuffer, string>();

/** The shm name `buffer` maps (so another process can open it), or undefined for a buffer of this process only. */
export function osSharedName(buffer: SharedArrayBuffer): string | undefined {
  return osSharedInUse ? osSharedNames.get(buffer) : undefined;
}

/**
 * Maps the OS shared-memory object `name` (the same SharedArrayBuffer if this
 * thread already has it mapped). Throws an Error with `code` "ENOENT" when the name
 * does not exist (any more: its creator has exited or unlinked it).
 */
export function openShm(name: string): SharedArrayBuffer {
  if (typeof name !== "string" || !name.startsWith("/")) {
    throw new TypeError(`Expected \`name\` to be a shared-memory name starting with "/", got \`${String(name)}\` (${typeof name})`);
  }
  const known = opened.get(name)?.deref();
  if (known) return known;
  return remember(name, native().shmOpen(name));
}

/** Removes the name now (mappings stay valid); false if it did not exist. */
export function unlinkShm(name: string): boolean {
  unlinkAtExit.get(name)?.();
  unlinkAtExit.delete(name);
  return native().shmUnlink(name);
}

/** Whether `buffer` is OS shared memory (made or opened here). */
export function isOsShared(buffer: ArrayBufferLike): boolean {
  return osSharedInUse && osSharedBuffers.has(buffer as SharedArrayBuffer);
}
