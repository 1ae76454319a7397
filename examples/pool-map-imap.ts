/**
 * map, imap and imapUnordered of a square function (Python: Pool.map,
 * Pool.imap, Pool.imap_unordered), and an AsyncResult with get(timeout).
 *
 * Run: npx tsx examples/pool-map-imap.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

export function square(x: number): number {
  return x * x;
}

export async function slowSquare(x: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, (10 - x) * 20));
  return x * x;
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  await using pool = new mp.Pool({ processes: 4 });
  // Workers start in their own time (a second or more on a busy machine); a first
  // result shows the pool is ready. The timeouts below are Python's `get(timeout=1)`
  // with room to spare: a loaded machine can stall a process for a second, and an
  // example that fails on a slow machine shows nothing (pool-timeout.ts shows one expire).
  await pool.apply(square, [0]);

  const result = pool.applyAsync(square, [10]);
  console.log("applyAsync(square, [10]).get(10_000):", await result.get(10_000));

  console.log("map:", await pool.map(square, [...Array(10).keys()]));

  const it = pool.imap(square, [...Array(10).keys()]);
  console.log("imap next():", (await it.next()).value);
  console.log("imap next():", (await it.next()).value);
  console.log("imap next(10_000):", (await it.next(10_000)).value);
  const rest = [];
  for await (const value of it) rest.push(value);
  console.log("imap rest:", rest);

  const unordered = [];
  for await (const value of pool.imapUnordered(slowSquare, [...Array(10).keys()])) unordered.push(value);
  console.log("imapUnordered (as they finish):", unordered);

  console.log("starmap:", await pool.starmap(Math.pow, [[2, 3], [3, 2], [10, 3]]));
}
