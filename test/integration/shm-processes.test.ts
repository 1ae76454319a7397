/**
 * OS shared memory and futexes across OS processes (child_process), and the addon's
 * futex in worker threads: the ground the "process" context stands on.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { after, describe, test } from "node:test";
import { createShm, unlinkShm } from "../../src/memory/shm.ts";
import { native } from "../../src/util/native.ts";

const T = { timeout: 60_000 };
const CHILD = fileURLToPath(new URL("../fixtures/shm-child.ts", import.meta.url));
const ADDON = fileURLToPath(new URL("../../build/Release/multiproc_native.node", import.meta.url));
// Word indexes, as in test/fixtures/shm-child.ts.
const COUNT = 0;
const READY = 1;
const GO = 2;
const SIGNAL = 3;
const PING = 4;

interface Child {
  process: ChildProcess;
  /** Everything the child printed, once it has exited with code 0. */
  output: Promise<string>;
}

function startChild(name: string, mode: string, arg = ""): Child {
  const child = spawn(process.execPath, ["--conditions=multiproc-source", "--import", "tsx", CHILD, name, mode, arg], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const output = once(child, "exit").then(([code, signal]) => {
    if (code !== 0) throw new Error(`shm-child ${mode} exited with ${String(code ?? signal)}: ${stderr}`);
    return stdout.trim();
  });
  output.catch(() => {}); // observed by the test that awaits it
  return { process: child, output };
}

/** Resolves once `count` children have mapped the object and announced themselves on READY. */
async function readyChildren(view: Int32Array, count: number): Promise<void> {
  for (;;) {
    const seen = Atomics.load(view, READY);
    if (seen >= count) return;
    await native().futexWaitAsync(view, READY, seen, 30_000);
  }
}

/** A fresh object of 64 bytes, unlinked after the test. */
function freshObject(): { name: string; view: Int32Array } {
  const { name, buffer } = createShm(64);
  after(() => unlinkShm(name));
  return { name, view: new Int32Array(buffer) };
}

describe("OS shared memory between processes", () => {
  test("two processes doing 100,000 Atomics.add each count exactly", T, async () => {
    const { name, view } = freshObject();
    const children = [startChild(name, "add", "100000"), startChild(name, "add", "100000")];
    await readyChildren(view, 2);
    Atomics.store(view, GO, 1);
    native().futexWake(view, GO, undefined);
    assert.deepEqual(await Promise.all(children.map((child) => child.output)), ["added", "added"]);
    assert.equal(Atomics.load(view, COUNT), 200_000);
  });

  test("a child blocked in futexWait is woken by the parent's futexWake", T, async () => {
    const { name, view } = freshObject();
    const child = startChild(name, "wait");
    await readyChildren(view, 1);
    let woke = 0;
    // READY is set just before the child's futexWait: wake until the wake lands on a sleeper.
    while (woke === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      Atomics.store(view, SIGNAL, 0);
      woke = native().futexWake(view, SIGNAL, undefined);
    }
    assert.equal(woke, 1);
    const { result } = JSON.parse(await child.output) as { result: string };
    assert.equal(result, "ok");
  });

  test("futexWait in a child times out after about its timeout", T, async () => {
    const { name } = freshObject();
    const { result, ms } = JSON.parse(await startChild(name, "wait", "200").output) as { result: string; ms: number };
    assert.equal(result, "timed-out");
    assert.ok(ms >= 190 && ms < 5_000, `timed out after ${ms} ms`);
  });

  test("futexWaitAsync in this thread resolves on another process's wake, and the event loop keeps running", T, async () => {
    const { name, view } = freshObject();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    try {
      const waiting = native().futexWaitAsync(view, SIGNAL, 0, 30_000);
      const waker = startChild(name, "wake", "300");
      assert.equal(await waiting, "ok");
      assert.ok(ticks >= 10, `only ${ticks} timer ticks while waiting`);
      assert.equal(await waker.output, "1");
    } finally {
      clearInterval(ticker);
    }
  });

  test("a process whose only work is a pending futexWaitAsync stays alive until woken", T, async () => {
    const { name, view } = freshObject();
    const child = startChild(name, "async-wait");
    await readyChildren(view, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(child.process.exitCode, null, "the child exited with a wait pending");
    let woke = 0;
    while (woke === 0) {
      Atomics.store(view, SIGNAL, 1);
      woke = native().futexWake(view, SIGNAL, undefined);
      if (woke === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(await child.output, "ok");
  });

  test("futex round trip between two processes (ping-pong)", T, async (t) => {
    const { name, view } = freshObject();
    const rounds = 5_000;
    const child = startChild(name, "pong", String(rounds));
    await readyChildren(view, 1);
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      Atomics.store(view, PING, 2 * i + 1);
      native().futexWake(view, PING, undefined);
      while (Atomics.load(view, PING) === 2 * i + 1) native().futexWait(view, PING, 2 * i + 1, 10_000);
    }
    const perRound = ((performance.now() - started) * 1000) / rounds;
    assert.equal(await child.output, "ponged");
    t.diagnostic(`futex round trip: ${perRound.toFixed(1)} µs`);
    assert.equal(Atomics.load(view, PING), 2 * rounds);
  });

  test("the creator unlinks its objects' names when it exits", T, async () => {
    const name = await startChild("", "create").output;
    assert.match(name, /^\/mp-\d+-\d+-\d+-[0-9a-f]{8}$/, "/mp-<root pid>-<pid>-<counter>-<random>");
    assert.throws(() => native().shmOpen(name), { code: "ENOENT" });
  });
});

describe("the futex addon in worker threads", () => {
  const workerSource = `
    const { parentPort, workerData } = require("node:worker_threads");
    const addon = require(workerData.addon);
    const view = new Int32Array(addon.shmOpen(workerData.name));
    addon.futexWaitAsync(view, ${SIGNAL}, 0, undefined).then((result) => parentPort.postMessage(result));
    if (workerData.hang) addon.futexWaitAsync(view, ${PING}, 0, undefined);
    parentPort.postMessage("waiting");
  `;

  test("a worker thread waits asynchronously on OS shared memory and another process wakes it", T, async () => {
    const { name, view } = freshObject();
    const worker = new Worker(workerSource, { eval: true, workerData: { addon: ADDON, name, hang: false } });
    const messages: unknown[] = [];
    worker.on("message", (message) => messages.push(message));
    const exited = once(worker, "exit");
    while (messages.length === 0) await once(worker, "message");
    const waker = startChild(name, "wake", "100");
    assert.equal(await waker.output, "1");
    const [code] = (await exited) as [number];
    assert.equal(code, 0); // the resolved wait released the worker's event loop
    assert.deepEqual(messages, ["waiting", "ok"]);
    assert.equal(Atomics.load(view, SIGNAL), 1);
  });

  test("terminating a worker with futex waits pending ends it promptly", T, async () => {
    const { name } = freshObject();
    const worker = new Worker(workerSource, { eval: true, workerData: { addon: ADDON, name, hang: true } });
    await once(worker, "message");
    const started = performance.now();
    await worker.terminate();
    assert.ok(performance.now() - started < 5_000);
  });
});
