/**
 * apply() runs tasks one after another: each call waits for its result.
 * applyAsync() returns at once, so up to `processes` tasks run side by side.
 * (Python: pool.apply vs pool.apply_async.)
 *
 * Run: npx tsx examples/pool-apply-vs-async.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

export async function worker(message: string): Promise<string> {
  console.log(`####### start ${message} #######`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  console.log(`####### end ${message} #######`);
  return message;
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  const pool = new mp.Pool({ processes: 3 });

  console.log("--- applyAsync: up to 3 at a time ---");
  let started = performance.now();
  const results = [];
  for (let i = 1; i <= 6; i++) results.push(pool.applyAsync(worker, [`hello${i}`]));
  console.log("results:", await Promise.all(results.map((r) => r.get())));
  console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s (6 tasks of 1 s on 3 workers)`);

  console.log("--- apply: one after another ---");
  started = performance.now();
  for (let i = 1; i <= 3; i++) await pool.apply(worker, [`hello${i}`]);
  console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s (3 tasks of 1 s)`);

  pool.close();
  await pool.join();
  console.log("main end");
}
