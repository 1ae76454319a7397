/**
 * Seed 004 (Python's "synchronization between processes" example): ten
 * processes print through one shared Lock, so only one prints at a time.
 *
 *   Python                                   TypeScript
 *   lock = Lock()                            const lock = new mp.Lock()
 *   x.acquire(); print(...); x.release()     lock.acquireSync(); console.log(...); lock.release()
 *   Process(target=f, args=(lock, num))      new mp.Process({ target: f, args: [lock, num] })
 *
 * Run: npx tsx examples/lock-print.ts [thread|process] (after npm install, which builds the library)
 * Prints "hello world 0" .. "hello world 9", one whole line each, in the order the
 * processes got the lock.
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

/** The target: prints while holding the lock (withLock releases it even if printing throws). */
export async function myFunction(lock: mp.Lock, num: number): Promise<void> {
  await lock.withLock(() => {
    console.log("hello world", num);
  });
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  const lock = new mp.Lock();
  const processes: mp.Process[] = [];
  for (let num = 0; num < 10; num++) {
    const p = new mp.Process({ target: myFunction, args: [lock, num] });
    p.start();
    processes.push(p);
  }
  for (const p of processes) await p.join();
}
