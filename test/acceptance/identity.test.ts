/**
 * Identity details that the first acceptance run found missing (Python's _identity
 * naming, ident after exit, _ParentProcess, ShareableList.format).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { reportSelf, spawnChild } from "./fixtures/process-targets.ts";
import { parentInfo } from "./fixtures/probe-targets.ts";

const T = { timeout: 30_000 };

test("Process.ident is the child's own ident, and keeps its value after the child exits", T, async () => {
  const q = new mp.Queue<Record<string, unknown>>();
  const p = new mp.Process({ target: reportSelf, args: [q] });
  p.start();
  const running = p.ident;
  const seen = await q.get({ timeout: 20_000 });
  await p.join();
  assert.equal(seen.ident, running);
  assert.equal(p.ident, running);
  assert.ok(typeof running === "number" && running > 0);
  q.close();
});

test("a grandchild is named Process-N:M (Python's _identity chain)", T, async () => {
  const q = new mp.Queue<Record<string, unknown>>();
  const p = new mp.Process({ target: spawnChild, args: [q] });
  p.start();
  const grandchild = await q.get({ timeout: 20_000 });
  await q.get({ timeout: 20_000 });
  await p.join();
  const childNumber = /^Process-(\d+(?::\d+)*)$/.exec(p.name)?.[1];
  assert.ok(childNumber, p.name);
  assert.equal(grandchild.name, `Process-${childNumber}:1`);
  assert.equal(grandchild.parentName, p.name);
  q.close();
});

test("parentProcess() in a worker has isAlive() and join() (Python's _ParentProcess)", T, async () => {
  await using pool = new mp.Pool(1);
  const info = await pool.apply(parentInfo);
  assert.equal(info.pid, process.pid);
  assert.equal(info.isAliveType, "function");
  assert.equal(info.joinType, "function");
});

test("ShareableList has Python's `format` attribute", T, () => {
  const sl = new mp.ShareableList([2.5, "abc", null, true, 5n]);
  try {
    assert.equal(sl.format, "d8sxxxxxx?xxxxxxxx?q");
  } finally {
    sl.shm.close();
    sl.shm.unlink();
  }
});
