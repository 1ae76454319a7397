/**
 * Seed 003, part 3 (Python's Value + Array example): two processes, one after the
 * other, change a shared Value and a shared Array in place.
 *
 *   Python                                   TypeScript
 *   num = Value('i', 1)                      const num = mp.Value("i", 1)
 *   arr = Array('i', range(10))              const arr = mp.Array("i", range(10))
 *   p = Process(target=f, args=(num, arr))   new mp.Process({ target: f, args: [num, arr] })
 *   print(arr[:])                            console.log(arr.slice())
 *
 * Run: npx tsx examples/value-array.ts [thread|process] (after npm install, which builds the library)
 * Prints 2, [0, 10, ..., 90], then 3, [0, 100, ..., 900].
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

/** The target: adds 1 to the value and multiplies every item by 10. */
export function f(n: mp.SynchronizedValue<"i">, a: mp.SynchronizedArray<"i">): void {
  n.value = n.value + 1;
  for (let i = 0; i < a.length; i++) a[i] = a[i] * 10;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  const num = mp.Value("i", 1);
  const arr = mp.Array("i", range(10));

  const p = new mp.Process({ target: f, args: [num, arr] });
  p.start();
  await p.join();

  console.log(num.value);
  console.log(`[${arr.slice().join(", ")}]`);

  const p2 = new mp.Process({ target: f, args: [num, arr] });
  p2.start();
  await p2.join();

  console.log(num.value);
  console.log(`[${arr.slice().join(", ")}]`);
}
