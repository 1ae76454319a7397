/**
 * Seed 003, part 2: Pipe. A child sends [42, null, "hello"] through its end and
 * closes it; the parent receives it.
 *
 * Run: npx tsx examples/pipe-send.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

mp.registerModule(import.meta.url);

export function f(conn: mp.Connection<unknown>): void {
  conn.send([42, null, "hello"]);
  conn.close();
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  const [parentConn, childConn] = mp.Pipe();
  const p = new mp.Process({ target: f, args: [childConn] });
  p.start();
  await p.join();
  console.log(await parentConn.recv()); // prints "[ 42, null, 'hello' ]"
  parentConn.close();
  childConn.close();
}
