/**
 * One child run of the orchestrator (bench/run.ts), so that libraries never share
 * a process, a heap or leftover threads, and a hang costs one timeout, not the run:
 *
 *   node --import tsx bench/lib/child.ts pool <library>
 *   node --import tsx bench/lib/child.ts speed-up <library>,<library>,...
 *   node --import tsx bench/lib/child.ts micro <name>
 *   node --import tsx bench/lib/child.ts cluster <library>
 *
 * It prints its result as one line starting with RESULT_MARK; everything else on
 * stdout is ignored by the orchestrator.
 */
import { isMainProcess } from "multiproc";
import { runClusterSuite, type ClusterLibrary } from "../cluster/suite.ts";
import { runSpeedUps } from "../macro/speed-up.ts";
import { runPoolSuite, type PoolLibrary } from "../macro/suite.ts";
import { planFromEnv } from "./plan.ts";
import { RESULT_MARK } from "./spawn.ts";

type MicroModule = { run(opts: { durationMs: number }): Promise<Record<string, number>> };

async function library(name: string): Promise<PoolLibrary> {
  return ((await import(`../macro/${name}.ts`)) as { default: PoolLibrary }).default;
}

async function main(kind: string | undefined, name: string | undefined): Promise<unknown> {
  const plan = planFromEnv();
  if (kind === "pool" && name) return runPoolSuite(await library(name), plan);
  if (kind === "speed-up" && name) return runSpeedUps(await Promise.all(name.split(",").map(library)), plan);
  if (kind === "cluster" && name) {
    const cluster = ((await import(`../cluster/${name}.ts`)) as { default: ClusterLibrary }).default;
    return runClusterSuite(cluster, plan);
  }
  if (kind === "micro" && name) {
    const micro = (await import(`../micro/${name}.ts`)) as MicroModule;
    return micro.run({ durationMs: plan.microMs });
  }
  throw new TypeError(`Usage: bench/lib/child.ts pool|speed-up|micro|cluster <name>, got \`${process.argv.slice(2).join(" ")}\``);
}

if (isMainProcess()) {
  const result = await main(process.argv[2], process.argv[3]);
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
  // Whatever still holds the event loop open now is a pool that did not shut down;
  // say so rather than wait for the orchestrator's timeout.
  setTimeout(() => {
    console.error(`bench: ${process.argv.slice(2).join(" ")} still has open handles 5 s after its results; exiting`);
    process.exit(0);
  }, 5_000).unref();
}
