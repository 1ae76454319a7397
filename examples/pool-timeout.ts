/**
 * AsyncResult.get(timeout) rejects with mp.TimeoutError when the result does
 * not arrive in time (Python: res.get(timeout=1) raising multiprocessing.TimeoutError).
 * The task goes on; terminate() stops it so the program ends at once.
 *
 * Run: npx tsx examples/pool-timeout.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

export async function sleep(ms: number): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return `slept ${ms} ms`;
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  const pool = new mp.Pool({ processes: 2 });
  const result = pool.applyAsync(sleep, [10_000]);
  try {
    console.log(await result.get(1000));
  } catch (error) {
    if (error instanceof mp.TimeoutError) console.log(`TimeoutError: ${error.message}`);
    else throw error;
  }
  console.log("ready?", result.ready());
  await pool.terminate();
  await pool.join();
  console.log("pool terminated");
}
