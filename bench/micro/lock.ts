/**
 * Lock and Event micro benchmarks.
 *
 *   lockUncontendedOpsPerSec      acquireSync + release pairs per second, one thread, nobody else
 *   lockUncontendedAsyncOpsPerSec await acquire() + release pairs per second, one thread
 *   lockContended2OpsPerSec       acquireSync + release pairs per second, summed over 2 workers on one lock
 *   eventPingPongUs               µs per round trip: worker A sets ping and waits pong, worker B answers
 *
 * Twin: bench/python/lock_bench.py (multiprocessing.Lock and Event, same keys).
 * Run alone: node --conditions=multiproc-source --import tsx bench/micro/lock.ts
 */
import * as mp from "multiproc";

mp.registerModule(import.meta.url);

const READY = 0;
const GO = 1;
const STOP = 2;

function startSignal(control: Int32Array): void {
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
  while (Atomics.load(control, GO) === 0) Atomics.wait(control, GO, 0);
}

/** Contender: acquire/release until STOP; writes its count and elapsed ms to `out[slot]`. */
export function contender(lock: mp.Lock, control: Int32Array, out: Float64Array, slot: number): void {
  startSignal(control);
  const started = performance.now();
  let ops = 0;
  while (Atomics.load(control, STOP) === 0) {
    for (let i = 0; i < 256; i++) {
      lock.acquireSync();
      lock.release();
    }
    ops += 256;
  }
  out[slot * 2] = ops;
  out[slot * 2 + 1] = performance.now() - started;
}

/** Ping side: round trips until STOP; writes µs per round trip to out[0]. */
export function pinger(ping: mp.Event, pong: mp.Event, control: Int32Array, out: Float64Array): void {
  startSignal(control);
  const started = performance.now();
  let trips = 0;
  while (Atomics.load(control, STOP) === 0) {
    ping.set();
    pong.waitSync();
    pong.clear();
    trips++;
  }
  out[0] = ((performance.now() - started) * 1000) / trips;
  out[1] = 1; // tells the echo side to stop
  ping.set();
}

/** Pong side: answers each ping until the pinger is done. */
export function ponger(ping: mp.Event, pong: mp.Event, control: Int32Array, out: Float64Array): void {
  startSignal(control);
  for (;;) {
    ping.waitSync();
    ping.clear();
    if (out[1] === 1) return;
    pong.set();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(control: Int32Array, parties: number): Promise<void> {
  for (;;) {
    const ready = Atomics.load(control, READY);
    if (ready >= parties) return;
    await Atomics.waitAsync(control, READY, ready, 5_000).value;
  }
}

async function race(workers: mp.Process[], control: Int32Array, durationMs: number): Promise<void> {
  for (const w of workers) w.start();
  await waitReady(control, workers.length);
  Atomics.store(control, GO, 1);
  Atomics.notify(control, GO);
  await sleep(durationMs);
  Atomics.store(control, STOP, 1);
  for (const w of workers) await w.join();
}

function uncontended(durationMs: number): number {
  const lock = new mp.Lock();
  const started = performance.now();
  let ops = 0;
  let elapsed = 0;
  do {
    for (let i = 0; i < 4096; i++) {
      lock.acquireSync();
      lock.release();
    }
    ops += 4096;
    elapsed = performance.now() - started;
  } while (elapsed < durationMs);
  return Math.round(ops / (elapsed / 1000));
}

async function uncontendedAsync(durationMs: number): Promise<number> {
  const lock = new mp.Lock();
  const started = performance.now();
  let ops = 0;
  let elapsed = 0;
  do {
    for (let i = 0; i < 1024; i++) {
      await lock.acquire();
      lock.release();
    }
    ops += 1024;
    elapsed = performance.now() - started;
  } while (elapsed < durationMs);
  return Math.round(ops / (elapsed / 1000));
}

async function contended(durationMs: number): Promise<number> {
  const lock = new mp.Lock();
  const control = new Int32Array(new SharedArrayBuffer(16));
  const out = new Float64Array(new SharedArrayBuffer(32));
  await race([0, 1].map((slot) => new mp.Process({ target: contender, args: [lock, control, out, slot] })), control, durationMs);
  return Math.round(out[0] / (out[1] / 1000) + out[2] / (out[3] / 1000));
}

async function pingPong(durationMs: number): Promise<number> {
  const ping = new mp.Event();
  const pong = new mp.Event();
  const control = new Int32Array(new SharedArrayBuffer(16));
  const out = new Float64Array(new SharedArrayBuffer(16));
  await race(
    [new mp.Process({ target: ponger, args: [ping, pong, control, out] }), new mp.Process({ target: pinger, args: [ping, pong, control, out] })],
    control,
    durationMs,
  );
  return Number(out[0].toFixed(2));
}

export async function run(opts: { durationMs: number }): Promise<Record<string, number>> {
  const ms = Math.max(100, Math.min(opts.durationMs, 2_500));
  return {
    lockUncontendedOpsPerSec: uncontended(ms),
    lockUncontendedAsyncOpsPerSec: await uncontendedAsync(ms),
    lockContended2OpsPerSec: await contended(ms),
    eventPingPongUs: await pingPong(ms),
  };
}

if (mp.isMainProcess() && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ durationMs: Number(process.env.MP_BENCH_MICRO_MS ?? 1000) }), null, 2));
}
