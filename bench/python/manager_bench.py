"""multiprocessing.Manager()'s DictProxy and ListProxy over the same measures as bench/micro/manager.ts.

Prints one JSON object with the same keys:
  dictGetRoundTripsPerSec, dictSetRoundTripsPerSec, listAppendPerSec      one client
  dictGetRoundTrips4WorkersPerSec, listAppend4WorkersPerSec              summed over 4 processes at once
Duration per measure: MP_BENCH_MICRO_MS (default 1000 ms, at most 2500).
"""
import json
import multiprocessing as mp
import os
import time


def loop(op, d, l, duration):
    ops = 0
    start = time.perf_counter()
    while True:
        for i in range(256):
            if op == "get":
                d.get("k")
            elif op == "set":
                d["k"] = i
            else:
                l.append(i)
        ops += 256
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            return ops, elapsed


def worker(op, d, l, duration, start, out):
    d.get("k")  # connected before the clock starts
    start.wait()
    out.put(loop(op, d, l, duration))


def four_workers(op, d, l, duration):
    start = mp.Barrier(4)
    out = mp.Queue()
    procs = [mp.Process(target=worker, args=(op, d, l, duration, start, out)) for _ in range(4)]
    for p in procs:
        p.start()
    total = 0.0
    for _ in procs:
        ops, elapsed = out.get()
        total += ops / elapsed
    for p in procs:
        p.join()
    return round(total)


def main():
    duration = max(100, min(int(os.environ.get("MP_BENCH_MICRO_MS", "1000")), 2500)) / 1000
    with mp.Manager() as manager:
        d = manager.dict({"k": 1})
        l = manager.list()
        loop("get", d, l, 0.1)
        rate = lambda r: round(r[0] / r[1])
        result = {
            "dictGetRoundTripsPerSec": rate(loop("get", d, l, duration)),
            "dictSetRoundTripsPerSec": rate(loop("set", d, l, duration)),
            "listAppendPerSec": rate(loop("append", d, l, duration)),
            "dictGetRoundTrips4WorkersPerSec": four_workers("get", d, l, duration),
            "listAppend4WorkersPerSec": four_workers("append", d, l, duration),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
