import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import * as targets from "../fixtures/process-targets.ts";

const T = { timeout: 30_000 };

/** Ways a target can end, and the exit code each gives. */
const ENDINGS = [
  { name: "a target that throws exits 1", target: targets.throwError, args: ["boom"], exitCode: 1 },
  { name: "process.exit(N) gives exit code N", target: targets.exitWith, args: [7], exitCode: 7 },
  { name: "an async target that rejects exits 1", target: targets.rejectLater, args: ["late failure"], exitCode: 1 },
];

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("a target that returns exits 0", T, async () => {
    const p = new mp.Process({ target: targets.doNothing, context });
    assert.equal(p.exitCode, null);
    assert.equal(p.isAlive(), false);
    p.start();
    assert.equal(p.isAlive(), true);
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.equal(p.isAlive(), false);
  });

  for (const { name, target, args, exitCode } of ENDINGS) {
    test(name, T, async () => {
      const p = new mp.Process({ target, args, context });
      p.start();
      await p.join();
      assert.equal(p.exitCode, exitCode);
    });
  }

  test("join(timeout) returns while the process still runs; terminate gives -15", T, async () => {
    const p = new mp.Process({ target: targets.sleepFor, args: [20_000], context });
    p.start();
    const started = performance.now();
    await p.join(200);
    assert.ok(performance.now() - started < 5_000);
    assert.equal(p.isAlive(), true);
    assert.equal(p.exitCode, null);
    assert.ok(mp.activeChildren().includes(p));
    p.terminate();
    await p.join();
    assert.equal(p.exitCode, -15);
    assert.ok(!mp.activeChildren().includes(p));
  });

  test("kill gives -9", T, async () => {
    const p = new mp.Process({ target: targets.sleepFor, args: [20_000], context });
    p.start();
    p.kill();
    await p.join();
    assert.equal(p.exitCode, -9);
  });

  test("names are Process-N; the child knows itself and its parent", T, async () => {
    const buffer = ctx.RawArray("B", 4096).buffer as SharedArrayBuffer;
    const p = new mp.Process({ target: targets.reportIdentity, args: [buffer], context });
    assert.match(p.name, /^Process-\d+$/);
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    const length = new Int32Array(buffer, 0, 1)[0]!;
    const report = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length).slice()));
    assert.equal(report.me.name, p.name);
    assert.equal(report.parent.name, "MainProcess");
    assert.equal(report.isMain, false);
    assert.equal(mp.currentProcess().name, "MainProcess");
    assert.equal(mp.parentProcess(), null);
    assert.equal(mp.isMainProcess(), true);
  });

  test("a custom name and shared typed-array arguments", T, async () => {
    const view = ctx.RawArray("i", 4);
    const p = new mp.Process({ target: targets.writeSlot, args: [view, 2, 99], name: "writer", context });
    assert.equal(p.name, "writer");
    p.start();
    await p.join();
    assert.equal(view[2], 99);
  });

  test("an exported Process subclass runs its own run() with its own fields", T, async () => {
    const view = ctx.RawArray("i", 2);
    const workers = [new targets.Counter(view, 1000), new targets.Counter(view, 1000)];
    for (const w of workers) w.start();
    for (const w of workers) await w.join();
    assert.deepEqual(workers.map((w) => w.exitCode), [0, 0]);
    assert.equal(view[0], 2000);
    const own = ctx.RawArray("i", 2);
    const single = new targets.Counter(own, 1);
    single.start();
    await single.join();
    assert.equal(own[1], single.name.length, "run() sees the name the parent gave it");
  });

  test("a non-exported function is sent as source and works without closures", T, async () => {
    const view = ctx.RawArray("i", 2);
    const p = new mp.Process({
      target: (v: Int32Array) => {
        Atomics.store(v, 0, 5);
      },
      args: [view],
      context,
    });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.equal(view[0], 5);
  });

  test("lifecycle misuse throws clear errors", T, async () => {
    const p = new mp.Process({ target: targets.doNothing, context });
    await assert.rejects(p.join(), /can only join a started process/);
    p.start();
    assert.throws(() => p.start(), /cannot start a process twice/);
    await p.join();
    p.close();
    assert.throws(() => p.isAlive(), /closed/);
    assert.throws(() => new mp.Process({ target: 5 as never }), /Expected `target` to be a function/);
  });

  test("an argument that cannot be cloned throws at start, naming it", T, async () => {
    const p = new mp.Process({ target: targets.doNothing, args: [{ ok: 1, bad: () => 1 }], context });
    assert.throws(() => p.start(), /args\[0\]\.bad cannot be cloned: functions cannot be sent/);
  });

  test("await using joins and closes", T, async () => {
    const view = ctx.RawArray("i", 2);
    {
      await using p = new mp.Process({ target: targets.writeSlot, args: [view, 0, 3], context });
      p.start();
    }
    assert.equal(view[0], 3);
  });
});

test("a daemon child is terminated when its parent finishes; a normal child is waited for", { timeout: 60_000 }, async () => {
  const { spawn } = await import("node:child_process");
  const script = new URL("../fixtures/daemon-parent.ts", import.meta.url).pathname;
  const run = (kind: string, ms: number) =>
    new Promise<{ code: number | null; elapsed: number; out: string }>((resolve) => {
      const started = performance.now();
      const child = spawn(process.execPath, [...process.execArgv, script, kind, String(ms)], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.on("exit", (code) => resolve({ code, elapsed: performance.now() - started, out }));
    });
  const daemon = await run("daemon", 60_000);
  assert.equal(daemon.code, 0);
  assert.match(daemon.out, /daemon=true/);
  assert.ok(daemon.elapsed < 30_000, `the daemon child kept its parent alive for ${daemon.elapsed} ms`);
  const normal = await run("normal", 1_500);
  assert.equal(normal.code, 0);
  assert.match(normal.out, /daemon=false/);
  assert.ok(normal.elapsed >= 1_400, `the parent exited after ${normal.elapsed} ms, before its child finished`);
});

forEachContext((context) => {
  const ctx = mp.getContext(context);
  test("children start children (CPython test_recursion)", T, async () => {
    const view = ctx.RawArray("i", 4);
    const p = new mp.Process({ target: targets.recurse, args: [view, 0, 2], context });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.deepEqual([...view.slice(0, 3)], [1, 2, 4]);
  });

  test("many processes at once (CPython test_many_processes)", { timeout: 60_000 }, async () => {
    const view = ctx.RawArray("i", 20);
    const procs = Array.from({ length: 20 }, (_, i) => new mp.Process({ target: targets.writeSlot, args: [view, i, i + 1], context }));
    for (const p of procs) p.start();
    for (const p of procs) await p.join();
    assert.deepEqual(procs.map((p) => p.exitCode), Array(20).fill(0));
    assert.deepEqual([...view], Array.from({ length: 20 }, (_, i) => i + 1));
  });

  test("a daemon child knows its parent and that it is a daemon", T, async () => {
    const buffer = ctx.RawArray("B", 256).buffer as SharedArrayBuffer;
    const p = new mp.Process({ target: targets.recordParent, args: [buffer], daemon: true, context });
    assert.equal(p.daemon, true);
    p.start();
    await p.join();
    const length = new Int32Array(buffer, 0, 1)[0]!;
    assert.equal(new TextDecoder().decode(new Uint8Array(buffer, 4, length).slice()), "MainProcess|true");
  });
});
