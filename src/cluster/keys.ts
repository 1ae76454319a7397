/**
 * The Redis keys of one cluster (docs/cluster.md, "Data layout"). Every key starts with
 * the cluster's prefix, so several clusters can share one Redis server.
 */

/** The consumer group every worker reads tasks through. */
export const WORKER_GROUP = "workers";

export interface ClusterKeys {
  /** Stream: one entry per task (a chunk), read by workers through WORKER_GROUP. */
  tasks: string;
  /** Sorted set: worker id -> the Redis server's time (ms) of its last heartbeat. */
  workers: string;
  /** Sorted set: caller id -> the Redis server's time (ms) of its last heartbeat. */
  callers: string;
  /** String: the server time (ms) of the last reap, to notice that everyone was frozen. */
  lastReap: string;
  /** Hash of one worker: host, pid, name, processes, started. */
  worker(id: string): string;
  /** Stream of one caller's results. */
  results(callerId: string): string;
}

export const DEFAULT_PREFIX = "multiproc";

export function clusterKeys(prefix = DEFAULT_PREFIX): ClusterKeys {
  return {
    tasks: `${prefix}:tasks`,
    workers: `${prefix}:workers`,
    callers: `${prefix}:callers`,
    lastReap: `${prefix}:last-reap`,
    worker: (id) => `${prefix}:worker:${id}`,
    results: (callerId) => `${prefix}:results:${callerId}`,
  };
}
