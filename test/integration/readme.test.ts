import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

test("the README's example runs and prints what its comments say", { timeout: 60_000 }, () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const code = /```ts\n(\/\/ tasks\.ts\n[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, "README.md has a ts block starting with // tasks.ts");
  // A scratch project that depends on this package, as a user's would.
  const dir = mkdtempSync(join(tmpdir(), "multiproc-readme-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(new URL("../..", import.meta.url).pathname, join(dir, "node_modules", "multiproc"));
    symlinkSync(new URL("../../node_modules/tsx", import.meta.url).pathname, join(dir, "node_modules", "tsx"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", dependencies: { multiproc: "*" } }));
    // As written, and unchanged but for mp.setStartMethod("process") at the top (issue 9.7).
    const onProcesses = code.replace('import * as mp from "multiproc";\n', 'import * as mp from "multiproc";\nmp.setStartMethod("process");\n');
    assert.notEqual(onProcesses, code);
    for (const [file, source] of [["tasks.ts", code], ["tasks-processes.ts", onProcesses]] as const) {
      writeFileSync(join(dir, file), source);
      const run = spawnSync(process.execPath, [...process.execArgv, join(dir, file)], {
        cwd: dir,
        encoding: "utf8",
        timeout: 50_000,
      });
      assert.equal(run.status, 0, `${file}: ${run.stderr}`);
      const lines = run.stdout.trim().split("\n");
      assert.deepEqual(lines[0], "[ 1, 4, 9 ]", file);
      assert.equal(lines[1], "100", file);
      assert.deepEqual(lines.slice(2, 5).map(Number).sort(), [16, 25, 36], file);
      assert.equal(lines[5], "3", file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("npm start runs every ported program against the built library and exits 0 (issue 7.6)", { timeout: 170_000 }, () => {
  // As package.json's start script runs it, minus its build (npm test has just built dist/).
  const root = new URL("../..", import.meta.url).pathname;
  const run = spawnSync(process.execPath, ["--import", "tsx", "examples/index.ts"], { cwd: root, encoding: "utf8", timeout: 160_000 });
  // On failure, name the runs that failed and show the output's end: a failing run's
  // own output sits right above its "!!" line, and the head of 20 runs says nothing.
  const failed = run.stdout.split("\n").filter((line) => line.includes("!! "));
  assert.equal(run.status, 0, `status ${run.status ?? run.signal}; failed runs:\n${failed.join("\n")}\n--- stderr:\n${run.stderr.slice(-4000)}\n--- stdout's end:\n${run.stdout.slice(-6000)}`);
  // Every program of examples/ (but the runner and its helper, and the cluster's, which needs
  // a Redis server and workers: cluster.test.ts runs it), once per context.
  const programs = readdirSync(new URL("../../examples/", import.meta.url)).filter(
    (f) => f.endsWith(".ts") && f !== "index.ts" && f !== "example-context.ts" && !f.startsWith("cluster"),
  );
  assert.match(run.stdout, new RegExp(`\\b${programs.length * 2} of ${programs.length * 2} example runs succeeded`));
  assert.match(run.stdout, /on worker threads[\s\S]*on OS processes/, "each program runs on threads, then on processes");
  assert.doesNotMatch(run.stdout, /seeds? \d{3}/, "headings say what each program shows");
});
