"""Python twin of bench/micro/queue.ts: multiprocessing.Queue and Pipe, same keys, same method.

Method (identical in bench/micro/queue.ts; change both together):
- A FIXED number of messages per measure (no "count until stop, then terminate":
  that measured how far a producer got while it fought its own feeder thread for
  the GIL, and varied 300x between runs).
- Producers and consumers are separate processes, started before any clock runs.
  Each round, every worker says it is ready (a Semaphore), then waits for that
  round's start Event. The main process takes t0 and sets the Event.
- Producers share the messages evenly; each consumer takes its share and reports
  when (time.perf_counter: CLOCK_MONOTONIC, one clock for every process) it got its
  last one. A round's time is t0 to the latest such report: the moment the last
  message was received.
- One warm-up round (a quarter of the messages), then 3 timed rounds in the same
  processes; the median is reported.
- A "small message" is {"id": i, "op": "add", "args": [i, 2]} (a Pool-task-like
  dict); a 64 KiB message is bytes(65536) (a Uint8Array(65536) in Node).
- Pipe round trip: a pinger process sends the small message and waits for the
  echo process's reply, a fixed number of times per round; microseconds per trip.

Message counts scale with microMs (MP_BENCH_PLAN JSON from bench/run.ts, or
MP_BENCH_MICRO_MS; default 1000 = the counts below, clamped to 0.1x..2.5x).
Prints one JSON object (MP_BENCH_VERBOSE=1: each round's seconds to stderr). MessagePort keys (a Node baseline) are printed as null.
"""
import json
import multiprocessing as mp
import os
import statistics
import sys
import time

SMALL_MESSAGES = 100_000
BIG_MESSAGES = 10_000
BIG_BYTES = 64 * 1024
ROUND_TRIPS = 25_000
TIMED_ROUNDS = 3
WARMUP_DIVISOR = 4


def rounds_of(count):
    """Messages per round: the warm-up, then the timed rounds."""
    return [max(1, count // WARMUP_DIVISOR)] + [count] * TIMED_ROUNDS


def share(total, parts, index):
    """The index-th of `parts` near-equal shares of `total`."""
    return total // parts + (1 if index < total % parts else 0)


def start_signal(ready, go):
    ready.release()
    go.wait()


def producer(q, ready, gos, kind, counts, index, producers):
    big = bytes(BIG_BYTES) if kind == "64k" else None
    for go, total in zip(gos, counts):
        n = share(total, producers, index)
        start_signal(ready, go)
        if big is None:
            for i in range(n):
                q.put({"id": i, "op": "add", "args": [i, 2]})
        else:
            for _ in range(n):
                q.put(big)


def consumer(q, results, ready, gos, counts, index, consumers):
    for go, total in zip(gos, counts):
        n = share(total, consumers, index)
        start_signal(ready, go)
        for _ in range(n):
            q.get()
        results.put(time.perf_counter())


def echo(conn, trips):
    for _ in range(sum(trips)):
        conn.send(conn.recv())


def pinger(conn, results, ready, gos, trips):
    msg = {"id": 1, "op": "add", "args": [1, 2]}
    for go, n in zip(gos, trips):
        start_signal(ready, go)
        for _ in range(n):
            conn.send(msg)
            conn.recv()
        results.put(time.perf_counter())


def timed_rounds(procs, results, ready, gos, reporters):
    """Runs the rounds: returns the seconds of each timed round (warm-up dropped)."""
    for p in procs:
        p.start()
    seconds = []
    for go in gos:
        for _ in procs:
            ready.acquire()
        t0 = time.perf_counter()
        go.set()
        last = max(results.get() for _ in range(reporters))
        seconds.append(last - t0)
    for p in procs:
        p.join()
    if os.environ.get("MP_BENCH_VERBOSE"):
        print("rounds (s):", [round(s, 4) for s in seconds], file=sys.stderr)
    return seconds[1:]


def queue_throughput(kind, producers, consumers, scale):
    counts = rounds_of(round((SMALL_MESSAGES if kind == "small" else BIG_MESSAGES) * scale))
    q = mp.Queue()
    results = mp.Queue()
    ready = mp.Semaphore(0)
    gos = [mp.Event() for _ in counts]
    procs = [mp.Process(target=consumer, args=(q, results, ready, gos, counts, i, consumers)) for i in range(consumers)]
    procs += [mp.Process(target=producer, args=(q, ready, gos, kind, counts, i, producers)) for i in range(producers)]
    seconds = timed_rounds(procs, results, ready, gos, consumers)
    return round(counts[-1] / statistics.median(seconds))


def pipe_round_trip(scale):
    trips = rounds_of(round(ROUND_TRIPS * scale))
    a, b = mp.Pipe()
    results = mp.Queue()
    ready = mp.Semaphore(0)
    gos = [mp.Event() for _ in trips]
    echoer = mp.Process(target=echo, args=(b, trips))
    echoer.start()  # not a round participant: it just answers
    seconds = timed_rounds([mp.Process(target=pinger, args=(a, results, ready, gos, trips))], results, ready, gos, 1)
    echoer.join()
    return round(statistics.median(seconds) * 1e6 / trips[-1], 2)


def main():
    plan = json.loads(os.environ.get("MP_BENCH_PLAN") or "{}")
    ms = plan.get("microMs") or int(os.environ.get("MP_BENCH_MICRO_MS", "1000"))
    scale = max(0.1, min(ms, 2500)) / 1000
    measures = {
        "queueSmall1to1MsgsPerSec": queue_throughput("small", 1, 1, scale),
        "messagePortSmallMsgsPerSec": None,
        "queueSmall2to2MsgsPerSec": queue_throughput("small", 2, 2, scale),
        "queue64k1to1MsgsPerSec": queue_throughput("64k", 1, 1, scale),
        "messagePort64kMsgsPerSec": None,
        "queue64k2to2MsgsPerSec": queue_throughput("64k", 2, 2, scale),
        "pipeRoundTripUs": pipe_round_trip(scale),
        "messagePortRoundTripUs": None,
    }
    # Python's workers are always processes: the same numbers stand beside multiproc's process rows.
    for key in ("queueSmall1to1MsgsPerSec", "queueSmall2to2MsgsPerSec", "queue64k1to1MsgsPerSec", "queue64k2to2MsgsPerSec", "pipeRoundTripUs"):
        measures[key + "Processes"] = measures[key]
    print(json.dumps(measures))


if __name__ == "__main__":
    main()
