/**
 * The lease rules both sides follow (docs/cluster.md, "Leases"): every caller and every
 * worker beats every BEAT_MS and runs the reaper as often, so a dead worker is found by
 * whoever is alive, within WORKER_DEAD_MS + BEAT_MS plus one round trip (under 2 s).
 * The beats run on the supervisor's event loop, which runs no task code (tasks run in its
 * local pool's workers), so a long task never stops them.
 */
import type { ClusterKeys } from "./keys.ts";
import type { RedisLink } from "./redis.ts";
import { REAP } from "./scripts.ts";

export const BEAT_MS = 250;
/** How long a beat (or a reap) waits for Redis before it counts as unanswered. */
export const BEAT_TIMEOUT_MS = 5_000;
/** A worker whose last beat is older than this is dead. */
export const WORKER_DEAD_MS = 1_500;
/** No reap for longer than this means everyone was stopped together (Redis frozen): judge nobody on that reap. */
export const FREEZE_GAP_MS = 1_000;
/**
 * A caller whose last beat is older than this is gone: its queued tasks are dropped. Far
 * longer than a worker's, since a caller's beats run on its own event loop, which the
 * user's code may keep busy for a while.
 */
export const CALLER_GONE_MS = 30_000;

/** Runs the reaper once; the ids of the workers it declared dead. */
export async function reap(link: RedisLink, keys: ClusterKeys, prefix: string): Promise<string[]> {
  const dead = await link.script(REAP, [keys.workers, keys.tasks, keys.lastReap, keys.callers], [
    String(WORKER_DEAD_MS),
    prefix,
    String(FREEZE_GAP_MS),
    String(CALLER_GONE_MS),
  ], BEAT_TIMEOUT_MS);
  return Array.isArray(dead) ? dead.map(String) : [];
}

/** Creates the task stream and its consumer group if they are not there (first use, or Redis lost them). */
export async function ensureGroup(link: RedisLink, keys: ClusterKeys, group: string): Promise<void> {
  try {
    await link.call(["XGROUP", "CREATE", keys.tasks, group, "0", "MKSTREAM"]);
  } catch (error) {
    if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
  }
}

/** A promise that resolves after `ms`, on a timer that does not keep the program alive. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
