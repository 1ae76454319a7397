/**
 * Seed 001: two processes exchange data through a Queue, a Pipe and two Events
 * (the seed's Manager dict/list part is left out here).
 *
 * Process 2 puts 0..9 on the queue, which process 1 reads. Then each sends ten
 * numbers to the other through the two ends of one Pipe, sets its own Event,
 * waits for the other's, and prints what it received.
 *
 * Run: npx tsx examples/queue-pipe-events.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

mp.registerModule(import.meta.url);

/** Process 1: reads the queue, then talks over its end of the pipe. */
export function proceedDataGet(q: mp.Queue<number>, p: mp.Connection<number>, parentEvent: mp.Event, childEvent: mp.Event): void {
  for (let i = 0; i < 10; i++) console.log(q.getSync());
  for (let i = 20; i < 30; i++) p.send(i);
  parentEvent.set();
  childEvent.waitSync();
  for (let i = 20; i < 30; i++) console.log(`B Process: ${p.recvSync()}`);
}

/** Process 2: fills the queue, then talks over the other end of the pipe. */
export function proceedDataPut(q: mp.Queue<number>, p: mp.Connection<number>, parentEvent: mp.Event, childEvent: mp.Event): void {
  for (let i = 0; i < 10; i++) q.putSync(i);
  for (let i = 40; i < 50; i++) p.send(i);
  childEvent.set();
  parentEvent.waitSync();
  for (let i = 20; i < 30; i++) console.log(`A Process: ${p.recvSync()}`);
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  const startTime = performance.now();
  const q = new mp.Queue<number>();
  const [parentConn, childConn] = mp.Pipe<number>();
  const parentEvent = new mp.Event();
  const childEvent = new mp.Event();

  const p1 = new mp.Process({ target: proceedDataGet, args: [q, childConn, parentEvent, childEvent] });
  const p2 = new mp.Process({ target: proceedDataPut, args: [q, parentConn, parentEvent, childEvent] });
  const processes = [p1, p2];
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  parentConn.close();
  childConn.close();
  console.log(`multiple process cost: ${Math.round(performance.now() - startTime)} ms`);
}
