/**
 * Queue and Pipe micro benchmarks, worker to worker, beside a plain MessagePort
 * carrying the same messages (the baseline a user would otherwise write).
 *
 *   queueSmall1to1MsgsPerSec   one producer, one consumer, a small message each
 *   messagePortSmallMsgsPerSec the small message through a MessagePort (1 -> 1)
 *   queueSmall2to2MsgsPerSec   two producers, two consumers on one queue
 *   queue64k1to1MsgsPerSec     64 KiB Uint8Array payloads
 *   messagePort64kMsgsPerSec   64 KiB through a MessagePort (copied, as a queue copies)
 *   queue64k2to2MsgsPerSec
 *   pipeRoundTripUs            send + reply over a duplex Pipe (µs per round trip)
 *   messagePortRoundTripUs     round trip over a MessageChannel
 *
 * Each queue and pipe measure runs twice: between worker threads, then between OS
 * processes (the keys ending in "Processes": the process context, where the queue
 * lives in OS shared memory, as Python's multiprocessing does between processes).
 *
 * Method (identical in the Python twin, bench/python/queue_bench.py; change both together):
 * - A FIXED number of messages per measure (not "count until a stop flag").
 * - Producers and consumers are separate workers, started before any clock runs.
 *   Each round every worker says it is ready (a Semaphore), then waits for that
 *   round's start signal (an Event per round), as in Python.
 *   The main thread takes t0 and gives the signal.
 * - Producers share the messages evenly; each consumer takes its share and
 *   reports when (process.hrtime: CLOCK_MONOTONIC, one clock for every thread and
 *   process) it got its last one. A round's time is t0 to the latest report: the
 *   moment the last message was received.
 * - One warm-up round (a quarter of the messages), then 3 timed rounds in the same
 *   workers; the median is reported.
 * - A "small message" is `{ id: i, op: "add", args: [i, 2] }` (a Pool-task-like
 *   object; a dict in Python); a 64 KiB message is a `Uint8Array(65536)` (`bytes` in Python).
 * - Round trip: a pinger sends the small message and waits for the echo worker's
 *   reply, a fixed number of times per round; µs per trip.
 * Counts scale with `durationMs` (1000 = the counts below, clamped to 0.1x..2.5x),
 * as Python's do with microMs. MP_BENCH_VERBOSE=1 prints each round's seconds to stderr.
 *
 * Run alone: node --conditions=multiproc-source --import tsx bench/micro/queue.ts
 */
import { Worker } from "node:worker_threads";
import * as mp from "multiproc";

mp.registerModule(import.meta.url);

const SMALL_MESSAGES = 100_000;
const BIG_MESSAGES = 10_000;
const BIG_BYTES = 64 * 1024;
const ROUND_TRIPS = 25_000;
const TIMED_ROUNDS = 3;
const WARMUP_DIVISOR = 4;

/** How the main thread starts a round: every worker releases `ready`, then waits for `go[round]`. */
interface Control {
  ready: mp.Semaphore;
  go: mp.Event[];
}

function newControl(ctx: mp.Context, rounds: number): Control {
  return { ready: new ctx.Semaphore(0), go: Array.from({ length: rounds }, () => new ctx.Event()) };
}

type Payload = "small" | "64k";

/** Seconds on the monotonic clock every thread and process shares. */
const now = (): number => Number(process.hrtime.bigint()) / 1e9;

/** Messages per round: the warm-up, then the timed rounds. */
function roundsOf(count: number): number[] {
  return [Math.max(1, Math.floor(count / WARMUP_DIVISOR)), ...Array<number>(TIMED_ROUNDS).fill(count)];
}

/** The index-th of `parts` near-equal shares of `total`. */
function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

function startSignal(control: Control, round: number): void {
  control.ready.release();
  control.go[round]!.waitSync();
}

export function producer(q: mp.Queue<unknown>, control: Control, kind: Payload, counts: number[], index: number, producers: number): void {
  const big = kind === "64k" ? new Uint8Array(BIG_BYTES) : undefined;
  counts.forEach((total, round) => {
    const n = share(total, producers, index);
    startSignal(control, round);
    if (big === undefined) {
      for (let i = 0; i < n; i++) q.putSync({ id: i, op: "add", args: [i, 2] });
    } else {
      for (let i = 0; i < n; i++) q.putSync(big);
    }
  });
}

export function consumer(q: mp.Queue<unknown>, results: mp.Queue<number>, control: Control, counts: number[], index: number, consumers: number): void {
  counts.forEach((total, round) => {
    const n = share(total, consumers, index);
    startSignal(control, round);
    for (let i = 0; i < n; i++) q.getSync();
    results.putSync(now());
  });
}

