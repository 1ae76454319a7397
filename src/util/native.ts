/**
 * Loads multiproc's native addon (native/multiproc.cc, built by `npm install`).
 * Both src/ and dist/ sit one level under the package root, so one relative path
 * serves the TypeScript sources and the compiled build.
 */
import { fileURLToPath } from "./lean-builtins.ts";

export interface NativeAddon {
  /**
   * Keeps a SharedArrayBuffer's memory alive under a ticket any thread of this process can take.
   * With `owner` (a buffer from `allocate`, e.g. the ring the ticket is written into), the ticket
   * is also dropped when the owner's memory is freed: unread items die with their queue.
   */
  stash(buffer: SharedArrayBuffer, owner?: SharedArrayBuffer): number;
  /** Returns the stashed buffer and forgets the ticket. */
  take(ticket: number): SharedArrayBuffer;
  /** Returns the stashed buffer and keeps the ticket. */
  peek(ticket: number): SharedArrayBuffer;
  /** Like take, but keeps the memory (up to a few buffers per process) for `reuse`. Hold no view of it afterwards. */
  recycle(ticket: number): void;
  /** A recycled buffer of exactly `bytes` bytes (old contents left in place), or undefined. */
  reuse(bytes: number): SharedArrayBuffer | undefined;
  /** How many tickets are waiting to be taken. */
  stashed(): number;
  /**
   * A zero-filled SharedArrayBuffer whose memory comes from mmap and goes back to the OS
   * when no thread uses it any more (malloc would keep big freed blocks resident), and
   * which can own stash tickets (see `stash`).
   */
  allocate(byteLength: number): SharedArrayBuffer;
  /** How many `allocate` buffers are alive, not counting the few kept for `reuse` (leak checks in tests). */
  allocations(): number;
  /** Names a SharedArrayBuffer process-wide (thread-context SharedMemory); false if the name is taken. */
  publish(name: string, buffer: SharedArrayBuffer): boolean;
  /** The buffer published under `name`, if any. */
  lookup(name: string): SharedArrayBuffer | undefined;
  /** Forgets a name (the memory lives on while anything still uses it); false if unknown. */
  unpublish(name: string): boolean;
  /**
   * A private ArrayBuffer holding a copy of `source`'s bytes, in memory kept for reuse: when the
   * buffer is dropped (in any thread it was transferred to) its block waits for the next copy of
   * about its size, and is unmapped once it has been unused for two seconds.
   */
  privateCopy(source: ArrayBufferView | ArrayBufferLike): ArrayBuffer;
  /** Reads every cache line of `view` with wide loads, to bring it into this core's caches. */
  warm(view: ArrayBufferView | ArrayBufferLike): void;
  /** privateCopy's blocks: [held by live buffers, free and kept for reuse] (for tests). */
  privateBlocks(): [inUse: number, free: number];
  /**
   * memmove: copies `source[sourceOffset, sourceOffset + length)` to `target[targetOffset, ...)`
   * (offsets from each view's start; ranges may overlap) and returns `length`. Either side
   * may be an ArrayBuffer, a SharedArrayBuffer or a view over one. Throws a RangeError,
   * copying nothing, when a range is out of bounds. Faster than `TypedArray.set` into or
   * out of shared memory for large copies (about 100 ns per call, so not for small ones).
   */
  copy(
    target: ArrayBufferView | ArrayBufferLike,
    targetOffset: number,
    source: ArrayBufferView | ArrayBufferLike,
    sourceOffset: number,
    length: number,
  ): number;
  /**
   * Creates the POSIX shared-memory object `name` ("/..."; shm_open O_CREAT|O_EXCL) of `size`
   * zero-filled bytes and maps it as a SharedArrayBuffer (unmapped once garbage-collected).
   * Throws an errno Error (`code` "EEXIST" when the name is taken).
   */
  shmCreate(name: string, size: number): SharedArrayBuffer;
  /** Maps the existing shared-memory object `name` (its whole size). Throws with `code` "ENOENT" if unknown. */
  shmOpen(name: string): SharedArrayBuffer;
  /** Removes the name (mappings stay valid); false if there was none. */
  shmUnlink(name: string): boolean;
  /**
   * Atomics.wait over the kernel futex (crosses OS processes on OS shared memory): blocks this
   * thread while `view[index] === expected`, up to `timeout` ms (undefined or Infinity: forever).
   */
  futexWait(view: Int32Array, index: number, expected: number, timeout: number | undefined): FutexWaitResult;
  /** Wakes up to `count` futex waiters (all when undefined) on `view[index]`, in any process; returns how many. */
  futexWake(view: Int32Array, index: number, count: number | undefined): number;
  /** prctl(PR_SET_PDEATHSIG, signal): this process gets `signal` when its parent dies. Returns getppid() after setting it. */
  setParentDeathSignal(signal: number): number;
  /** _exit(code): ends this process at once, without Node's teardown (no 'exit' event, no flushing). */
  exitNow(code: number): never;
  /**
   * futexWait without blocking: a native thread sleeps on the futex and the Promise resolves on
   * this thread. Keeps the event loop alive while pending; dropped when the thread's environment ends.
   */
  futexWaitAsync(view: Int32Array, index: number, expected: number, timeout: number | undefined): Promise<FutexWaitResult>;
  /** How many futexWaitAsync waits of this thread are still pending (for tests). */
  futexPending(): number;
}

export type FutexWaitResult = "ok" | "not-equal" | "timed-out";

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon) return addon;
  // process.dlopen rather than createRequire(...)(path): the same dlopen without building a
  // CommonJS loader and resolving through it, which costs about 1 ms of every child's start.
  const module = { exports: {} as NativeAddon };
  try {
    process.dlopen(module, fileURLToPath(new URL("../../build/Release/multiproc_native.node", import.meta.url)));
    addon = module.exports;
  } catch (error) {
    throw new Error(
      "multiproc's native addon is not built (build/Release/multiproc_native.node is missing). " +
        "Run `npm install` (or `npm rebuild multiproc`) with a C++ compiler and Node's headers available.",
      { cause: error },
    );
  }
  return addon;
}
