/**
 * The goals of issues 11 and 12, as ratios of one run: multiproc against the best peer of
 * its kind (or Python's Pool, or BullMQ for the cluster), each with the ratio it must
 * reach. A ratio is "how many times better multiproc is" (rates: ours / theirs; times:
 * theirs / ours).
 */
import type { ClusterResult } from "../cluster/suite.ts";
import type { PoolResult } from "../macro/suite.ts";
import { ratio } from "./timing.ts";

export interface Target {
  context: "thread" | "process" | "cluster";
  measure: string;
  /** Who multiproc is compared with: a library's name, or "best of a, b, c" resolved to the best one. */
  against: string;
  ratio: number | null;
  goal: number;
}

const THREAD_PEERS = ["piscina", "tinypool", "workerpool", "poolifier"];
const PROCESS_PEERS = ["tinypool-process", "workerpool-process", "poolifier-cluster"];

type Lookup = (name: string) => PoolResult | undefined;

/** multiproc's ratio on `key` against the best of `peers` that ran, and that peer's name. */
function againstBest(poolOf: Lookup, ours: string, peers: readonly string[], key: string): { against: string; ratio: number | null } {
  const mine = poolOf(ours)?.measures[key];
  let best: { name: string; ratio: number } | undefined;
  for (const peer of peers) {
    const theirs = poolOf(peer)?.measures[key];
    if (!mine || !theirs) continue;
    const r = ratio(mine.value, theirs.value, theirs.better);
    // The best peer is the one multiproc's ratio is smallest against.
    if (!best || r < best.ratio) best = { name: peer, ratio: r };
  }
  return best ? { against: best.name, ratio: best.ratio } : { against: `best of ${peers.join(", ")}`, ratio: null };
}

/** `lockExampleSeconds`: bench/micro/programs.ts's time for the Python docs' Lock example on threads, if it ran. */
export function targetRatios(poolOf: Lookup, lockExampleSeconds?: number): Target[] {
  const targets: Target[] = [];
  // An absolute goal, under 1 s, as a ratio: 1 s over the example's time.
  targets.push({
    context: "thread",
    measure: "Lock example (10 Processes)",
    against: "1 second",
    ratio: lockExampleSeconds === undefined ? null : 1 / lockExampleSeconds,
    goal: 1,
  });
  const add = (context: Target["context"], measure: string, ours: string, peers: readonly string[], key: string, goal: number) =>
    targets.push({ context, measure, goal, ...againstBest(poolOf, ours, peers, key) });
  add("thread", "W1 tasks/s", "multiproc", THREAD_PEERS, "w1TinyTasks", 3);
  add("thread", "W2 items/s", "multiproc", THREAD_PEERS, "w2Map", 2);
  add("thread", "W3 speed-up", "multiproc", THREAD_PEERS, "w3SpeedUp", 1);
  add("thread", "W4 MiB/s", "multiproc", THREAD_PEERS, "w4BulkCopy", 1.2);
  add("thread", "W5 cold start", "multiproc", THREAD_PEERS, "w5ColdStart", 1);
  // TypeScript task module against the same pool on JavaScript: within 1.5x is a ratio of at least 1/1.5.
  const js = poolOf("multiproc")?.measures.w5ColdStart;
  const ts = poolOf("multiproc")?.measures.w5ColdStartTypeScript;
  targets.push({
    context: "thread",
    measure: "W5 .ts module vs .js module",
    against: "multiproc on the .js module",
    ratio: js && ts ? js.value / ts.value : null,
    goal: 1 / 1.5,
  });
  add("process", "W1 tasks/s", "multiproc-process", ["python"], "w1TinyTasks", 2);
  add("process", "W2 items/s", "multiproc-process", ["python"], "w2Map", 2);
  add("process", "W1 tasks/s", "multiproc-process", PROCESS_PEERS, "w1TinyTasks", 1.5);
  add("process", "W2 items/s", "multiproc-process", PROCESS_PEERS, "w2Map", 1.5);
  add("process", "W4 MiB/s", "multiproc-process", PROCESS_PEERS, "w4BulkCopy", 1.5);
  add("process", "W3 speed-up", "multiproc-process", PROCESS_PEERS, "w3SpeedUp", 1);
  add("process", "W5 cold start", "multiproc-process", PROCESS_PEERS, "w5ColdStart", 1);
  return targets;
}

/** Issue 12's goals: the cluster Pool against BullMQ on the same Redis, and worker loss under 2 s. */
export function clusterTargets(clusterOf: (name: string) => ClusterResult | undefined): Target[] {
  const ours = clusterOf("multiproc-cluster")?.measures;
  const bullmq = clusterOf("bullmq")?.measures;
  const against = (key: string) => {
    const mine = ours?.[key];
    const theirs = bullmq?.[key];
    return mine && theirs ? ratio(mine.value, theirs.value, theirs.better) : null;
  };
  const loss = ours?.c3WorkerLoss;
  return [
    { context: "cluster", measure: "C1 small tasks, jobs/s", against: "bullmq", ratio: against("c1SmallTasks"), goal: 2 },
    { context: "cluster", measure: "C2 map, items/s", against: "bullmq", ratio: against("c2Map"), goal: 1.5 },
    // An absolute goal, under 2 s, as a ratio: 2 s over the time taken.
    { context: "cluster", measure: "C3 worker loss noticed", against: "2 seconds", ratio: loss ? 2000 / loss.value : null, goal: 1 },
  ];
}