export function echo(conn: mp.Connection<unknown>, trips: number[]): void {
  const total = trips.reduce((a, b) => a + b, 0);
  for (let i = 0; i < total; i++) conn.send(conn.recvSync());
}

export function pinger(conn: mp.Connection<unknown>, results: mp.Queue<number>, control: Control, trips: number[]): void {
  const msg = { id: 1, op: "add", args: [1, 2] };
  trips.forEach((n, round) => {
    startSignal(control, round);
    for (let i = 0; i < n; i++) {
      conn.send(msg);
      conn.recvSync();
    }
    results.putSync(now());
  });
}

/** Waits until the `parties` workers are ready for `round`, then starts it; returns its t0. */
function starter(control: Control, parties: number): (round: number) => Promise<number> {
  return async (round) => {
    for (let i = 0; i < parties; i++) await control.ready.acquire();
    const t0 = now();
    control.go[round]!.set();
    return t0;
  };
}

/**
 * Runs the rounds of one measure whose `parties` workers are started: returns the
 * median seconds of the timed rounds (`report()` yields each reporter's end time).
 */
async function timedRounds(begin: (round: number) => Promise<number>, rounds: number, reporters: number, report: () => Promise<number>): Promise<number> {
  const seconds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = await begin(round);
    let last = 0;
    for (let i = 0; i < reporters; i++) last = Math.max(last, await report());
    seconds.push(last - t0);
  }
  if (process.env.MP_BENCH_VERBOSE) console.error("rounds (s):", seconds.map((s) => Number(s.toFixed(4))));
  const timed = seconds.slice(1).sort((a, b) => a - b);
  return timed[timed.length >> 1]!;
}

async function queueThroughput(ctx: mp.Context, kind: Payload, producers: number, consumers: number, scale: number): Promise<number> {
  const counts = roundsOf(Math.round((kind === "small" ? SMALL_MESSAGES : BIG_MESSAGES) * scale));
  const q = new ctx.Queue<unknown>();
  const results = new ctx.Queue<number>();
  const control = newControl(ctx, counts.length);
  const workers = [
    ...Array.from({ length: consumers }, (_, i) => new ctx.Process({ target: consumer, args: [q, results, control, counts, i, consumers] })),
    ...Array.from({ length: producers }, (_, i) => new ctx.Process({ target: producer, args: [q, control, kind, counts, i, producers] })),
  ];
  for (const w of workers) w.start();
  const seconds = await timedRounds(starter(control, workers.length), counts.length, consumers, () => results.get());
  for (const w of workers) await w.join();
  return Math.round(counts.at(-1)! / seconds);
}

async function pipeRoundTrip(ctx: mp.Context, scale: number): Promise<number> {
  const trips = roundsOf(Math.round(ROUND_TRIPS * scale));
  const [a, b] = ctx.Pipe();
  const results = new ctx.Queue<number>();
  const control = newControl(ctx, trips.length);
  // The echo worker is not a round party: it just answers.
  const workers = [new ctx.Process({ target: echo, args: [b, trips] }), new ctx.Process({ target: pinger, args: [a, results, control, trips] })];
  for (const w of workers) w.start();
  const seconds = await timedRounds(starter(control, 1), trips.length, 1, () => results.get());
  for (const w of workers) await w.join();
  a.close();
  b.close();
  return Number(((seconds * 1e6) / trips.at(-1)!).toFixed(2));
}

