/**
 * Who holds a lock, and what happens when that worker dies.
 *
 * A lock word stores its owner's id. When a worker thread dies while holding a
 * lock, the lock is marked ABANDONED and every waiter is woken; the next acquirer
 * takes it over and a warning is logged (Python deadlocks instead).
 *
 * To find the locks of a dead thread, each worker thread names the region of
 * every lock it acquires (once per lock object) in the native addon's
 * process-wide table:
 *
 *   "multiproc.held.<owner>"      Int32[1]: how many lock names this thread made
 *   "multiproc.held.<owner>.<n>"  the region of the n-th lock (lock word at i32[0])
 *
 * Death is seen two ways: the dying thread's own `process.on("exit")` (return,
 * throw, process.exit) and, in the thread that started it, the Worker's "exit"
 * event (terminate, kill, out of memory), which this module hooks through
 * `process.on("worker")`. Either one calls `recoverLocksOf(owner)`.
 * The main thread never registers: when it dies, the whole process does.
 *
 * Across OS processes (locks in OS shared memory) the owner id is the holder's
 * pid, and nobody is told when another process dies: a waiter on a lock that
 * another process holds sleeps in slices of LIVENESS_CHECK_MS and looks at the
 * holder after each (isDeadProcess), then takes the lock over as above.
 */
import { isMainThread, type Worker } from "node:worker_threads";
import { OWNER_MASK, THREAD_TAG, ownerId } from "../memory/owner-id.ts";
import { currentIdentity } from "../process-identity.ts";
import { native } from "../util/native.ts";
import { waitCore } from "../memory/wait.ts";
import { getLogger } from "../util/logger.ts";

export { OWNER_MASK, ownerId } from "../memory/owner-id.ts";

/** Bits of a lock word. The low 29 bits hold the owner id (memory/owner-id.ts); 0 is free. */
/** Someone may be sleeping on the word: release must notify. */
export const WAITERS = 0x2000_0000;
/** The owner died holding the lock; the owner bits still name it. */
export const ABANDONED = 0x4000_0000;

const PREFIX = "multiproc.held.";


let counter: Int32Array | undefined;
const forget = new FinalizationRegistry<string>((name) => {
  try {
    native().unpublish(name);
  } catch {
    // The addon is gone only at teardown; nothing to forget then.
  }
});

/**
 * Names `buffer` (a lock region) under this thread, so the lock is recovered if
 * this thread dies holding it. Called once per lock object, on its first acquire.
 */
export function trackLock(holder: object, buffer: SharedArrayBuffer): void {
  if (isMainThread) return;
  const owner = ownerId();
  if (!counter) {
    const buf = new SharedArrayBuffer(4);
    native().publish(`${PREFIX}${owner}`, buf);
    counter = new Int32Array(buf);
    process.once("exit", () => recoverLocksOf(owner));
  }
  const n = Atomics.add(counter, 0, 1);
  const name = `${PREFIX}${owner}.${n}`;
  native().publish(name, buffer);
  forget.register(holder, name);
}

/** Marks every lock still held by the dead `owner` as abandoned and wakes its waiters. */
export function recoverLocksOf(owner: number): number {
  const addon = native();
  const list = addon.lookup(`${PREFIX}${owner}`);
  if (!list) return 0;
  const count = Atomics.load(new Int32Array(list), 0);
  let recovered = 0;
  for (let n = 0; n < count; n++) {
    const name = `${PREFIX}${owner}.${n}`;
    const region = addon.lookup(name);
    if (!region) continue;
    addon.unpublish(name);
    const word = new Int32Array(region, 0, 1);
    for (;;) {
      const state = Atomics.load(word, 0);
      if ((state & OWNER_MASK) !== owner || state & ABANDONED) break;
      if (Atomics.compareExchange(word, 0, state, ABANDONED | owner) === state) {
        waitCore.notify(word, 0);
        recovered++;
        break;
      }
    }
  }
  addon.unpublish(`${PREFIX}${owner}`);
  return recovered;
}

// Watch the workers this thread starts (Process and Pool workers alike).
const hooked = Symbol.for("multiproc.lockRecoveryHook");
const holder = globalThis as unknown as Record<symbol, boolean | undefined>;
if (!holder[hooked]) {
  holder[hooked] = true;
  process.on("worker", (worker: Worker) => {
    const owner = (worker.threadId | THREAD_TAG) & OWNER_MASK;
    worker.once("exit", () => {
      try {
        recoverLocksOf(owner);
      } catch (error) {
        getLogger().error(`could not recover the locks of a dead worker: ${String(error)}`);
      }
    });
  });
}

/** Logs that a lock was taken over from a dead owner. */
export function warnRecovered(kind: string, deadOwner: number): void {
  const who = deadOwner & THREAD_TAG ? `worker thread ${deadOwner & ~THREAD_TAG}` : `process ${deadOwner}`;
  getLogger().warning(
    `${kind} was held by ${who}, which died without releasing it; ${describeSelf()} recovered it. ` +
      "Data it protected may be inconsistent.",
  );
}

function describeSelf(): string {
  const { name } = currentIdentity();
  return name;
}
