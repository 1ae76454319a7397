/**
 * Owner ids: who holds a lock word (the primitives' locks and the rings' own),
 * one id space for every thread of every OS process of a program:
 *
 * - the main thread of a process: its pid (pids stay below 2^22 on Linux);
 * - a worker thread: its thread id tagged with THREAD_TAG, so it never equals a pid
 *   (unique within its process only: a lock in OS memory held by a worker thread of
 *   another process cannot be told from one of ours, and is not recovered).
 *
 * A holder that dies is recovered by whoever learns of it: the thread that sees a
 * worker thread exit (synchronize/owners.ts, util/thread-death.ts), or, for another
 * OS process, a waiter that looks at it (isDeadProcess) every LIVENESS_CHECK_MS.
 */
import { isMainThread, readFileSync, threadId } from "../util/lean-builtins.ts";

/** Owner ids fit in these bits of a lock word. */
export const OWNER_MASK = 0x1fff_ffff;
/** Tags worker-thread ids so a thread id never equals a pid. */
export const THREAD_TAG = 0x1000_0000;
/** How often a waiter looks whether a lock's holder in another OS process still lives (ms). */
export const LIVENESS_CHECK_MS = 100;

/**
 * This worker's owner id: `currentIdentity().ident` (the pid in the main thread
 * and in process workers, the thread id in worker threads), with worker-thread
 * ids tagged so they cannot collide with a pid.
 */
export function ownerId(): number {
  return thisOwner;
}
// Constant per thread, so computed once at module load.
const thisOwner = isMainThread ? process.pid & OWNER_MASK : (threadId | THREAD_TAG) & OWNER_MASK;

/**
 * True when `owner` is another OS process (the main thread of one: worker-thread
 * owners of other processes cannot be told apart) that has died: gone, or a
 * zombie its parent has not reaped yet (a parent blocked in acquireSync cannot
 * reap it, so "kill(pid, 0) succeeds" is not proof of life). Reads /proc (Linux).
 */
export function isDeadProcess(owner: number): boolean {
  if (!isOtherProcess(owner)) return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${owner}/stat`, "latin1");
  } catch {
    return true;
  }
  const state = stat.charAt(stat.lastIndexOf(")") + 2);
  return state === "Z" || state === "X";
}

/** True when `owner` is another OS process, whose death only a look at it can tell (see isDeadProcess). */
export function isOtherProcess(owner: number): boolean {
  return owner !== 0 && !(owner & THREAD_TAG) && owner !== (process.pid & OWNER_MASK);
}
