"""Python twin of bench/micro/queue.ts: multiprocessing.Queue and Pipe, same keys.

Run by bench/run.ts (reads microMs from MP_BENCH_PLAN, JSON) or by hand
(MP_BENCH_MICRO_MS, default 1000). Prints one JSON object.
Keys with no Python counterpart (the MessagePort baseline) are left out.
"""
import json
import multiprocessing as mp
import os
import time


def message(kind, i, big):
    return {"id": i, "op": "add", "args": [i, 2]} if kind == "small" else big


def producer(q, ready, go, stop, kind, pills):
    # At stop the feeder thread may still hold a backlog; the process then waits to
    # flush it until the main process terminates it, once consumers have reported.
    big = bytes(64 * 1024) if kind == "64k" else None
    ready.release()
    go.wait()
    i = 0
    while not stop.is_set():
        for _ in range(64):
            q.put(message(kind, i, big))
            i += 1
    for _ in range(pills):
        q.put(None)


def consumer(q, results, ready, go, stop):
    # Counts what arrives until stop or a pill (Python producers outrun consumers;
    # draining the backlog would only add time at the consumer's rate).
    ready.release()
    go.wait()
    count = 0
    first = 0.0
    while True:
        item = q.get()
        if item is None:
            break
        if count == 0:
            first = time.time()
        count += 1
        if count & 63 == 0 and stop.is_set():
            break
    results.put((count, first, time.time()))


def echo(conn):
    while True:
        item = conn.recv()
        conn.send(item)
        if item is None:
            break


def pinger(conn, results, ready, go, stop):
    ready.release()
    go.wait()
    msg = {"id": 1, "op": "add", "args": [1, 2]}
    started = time.perf_counter()
    trips = 0
    while not stop.is_set():
        conn.send(msg)
        conn.recv()
        trips += 1
    results.put((time.perf_counter() - started) * 1e6 / trips)
    conn.send(None)
    conn.recv()


def queue_throughput(kind, producers, consumers, duration):
    q = mp.Queue()
    results = mp.Queue()
    ready = mp.Semaphore(0)
    go = mp.Event()
    stop = mp.Event()
    procs = [mp.Process(target=consumer, args=(q, results, ready, go, stop)) for _ in range(consumers)]
    procs += [mp.Process(target=producer, args=(q, ready, go, stop, kind, consumers)) for _ in range(producers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    go.set()
    time.sleep(duration)
    stop.set()
    count, first, last = 0, float("inf"), 0.0
    for _ in range(consumers):
        c, f, l = results.get()
        count += c
        first = min(first, f)
        last = max(last, l)
    for p in procs:
        p.terminate()
        p.join()
    return round(count / (last - first))


def pipe_round_trip(duration):
    a, b = mp.Pipe()
    results = mp.Queue()
    ready = mp.Semaphore(0)
    go = mp.Event()
    stop = mp.Event()
    procs = [mp.Process(target=echo, args=(b,)), mp.Process(target=pinger, args=(a, results, ready, go, stop))]
    for p in procs:
        p.start()
    ready.acquire()
    go.set()
    time.sleep(duration)
    stop.set()
    us = results.get()
    for p in procs:
        p.join()
    return round(us, 2)


def main():
    plan = json.loads(os.environ.get("MP_BENCH_PLAN") or "{}")
    ms = plan.get("microMs") or int(os.environ.get("MP_BENCH_MICRO_MS", "1000"))
    duration = max(0.1, min(ms, 2500)) / 1000
    print(json.dumps({
        "queueSmall1to1MsgsPerSec": queue_throughput("small", 1, 1, duration),
        "queueSmall2to2MsgsPerSec": queue_throughput("small", 2, 2, duration),
        "queue64k1to1MsgsPerSec": queue_throughput("64k", 1, 1, duration),
        "queue64k2to2MsgsPerSec": queue_throughput("64k", 2, 2, duration),
        "pipeRoundTripUs": pipe_round_trip(duration),
    }))


if __name__ == "__main__":
    main()
