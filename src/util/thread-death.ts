/**
 * Resources of a worker thread that another thread releases when it dies.
 *
 * A worker killed by terminate() (Process.terminate/kill, a pool worker killed for
 * a timeout) runs none of its own code again, not even `process.on("exit")`. What
 * it held in shared memory (a pipe end's handle count, ...) would stay held for
 * ever. As owners.ts does for locks, each worker thread therefore lists such
 * resources in the native addon's process-wide name table, and the thread that
 * started it releases what is still listed when the Worker emits "exit" (hooked
 * through `process.on("worker")`).
 *
 * Names, per kind of resource and per thread:
 *
 *   "multiproc.death.<kind>.<thread>"              Int32[1]: slots in use so far (high-water mark)
 *   "multiproc.death.<kind>.<thread>.<slot>.<i>"   the i-th buffer of the resource in `slot`
 *
 * A slot is listed once per resource (not per use) and its names are removed when
 * the resource is released normally (`untrack`); freed slots are reused, so the
 * table stays as small as the set of live resources.
 *
 * A release function may run twice for one resource (the thread started its own
 * release, then was killed; or released on its own exit): it must be idempotent,
 * through a flag in the resource's shared memory that both sides flip with
 * compareExchange.
 *
 * The workers a thread starts are themselves listed (kind "worker"): when a thread
 * dies, Node stops its workers with it, and their "exit" event never reaches a
 * listener; the thread that sees the parent die releases the children's
 * resources too. The main thread lists nothing: when it dies, the process does.
 */
import type { Worker } from "node:worker_threads";
import { isMainThread, threadId } from "./lean-builtins.ts";
import { getLogger } from "./logger.ts";
import { native } from "./native.ts";

const PREFIX = "multiproc.death.";
/** The kind under which a thread lists the workers it started. */
const WORKER = "worker";

/** Releases one resource from its listed buffers (in the order given to `track`). */
export type Release = (buffers: SharedArrayBuffer[]) => void;

interface Kind {
  release: Release;
  /** This thread's slot counter (created on first track). */
  counter: Int32Array | undefined;
  /** Slots of this thread freed by untrack, to reuse. */
  free: number[];
  /** How many buffers each slot of this thread names. */
  sizes: number[];
}

// One table per thread, shared by every copy of this module (source and dist builds alike).
const registry = Symbol.for("multiproc.threadDeath");
const global = globalThis as unknown as Record<symbol, Map<string, Kind> | undefined>;
const kinds: Map<string, Kind> = (global[registry] ??= new Map());

/**
 * A list of resources of `kind` for this thread. `release` runs in the thread that
 * sees a listing thread die, once per resource still listed.
 */
export interface DeathList {
  /** Lists a resource; returns its slot (-1 in the main thread, which lists nothing). */
  track(buffers: readonly SharedArrayBuffer[]): number;
  /** Removes a resource listed under `slot` (after releasing it normally). */
  untrack(slot: number): void;
}

export function deathList(kind: string, release: Release): DeathList {
  let entry = kinds.get(kind);
  if (!entry) {
    entry = { release, counter: undefined, free: [], sizes: [] };
    kinds.set(kind, entry);
  }
  const own = entry;
  return {
    track(buffers) {
      if (isMainThread) return -1;
      const addon = native();
      if (!own.counter) {
        const counter = new SharedArrayBuffer(4);
        addon.publish(`${PREFIX}${kind}.${threadId}`, counter);
        own.counter = new Int32Array(counter);
        hookOwnExit();
      }
      let slot = own.free.pop();
      if (slot === undefined) {
        slot = Atomics.load(own.counter, 0);
        // Names first, then the count: a reader never sees a slot before its buffers.
        publishSlot(kind, slot, buffers);
        Atomics.store(own.counter, 0, slot + 1);
      } else {
        publishSlot(kind, slot, buffers);
      }
      own.sizes[slot] = buffers.length;
      return slot;
    },
    untrack(slot) {
      if (slot < 0) return;
      const size = own.sizes[slot] ?? 0;
      if (size === 0) return;
      const addon = native();
      for (let i = 0; i < size; i++) addon.unpublish(`${PREFIX}${kind}.${threadId}.${slot}.${i}`);
      own.sizes[slot] = 0;
      own.free.push(slot);
    },
  };
}

function publishSlot(kind: string, slot: number, buffers: readonly SharedArrayBuffer[]): void {
  const addon = native();
  for (let i = 0; i < buffers.length; i++) addon.publish(`${PREFIX}${kind}.${threadId}.${slot}.${i}`, buffers[i]!);
}

/**
 * Releases every resource the dead thread `thread` still lists, of every kind
 * known here, and forgets its names. Returns how many were released.
 */
export function releaseThread(thread: number): number {
  let released = 0;
  for (const [kind, { release }] of kinds) released += releaseKind(kind, release, thread);
  return released;
}

function releaseKind(kind: string, release: Release, thread: number): number {
  const addon = native();
  const base = `${PREFIX}${kind}.${thread}`;
  const counter = addon.lookup(base);
  if (!counter) return 0;
  let released = 0;
  const slots = Atomics.load(new Int32Array(counter), 0);
  for (let slot = 0; slot < slots; slot++) {
    const buffers: SharedArrayBuffer[] = [];
    for (let i = 0; ; i++) {
      const name = `${base}.${slot}.${i}`;
      const buffer = addon.lookup(name);
      if (!buffer) break;
      addon.unpublish(name);
      buffers.push(buffer);
    }
    if (buffers.length === 0) continue;
    try {
      release(buffers);
      released++;
    } catch (error) {
      getLogger().error(`could not release a ${kind} of dead worker thread ${thread}: ${String(error)}`);
    }
  }
  addon.unpublish(base);
  return released;
}

let ownExitHooked = false;
/**
 * A thread that ends on its own releases what it still lists (after the exit
 * handlers of the modules that listed it, which usually leave nothing). Its own
 * workers are still running at this point (Node stops them after "exit"): they
 * stay listed for the thread that sees this one end.
 */
function hookOwnExit(): void {
  if (ownExitHooked) return;
  ownExitHooked = true;
  process.once("exit", () => {
    for (const [kind, entry] of kinds) {
      if (kind === WORKER) continue;
      try {
        releaseKind(kind, entry.release, threadId);
      } catch (error) {
        getLogger().error(`could not release this thread's ${kind} resources at exit: ${String(error)}`);
      }
      // Anything listed later starts a fresh list.
      entry.counter = undefined;
      entry.free = [];
      entry.sizes = [];
    }
  });
}

// The workers this thread starts: release their resources when they die, and list
// them, so that if this thread dies first, whoever sees it releases theirs too.
const workers = deathList(WORKER, ([buffer]) => {
  releaseThread(new Int32Array(buffer!)[0]!);
});

const hooked = Symbol.for("multiproc.threadDeathHook");
const flags = globalThis as unknown as Record<symbol, boolean | undefined>;
if (!flags[hooked]) {
  flags[hooked] = true;
  process.on("worker", (worker: Worker) => {
    // Read now: a Worker's threadId is not kept after it exits.
    const thread = worker.threadId;
    const id = new SharedArrayBuffer(4);
    new Int32Array(id)[0] = thread;
    const slot = workers.track([id]);
    worker.once("exit", () => {
      workers.untrack(slot);
      try {
        releaseThread(thread);
      } catch (error) {
        getLogger().error(`could not release the resources of a dead worker thread: ${String(error)}`);
      }
    });
  });
}
