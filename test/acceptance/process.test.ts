/** Acceptance: Process (API.md "Process", CPython _TestProcess semantics). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import {
  blockForever, exitWith, nothing, putArgs, rejectIt, reportSelf, sleepMs, spawnChild, Summer, throwIt, waitForEvent,
} from "./fixtures/process-targets.ts";

const T = { timeout: 30_000 };

test("lifecycle: start, isAlive, join, exitCode 0 (test_process)", T, async () => {
  const q = new mp.Queue<unknown[]>();
  const ev = new mp.Event();
  const p = new mp.Process({ target: waitForEvent, args: [ev], name: "P-1", context: "thread" });
  assert.equal(p.exitCode, null);
  assert.equal(p.isAlive(), false);
  assert.equal(p.name, "P-1");
  assert.equal(p.daemon, false);
  p.start();
  assert.equal(p.isAlive(), true);
  assert.equal(p.exitCode, null);
  assert.equal(typeof p.pid, "number");
  assert.notEqual(p.ident, null);
  ev.set();
  await p.join();
  assert.equal(p.isAlive(), false);
  assert.equal(p.exitCode, 0);
  const p2 = new mp.Process({ target: putArgs, args: [q, 1, "a", { b: [2] }] });
  p2.start();
  assert.deepEqual(await q.get({ timeout: 20_000 }), [1, "a", { b: [2] }]);
  await p2.join();
  assert.equal(p2.exitCode, 0);
  q.close();
});

test("default name is Process-N; name and daemon are settable before start", T, async () => {
  const p = new mp.Process({ target: nothing });
  assert.match(p.name, /^Process-\d+(:\d+)*$/);
  p.name = "renamed";
  assert.equal(p.name, "renamed");
  p.daemon = true;
  assert.equal(p.daemon, true);
  const d = new mp.Process({ target: nothing, daemon: true });
  assert.equal(d.daemon, true);
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
});

test("exitCode is 1 after the target throws or rejects", T, async () => {
  const p = new mp.Process({ target: throwIt, args: ["deliberate failure (expected in stderr)"] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 1);
  const r = new mp.Process({ target: rejectIt, args: ["deliberate async failure (expected in stderr)"] });
  r.start();
  await r.join();
  assert.equal(r.exitCode, 1);
});

test("exitCode is N after exit(N) (test_sys_exit)", T, async () => {
  for (const code of [0, 3, 42]) {
    const p = new mp.Process({ target: exitWith, args: [code] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, code);
  }
});

test("terminate() gives a negative exitCode (-SIGTERM) (test_terminate)", T, async () => {
  const ev = new mp.Event();
  const p = new mp.Process({ target: blockForever, args: [ev], daemon: true });
  p.start();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(p.isAlive(), true);
  p.terminate();
  await p.join();
  assert.equal(p.isAlive(), false);
  assert.equal(p.exitCode, -15);
});

test("kill() gives -SIGKILL", T, async () => {
  const ev = new mp.Event();
  const p = new mp.Process({ target: blockForever, args: [ev] });
  p.start();
  await new Promise((r) => setTimeout(r, 200));
  p.kill();
  await p.join();
  assert.equal(p.exitCode, -9);
});

test("join(timeout) returns after the timeout while the child lives", T, async () => {
  const ev = new mp.Event();
  const p = new mp.Process({ target: waitForEvent, args: [ev] });
  p.start();
  const t0 = performance.now();
  const r = await p.join(200);
  const elapsed = performance.now() - t0;
  assert.equal(r, undefined);
  assert.ok(elapsed >= 150 && elapsed < 5_000, `elapsed ${elapsed}`);
  assert.equal(p.isAlive(), true);
  assert.equal(p.exitCode, null);
  ev.set();
  await p.join();
  assert.equal(p.exitCode, 0);
});

test("start twice throws; join before start throws (Python AssertionError)", T, async () => {
  const p = new mp.Process({ target: nothing });
  await assert.rejects(async () => p.join());
  p.start();
  assert.throws(() => p.start());
  await p.join();
});

test("close() releases a finished process; closing a running one throws (test_close)", T, async () => {
  const ev = new mp.Event();
  const p = new mp.Process({ target: waitForEvent, args: [ev] });
  p.start();
  assert.throws(() => p.close()); // Python: ValueError while still running
  ev.set();
  await p.join();
  p.close();
  assert.throws(() => p.isAlive()); // Python: ValueError on a closed process
  p.close(); // closing again is a no-op
});

test("a Process subclass with run() and own fields (test_subclassing)", T, async () => {
  const q = new mp.Queue<number>();
  const p = new Summer([1, 2, 3, 4], q);
  p.start();
  assert.equal(await q.get({ timeout: 20_000 }), 10);
  await p.join();
  assert.equal(p.exitCode, 0);
  q.close();
});

test("a Process with no target exits 0", T, async () => {
  const p = new mp.Process();
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
});

test("a child can start its own child; names nest as Process-N:M (test_recursion)", T, async () => {
  const q = new mp.Queue<Record<string, unknown>>();
  const p = new mp.Process({ target: spawnChild, args: [q] });
  p.start();
  const grandchild = await q.get({ timeout: 20_000 });
  const done = await q.get({ timeout: 20_000 });
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.equal(done.childExit, 0);
  assert.equal(grandchild.parentName, p.name);
  assert.match(String(grandchild.name), /^Process-\d+/);
  q.close();
});

test("await using a Process joins (and then closes) it", T, async () => {
  const q = new mp.Queue<unknown[]>();
  let ref!: mp.Process;
  {
    await using p = new mp.Process({ target: putArgs, args: [q, "ran"] });
    ref = p;
    p.start();
  }
  assert.deepEqual(await q.get({ timeout: 5_000 }), ["ran"]);
  // like Python's closed process: state queries now throw, or it reports a finished child
  let alive: boolean;
  try {
    alive = ref.isAlive();
  } catch {
    alive = false;
  }
  assert.equal(alive, false);
  q.close();
});

test("the child sees its own name, daemon flag and no active children", T, async () => {
  const q = new mp.Queue<Record<string, unknown>>();
  const p = new mp.Process({ target: reportSelf, args: [q], name: "Reporter", daemon: true });
  p.start();
  const info = await q.get({ timeout: 20_000 });
  await p.join();
  assert.equal(info.name, "Reporter");
  assert.equal(info.daemon, true);
  assert.equal(info.pid, p.pid);
  q.close();
});
