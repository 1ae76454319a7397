"""Python twin of bench/micro/scaling.ts: cost as work grows, same keys, same method.

- imap(inc) over a generator of 10,000,000 numbers (quick: 500,000), chunksize 10,000, every
  result read; the memory growth is the peak resident set during the run over the set before
  it, sampled every 10 ms by a thread. Python's imap hands the generator to its task handler
  thread, which turns it into tasks as fast as the workers' input pipe takes them (a full
  pipe blocks it, which bounds the memory).
- map(inc) over 1,000,000 numbers (W2) beside it.
- W1 (apply_async(inc) submitted at once, then every get()) at 20,000 and 200,000 tasks
  (quick: 2,000 and 20,000).
- W3's speed-up with 8 workers over W3's with 2: each pooled run against the sequential run
  just before it, the median of 3.

Python's workers are processes: the numbers stand beside multiproc's process rows (keys ending
in "Processes"); the thread keys are printed as null.
"""
import json
import multiprocessing as mp
import os
import statistics
import threading
import time

CHUNK = 10_000


def inc(x):
    return x + 1


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def numbers(count):
    for i in range(count):
        yield i


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_growth(body):
    before = rss_bytes()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        value = body()
    finally:
        done.set()
        sampler.join()
    peak[0] = max(peak[0], rss_bytes())
    return value, (peak[0] - before) / 2 ** 20


def tasks_per_second(pool, count):
    start = time.perf_counter()
    results = [pool.apply_async(inc, (x,)) for x in range(count)]
    for r in results:
        r.get()
    return count / (time.perf_counter() - start)


def speed_up(pool, tasks, n):
    ratios = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(tasks):
            fib(n)
        sequential = time.perf_counter() - start
        start = time.perf_counter()
        for r in [pool.apply_async(fib, (n,)) for _ in range(tasks)]:
            r.get()
        ratios.append(sequential / (time.perf_counter() - start))
    return statistics.median(ratios)


def main():
    plan = json.loads(os.environ.get("MP_BENCH_PLAN") or "{}")
    ms = plan.get("microMs") or int(os.environ.get("MP_BENCH_MICRO_MS", "2000"))
    quick = ms < 1000
    imap_items = 500_000 if quick else 10_000_000
    fib_tasks, fib_n = (40, 24) if quick else (200, 27)
    small = 2_000 if quick else 20_000
    out = {}
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(inc, range(20_000), 1_000)  # warm-up
        start = time.perf_counter()
        pool.map(inc, list(range(1_000_000)), CHUNK)
        out["mapItemsPerSec"] = round(1_000_000 / (time.perf_counter() - start))

        def imap_all():
            latest = -1
            for value in pool.imap(inc, numbers(imap_items), CHUNK):
                latest = value
            return latest

        start = time.perf_counter()
        last, growth = rss_growth(imap_all)
        if last != imap_items:
            raise RuntimeError(f"imap's last result was {last}, expected {imap_items}")
        out["imapItemsPerSec"] = round(imap_items / (time.perf_counter() - start))
        out["imapRssGrowthMiB"] = round(growth, 1)
        tasks_per_second(pool, small)  # warm-up
        out["w1At20kTasksPerSec"] = round(tasks_per_second(pool, small))
        out["w1At200kTasksPerSec"] = round(tasks_per_second(pool, small * 10))
        two = speed_up(pool, fib_tasks, fib_n)
    with mp.get_context("fork").Pool(8) as eight:
        for r in [eight.apply_async(fib, (10,)) for _ in range(16)]:
            r.get()
        out["w3SpeedUp8WorkersOver2"] = round(speed_up(eight, fib_tasks, fib_n) / two, 3)
    measures = {}
    for key, value in out.items():
        measures[key] = None
        measures[key + "Processes"] = value
    print(json.dumps(measures))


if __name__ == "__main__":
    main()
