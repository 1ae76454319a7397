/**
 * What workers print reaches stdout and stderr in the order the program wrote
 * it (issue 7.11): a line printed before a signal comes before the line printed
 * by whoever waited for that signal, as with Python's processes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { forEachContext } from "../helpers/contexts.ts";

const rounds = 200;
const expected = [...Array(rounds).keys()].flatMap((i) => [`worker ${i}`, `main ${i}`]);

forEachContext((context) => {
  test("a worker's lines printed before a signal come before the main process's lines after it", { timeout: 120_000 }, () => {
    const script = new URL("../fixtures/ordered-output.ts", import.meta.url).pathname;
    const run = spawnSync(process.execPath, [...process.execArgv, script, context, String(rounds)], { encoding: "utf8", timeout: 110_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), expected, "stdout in the program's order");
    assert.deepEqual(run.stderr.trimEnd().split("\n"), expected, "stderr in the program's order");
  });
});
