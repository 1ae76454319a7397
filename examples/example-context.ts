/**
 * The worker kind an example runs on, from its command line: `npx tsx
 * examples/lock-print.ts process` runs it on OS processes, no argument on worker
 * threads. `npm start` runs each example both ways. Setting the start method is all
 * a Python program's port needs (Python's multiprocessing.set_start_method).
 */
import * as mp from "multiproc";

export function useContextFromArgs(): mp.StartMethod {
  const arg = process.argv[2] ?? "thread";
  if (arg !== "thread" && arg !== "process") {
    throw new TypeError(`Expected the example's argument to be "thread" or "process", got ${JSON.stringify(arg)}`);
  }
  mp.setStartMethod(arg);
  return arg;
}
