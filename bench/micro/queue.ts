/**
 * Queue and Pipe micro benchmarks, worker thread to worker thread, beside a plain
 * MessagePort carrying the same messages (the baseline a user would otherwise write).
 *
 *   queueSmall1to1MsgsPerSec   one producer, one consumer, a small object per message
 *   queueSmall2to2MsgsPerSec   two producers, two consumers on one queue
 *   queue64k1to1MsgsPerSec     64 KiB Uint8Array payloads
 *   queue64k2to2MsgsPerSec
 *   pipeRoundTripUs            send + reply over a duplex Pipe (µs per round trip)
 *   messagePortSmallMsgsPerSec the small message through a MessagePort
 *   messagePort64kMsgsPerSec   64 KiB through a MessagePort (copied, as a queue copies)
 *   messagePortRoundTripUs     round trip over a MessageChannel
 *
 * Twin: bench/python/queue_bench.py (multiprocessing.Queue and Pipe, same keys).
 * Run alone: node --conditions=multiproc-source --import tsx bench/micro/queue.ts
 */
import { Worker } from "node:worker_threads";
import * as mp from "../../src/index.ts";

mp.registerModule(import.meta.url);

/** Control words shared by the main thread and the workers of one measure. */
const READY = 0;
const GO = 1;
const STOP = 2;

type Payload = "small" | "64k";

function message(kind: Payload, i: number, big: Uint8Array | undefined): unknown {
  return kind === "small" ? { id: i, op: "add", args: [i, 2] } : big!;
}

function startSignal(control: Int32Array): void {
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
  while (Atomics.load(control, GO) === 0) Atomics.wait(control, GO, 0);
}

/** Producer: puts until STOP, then one null pill per `pills`. */
export function producer(q: mp.Queue<unknown>, control: Int32Array, kind: Payload, pills: number): void {
  const big = kind === "64k" ? new Uint8Array(64 * 1024).fill(1) : undefined;
  startSignal(control);
  let i = 0;
  while (Atomics.load(control, STOP) === 0) {
    for (let j = 0; j < 64; j++) q.putSync(message(kind, i++, big));
  }
  for (let j = 0; j < pills; j++) q.putSync(null);
}

/** Consumer: counts items until a pill; reports { count, first, last } (epoch ms). */
export function consumer(q: mp.Queue<unknown>, results: mp.Queue<unknown>, control: Int32Array): void {
  startSignal(control);
  let count = 0;
  let first = 0;
  let last = 0;
  for (;;) {
    const item = q.getSync();
    if (item === null) break;
    if (count === 0) first = performance.timeOrigin + performance.now();
    count++;
  }
  last = performance.timeOrigin + performance.now();
  results.putSync({ count, first, last });
}

/** Echoes until null. */
export function echo(conn: mp.Connection<unknown>): void {
  for (;;) {
    const item = conn.recvSync();
    conn.send(item);
    if (item === null) break;
  }
}

