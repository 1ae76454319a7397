/** Runs one child benchmark (Node or Python), with a time limit, and reads back its JSON result. */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

/** Prefix of the line that carries a Node child's result (bench/lib/child.ts). */
export const RESULT_MARK = "@@multiproc-bench-result ";

export type ChildOutcome = { ok: true; value: unknown; ms: number } | { ok: false; error: string; ms: number };

/** The result line: the marked one, else the last stdout line that is a JSON object (Python prints just that). */
function parseResult(stdout: string): unknown {
  const lines = stdout.split("\n").map((line) => line.trim());
  const marked = lines.findLast((line) => line.startsWith(RESULT_MARK));
  if (marked) return JSON.parse(marked.slice(RESULT_MARK.length));
  const json = lines.findLast((line) => line.startsWith("{"));
  if (json) return JSON.parse(json);
  throw new Error("it printed no JSON result");
}

/** After a child exits, how long its stdout may stay open (held by a process it forked) before we stop waiting. */
const STDOUT_GRACE_MS = 2_000;

/**
 * Runs `command` in a process group of its own, so that on timeout the whole group
 * goes (Python's pool workers included), and a grandchild that keeps stdout open
 * cannot hold the run: after the child exits, its output is read for at most
 * STDOUT_GRACE_MS and then the group is killed.
 */
export function runChild(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number; cwd: string },
): Promise<ChildOutcome> {
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "inherit"],
      detached: process.platform !== "win32",
    });
    let stdout = "";
    let exit = "";
    let settled = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(process.platform === "win32" ? child.pid : -child.pid, "SIGKILL");
      } catch {
        // the group is already gone
      }
    };
    const finish = (outcome: ChildOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup();
      resolve(outcome);
    };
    const parse = () => {
      const ms = performance.now() - start;
      try {
        finish({ ok: true, value: parseResult(stdout), ms });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        finish({ ok: false, error: `${exit || "its output stayed open"}; ${why}`, ms });
      }
    };
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const timer = setTimeout(
      () => finish({ ok: false, error: `killed after the ${options.timeoutMs} ms limit (MP_BENCH_TIMEOUT_MS)`, ms: performance.now() - start }),
      options.timeoutMs,
    );
    child.on("error", (error) => finish({ ok: false, error: `could not start ${command}: ${error.message}`, ms: performance.now() - start }));
    child.on("exit", (code, signal) => {
      exit = `exited with ${signal ?? `code ${code}`}`;
      setTimeout(parse, STDOUT_GRACE_MS).unref();
    });
    child.on("close", parse);
  });
}
