import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("the compiled package runs a TypeScript program's workers (tsx, no source condition)", { timeout: 60_000 }, () => {
  const script = new URL("../fixtures/built-package-smoke.ts", import.meta.url).pathname;
  const run = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 50_000 });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
  assert.match(report.runtime, /\/dist\/index\.js$/, "the program must use the build, not the sources");
  assert.equal(report.exitCode, 0);
  assert.equal(report.answer, 42);
});
