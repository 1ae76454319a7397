/**
 * Seed 002, section 3.3: apply_async on a pool of 4 workers; each task prints the
 * pid of the process running it, sleeps, and returns its message. On OS processes,
 * as in the Python original, four different pids take turns (worker threads all
 * share their process's pid and differ by name), and results come back in order
 * when read with get().
 *
 * Run: npx tsx examples/pool-process-pids.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

export async function worker(message: string): Promise<string> {
  console.log(`pid ${process.pid} (${mp.currentProcess().name}) runs ${message}`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return message;
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  console.log(`main process pid ${process.pid}`);
  await using pool = new mp.Pool({ processes: 4 });
  const results = [];
  for (let i = 0; i < 10; i++) results.push(pool.applyAsync(worker, [`hello-${i}`]));
  for (const result of results) console.log("return:", await result.get());
}
