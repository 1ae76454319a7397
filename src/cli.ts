#!/usr/bin/env node
/**
 * `npx multiproc worker|status`: the command line of a cluster (API.md, "Beyond one
 * machine"; docs/cluster.md).
 */
import { parseArgs } from "node:util";
// For the bundle: see worker-core.ts.
import "./runtime/worker-core.ts";
import { ClusterWorker } from "./cluster/supervisor.ts";
import { clusterKeys, DEFAULT_PREFIX } from "./cluster/keys.ts";
import { connectRedis } from "./cluster/redis.ts";
import { cpuCount } from "./process.ts";

const HELP = `multiproc: Python's multiprocessing for Node.js

Usage:
  npx multiproc worker --redis URL --module FILE [options]
  npx multiproc status --redis URL [--prefix P]

worker: joins the cluster at URL and runs its tasks on a local pool, until SIGTERM or
SIGINT (the first one drains: the worker finishes the tasks it holds and takes no new
one; a second one stops it at once, and the others report its tasks as lost).
  --redis URL                 the Redis server: redis://host:6379 (required)
  --module FILE               a task module (TypeScript or JavaScript); tasks may call its
                              exports. Repeat it for several modules (required)
  --processes N               local workers (default: the CPU count, ${cpuCount()} here)
  --context process|thread    the kind of local worker (default: process)
  --max-tasks-per-child N     replace a local worker after N tasks (default: never)
  --name NAME                 how errors and status name this worker (default: the host name)
  --root DIR                  the project directory; callers name modules by their path
                              under it, so run callers and workers from the same project
                              layout (default: the current directory)
  --prefix P                  the cluster's Redis key prefix (default: ${DEFAULT_PREFIX})

status: lists the live workers and how many tasks wait.

  -h, --help                  this text
`;

/** A usage error: what was wrong, and where the options are explained. */
function fail(message: string): never {
  process.stderr.write(`multiproc: ${message}\nRun \`npx multiproc --help\` for the options.\n`);
  process.exit(2);
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) fail(`--${flag} takes an integer >= 1, got "${value}"`);
  return number;
}

async function worker(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      redis: { type: "string" },
      module: { type: "string", multiple: true },
      processes: { type: "string" },
      context: { type: "string" },
      "max-tasks-per-child": { type: "string" },
      name: { type: "string" },
      root: { type: "string" },
      prefix: { type: "string" },
    },
  });
  if (!values.redis) fail("worker needs --redis URL (redis://host:6379)");
  if (!values.module?.length) fail("worker needs --module FILE: the module whose exported functions the tasks call");
  const context = values.context ?? "process";
  if (context !== "process" && context !== "thread") fail(`--context is process or thread, got "${context}"`);
  const worker = new ClusterWorker({
    redis: values.redis,
    modules: values.module,
    processes: positiveInteger("processes", values.processes) ?? cpuCount(),
    context,
    maxTasksPerChild: positiveInteger("max-tasks-per-child", values["max-tasks-per-child"]) ?? null,
    name: values.name,
    root: values.root,
    prefix: values.prefix,
    log: (line) => process.stderr.write(`multiproc: ${line}\n`),
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`multiproc: ${signal}: draining (finishing the tasks held; send it again to stop now)\n`);
      void worker.drain();
    } else {
      process.stderr.write(`multiproc: ${signal} again: stopping now\n`);
      void worker.kill();
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  await worker.start();
  // Readiness, for scripts and tests that start workers: one line on stdout.
  process.stdout.write(`ready ${worker.id}\n`);
  await worker.finished;
  // Stopped by a second signal, with tasks abandoned: not a clean exit.
  process.exit(signals > 1 ? 1 : 0);
}

async function status(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { redis: { type: "string" }, prefix: { type: "string" } } });
  if (!values.redis) fail("status needs --redis URL (redis://host:6379)");
  const keys = clusterKeys(values.prefix ?? DEFAULT_PREFIX);
  const link = await connectRedis(values.redis);
  try {
    const ids = (await link.call(["ZRANGE", keys.workers, "0", "-1"])) as string[];
    const length = Number(await link.call(["XLEN", keys.tasks]).catch(() => 0));
    let held = 0;
    try {
      const summary = (await link.call(["XPENDING", keys.tasks, "workers"])) as [number | string];
      held = Number(summary[0]);
    } catch {
      // no group yet: nothing is held
    }
    process.stdout.write(`${ids.length} worker(s); ${Math.max(0, length - held)} task(s) waiting, ${held} held by workers\n`);
    for (const id of ids) {
      const fields = (await link.call(["HGETALL", keys.worker(id)])) as string[];
      const info: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) info[fields[i]!] = fields[i + 1]!;
      process.stdout.write(`  ${id}  ${info.label ?? "?"}  processes ${info.processes ?? "?"}  running ${info.running ?? "?"}  done ${info.done ?? "?"}  since ${info.started ?? "?"}\n`);
    }
  } finally {
    await link.close();
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (rest.includes("--help") || rest.includes("-h")) process.stdout.write(HELP);
  else if (command === "worker") await worker(rest);
  else if (command === "status") await status(rest);
  else if (command === undefined || command === "-h" || command === "--help" || command === "help") process.stdout.write(HELP);
  else fail(`unknown command "${command}"`);
} catch (error) {
  // Not a usage error (Redis out of reach, a module missing): no pointer to --help.
  process.stderr.write(`multiproc: ${(error as Error).message}\n`);
  process.exit(1);
}
