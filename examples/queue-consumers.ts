/**
 * Seed 003, part 1: consumers of a JoinableQueue (Python's `Consumer(multiprocessing.Process)`).
 *
 * Each Consumer takes `{ a, b }` tasks until a poison pill (null), marks each one
 * done, and puts "a * b = product" on a results queue. The main thread waits for
 * every task with tasks.join(), then prints the results.
 *
 * Run: npx tsx examples/queue-consumers.ts [thread|process] (after npm install, which builds the library)
 */
import * as mp from "multiproc";
import { useContextFromArgs } from "./example-context.ts";

mp.registerModule(import.meta.url);

export interface Task {
  a: number;
  b: number;
}

/** A worker process that drains the task queue (its fields travel to the worker). */
export class Consumer extends mp.Process {
  taskQueue: mp.JoinableQueue<Task | null>;
  resultQueue: mp.Queue<string>;

  constructor(taskQueue: mp.JoinableQueue<Task | null>, resultQueue: mp.Queue<string>) {
    super();
    this.taskQueue = taskQueue;
    this.resultQueue = resultQueue;
  }

  override async run(): Promise<void> {
    const procName = this.name;
    for (;;) {
      const nextTask = this.taskQueue.getSync();
      if (nextTask === null) {
        // Poison pill means shutdown.
        console.log(`${procName}: exiting`);
        this.taskQueue.taskDone();
        break;
      }
      console.log(`${procName}: ${nextTask.a} * ${nextTask.b}`);
      await new Promise((resolve) => setTimeout(resolve, 100)); // pretend to take some time to do the work
      const answer = `${nextTask.a} * ${nextTask.b} = ${nextTask.a * nextTask.b}`;
      this.taskQueue.taskDone();
      await this.resultQueue.put(answer);
    }
  }
}

if (mp.isMainProcess()) {
  useContextFromArgs(); // "thread" (default) or "process", from the command line
  // Establish communication queues.
  const tasks = new mp.JoinableQueue<Task | null>();
  const results = new mp.Queue<string>();

  // Start consumers.
  const numConsumers = mp.cpuCount();
  console.log(`Creating ${numConsumers} consumers`);
  const consumers = Array.from({ length: numConsumers }, () => new Consumer(tasks, results));
  for (const w of consumers) w.start();

  // Enqueue jobs.
  let numJobs = 10;
  for (let i = 0; i < numJobs; i++) await tasks.put({ a: i, b: i });

  // Add a poison pill for each consumer.
  for (let i = 0; i < numConsumers; i++) await tasks.put(null);

  // Wait for all of the tasks to finish.
  await tasks.join();

  // Start printing results.
  while (numJobs) {
    const result = await results.get();
    console.log("Result:", result);
    numJobs -= 1;
  }
  for (const w of consumers) await w.join();
}
