/**
 * The "process" context: workers are OS child processes (child_process.fork).
 * Plain data crosses by V8's serializer; shared-memory objects of the thread
 * context are refused with an error that names the fix.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { after, test } from "node:test";
import * as mp from "multiproc";
import { childPids } from "../helpers/children.ts";
import { waitUntil } from "../helpers/wait.ts";
import { exitWith } from "../fixtures/crash.ts";
import { relay } from "../fixtures/queue-workers.ts";
import { echo, exitAt, pid, returnShared, seenIdentity, writeIdentity, writeJson, type SeenIdentity } from "../fixtures/os-process.ts";
import * as targets from "../fixtures/process-targets.ts";
import { throwTypeError, throwWithDetails } from "../fixtures/raise.ts";
import { sleepThen, spinForever } from "../fixtures/sleep.ts";
import { square } from "../fixtures/square.ts";

const T = { timeout: 60_000 };
const context = "process" as const;
const dir = mkdtempSync(join(tmpdir(), "multiproc-process-context-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = () => join(dir, `out-${++files}.json`);

async function run(options: mp.ProcessOptions): Promise<mp.Process> {
  const p = new mp.Process({ ...options, context });
  p.start();
  await p.join();
  return p;
}

test("Process exit codes: 0 on return, 1 on throw or rejection, N on exit(N)", T, async () => {
  assert.equal((await run({ target: targets.doNothing })).exitCode, 0);
  assert.equal((await run({ target: targets.throwError, args: ["boom"] })).exitCode, 1);
  assert.equal((await run({ target: targets.rejectLater, args: ["late"] })).exitCode, 1);
  assert.equal((await run({ target: targets.exitWith, args: [7] })).exitCode, 7);
  assert.equal((await run({ target: targets.exitWith, args: [0] })).exitCode, 0);
});

test("terminate gives -15 and kill gives -9; join(timeout) returns while the child runs", T, async () => {
  const p = new mp.Process({ target: targets.sleepFor, args: [30_000], context });
  p.start();
  await p.join(100);
  assert.equal(p.isAlive(), true);
  assert.equal(p.exitCode, null);
  assert.ok(mp.activeChildren().includes(p));
  p.terminate();
  await p.join();
  assert.equal(p.exitCode, -15);
  assert.ok(!mp.activeChildren().includes(p));
  const q = new mp.Process({ target: targets.sleepFor, args: [30_000], context });
  q.start();
  q.kill();
  await q.join();
  assert.equal(q.exitCode, -9);
});

test("a child process has its own pid and knows its name and its parent", T, async () => {
  const file = tempFile();
  const p = new mp.Process({ target: writeIdentity, args: [file], name: "reporter", context });
  p.start();
  assert.equal(typeof p.pid, "number");
  assert.notEqual(p.pid, process.pid);
  assert.equal(p.ident, p.pid);
  await p.join();
  assert.equal(p.exitCode, 0);
  const seen = JSON.parse(readFileSync(file, "utf8")) as SeenIdentity;
  assert.equal(seen.pid, p.pid);
  assert.equal(seen.me.name, "reporter");
  assert.equal(seen.me.pid, p.pid);
  assert.equal(seen.me.ident, p.pid);
  assert.equal(seen.parent?.name, "MainProcess");
  assert.equal(seen.parent?.pid, process.pid);
  assert.equal(seen.isMain, false);
});

test("plain data reaches a process target intact (V8's serializer)", T, async () => {
  const file = tempFile();
  const value = { n: 1.5, s: "héllo", list: [1, [2, 3]], nested: { ok: true, none: null }, big: 12345678901234567890n };
  assert.equal((await run({ target: writeJson, args: [file, value] })).exitCode, 0);
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { ...value, big: "12345678901234567890n" });
});

test("a non-exported target is sent as source to the child", T, async () => {
  const file = tempFile();
  const p = await run({
    target: async (path: string) => {
      const fs = await import("node:fs");
      fs.writeFileSync(path, String(process.pid));
    },
    args: [file],
  });
  assert.equal(p.exitCode, 0);
  assert.equal(Number(readFileSync(file, "utf8")), p.pid);
});

test("thread-context shared memory is refused with an error that names the fix", T, async () => {
  const lock = new mp.Lock();
  const p = new mp.Process({ target: targets.doNothing, args: [1, { lock }], context });
  assert.throws(() => p.start(), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /args\[1\]\.lock/);
    assert.match(error.message, /A Lock created for the thread context cannot be sent to an OS process; make it in OS shared memory instead/);
    assert.match(error.message, /const ctx = mp\.getContext\("process"\)`, then `new ctx\.Lock\(\.\.\.\)`/);
    return true;
  });
  // The advice is true: the same call with a Lock of the process context works.
  const followed = new mp.Process({ target: targets.doNothing, args: [1, { lock: new (mp.getContext("process").Lock)() }], context });
  followed.start();
  await followed.join();
  assert.equal(followed.exitCode, 0);
  const raw = new mp.Process({ target: targets.doNothing, args: [new SharedArrayBuffer(8)], context });
  assert.throws(() => raw.start(), /args\[0\] is in shared memory.*A SharedArrayBuffer created for the thread context cannot be sent to an OS process/);
  await using pool = new mp.Pool({ processes: 1, context });
  await assert.rejects(pool.apply(echo, [new mp.Event()]), /An Event created for the thread context cannot be sent to an OS process/);
  await assert.rejects(pool.map(echo, [1, new Int32Array(new SharedArrayBuffer(8))]), /iterable\[1\] is in shared memory/);
  await assert.rejects(pool.apply(returnShared), /cannot be sent to an OS process/);
  assert.equal(await pool.apply(square, [5]), 25, "the pool goes on");
});

test("Pool: workers are processes; map, imap, starmap and apply return plain data", T, async () => {
  const started = performance.now();
  await using pool = new mp.Pool({ processes: 2, context });
  const seen = await pool.apply(seenIdentity);
  assert.notEqual(seen.pid, process.pid);
  assert.match(seen.me.name, /^PoolWorker-\d+$/);
  assert.equal(seen.parent?.pid, process.pid);
  assert.equal(seen.isMain, false);
  assert.ok(performance.now() - started < 20_000);
  assert.deepEqual(await pool.map(square, [1, 2, 3, 4, 5], { chunkSize: 2 }), [1, 4, 9, 16, 25]);
  const out: number[] = [];
  for await (const x of pool.imap(square, [3, 4, 5])) out.push(x);
  assert.deepEqual(out, [9, 16, 25]);
  const unordered = [];
  for await (const x of pool.imapUnordered(square, [1, 2, 3])) unordered.push(x);
  assert.deepEqual(unordered.sort(), [1, 4, 9]);
  const value = { date: new Date(0), map: new Map([["a", 1]]), set: new Set([1]), bytes: new Uint8Array([1, 2]), big: 2n ** 70n, re: /x+/g };
  assert.deepEqual(await pool.apply(echo, [value]), value);
  const pids = new Set(await pool.map(pid, [[], [], [], []].map(() => undefined), { chunkSize: 1 }));
  assert.ok(!pids.has(process.pid));
});

test("Pool: task errors keep their class, message, properties and cause", T, async () => {
  await using pool = new mp.Pool({ processes: 2, context });
  await assert.rejects(pool.apply(throwTypeError, ["bad type"]), { name: "TypeError", message: "bad type" });
  const error = await pool.apply(throwWithDetails).catch((e: unknown) => e as Error & { code: string });
  assert.ok(error instanceof Error);
  assert.equal(error.code, "E_DETAILS");
  assert.ok(error.cause instanceof TypeError);
  assert.match(error.stack!, /raised in PoolWorker-\d+/);
});

test("Pool: a child that exits mid-task fails that task with WorkerLostError and is replaced", T, async () => {
  await using pool = new mp.Pool({ processes: 2, context });
  const before = new Set(await pool.map(pid, [0, 1, 2, 3], { chunkSize: 1 }));
  await assert.rejects(pool.apply(exitWith, [3]), (error: Error) => {
    assert.ok(error instanceof mp.WorkerLostError);
    assert.equal((error as mp.WorkerLostError).exitCode, 3);
    return true;
  });
  await assert.rejects(pool.starmap(exitAt, [1, 2, 3].map((x) => [2, 5, x]), { chunkSize: 1 }), mp.WorkerLostError);
  assert.deepEqual(await pool.starmap(exitAt, [[-1, 0, 1], [-1, 0, 2]]), [10, 20], "replacements run later tasks");
  const after = new Set(await pool.map(pid, [0, 1, 2, 3], { chunkSize: 1 }));
  assert.ok([...after].some((p) => !before.has(p)), "a new process replaced the lost one");
});

test("Pool: a task over its timeout is killed and its worker replaced", T, async () => {
  await using pool = new mp.Pool({ processes: 1, context });
  const first = await pool.apply(pid);
  await assert.rejects(pool.apply(spinForever, [], { timeout: 300 }), mp.TimeoutError);
  assert.equal(await pool.apply(sleepThen, [10, "next"]), "next");
  assert.notEqual(await pool.apply(pid), first, "the overdue worker was replaced");
});

test("Pool: terminate() stops busy child processes", T, async () => {
  const pool = new mp.Pool({ processes: 2, context });
  const busy = pool.starmap(sleepThen, [[30_000, 1], [30_000, 2]], { chunkSize: 1 }).catch((e: unknown) => e);
  const started = performance.now();
  await pool.terminate();
  await pool.join();
  assert.ok((await busy) instanceof Error);
  assert.ok(performance.now() - started < 20_000, "terminate did not wait for the tasks");
});

/** Whether `pid` runs (a zombie, dead but not yet reaped, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

test("a worker killed while it starts is replaced, and the pool goes on (issue 7.2)", T, async () => {
  const before = new Set(childPids());
  await using pool = new mp.Pool({ processes: 4, context });
  const started = childPids().filter((child) => !before.has(child));
  assert.equal(started.length, 4, "the pool forked its four workers");
  process.kill(started[0]!, "SIGKILL"); // a child takes far longer than this to boot Node
  assert.deepEqual(await pool.map(square, [1, 2, 3, 4, 5, 6, 7, 8], { chunkSize: 1 }), [1, 4, 9, 16, 25, 36, 49, 64]);
  await waitUntil(() => pool.stats().idle === 4, "four workers are ready again");

  // Kill a ready worker, then its replacement while that one boots.
  const ready = new Set(childPids());
  process.kill(started[1]!, "SIGKILL");
  let replacement: number | undefined;
  await waitUntil(() => (replacement = childPids().find((child) => !ready.has(child))) !== undefined, "a replacement is forked", 30_000);
  process.kill(replacement!, "SIGKILL");
  assert.equal(await pool.apply(square, [9]), 81);
  await waitUntil(() => pool.stats().idle === 4, "four workers are ready again");
  assert.deepEqual(await pool.map(square, [1, 2, 3, 4], { chunkSize: 1 }), [1, 4, 9, 16]);
});

test("workers killed every time they start break the pool after a few tries, with a growing pause between them", T, async () => {
  const seen = new Set(childPids());
  const pool = new mp.Pool({ processes: 1, context });
  const pending = pool.apply(square, [2]);
  let settled = false;
  pending.then(() => (settled = true), () => (settled = true));
  const kills: number[] = [];
  while (!settled) {
    const fresh = childPids().filter((child) => !seen.has(child));
    for (const child of fresh) {
      seen.add(child);
      process.kill(child, "SIGKILL");
      kills.push(performance.now());
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await assert.rejects(pending, (error: unknown) => {
    assert.ok(error instanceof mp.WorkerLostError);
    assert.match((error as Error).message, /5 pool workers in a row died before they were ready/);
    return true;
  });
  assert.equal(kills.length, 5, "no worker is started after the fifth death");
  // The pauses double: 50, 100, 200, 400 ms at least between the kills.
  assert.ok(kills[4]! - kills[0]! >= 700, `the five starts took ${Math.round(kills[4]! - kills[0]!)} ms`);
  await assert.rejects(pool.apply(square, [3]), mp.WorkerLostError);
  pool.close();
  await pool.join();
});

test("a program started with its own TypeScript --import preload starts OS children (tsx comes first)", T, async () => {
  const preload = new URL("../helpers/start-method.ts", import.meta.url).pathname;
  const script = new URL("../fixtures/forgotten-pool.ts", import.meta.url).pathname;
  const run = spawnSync(process.execPath, [...process.execArgv, "--import", preload, script], {
    encoding: "utf8",
    timeout: 50_000,
    env: { ...process.env, MULTIPROC_START_METHOD: "process" },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { result: 42, listed: [2, 4, 6] });
});

/**
 * Runs fixtures/orphan-parent.ts, waits until its `children` children run, sends
 * the parent `signal` (to its pid only), and reports which children ran on 1 s later.
 */