/** Times round trips until STOP; reports µs per round trip. */
export function pinger(conn: mp.Connection<unknown>, results: mp.Queue<unknown>, control: Int32Array): void {
  startSignal(control);
  const msg = { id: 1, op: "add", args: [1, 2] };
  const started = performance.now();
  let trips = 0;
  while (Atomics.load(control, STOP) === 0) {
    conn.send(msg);
    conn.recvSync();
    trips++;
  }
  results.putSync((performance.now() - started) * 1000 / trips);
  conn.send(null);
  conn.recvSync();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(control: Int32Array, parties: number): Promise<void> {
  for (;;) {
    const ready = Atomics.load(control, READY);
    if (ready >= parties) return;
    await Atomics.waitAsync(control, READY, ready, 5_000).value;
  }
}

async function queueThroughput(kind: Payload, producers: number, consumers: number, durationMs: number): Promise<number> {
  const q = new mp.Queue<unknown>();
  const results = new mp.Queue<{ count: number; first: number; last: number }>();
  const control = new Int32Array(new SharedArrayBuffer(16));
  const workers = [
    ...Array.from({ length: consumers }, () => new mp.Process({ target: consumer, args: [q, results, control] })),
    ...Array.from({ length: producers }, (_, i) =>
      new mp.Process({ target: producer, args: [q, control, kind, Math.floor(consumers / producers) + (i < consumers % producers ? 1 : 0)] })),
  ];
  for (const w of workers) w.start();
  await waitReady(control, workers.length);
  Atomics.store(control, GO, 1);
  Atomics.notify(control, GO);
  await sleep(durationMs);
  Atomics.store(control, STOP, 1);
  let count = 0;
  let first = Infinity;
  let last = 0;
  for (let i = 0; i < consumers; i++) {
    const r = await results.get();
    count += r.count;
    first = Math.min(first, r.first);
    last = Math.max(last, r.last);
  }
  for (const w of workers) await w.join();
  return Math.round(count / ((last - first) / 1000));
}

async function pipeRoundTrip(durationMs: number): Promise<number> {
  const [a, b] = mp.Pipe();
  const results = new mp.Queue<number>();
  const control = new Int32Array(new SharedArrayBuffer(16));
  const workers = [new mp.Process({ target: echo, args: [b] }), new mp.Process({ target: pinger, args: [a, results, control] })];
  for (const w of workers) w.start();
  await waitReady(control, 1);
  Atomics.store(control, GO, 1);
  Atomics.notify(control, GO);
  await sleep(durationMs);
  Atomics.store(control, STOP, 1);
  const us = await results.get();
  for (const w of workers) await w.join();
  a.close();
  b.close();
  return Number(us.toFixed(2));
}

/** The MessagePort baseline: the same loop as producer/consumer, on a MessageChannel between two workers. */
const PORT_WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const { role, port, control, kind } = workerData;
const big = kind === "64k" ? new Uint8Array(64 * 1024).fill(1) : undefined;
Atomics.add(control, 0, 1); Atomics.notify(control, 0);
while (Atomics.load(control, 1) === 0) Atomics.wait(control, 1, 0);
if (role === "producer") {
  let i = 0;
  const pump = () => {
    // Yield now and then so the port can flush; post in bursts like the queue producer.
    for (let n = 0; n < 256 && Atomics.load(control, 2) === 0; n++) {
      port.postMessage(kind === "small" ? { id: i, op: "add", args: [i++, 2] } : big);
    }
    if (Atomics.load(control, 2) === 0) setImmediate(pump); else { port.postMessage(null); }
  };
  pump();
} else if (role === "consumer") {
  let count = 0, first = 0;
  port.on("message", (m) => {
    if (m === null) { parentPort.postMessage({ count, first, last: performance.timeOrigin + performance.now() }); port.close(); return; }
    if (count++ === 0) first = performance.timeOrigin + performance.now();
  });
} else if (role === "echo") {
  port.on("message", (m) => { port.postMessage(m); if (m === null) port.close(); });
} else {
  const msg = { id: 1, op: "add", args: [1, 2] };
  const started = performance.now();
  let trips = 0;
  port.on("message", (m) => {
    if (m === null) { port.close(); return; }
    trips++;
    if (Atomics.load(control, 2) === 0) port.postMessage(msg);
    else { parentPort.postMessage((performance.now() - started) * 1000 / trips); port.postMessage(null); }
  });
  port.postMessage(msg);
}
`;

async function portRun(roles: [string, string], kind: Payload, durationMs: number): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  const control = new Int32Array(new SharedArrayBuffer(16));
  const spawn = (role: string, port: InstanceType<typeof globalThis.MessagePort>) =>
    new Worker(PORT_WORKER, { eval: true, workerData: { role, port, control, kind }, transferList: [port as never] });
  const workers = [spawn(roles[0], port1), spawn(roles[1], port2)];
  const result = new Promise((resolve, reject) => {
    for (const w of workers) {
      w.on("message", resolve);
      w.on("error", reject);
    }
  });
  await waitReady(control, 2);
  Atomics.store(control, GO, 1);
  Atomics.notify(control, GO);
  await sleep(durationMs);
  Atomics.store(control, STOP, 1);
  const value = await result;
  await Promise.all(workers.map((w) => w.terminate()));
  return value;
}

async function portThroughput(kind: Payload, durationMs: number): Promise<number> {
  const r = (await portRun(["consumer", "producer"], kind, durationMs)) as { count: number; first: number; last: number };
  return Math.round(r.count / ((r.last - r.first) / 1000));
}

export async function run(opts: { durationMs: number }): Promise<Record<string, number>> {
  const ms = Math.max(100, Math.min(opts.durationMs, 2_500));
  return {
    queueSmall1to1MsgsPerSec: await queueThroughput("small", 1, 1, ms),
    messagePortSmallMsgsPerSec: await portThroughput("small", ms),
    queueSmall2to2MsgsPerSec: await queueThroughput("small", 2, 2, ms),
    queue64k1to1MsgsPerSec: await queueThroughput("64k", 1, 1, ms),
    messagePort64kMsgsPerSec: await portThroughput("64k", ms),
    queue64k2to2MsgsPerSec: await queueThroughput("64k", 2, 2, ms),
    pipeRoundTripUs: await pipeRoundTrip(ms),
    messagePortRoundTripUs: Number(((await portRun(["echo", "pinger"], "small", ms)) as number).toFixed(2)),
  };
}

if (mp.isMainProcess() && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ durationMs: Number(process.env.MP_BENCH_MICRO_MS ?? 1000) }), null, 2));
}
