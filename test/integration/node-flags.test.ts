import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("a program started with V8 flags (--expose-gc, --max-old-space-size) can start workers", { timeout: 60_000 }, () => {
  const script = new URL("../fixtures/pool-with-node-flags.ts", import.meta.url).pathname;
  const run = spawnSync(process.execPath, ["--expose-gc", "--max-old-space-size=300", ...process.execArgv, script], {
    encoding: "utf8",
    timeout: 50_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim().split("\n").at(-1)!), { results: [1, 4, 9], exitCode: 0 });
});