/** Whether the main thread of process `pid` sleeps in a futex wait (Linux: /proc/<pid>/wchan). */
function sleepsOnFutex(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/wchan`, "utf8").startsWith("futex");
  } catch {
    return false;
  }
}

async function killParentOf(
  kind: "pool" | "daemon" | "normal" | "busy-pool" | "busy-daemon" | "blocked-daemon",
  signal: NodeJS.Signals = "SIGKILL",
  children = 1,
): Promise<{ children: number[]; survivors: number[] }> {
  const script = new URL("../fixtures/orphan-parent.ts", import.meta.url).pathname;
  const parent = spawn(process.execPath, [...process.execArgv, script, kind], { stdio: ["ignore", "pipe", "inherit"] });
  const pids = await new Promise<number[]>((resolve, reject) => {
    let out = "";
    parent.stdout.on("data", (chunk) => {
      out += chunk;
      const found = [...out.matchAll(/child (\d+)/g)].map((match) => Number(match[1]));
      if (found.length >= children) resolve(found);
    });
    parent.on("exit", (code) => reject(new Error(`orphan-parent exited early (${code})`)));
  });
  const gone = new Promise((resolve) => parent.on("exit", resolve));
  parent.kill(signal);
  await gone;
  // No event tells us about an unrelated process: poll /proc, with a deadline.
  const deadline = performance.now() + 1_000;
  while (pids.some(running) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const survivors = pids.filter(running);
  for (const child of survivors) process.kill(child, "SIGKILL"); // leave nothing behind, whatever the outcome
  return { children: pids, survivors };
}

test("a pool worker or daemon child does not outlive its parent (SIGKILL)", T, async () => {
  for (const kind of ["pool", "daemon"] as const) {
    const { survivors } = await killParentOf(kind);
    assert.deepEqual(survivors, [], `the ${kind} child outlived its parent`);
  }
});

test("busy pool workers and daemon children die with a parent killed by SIGKILL, SIGTERM or SIGINT (issue 7.4)", T, async () => {
  for (const signal of ["SIGKILL", "SIGTERM", "SIGINT"] as const) {
    const pool = await killParentOf("busy-pool", signal, 2);
    assert.deepEqual(pool.survivors, [], `pool workers busy in a task outlived a parent killed by ${signal}`);
    const daemon = await killParentOf("busy-daemon", signal);
    assert.deepEqual(daemon.survivors, [], `a busy daemon child outlived a parent killed by ${signal}`);
  }
});

test("a daemon child holding a Lock and blocked on a Queue dies with its SIGKILLed parent (issue 9.6)", T, async () => {
  const { survivors } = await killParentOf("blocked-daemon");
  assert.deepEqual(survivors, [], "the blocked child outlived its parent");
});

test("a consumer killed while it waits in get() leaves the queue to the others (issue 9.6)", T, async () => {
  const ctx = mp.getContext("process");
  const q = new ctx.Queue<unknown>();
  const out = new ctx.Queue<unknown>();
  const doomed = new ctx.Process({ target: relay, args: [q, out, 1_000] });
  doomed.start();
  // Kill it where it sleeps: its main thread in the kernel's futex wait (getSync on an empty queue).
  await waitUntil(() => doomed.pid !== null && sleepsOnFutex(doomed.pid), "the consumer sleeps in getSync");
  doomed.kill();
  await doomed.join();
  assert.equal(doomed.exitCode, -9);
  for (let i = 0; i < 10; i++) await q.put(i);
  const next = new ctx.Process({ target: relay, args: [q, out, 10] });
  next.start();
  const seen = [];
  for (let i = 0; i < 10; i++) seen.push(await out.get({ timeout: 20_000 }));
  await next.join();
  assert.deepEqual(seen, [...Array(10).keys()]);
});

/** Starts fixtures/sigint-parent.ts in a process group of its own; resolves once its pool workers run tasks. */
async function startSigintParent(taskMs: number): Promise<{ program: ReturnType<typeof spawn>; workers: number[]; output: () => string }> {
  const script = new URL("../fixtures/sigint-parent.ts", import.meta.url).pathname;
  const program = spawn(process.execPath, [...process.execArgv, script, String(taskMs)], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  let out = "";
  program.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  while (!out.includes("workers")) await once(program.stdout!, "data");
  const workers = childPids(program.pid!);
  assert.ok(workers.length >= 2, `the pool's workers, found ${workers.join(" ")} (program said: ${out.trim()})`);
  return { program, workers, output: () => out };
}