/** The MessagePort baseline: the same roles and rounds as above, on a MessageChannel between two workers. */
const PORT_WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const { role, port, control, kind, counts } = workerData;
const now = () => Number(process.hrtime.bigint()) / 1e9;
const startSignal = (round) => {
  Atomics.add(control, 0, 1); Atomics.notify(control, 0);
  while (Atomics.load(control, 1) < round + 1) Atomics.wait(control, 1, Atomics.load(control, 1));
};
if (role === "producer") {
  // Posting never waits: the message lands in the consumer port's queue at once.
  const big = kind === "64k" ? new Uint8Array(${BIG_BYTES}) : undefined;
  counts.forEach((n, round) => {
    startSignal(round);
    if (big === undefined) for (let i = 0; i < n; i++) port.postMessage({ id: i, op: "add", args: [i, 2] });
    else for (let i = 0; i < n; i++) port.postMessage(big);
  });
  port.close();
} else if (role === "consumer" || role === "pinger") {
  const msg = { id: 1, op: "add", args: [1, 2] };
  let round = 0, got = 0;
  const begin = () => { startSignal(round); if (role === "pinger") port.postMessage(msg); };
  port.on("message", () => {
    if (++got < counts[round]) { if (role === "pinger") port.postMessage(msg); return; }
    parentPort.postMessage(now());
    got = 0;
    if (++round < counts.length) begin(); else port.close();
  });
  begin();
} else {
  const total = counts.reduce((a, b) => a + b, 0);
  let seen = 0;
  port.on("message", (m) => { port.postMessage(m); if (++seen === total) port.close(); });
}
`;

async function portRounds(roles: [string, string], kind: Payload, counts: number[]): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const control = new Int32Array(new SharedArrayBuffer(8));
  const spawn = (role: string, port: InstanceType<typeof globalThis.MessagePort>) =>
    new Worker(PORT_WORKER, { eval: true, workerData: { role, port, control, kind, counts }, transferList: [port as never] });
  const workers = [spawn(roles[0], port1), spawn(roles[1], port2)];
  const exited = workers.map((w) => new Promise((resolve) => w.once("exit", resolve)));
  const reports: number[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  for (const w of workers) {
    w.on("message", (t: number) => {
      reports.push(t);
      wake?.();
    });
    w.on("error", (error) => {
      failure = error;
      wake?.();
    });
  }
  const report = async (): Promise<number> => {
    while (reports.length === 0 && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) throw failure;
    return reports.shift()!;
  };
  // Only the consumer (or pinger) waits for the start signal; the echo worker just answers.
  const parties = roles[1] === "producer" ? 2 : 1;
  const begin = async (round: number): Promise<number> => {
    // Atomics words here: the eval'd workers do not load multiproc.
    for (;;) {
      const ready = Atomics.load(control, 0);
      if (ready >= parties * (round + 1)) break;
      await Atomics.waitAsync(control, 0, ready, 5_000).value;
    }
    const t0 = now();
    Atomics.store(control, 1, round + 1);
    Atomics.notify(control, 1);
    return t0;
  };
  const seconds = await timedRounds(begin, counts.length, 1, report);
  await Promise.all(exited);
  return seconds;
}

async function portThroughput(kind: Payload, scale: number): Promise<number> {
  const counts = roundsOf(Math.round((kind === "small" ? SMALL_MESSAGES : BIG_MESSAGES) * scale));
  return Math.round(counts.at(-1)! / (await portRounds(["consumer", "producer"], kind, counts)));
}

async function portRoundTrip(scale: number): Promise<number> {
  const trips = roundsOf(Math.round(ROUND_TRIPS * scale));
  const seconds = await portRounds(["echo", "pinger"], "small", trips);
  return Number(((seconds * 1e6) / trips.at(-1)!).toFixed(2));
}

export async function run(opts: { durationMs: number }): Promise<Record<string, number>> {
  const scale = Math.max(100, Math.min(opts.durationMs, 2_500)) / 1000;
  const threads = mp.getContext("thread");
  const processes = mp.getContext("process");
  return {
    queueSmall1to1MsgsPerSec: await queueThroughput(threads, "small", 1, 1, scale),
    messagePortSmallMsgsPerSec: await portThroughput("small", scale),
    queueSmall2to2MsgsPerSec: await queueThroughput(threads, "small", 2, 2, scale),
    queue64k1to1MsgsPerSec: await queueThroughput(threads, "64k", 1, 1, scale),
    messagePort64kMsgsPerSec: await portThroughput("64k", scale),
    queue64k2to2MsgsPerSec: await queueThroughput(threads, "64k", 2, 2, scale),
    pipeRoundTripUs: await pipeRoundTrip(threads, scale),
    messagePortRoundTripUs: await portRoundTrip(scale),
    queueSmall1to1MsgsPerSecProcesses: await queueThroughput(processes, "small", 1, 1, scale),
    queueSmall2to2MsgsPerSecProcesses: await queueThroughput(processes, "small", 2, 2, scale),
    queue64k1to1MsgsPerSecProcesses: await queueThroughput(processes, "64k", 1, 1, scale),
    queue64k2to2MsgsPerSecProcesses: await queueThroughput(processes, "64k", 2, 2, scale),
    pipeRoundTripUsProcesses: await pipeRoundTrip(processes, scale),
  };
}

if (mp.isMainProcess() && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ durationMs: Number(process.env.MP_BENCH_MICRO_MS ?? 1000) }), null, 2));
}
