import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

test("the built package's workers load task modules with require() only where it gives what import() gives (top-level await, CommonJS, a throwing module), on both worker kinds", { timeout: 60_000 }, () => {
  const script = new URL("../fixtures/require-loading/main.mjs", import.meta.url).pathname;
  const run = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 50_000 });
  assert.equal(run.status, 0, run.stderr);
  const reports = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(reports.map((r) => r.context), ["process", "thread"]);
  for (const report of reports) {
    assert.match(report.runtime, /\/dist\/index\.js$/, "the program must use the build, not the sources");
    assert.deepEqual(
      { half: report.half, double: report.double, addOffset: report.addOffset, triple: report.triple, after: report.after },
      { half: 21, double: [2, 4, 6], addOffset: 101, triple: 15, after: 42 },
      report.context,
    );
    assert.equal(report.throws, "RangeError: refused to load in a worker", report.context);
  }
});

test("a TypeScript program's workers import its modules compiled once by the parent, not through tsx, on both worker kinds", { timeout: 90_000 }, () => {
  const script = new URL("../fixtures/built-typescript-workers.ts", import.meta.url).pathname;
  for (const mode of ["compiled", "tsx"] as const) {
    const env = { ...process.env, MULTIPROC_TYPESCRIPT: mode === "tsx" ? "tsx" : "" };
    const run = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 80_000, env });
    assert.equal(run.status, 0, run.stderr);
    const reports = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(reports.map((r) => r.context), ["thread", "process"]);
    for (const report of reports) {
      const where = `${mode}, ${report.context}`;
      if (mode === "compiled") {
        assert.match(report.script, new RegExp(`/multiproc-ts-${run.pid}-[^/]+/built-typescript-workers-[0-9a-f]+\\.mjs$`), where);
      } else {
        assert.match(report.script, /\/built-typescript-workers\.ts$/, where);
      }
      // What the module sees of itself is its source, either way.
      assert.equal(report.metaUrl, report.parentMetaUrl, where);
      // The helper it imports is one module: the function and the counter are the same one.
      assert.equal(report.doubled, 42, where);
      assert.equal(report.helperCalls, 1, where);
      // The worker's stack points at the .ts source's line, through the compiled file's source map.
      assert.match(report.stack, /RangeError: thrown in a worker/, where);
      assert.match(report.stack, /built-typescript-workers\.ts:\d+/, where);
    }
    // The compiled files go with the program.
    assert.deepEqual(readdirSync(tmpdir()).filter((name) => name.startsWith(`multiproc-ts-${run.pid}-`)), [], mode);
  }
});

test("without tsx, a TypeScript program runs its workers where Node strips types itself (22.18+), and says why where it cannot", { timeout: 90_000 }, () => {
  // A user's project with the built package and no tsx anywhere on its resolution path.
  const root = new URL("../..", import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), "multiproc-no-tsx-"));
  try {
    const pkg = join(dir, "node_modules", "multiproc");
    mkdirSync(join(pkg, "build"), { recursive: true });
    cpSync(join(root, "dist"), join(pkg, "dist"), { recursive: true });
    cpSync(join(root, "build", "Release"), join(pkg, "build", "Release"), { recursive: true });
    cpSync(join(root, "package.json"), join(pkg, "package.json"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      join(dir, "main.ts"),
      [
        'import * as mp from "multiproc";',
        "export function square(x: number): number { return x * x; }",
        "if (mp.isMainProcess()) {",
        '  for (const context of ["thread", "process"] as const) {',
        // Not `await using`: Node 22's V8 strips the types but has no explicit resource management.
        "    const pool = new mp.Pool({ processes: 2, context });",
        "    console.log(JSON.stringify(await pool.map(square, [1, 2, 3])));",
        "    pool.close();",
        "    await pool.join();",
        "  }",
        "}",
      ].join("\n"),
    );
    const run = spawnSync(process.execPath, ["main.ts"], { cwd: dir, encoding: "utf8", timeout: 80_000 });
    const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
    if (major > 22 || (major === 22 && minor >= 18)) {
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(run.stdout.trim().split("\n"), ["[1,4,9]", "[1,4,9]"], "both worker kinds loaded main.ts without tsx");
    } else {
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /ERR_UNKNOWN_FILE_EXTENSION|Unknown file extension "\.ts"/, "Node itself refuses main.ts: install tsx");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
