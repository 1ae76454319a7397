/** Acceptance: module functions, contexts and the error hierarchy (API.md "Module functions", "Contexts", "Errors"). */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import * as mp from "multiproc";
import { reportSelf, waitForEvent } from "./fixtures/process-targets.ts";

const T = { timeout: 30_000 };

test("getAllStartMethods lists thread and process, thread first (default)", T, () => {
  const all = mp.getAllStartMethods();
  assert.ok(Array.isArray(all));
  assert.ok(all.includes("thread"));
  assert.ok(all.includes("process"));
  assert.equal(all[0], "thread");
});

test("getStartMethod defaults to thread; setStartMethod validates", T, () => {
  assert.equal(mp.getStartMethod(), "thread");
  assert.throws(() => mp.setStartMethod("fork" as never), (e: unknown) => e instanceof Error);
  assert.equal(mp.getStartMethod(), "thread");
});

test("setStartMethod selects the default context used by constructors", T, () => {
  mp.setStartMethod("thread");
  assert.equal(mp.getStartMethod(), "thread");
  assert.equal(mp.getContext().getStartMethod(), "thread");
});

test("getContext returns bound contexts exposing every class and factory", T, () => {
  const ctx = mp.getContext("thread");
  const names = [
    "Pool", "Process", "Queue", "JoinableQueue", "SimpleQueue", "Pipe", "Lock", "RLock", "Semaphore",
    "BoundedSemaphore", "Event", "Condition", "Barrier", "Value", "RawValue", "Array", "RawArray",
  ] as const;
  for (const n of names) assert.equal(typeof (ctx as unknown as Record<string, unknown>)[n], "function", n);
  assert.equal(mp.getContext().getStartMethod(), "thread");
  assert.equal(ctx.getStartMethod(), "thread");
  assert.equal(mp.getContext("process").getStartMethod(), "process");
  assert.throws(() => mp.getContext("spawn" as never));
});

test("a context's Value and Queue work like the module's", T, async () => {
  const ctx = mp.getContext("thread");
  const v = ctx.Value("i", 5);
  assert.equal(v.value, 5);
  const q = new ctx.Queue<number>();
  await q.put(1);
  assert.equal(await q.get(), 1);
  q.close();
});

test("cpuCount returns a positive integer matching the machine", T, () => {
  const n = mp.cpuCount();
  assert.ok(Number.isInteger(n) && n >= 1);
  assert.equal(n, availableParallelism());
});

test("currentProcess in the main thread is MainProcess", T, () => {
  const p = mp.currentProcess();
  assert.equal(p.name, "MainProcess");
  assert.equal(p.pid, process.pid);
  assert.equal(p.daemon, false);
  assert.ok("ident" in p);
  assert.equal(mp.parentProcess(), null);
  assert.equal(mp.isMainProcess(), true);
});

test("currentProcess/parentProcess/isMainProcess inside a Process child", T, async () => {
  const q = new mp.Queue<Record<string, unknown>>();
  const p = new mp.Process({ target: reportSelf, args: [q], name: "Kid-1" });
  p.start();
  const info = await q.get({ timeout: 20_000 });
  await p.join();
  assert.equal(info.name, "Kid-1");
  assert.equal(info.isMain, false);
  assert.equal(info.hasParent, true);
  assert.equal(info.parentName, "MainProcess");
  assert.equal(info.children, 0);
  q.close();
});

test("activeChildren lists started, unjoined children and drops finished ones", T, async () => {
  const ev = new mp.Event();
  assert.deepEqual(mp.activeChildren(), []);
  const p = new mp.Process({ target: waitForEvent, args: [ev], context: "thread" });
  assert.ok(!mp.activeChildren().includes(p));
  p.start();
  assert.ok(mp.activeChildren().includes(p));
  ev.set();
  await p.join();
  assert.ok(!mp.activeChildren().includes(p));
  assert.equal(p.exitCode, 0);
});

test("registerModule accepts a URL string and a URL object", T, () => {
  mp.registerModule(import.meta.url);
  mp.registerModule(new URL(import.meta.url) as unknown as string);
});

test("getLogger returns a logger; logToStderr returns it too", T, () => {
  const logger = mp.getLogger();
  assert.ok(logger);
  // Python's logging.Logger method names.
  for (const m of ["debug", "info", "warning", "error", "critical"]) {
    assert.equal(typeof (logger as unknown as Record<string, unknown>)[m], "function", m);
  }
  assert.equal(logger.name, "multiprocessing");
  const l2 = mp.logToStderr();
  assert.equal(l2, logger);
  assert.equal(mp.getLogger(), logger);
});

test("error hierarchy follows Python", T, () => {
  for (const C of [mp.BufferTooShort, mp.TimeoutError, mp.AuthenticationError, mp.WorkerLostError]) {
    const e = new (C as unknown as new (m?: string) => Error)("x");
    assert.ok(e instanceof mp.ProcessError, C.name);
    assert.ok(e instanceof Error);
    assert.equal(e.message, "x");
    assert.equal(e.name, C.name);
  }
  for (const C of [mp.Empty, mp.Full, mp.EOFError, mp.BrokenBarrierError, mp.RemoteError]) {
    const e = new (C as unknown as new (m?: string) => Error)("y");
    assert.ok(e instanceof Error, C.name);
    assert.ok(!(e instanceof mp.ProcessError), `${C.name} must not be a ProcessError`);
    assert.equal(e.name, C.name);
  }
  assert.ok(new mp.ProcessError("z") instanceof Error);
  assert.equal(new mp.ProcessError("z").name, "ProcessError");
  // mp.TimeoutError is the library's, not a global.
  assert.notEqual(mp.TimeoutError as unknown, globalThis.Error);
});

test("error classes carry a stable code", T, () => {
  const codes = [mp.ProcessError, mp.TimeoutError, mp.AuthenticationError, mp.BufferTooShort, mp.Empty, mp.Full,
    mp.EOFError, mp.BrokenBarrierError, mp.RemoteError, mp.WorkerLostError].map(
    (C) => (new (C as unknown as new (m?: string) => Error & { code?: unknown })("m")).code,
  );
  for (const c of codes) assert.equal(typeof c, "string");
  assert.equal(new Set(codes).size, codes.length);
});
