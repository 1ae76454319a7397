/**
 * The Pool on a cluster (issue 12): a real redis-server and real worker processes
 * (`multiproc worker`, from the sources), started by the tests themselves.
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
import { cuttableLink } from "../helpers/cuttable-link.ts";
import { clusterFixture, clusterRootB, eventually, heldTasks, redisCommand, startWorker } from "../helpers/redis.ts";
import { add, fail, markThenSleep, returnsFunction, sleep, spin, square, sum, TaskFailure, whoRuns } from "../fixtures/cluster-a/tasks.ts";

const T = { timeout: 90_000 };

const cluster = clusterFixture({ before, after });

test("cluster: apply, map, starmap, imap and imapUnordered give what a local pool gives", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { processes: 2 });
  await cluster.worker(options.prefix!, { processes: 1, name: "second" });
  await using pool = new mp.Pool({ cluster: options });
  assert.equal(await pool.apply(add, [2, 3]), 5);
  assert.equal(await pool.applyAsync(square, [9]).get(10_000), 81);
  const items = Array.from({ length: 1000 }, (_, i) => i);
  assert.deepEqual(await pool.map(square, items), items.map((x) => x * x));
  let progress: [number, number | undefined] | undefined;
  assert.deepEqual(await pool.map(square, items, { chunkSize: 7, onProgress: (done, total) => (progress = [done, total]) }), items.map((x) => x * x));
  assert.deepEqual(progress, [1000, 1000]);
  assert.deepEqual(await pool.starmap(add, [[1, 2], [3, 4]]), [3, 7]);
  const ordered: number[] = [];
  for await (const value of pool.imap(square, [1, 2, 3, 4])) ordered.push(value);
  assert.deepEqual(ordered, [1, 4, 9, 16]);
  const unordered: number[] = [];
  for await (const value of pool.imapUnordered(sleep, [300, 10, 100])) unordered.push(value);
  assert.deepEqual([...unordered].sort((a, b) => a - b), [10, 100, 300]);
  assert.equal(await pool.apply(sum, [Float64Array.from([1, 2, 3.5])]), 6.5);
  const mapped = await pool.mapAsync(square, [5, 6]).get();
  assert.deepEqual(mapped, [25, 36]);
  // stats() lists the cluster's workers by their labels, as of their last beats.
  await eventually(() => pool.stats().perWorker.reduce((sum, w) => sum + w.done, 0) > 0, "the workers' counts arrived");
  const { perWorker, workers } = pool.stats();
  assert.equal(workers, 2);
  assert.deepEqual(perWorker.map((w) => w.name.split(" ")[0]).sort(), ["second", "test-worker"]);
  // With nothing to run, both are idle once they have beaten again.
  await eventually(() => pool.stats().idle === 2, "stats() counts both workers idle");
  // Tasks reach more than one worker process.
  const pids = new Set(await Promise.all(Array.from({ length: 12 }, () => pool.apply(sleep, [50]).then(() => pool.apply(whoRuns)))));
  assert.ok(pids.size >= 2, `tasks ran in ${pids.size} process(es)`);
});

test("cluster: a task's error keeps its class name, message, fields and the worker's stack", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { name: "erring" });
  await using pool = new mp.Pool({ cluster: options });
  await assert.rejects(pool.apply(fail, ["no luck"]), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.equal(error.name, "TaskFailure");
    assert.equal(error.message, "no luck");
    assert.equal((error as TaskFailure).detail, "from the task");
    assert.match(error.stack!, /raised in cluster worker erring on .* \(pid \d+\)/);
    assert.match(error.stack!, /tasks\.ts/);
    return true;
  });
  // A result that cannot cross: the task's error says what may.
  await assert.rejects(pool.apply(returnsFunction), (error: unknown) => {
    assert.equal((error as Error).name, "TypeError");
    assert.match((error as Error).message, /Cannot send (a|the) task's result back .* functions cannot be sent/);
    return true;
  });
  // The pool goes on.
  assert.equal(await pool.apply(square, [4]), 16);
});

test("cluster: a closure, a built-in, a lock and a transfer are refused at the call, saying what to do", T, async () => {
  await using pool = new mp.Pool({ cluster: cluster.options() });
  const offset = 1;
  await assert.rejects(pool.apply((x: number) => x + offset, [1]), (error: unknown) => {
    assert.ok(error instanceof mp.ClusterError);
    assert.equal((error as mp.ClusterError).code, "ERR_MP_CLUSTER_NOT_EXPORTED");
    assert.match((error as Error).message, /npx multiproc worker --module/);
    return true;
  });
  await assert.rejects(pool.apply(Math.sqrt, [4]), /built-in `Math.sqrt`/);
  await assert.rejects(pool.apply(add, [new mp.Lock(), 1] as never), (error: unknown) => {
    assert.equal((error as mp.ClusterError).code, "ERR_MP_CLUSTER_NOT_SENDABLE");
    return true;
  });
  const buffer = new ArrayBuffer(8);
  await assert.rejects(pool.apply(sum, [new Float64Array(buffer)], { transfer: [buffer] }), /cannot transfer/);
  assert.throws(() => new mp.Pool({ cluster: { redis: "localhost:6379" } }), /redis:\/\/host:6379/);
  // Nothing listens there: the calls reject with an error that says so, and the pool still shuts down.
  const unreachable = new mp.Pool({ cluster: { redis: "redis://127.0.0.1:1" } });
  await assert.rejects(unreachable.apply(square, [2]), (error: unknown) => {
    assert.equal((error as mp.ClusterError).code, "ERR_MP_CLUSTER_REDIS");
    assert.match((error as Error).message, /Could not connect to Redis at redis:\/\/127\.0\.0\.1:1.*Is redis-server running there\?/);
    return true;
  });
  unreachable.close();
  await unreachable.join();
  assert.throws(() => new mp.Pool({ cluster: { redis: cluster.redis.url }, maxTasksPerChild: 3 }), /--max-tasks-per-child/);
});

test("cluster: a worker whose copy of the module differs rejects the task with a version-skew error", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { root: clusterRootB, name: "old-version" });
  await using pool = new mp.Pool({ cluster: options });
  await assert.rejects(pool.apply(square, [3]), (error: unknown) => {
    assert.equal((error as mp.ClusterError).code, "ERR_MP_CLUSTER_VERSION_SKEW");
    assert.match((error as Error).message, /tasks\.ts/);
    assert.match((error as Error).message, /Deploy the same version/);
    return true;
  });
});

test("cluster: { timeout } is enforced on the worker's machine; the pool goes on", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!);
  await using pool = new mp.Pool({ cluster: options });
  await assert.rejects(pool.apply(spin, [30_000], { timeout: 300 }), (error: unknown) => {
    assert.equal((error as Error).name, "TimeoutError");
    return true;
  });
  assert.equal(await pool.apply(square, [5], { timeout: 30_000 }), 25);
});

test("cluster: SIGKILL of a worker fails exactly its tasks with WorkerLostError in under 2 s; the rest finish elsewhere", T, async () => {
  const options = cluster.options();
  // Two processes: the worker holds the two long tasks, one each, and nothing else.
  const doomed = await cluster.worker(options.prefix!, { name: "doomed", processes: 2 });
  await using pool = new mp.Pool({ cluster: options });
  const held = [pool.apply(sleep, [60_000]), pool.apply(sleep, [60_000])].map((call) =>
    call.then(
      () => "resolved",
      (error: unknown) => error,
    ),
  );
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 2, "the doomed worker holds both long tasks");
  await cluster.worker(options.prefix!, { name: "survivor" });
  const others = Promise.all([1, 2, 3].map((x) => pool.apply(square, [x])));
  await doomed.kill();
  const killedAt = performance.now();
  const outcomes = await Promise.all(held);
  const took = performance.now() - killedAt;
  for (const outcome of outcomes) {
    assert.ok(outcome instanceof mp.WorkerLostError, `a held task ended with ${String(outcome)}`);
    assert.match((outcome as Error).message, /doomed/);
  }
  assert.ok(took < 2_000, `lost after ${took.toFixed(0)} ms`);
  assert.deepEqual(await others, [1, 4, 9]);
});

test("cluster: SIGKILL of one of a worker's local processes fails its task with WorkerLostError; the worker stays and runs the next", T, async () => {
  const options = cluster.options();
  const worker = await cluster.worker(options.prefix!, { name: "keeps-going" });
  await using pool = new mp.Pool({ cluster: options });
  const pid = await pool.apply(whoRuns);
  const dir = mkdtempSync(join(tmpdir(), "mp-local-kill-"));
  try {
    const marks = join(dir, "started");
    const held = pool.apply(markThenSleep, [marks, 60_000]);
    // Killed once the task runs in the local process: held in Redis alone, it may not have reached it yet.
    await eventually(async () => readFileSync(marks, { encoding: "utf8", flag: "a+" }).length === 1, "the local process runs the long task");
    process.kill(pid, "SIGKILL");
    await assert.rejects(held, (error: unknown) => error instanceof mp.WorkerLostError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(await pool.apply(square, [7]), 49);
  assert.notEqual(await pool.apply(whoRuns), pid, "its local pool replaced the process");
  const live = (await redisCommand(cluster.redis.url, ["ZRANGE", `${options.prefix}:workers`, "0", "-1"])) as string[];
  assert.deepEqual(live, [worker.id], "the worker stayed in the cluster under its id");
});

test("cluster: skewed task durations: a long task holds only its own worker; the short ones all run on the other meanwhile", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { name: "first" });
  await cluster.worker(options.prefix!, { name: "second" });
  await using pool = new mp.Pool({ cluster: options });
  let longDone = false;
  const long = pool.apply(sleep, [6_000]).then((value) => {
    longDone = true;
    return value;
  });
  const shorts = Array.from({ length: 10 }, () => pool.apply(sleep, [200]).then(() => longDone));
  const afterLong = await Promise.all(shorts);
  assert.deepEqual(afterLong, afterLong.map(() => false), "every short task finished before the long one: none waited behind it");
  assert.equal(await long, 6_000);
});

test("cluster: two identical calls are two tasks, never merged into one", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { processes: 2 });
  await using pool = new mp.Pool({ cluster: options });
  const dir = mkdtempSync(join(tmpdir(), "mp-identical-"));
  try {
    const marks = join(dir, "ran");
    assert.deepEqual(await Promise.all([pool.apply(markThenSleep, [marks, 10]), pool.apply(markThenSleep, [marks, 10])]), [10, 10]);
    assert.equal(readFileSync(marks, "utf8").length, 2, "both calls ran");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cluster: a 10 s CPU-bound task is not taken for a lost worker", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!);
  await using pool = new mp.Pool({ cluster: options });
  assert.equal(await pool.apply(spin, [10_000]), 10_000);
});

test("cluster: with retries, a task whose worker was lost runs again on another", T, async () => {
  const options = cluster.options({ retries: 1 });
  const doomed = await cluster.worker(options.prefix!, { name: "doomed" });
  await using pool = new mp.Pool({ cluster: options });
  const held = pool.apply(sleep, [3_000]);
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1, "the doomed worker holds the task");
  await cluster.worker(options.prefix!, { name: "survivor" });
  await doomed.kill();
  assert.equal(await held, 3_000);
});

test("cluster: imap over an endless generator reads a bounded way ahead, in order", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { processes: 2 });
  await using pool = new mp.Pool({ cluster: options });
  let read = 0;
  function* naturals(): Generator<number> {
    for (let i = 0; ; i++) {
      read++;
      yield i;
    }
  }
  const got: number[] = [];
  for await (const value of pool.imap(square, naturals(), { chunkSize: 5 })) {
    got.push(value);
    if (got.length === 200) break;
  }
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i * i));
  assert.ok(read < 200 + 5 * 64 + 10, `read ${read} items for 200`);
});

test("cluster: imap without a chunkSize: tiny items go in growing chunks, long ones one a chunk; results in order", T, async () => {
  const options = cluster.options();
  await cluster.worker(options.prefix!, { processes: 2 });
  await using pool = new mp.Pool({ cluster: options });
  const added = async () => {
    const info = (await redisCommand(cluster.redis.url, ["XINFO", "STREAM", `${options.prefix}:tasks`])) as unknown[];
    return Number(info[info.indexOf("entries-added") + 1]);
  };
  function* upTo(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }
  const squares: number[] = [];
  for await (const value of pool.imap(square, upTo(20_000))) squares.push(value);
  assert.deepEqual(squares, Array.from({ length: 20_000 }, (_, i) => i * i));
  const tiny = await added();
  assert.ok(tiny < 5_000, `20,000 tiny items went as ${tiny} tasks`);
  const slept: number[] = [];
  for await (const value of pool.imap(sleep, [60, 50, 40, 30, 30, 30])) slept.push(value);
  assert.deepEqual(slept, [60, 50, 40, 30, 30, 30]);
  assert.equal((await added()) - tiny, 6, "items of 30 ms and more go one a task");
});

test("cluster: SIGSTOP of a worker past its lease, then SIGCONT: the task fails once, the late result is dropped", T, async () => {
  const options = cluster.options();
  const paused = await cluster.worker(options.prefix!, { name: "paused" });
  await using pool = new mp.Pool({ cluster: options });
  let outcomes = 0;
  const held = pool.applyAsync(sleep, [2_500], {
    callback: () => outcomes++,
    errorCallback: () => outcomes++,
  });
  await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1, "the worker holds the task");
  paused.process.kill("SIGSTOP");
  await assert.rejects(held.get(), mp.WorkerLostError);
  paused.process.kill("SIGCONT");
  // The worker comes back under a new id, and its child finishes the task: that result must not count.
  await eventually(() => /was declared dead; now/.test(paused.stderr()), "the worker noticed it was declared dead");
  await eventually(() => /result of task \S+ was dropped/.test(paused.stderr()), "the worker finished the task and its late result was dropped");
  assert.equal(outcomes, 1);
  // And it takes new tasks again.
  assert.equal(await pool.apply(square, [12]), 144);
});

test("cluster: a worker cut off from Redis (its network, not its process): its task fails in under 2 s; healed, its late result is dropped and it works again", T, async () => {
  const options = cluster.options();
  const link = await cuttableLink(cluster.redis.port);
  const cutOff = await startWorker(link.url, { name: "cut-off", extra: ["--prefix", options.prefix!] });
  try {
    await using pool = new mp.Pool({ cluster: options });
    let outcomes = 0;
    const held = pool.applyAsync(sleep, [3_000], {
      callback: () => outcomes++,
      errorCallback: () => outcomes++,
    });
    await eventually(async () => (await heldTasks(cluster.redis.url, options.prefix!)) === 1, "the worker holds the task");
    link.cut();
    const cutAt = performance.now();
    await assert.rejects(held.get(), (error: unknown) => error instanceof mp.WorkerLostError && /cut-off/.test((error as Error).message));
    const took = performance.now() - cutAt;
    assert.ok(took < 2_000, `lost after ${took.toFixed(0)} ms`);
    link.heal();
    await eventually(() => /was declared dead; now/.test(cutOff.stderr()), "the worker noticed it was declared dead");
    await eventually(() => /result of task \S+ was dropped/.test(cutOff.stderr()), "the worker finished the task and its late result was dropped");
    assert.equal(outcomes, 1);
    assert.equal(await pool.apply(square, [11]), 121);
  } finally {
    await cutOff.kill();
    await link.close();
  }
});

test("cluster: examples/cluster.ts runs against workers started as the README says", T, async () => {
  // The README's commands, on this file's server: a worker on the example's module (default prefix), then the caller.
  // Both from the repository's root, the default root of each side.
  const root = fileURLToPath(new URL("../../", import.meta.url));
  await cluster.worker("multiproc", { root, module: `${root}examples/cluster-tasks.ts`, processes: 2, name: "example" });
  const caller = spawn(process.execPath, ["--conditions=multiproc-source", "--import", "tsx", "examples/cluster.ts", cluster.redis.url], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  caller.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  caller.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const [code] = await once(caller, "exit");
  assert.equal(code, 0, `the example exited with ${code}:\n${err}`);
  assert.match(out, /task 6 ran in pid \d+/);
  assert.match(out, /primes below 200000, 300000, 400000, 500000: 17984, 25997, 33860, 41538/);
});
