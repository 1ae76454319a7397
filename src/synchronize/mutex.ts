/**
 * The mutex core under Lock, RLock, Condition and Barrier: Drepper's futex mutex
 * ("Futexes Are Tricky", mutex #2) with the owner id folded into the lock word,
 * so taking the lock and recording its owner is one compare-and-swap.
 *
 *   lock word (Int32, at a 4-byte-aligned index of a region):
 *
 *    31  30          29        28 ........................ 0
 *   +---+-----------+---------+---------------------------+
 *   | 0 | ABANDONED | WAITERS |  owner id (0 = free)       |
 *   +---+-----------+---------+---------------------------+
 *
 *   0                      free
 *   owner                  held, nobody sleeping
 *   owner | WAITERS        held, someone may sleep on the word: release notifies
 *   ABANDONED | deadOwner  the owner died holding it (see owners.ts); the next
 *                          acquirer takes it over
 *
 * Lost wake-ups cannot happen: a waiter sets WAITERS with a CAS against the value
 * it then sleeps on, and Atomics.wait re-checks that value atomically with
 * queueing. The releaser swaps in 0 and notifies if WAITERS was set. A woken
 * waiter takes the lock with WAITERS set, since others may still sleep.
 */
import { ABANDONED, OWNER_MASK, WAITERS, warnRecovered } from "./owners.ts";
import { LIVENESS_CHECK_MS, isDeadProcess, isOtherProcess } from "../memory/owner-id.ts";
import { waitOn, type Waiting } from "./waiting.ts";
import { remaining, waitCore } from "../memory/wait.ts";

/** Outcome of a slow-path acquire. */
export type Acquired = "acquired" | "timed-out";

/** One CAS: takes a free lock. */
export function tryLock(word: Int32Array, index: number, owner: number): boolean {
  return Atomics.compareExchange(word, index, 0, owner) === 0;
}

/**
 * The slow path: waits for the lock until `deadline` (performance.now() ms;
 * undefined: forever). `kind` names the lock in the recovery warning.
 */
export function* lockSlow(
  word: Int32Array,
  index: number,
  owner: number,
  deadline: number | undefined,
  kind: string,
): Waiting<Acquired> {
  let taking = owner; // after the first sleep, take it with WAITERS set
  let state = Atomics.load(word, index);
  for (;;) {
    if (state === 0 || state & ABANDONED) {
      // Recovery woke every waiter, and some may sleep again: keep WAITERS set.
      const seen = Atomics.compareExchange(word, index, state, state & ABANDONED ? owner | WAITERS : taking);
      if (seen === state) {
        if (state & ABANDONED) warnRecovered(kind, state & OWNER_MASK);
        return "acquired";
      }
      state = seen;
      continue;
    }
    if (!(state & WAITERS)) {
      const seen = Atomics.compareExchange(word, index, state, state | WAITERS);
      if (seen !== state) {
        state = seen;
        continue;
      }
      state |= WAITERS;
    }
    const left = remaining(deadline);
    const holder = state & OWNER_MASK;
    const otherProcess = isOtherProcess(holder);
    if (left === 0) {
      // Out of time (or a non-blocking try): still, a dead holder process is no reason to fail.
      if (otherProcess && abandonDead(word, index, state, holder)) {
        state = Atomics.load(word, index);
        continue;
      }
      return "timed-out";
    }
    if (!otherProcess) {
      yield waitOn(word, index, state, left);
    } else {
      // Another process holds it: nobody will tell us if it dies, so look now and then.
      yield waitOn(word, index, state, left === undefined ? LIVENESS_CHECK_MS : Math.min(left, LIVENESS_CHECK_MS));
      abandonDead(word, index, state, holder);
    }
    taking = owner | WAITERS;
    state = Atomics.load(word, index);
  }
}

/**
 * If the word is still `state` and its holder (another OS process) is dead, marks
 * the lock abandoned, as owners.ts does for a dead thread, and wakes the others;
 * the acquire loop then takes it over. Returns whether it did.
 */
function abandonDead(word: Int32Array, index: number, state: number, holder: number): boolean {
  if (Atomics.load(word, index) !== state || !isDeadProcess(holder)) return false;
  if (Atomics.compareExchange(word, index, state, ABANDONED | WAITERS | holder) !== state) return false;
  waitCore.notify(word, index);
  return true;
}

/** True when `owner` holds the lock (and it was not abandoned). */
export function isHeldBy(word: Int32Array, index: number, owner: number): boolean {
  const state = Atomics.load(word, index);
  return (state & (OWNER_MASK | ABANDONED)) === owner;
}

/** True when anyone holds the lock. */
export function isLocked(word: Int32Array, index: number): boolean {
  const state = Atomics.load(word, index);
  return state !== 0 && !(state & ABANDONED);
}

/**
 * Releases a lock the caller holds (check with isHeldBy first). Only the owner
 * changes the owner bits, but waiters may set WAITERS concurrently, hence the swap.
 */
export function unlock(word: Int32Array, index: number): void {
  const previous = Atomics.exchange(word, index, 0);
  if (previous & WAITERS) waitCore.notify(word, index, 1);
}
