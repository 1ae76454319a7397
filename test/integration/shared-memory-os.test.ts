/**
 * SharedMemory of the process context is a POSIX shared-memory object by name, as
 * CPython's (issue 9.3): it crosses to OS processes, attaches by name in any
 * process of the machine, and a Python program and a multiproc program attach
 * the same block and see each other's writes.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { once } from "node:events";
import { test } from "node:test";
import * as mp from "multiproc";
import { setListItem, writeShared } from "../fixtures/os-process.ts";
import { waitUntil } from "../helpers/wait.ts";

const T = { timeout: 60_000 };
const ctx = mp.getContext("process");
const PYTHON_SHM = new URL("../fixtures/python-shm.py", import.meta.url).pathname;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("a process-context block is /dev/shm/<name>, reaches a child by value and by name, and lives until unlink()", T, async () => {
  const shm = new ctx.SharedMemory({ create: true, size: 64 });
  try {
    assert.match(shm.name, /^psm_[0-9a-f]{8}$/, "CPython's name form");
    assert.ok(existsSync(`/dev/shm/${shm.name}`));
    const child = new ctx.Process({ target: writeShared, args: [shm, 3, "child"] });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.equal(text(shm.buf.subarray(3, 9)), "child!");
    assert.ok(existsSync(`/dev/shm/${shm.name}`), "the child's exit does not remove a named block");
    const again = new ctx.SharedMemory({ name: shm.name });
    assert.equal(again.size, 64);
    assert.equal(text(again.buf.subarray(3, 8)), "child");
  } finally {
    shm.unlink();
  }
  assert.ok(!existsSync(`/dev/shm/${shm.name}`));
  assert.throws(() => new ctx.SharedMemory({ name: shm.name }), { code: "ENOENT" });
  assert.throws(() => shm.unlink(), { code: "ENOENT" });
});

test("a ShareableList of the process context is changed by a child process", T, async () => {
  const list = new ctx.ShareableList<mp.ShareableValue>(["before", 1, null]);
  try {
    const child = new ctx.Process({ target: setListItem, args: [list, 1, 42] });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.equal(list[1], 42);
    assert.equal(list[0], "before");
  } finally {
    list.shm.unlink();
  }
});

test("Python attaches a block multiproc made, and multiproc one that Python made (CPython's shared_memory)", T, async () => {
  const ours = new ctx.SharedMemory({ create: true, size: 16 });
  try {
    ours.buf.set(new TextEncoder().encode("hello"));
    const seen = execFileSync("python3", [PYTHON_SHM, "attach", ours.name], { encoding: "utf8" }).trim();
    assert.equal(seen, "hello 16", "Python read our bytes and size");
    assert.equal(text(ours.buf.subarray(0, 10)), "helloPYTHN", "and we see what Python wrote");
  } finally {
    ours.unlink();
  }

  const python = spawn("python3", [PYTHON_SHM, "create"], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  python.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  while (!out.includes("\n")) await once(python.stdout, "data");
  const name = out.trim();
  const theirs = new ctx.SharedMemory({ name });
  assert.equal(text(theirs.buf.subarray(0, 11)), "from python");
  assert.ok(theirs.size >= 32);
  theirs.buf.set(new TextEncoder().encode("NODE!"), 11);
  python.stdin.end("go\n");
  const [code] = await once(python, "exit");
  assert.equal(code, 0);
  assert.equal(out.trim().split("\n")[1], "NODE!", "Python saw our write");
  assert.ok(!existsSync(`/dev/shm/${name}`), "Python unlinked its block");
});

test("a program killed with SIGKILL, children and all, leaves nothing in /dev/shm (issue 9.5)", T, async () => {
  const script = new URL("../fixtures/shm-program.ts", import.meta.url).pathname;
  // A process group of its own, so the test can kill the whole tree at once.
  const program = spawn(process.execPath, [...process.execArgv, script], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  let out = "";
  program.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  while (!/child \d+/.test(out)) await once(program.stdout, "data");
  const prefix = `mp-${program.pid}-`;
  const ours = () => readdirSync("/dev/shm").filter((name) => name.startsWith(prefix));
  assert.ok(ours().length >= 3, `the program made its queue, lock and value: ${ours().join(" ")}`);
  const gone = once(program, "exit");
  process.kill(-program.pid!, "SIGKILL");
  await gone;
  await waitUntil(() => ours().length === 0, `the names of ${prefix}* are removed`, 10_000);
});
