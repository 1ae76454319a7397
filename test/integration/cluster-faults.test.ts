/**
 * The cluster Pool when Redis itself fails (issue 12, item 5; docs/cluster.md, "Faults"):
 * a real redis-server that the tests kill, restart and pause.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import * as mp from "multiproc";
import { clusterFixture, eventually, heldTasks, redisCommand } from "../helpers/redis.ts";
import { sleep, square } from "../fixtures/cluster-a/tasks.ts";

const T = { timeout: 90_000 };

const cluster = clusterFixture({ before, after });

test("cluster faults: every connection killed (CLIENT KILL): the pending calls go on and finish", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { name: "killed-connections", processes: 2 });
  await using pool = new mp.Pool({ cluster: options });
  const pending = Promise.all([pool.apply(sleep, [1_500]), pool.apply(sleep, [1_500])]);
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 2, "the worker holds both tasks");
  await redisCommand(cluster.redis.url, ["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
  assert.deepEqual(await pending, [1_500, 1_500]);
  assert.equal(await pool.apply(square, [3]), 9);
});

test("cluster faults: Redis frozen for 3 s (CLIENT PAUSE), then resumed: nobody is reaped for it, the call finishes", T, async () => {
  const options = cluster.options();
  const frozen = await cluster.worker(options.prefix!, { name: "frozen" });
  await using pool = new mp.Pool({ cluster: options });
  const pending = pool.apply(sleep, [1_000]);
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1, "the worker holds the task");
  await redisCommand(cluster.redis.url, ["CLIENT", "PAUSE", "3000", "ALL"]);
  assert.equal(await pending, 1_000);
  const live = (await redisCommand(cluster.redis.url, ["ZRANGE", `${options.prefix}:workers`, "0", "-1"])) as string[];
  assert.deepEqual(live, [frozen.id], "the worker is still registered under its first id");
  assert.doesNotMatch(frozen.stderr(), /declared dead/);
});

test("cluster faults: Redis restarted without persistence: pending calls reject with ClusterError, then the cluster works again", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { name: "restarted" });
  await using pool = new mp.Pool({ cluster: options });
  const pending = pool.apply(sleep, [5_000]);
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1, "the worker holds the task");
  await cluster.restart();
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof mp.ClusterError);
    assert.equal((error as mp.ClusterError).code, "ERR_MP_CLUSTER_REDIS");
    assert.match((error as Error).message, /lost the cluster's data/);
    return true;
  });
  // The worker registers again on its own, and takes new tasks.
  assert.equal(await pool.apply(square, [4]), 16);
});

test("cluster faults: a caller killed with tasks queued: once it is gone (30 s without a beat) its queued tasks are dropped unrun and its results stream deleted", { timeout: 120_000 }, async () => {
  const options = cluster.options();
  const { prefix } = options;
  await cluster.worker(prefix!, { name: "orphaned" });
  const dir = mkdtempSync(join(tmpdir(), "mp-caller-death-"));
  const marks = join(dir, "started");
  const count = 60;
  const caller = spawn(
    process.execPath,
    ["--conditions=multiproc-source", "--import", "tsx", fileURLToPath(new URL("../fixtures/cluster-caller.ts", import.meta.url)), cluster.redis.url, prefix!, marks, String(count)],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  try {
    const stream = `${prefix}:tasks`;
    const added = async () => {
      const info = (await redisCommand(cluster.redis.url, ["XINFO", "STREAM", stream]).catch(() => [])) as unknown[];
      const at = info.indexOf("entries-added");
      return at < 0 ? 0 : Number(info[at + 1]);
    };
    await eventually(async () => (await added()) === count, `the caller queued its ${count} tasks`);
    caller.kill("SIGKILL");
    await once(caller, "exit");
    // 60 tasks of 1 s on one process would take a minute; the caller is gone after 30 s.
    await eventually(
      async () =>
        Number(await redisCommand(cluster.redis.url, ["XLEN", stream])) === 0 &&
        (await heldTasks(cluster.redis.url, prefix!)) === 0 &&
        Number(await redisCommand(cluster.redis.url, ["ZCARD", `${prefix}:callers`])) === 0,
      "the queue is empty and the caller forgotten",
      90_000,
    );
    const results = (await redisCommand(cluster.redis.url, ["KEYS", `${prefix}:results:*`])) as string[];
    assert.deepEqual(results, [], "the gone caller's results stream is deleted");
    const started = readFileSync(marks, "utf8").length;
    assert.ok(started > 0 && started < count, `some tasks ran before the caller was gone and the rest were dropped unrun: ${started} of ${count} ran`);
  } finally {
    caller.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
