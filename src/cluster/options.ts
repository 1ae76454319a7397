/** The checks of `new mp.Pool({ cluster })`: each bad option named, with what to write instead. */
import type { PoolOptions } from "../pool/pool.ts";
import type { ClusterOptions } from "./engine.ts";

/** Options of a local pool that a cluster's workers take as flags of `npx multiproc worker` instead. */
const WORKER_FLAGS: Partial<Record<keyof PoolOptions, string>> = {
  initializer: "load a module with --module that does the set-up at its top level",
  initArgs: "load a module with --module that does the set-up at its top level",
  maxTasksPerChild: "start the workers with --max-tasks-per-child N",
  context: "start the workers with --context process|thread",
  modules: "start the workers with --module <file> for each module",
  resourceLimits: "set them on the workers' machines (NODE_OPTIONS)",
};

function fail(message: string): never {
  throw new TypeError(message);
}

/** The cluster options of `options`, checked. */
export function checkClusterOptions(options: PoolOptions): ClusterOptions {
  for (const [key, instead] of Object.entries(WORKER_FLAGS)) {
    const value = options[key as keyof PoolOptions];
    if (value !== undefined && value !== null) fail(`\`${key}\` is not an option of a cluster Pool, whose workers run elsewhere: ${instead}`);
  }
  const cluster = options.cluster as unknown;
  if (typeof cluster !== "object" || cluster === null) fail(`Expected \`cluster\` to be an object like { redis: "redis://host:6379" }, got ${String(cluster)}`);
  const { redis, retries, root, prefix, unreachableMs } = cluster as Record<string, unknown>;
  if (typeof redis !== "string" || !/^rediss?:\/\//.test(redis)) {
    fail(`Expected \`cluster.redis\` to be a Redis URL like "redis://host:6379", got ${JSON.stringify(redis)}`);
  }
  if (retries !== undefined && (typeof retries !== "number" || !Number.isInteger(retries) || retries < 0)) {
    fail(`Expected \`cluster.retries\` to be an integer >= 0 (how often a task whose worker was lost is queued again), got ${String(retries)}`);
  }
  if (root !== undefined && typeof root !== "string") fail(`Expected \`cluster.root\` to be a directory path, got ${String(root)}`);
  if (prefix !== undefined && (typeof prefix !== "string" || prefix === "" || /\s/.test(prefix))) {
    fail(`Expected \`cluster.prefix\` to be a Redis key prefix without spaces, got ${JSON.stringify(prefix)}`);
  }
  if (unreachableMs !== undefined && (typeof unreachableMs !== "number" || !(unreachableMs > 0))) {
    fail(`Expected \`cluster.unreachableMs\` to be a number of milliseconds > 0, got ${String(unreachableMs)}`);
  }
  return cluster as ClusterOptions;
}