test("Ctrl-C (SIGINT to the process group) ends the program and its busy pool workers (issue 9.6)", T, async () => {
  const { program, workers } = await startSigintParent(30_000);
  const exited = once(program, "exit");
  process.kill(-program.pid!, "SIGINT");
  const [code, signal] = await exited;
  assert.ok(signal === "SIGINT" || code === 130, `the parent ends on Ctrl-C (exit code ${code}, signal ${signal})`);
  const deadline = performance.now() + 1_000;
  while (workers.some(running) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const survivors = workers.filter(running);
  for (const child of survivors) process.kill(child, "SIGKILL");
  assert.deepEqual(survivors, [], "no worker outlived the interrupted parent");
});

test("a pool worker does not die of a SIGINT of its own: the parent decides (issue 9.6)", T, async () => {
  const { program, workers, output } = await startSigintParent(1_500);
  process.kill(workers[0]!, "SIGINT");
  const [code] = await once(program, "exit");
  assert.equal(code, 0);
  assert.equal(output().match(/result \d+/g)?.length, 2, "both tasks finished");
});

test("a non-daemon child runs to its end after its parent dies", T, async () => {
  const script = new URL("../fixtures/orphan-parent.ts", import.meta.url).pathname;
  const parent = spawn(process.execPath, [...process.execArgv, script, "normal"], { stdio: ["ignore", "pipe", "inherit"] });
  const child = await new Promise<number>((resolve) => parent.stdout.on("data", (chunk) => resolve(Number(/child (\d+)/.exec(String(chunk))![1]))));
  const gone = new Promise((resolve) => parent.on("exit", resolve));
  parent.kill("SIGKILL");
  await gone;
  assert.equal(running(child), true, "the normal child ran on");
  const deadline = performance.now() + 20_000;
  while (running(child) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(running(child), false, "and then ended by itself");
});
