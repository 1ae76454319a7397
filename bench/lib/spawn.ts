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

export function runChild(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number; cwd: string },
): Promise<ChildOutcome> {
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    const finish = (outcome: ChildOutcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    child.on("error", (error) => finish({ ok: false, error: `could not start ${command}: ${error.message}`, ms: performance.now() - start }));
    child.on("close", (code, signal) => {
      const ms = performance.now() - start;
      if (timedOut) return finish({ ok: false, error: `killed after the ${options.timeoutMs} ms limit (MP_BENCH_TIMEOUT_MS)`, ms });
      try {
        const value = parseResult(stdout);
        finish({ ok: true, value, ms });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        finish({ ok: false, error: `exited with ${signal ?? `code ${code}`}; ${why}`, ms });
      }
    });
  });
}
