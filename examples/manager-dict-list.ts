/**
 * Seed 000: a Manager's dict and list, filled by a child process.
 *
 * The child sets d["key1".."key5"] to "val1".."val5" and extends the list with
 * 11..15; the parent, which made both in the manager, prints them after join().
 *
 * Run: npx tsx examples/manager-dict-list.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

mp.registerModule(import.meta.url);

export async function worker(d: mp.DictProxy<string, string>, l: mp.ListProxy<number>): Promise<void> {
  await l.extend([11, 12, 13, 14, 15]); // Python: l += range(11, 16)
  for (let i = 1; i < 6; i++) await d.set(`key${i}`, `val${i}`);
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  await using manager = await mp.Manager(); // its server is an OS process in both contexts, as in Python
  const d = manager.dict<string, string>();
  const l = manager.list<number>();
  const p = new mp.Process({ target: worker, args: [d, l] });
  p.start();
  await p.join();
  console.log(await d.copy()); // { key1: 'val1', key2: 'val2', key3: 'val3', key4: 'val4', key5: 'val5' }
  console.log(await l.copy()); // [ 11, 12, 13, 14, 15 ]
}
