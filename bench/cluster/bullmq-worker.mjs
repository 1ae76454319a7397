/**
 * One BullMQ worker process for the cluster bench (bench/cluster/bullmq.ts starts two):
 *   node bullmq-worker.mjs <redis url> <queue> <concurrency>
 * Prints "ready" once it is listening for jobs; runs until SIGTERM.
 */
import { Worker } from "bullmq";
import IORedis from "ioredis";
import { inc, incAll } from "./tasks.mjs";

const [url, queue, concurrency] = process.argv.slice(2);
// BullMQ's documented setting for a worker's connection: blocking commands must not be retried.
const connection = new IORedis(url, { maxRetriesPerRequest: null });
const worker = new Worker(queue, async (job) => (job.name === "inc" ? inc(job.data) : incAll(job.data)), {
  connection,
  concurrency: Number(concurrency),
});
await worker.waitUntilReady();
process.stdout.write("ready\n");
process.on("SIGTERM", async () => {
  await worker.close();
  connection.disconnect();
  process.exit(0);
});
