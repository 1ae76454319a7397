/**
 * Seed 001: two processes exchange data through a Queue, a Pipe and two Events,
 * and each writes a Manager dict and list.
 *
 * Process 2 puts 0..9 on the queue, which process 1 reads. Then each sends ten
 * numbers to the other through the two ends of one Pipe, sets its own Event,
 * waits for the other's, and prints what it received. At the end each writes one
 * key of the manager's dict and appends to its list; the parent prints both.
 *
 * Run: npx tsx examples/queue-pipe-events.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

mp.registerModule(import.meta.url);

/** Process 1: reads the queue, then talks over its end of the pipe. */
export async function proceedDataGet(
  q: mp.Queue<number>, p: mp.Connection<number>, parentEvent: mp.Event, childEvent: mp.Event,
  manageD: mp.DictProxy<string, number>, manageL: mp.ListProxy<string>,
): Promise<void> {
  for (let i = 0; i < 10; i++) console.log(q.getSync());
  for (let i = 20; i < 30; i++) p.send(i);
  parentEvent.set();
  childEvent.waitSync();
  for (let i = 20; i < 30; i++) console.log(`B Process: ${p.recvSync()}`);
  await manageD.set("1", 1);
  await manageL.append("2");
}

/** Process 2: fills the queue, then talks over the other end of the pipe. */
export async function proceedDataPut(
  q: mp.Queue<number>, p: mp.Connection<number>, parentEvent: mp.Event, childEvent: mp.Event,
  manageD: mp.DictProxy<string, number>, manageL: mp.ListProxy<string>,
): Promise<void> {
  for (let i = 0; i < 10; i++) q.putSync(i);
  for (let i = 40; i < 50; i++) p.send(i);
  childEvent.set();
  parentEvent.waitSync();
  for (let i = 20; i < 30; i++) console.log(`A Process: ${p.recvSync()}`);
  await manageD.set("2", 2);
  await manageL.append("2");
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  const startTime = performance.now();
  const q = new mp.Queue<number>();
  const [parentConn, childConn] = mp.Pipe<number>();
  const parentEvent = new mp.Event();
  const childEvent = new mp.Event();
  await using manage = await mp.Manager();
  const manageD = manage.dict<string, number>();
  const manageL = manage.list<string>();

  const args = (conn: mp.Connection<number>) => [q, conn, parentEvent, childEvent, manageD, manageL];
  const p1 = new mp.Process({ target: proceedDataGet, args: args(childConn) });
  const p2 = new mp.Process({ target: proceedDataPut, args: args(parentConn) });
  const processes = [p1, p2];
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  parentConn.close();
  childConn.close();
  console.log(await manageD.copy()); // { '1': 1, '2': 2 } (keys in the order the processes wrote them)
  console.log(await manageL.copy()); // [ '2', '2' ]
  console.log(`multiple process cost: ${Math.round(performance.now() - startTime)} ms`);
}
