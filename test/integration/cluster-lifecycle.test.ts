/**
 * A cluster Pool's calls ending early and its workers leaving (issue 12, items 1, 2 and 7):
 * AbortSignal, terminate(), a worker's SIGTERM (drain) and second SIGTERM (stop now), and
 * `multiproc status`. A real redis-server and real `multiproc worker` processes.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import * as mp from "multiproc";
import { clusterFixture, eventually, heldTasks, redisCommand } from "../helpers/redis.ts";
import { sleep, square } from "../fixtures/cluster-a/tasks.ts";

const T = { timeout: 90_000 };
const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

const cluster = clusterFixture({ before, after });

const queueLength = async (prefix: string) => Number(await redisCommand(cluster.redis.url, ["XLEN", `${prefix}:tasks`]));
const liveWorkers = async (prefix: string) => (await redisCommand(cluster.redis.url, ["ZRANGE", `${prefix}:workers`, "0", "-1"])) as string[];

test("cluster lifecycle: an AbortSignal rejects the call with its reason and takes its queued tasks back out of Redis; the pool goes on", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!);
  await using pool = new mp.Pool({ cluster: options });
  const controller = new AbortController();
  const items = Array.from({ length: 20 }, () => 2_000);
  const mapped = pool.map(sleep, items, { chunkSize: 1, signal: controller.signal });
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1 && (await queueLength(options.prefix!)) === 20, "one task runs, the rest wait in Redis");
  const reason = new Error("not needed any more");
  controller.abort(reason);
  await assert.rejects(mapped, (error: unknown) => error === reason);
  // The 19 that waited are gone from the stream; the one running finishes there, unanswered.
  await eventually(async () => (await queueLength(options.prefix!)) <= 1, "the waiting tasks were taken back");
  assert.equal(await pool.apply(square, [6]), 36);
});

test("cluster lifecycle: terminate() rejects every pending call at once and takes its unread tasks back", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!);
  const pool = new mp.Pool({ cluster: options });
  const calls = Array.from({ length: 10 }, () => pool.apply(sleep, [5_000]).then(() => "resolved", (error: unknown) => error));
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1 && (await queueLength(options.prefix!)) === 10, "one task runs, nine wait");
  const started = performance.now();
  await pool.terminate();
  const outcomes = await Promise.all(calls);
  assert.ok(performance.now() - started < 3_000, "terminate did not wait for the running task");
  for (const outcome of outcomes) assert.ok(outcome instanceof Error, `a pending call ended with ${String(outcome)}`);
  await eventually(async () => (await queueLength(options.prefix!)) <= 1, "the unread tasks were taken back");
  await assert.rejects(Promise.resolve().then(() => pool.apply(square, [2])), /not running|terminated|closed/i);
});

test("cluster lifecycle: a worker's first SIGTERM drains (its task finishes and is answered, it takes nothing new, it leaves); another worker takes the rest", T, async () => {
  const options = cluster.options();
  const leaving = await cluster.worker(options.prefix!, { name: "leaving" });
  await using pool = new mp.Pool({ cluster: options });
  const held = pool.apply(sleep, [1_500]);
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1, "the worker holds the task");
  leaving.process.kill("SIGTERM");
  const later = pool.apply(square, [8]);
  assert.equal(await held, 1_500, "the task it held was finished and answered");
  const [code] = (await once(leaving.process, "exit")) as [number | null];
  assert.equal(code, 0);
  assert.deepEqual(await liveWorkers(options.prefix!), [], "it left the cluster");
  // The call made after the SIGTERM was not taken by the draining worker: it waits for another.
  assert.equal(await queueLength(options.prefix!), 1);
  await cluster.worker(options.prefix!, { name: "arriving" });
  assert.equal(await later, 64);
});

test("cluster lifecycle: a second SIGTERM stops a worker at once; its task fails with WorkerLostError", T, async () => {
  const options = cluster.options();
  const stopped = await cluster.worker(options.prefix!, { name: "stopped" });
  await using pool = new mp.Pool({ cluster: options });
  const held = pool.apply(sleep, [60_000]).then(() => "resolved", (error: unknown) => error);
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1, "the worker holds the task");
  stopped.process.kill("SIGTERM");
  await eventually(() => /draining/.test(stopped.stderr()), "the worker is draining");
  stopped.process.kill("SIGTERM");
  const [code] = (await once(stopped.process, "exit")) as [number | null];
  assert.equal(code, 1);
  const outcome = await held;
  assert.ok(outcome instanceof mp.WorkerLostError, `the task ended with ${String(outcome)}`);
  assert.match(outcome.message, /stopped on/);
});

test("cluster lifecycle: `multiproc status` lists the live workers and the queue's depth", T, async () => {
  const options = cluster.options();
  const worker = await cluster.worker(options.prefix!, { name: "listed", processes: 1 });
  await using pool = new mp.Pool({ cluster: options });
  const calls = [pool.apply(sleep, [3_000]), pool.apply(sleep, [3_000]), pool.apply(sleep, [3_000])];
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1 && (await queueLength(options.prefix!)) === 3, "one task held, two waiting");
  const { stdout } = await promisify(execFile)(process.execPath, ["--conditions=multiproc-source", "--import", "tsx", cli, "status", "--redis", cluster.redis.url, "--prefix", options.prefix!]);
  assert.match(stdout, /^1 worker\(s\); 2 task\(s\) waiting, 1 held by workers$/m);
  assert.match(stdout, new RegExp(`^  ${worker.id}  listed on \\S+ \\(pid \\d+\\)  processes 1  running 1 `, "m"));
  assert.deepEqual(await Promise.all(calls), [3_000, 3_000, 3_000]);
});
