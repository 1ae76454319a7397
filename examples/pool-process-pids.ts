/**
 * Seed 002, section 3.3: apply_async on a pool of 4 OS processes; each task prints
 * the pid of the process running it, sleeps, and returns its message. As in the
 * Python original, four different pids take turns, and results come back in order
 * when read with get().
 *
 * Run: npx tsx examples/pool-process-pids.ts (after npm install, which builds the library)
 */
import * as mp from "multiproc";

export async function worker(message: string): Promise<string> {
  console.log(`pid ${process.pid} (${mp.currentProcess().name}) runs ${message}`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return message;
}

if (mp.isMainProcess()) {
  console.log(`main process pid ${process.pid}`);
  await using pool = new mp.Pool({ processes: 4, context: "process" });
  const results = [];
  for (let i = 0; i < 10; i++) results.push(pool.applyAsync(worker, [`hello-${i}`]));
  for (const result of results) console.log("return:", await result.get());
}
