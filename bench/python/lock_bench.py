"""multiprocessing.Lock and Event over the same measures as bench/micro/lock.ts.

Prints one JSON object with the same keys:
  lockUncontendedOpsPerSec   acquire + release pairs per second, one process, nobody else
  lockContended2OpsPerSec    acquire + release pairs per second, summed over 2 processes on one lock
  eventPingPongUs            microseconds per round trip between two processes (set ping, wait pong)
(lockUncontendedAsyncOpsPerSec has no Python twin.)
Duration per measure: MP_BENCH_MICRO_MS (default 1000 ms, at most 2500).
"""
import json
import multiprocessing as mp
import os
import time


def run_timed(procs, ready, go, stop, duration):
    """Starts the processes, waits until each is ready, lets them run for `duration` s, then stops and joins them."""
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    go.set()
    time.sleep(duration)
    stop.set()
    for p in procs:
        p.join()


def uncontended(duration):
    lock = mp.Lock()
    ops = 0
    start = time.perf_counter()
    while True:
        for _ in range(4096):
            lock.acquire()
            lock.release()
        ops += 4096
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            return round(ops / elapsed)


def contender(lock, ready, go, stop, out, slot):
    ready.release()
    go.wait()
    ops = 0
    start = time.perf_counter()
    while not stop.is_set():
        for _ in range(256):
            lock.acquire()
            lock.release()
        ops += 256
    out[slot * 2] = ops
    out[slot * 2 + 1] = time.perf_counter() - start


def contended(duration):
    lock = mp.Lock()
    ready = mp.Semaphore(0)
    go, stop = mp.Event(), mp.Event()
    out = mp.RawArray("d", 4)
    procs = [mp.Process(target=contender, args=(lock, ready, go, stop, out, i)) for i in range(2)]
    run_timed(procs, ready, go, stop, duration)
    return round(out[0] / out[1] + out[2] / out[3])


def pinger(ping, pong, ready, go, stop, out):
    ready.release()
    go.wait()
    trips = 0
    start = time.perf_counter()
    while not stop.is_set():
        ping.set()
        pong.wait()
        pong.clear()
        trips += 1
    out[0] = (time.perf_counter() - start) * 1e6 / trips
    out[1] = 1
    ping.set()


def ponger(ping, pong, ready, go, out):
    ready.release()
    go.wait()
    while True:
        ping.wait()
        ping.clear()
        if out[1] == 1:
            return
        pong.set()


def ping_pong(duration):
    ping, pong, go, stop = mp.Event(), mp.Event(), mp.Event(), mp.Event()
    ready = mp.Semaphore(0)
    out = mp.RawArray("d", 2)
    procs = [
        mp.Process(target=ponger, args=(ping, pong, ready, go, out)),
        mp.Process(target=pinger, args=(ping, pong, ready, go, stop, out)),
    ]
    run_timed(procs, ready, go, stop, duration)
    return round(out[0], 2)


def main():
    duration = max(0.1, min(int(os.environ.get("MP_BENCH_MICRO_MS") or 1000), 2500) / 1000)
    result = {
        "lockUncontendedOpsPerSec": uncontended(duration),
        "lockContended2OpsPerSec": contended(duration),
        "eventPingPongUs": ping_pong(duration),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
