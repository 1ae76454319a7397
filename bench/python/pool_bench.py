"""multiprocessing.Pool over the same measures W1-W5 as bench/macro/suite.ts.

Run by bench/run.ts with the plan in MP_BENCH_PLAN (JSON); run by hand it uses the
same defaults (MP_BENCH_QUICK=1, MP_BENCH_WORKERS, MP_BENCH_REPEAT apply).
Prints one JSON object shaped like the Node children's PoolResult.
"""
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from array import array


def inc(x):
    return x + 1


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sum_array(values):
    return sum(values)


def spin(ms):
    """Keeps the CPU busy for `ms` milliseconds by the clock, like tasks.mjs's spin."""
    end = time.perf_counter() + ms / 1000
    turns = 0
    while time.perf_counter() < end:
        turns += 1
    return turns


def default_plan():
    quick = os.environ.get("MP_BENCH_QUICK") in ("1", "true")
    return {
        "workers": int(os.environ.get("MP_BENCH_WORKERS") or 2),
        "repeat": int(os.environ.get("MP_BENCH_REPEAT") or (1 if quick else 3)),
        "tinyTasks": 2_000 if quick else 20_000,
        "mapItems": 100_000 if quick else 1_000_000,
        "mapChunkSize": 10_000,
        "fibTasks": 40 if quick else 200,
        "fibN": 24 if quick else 27,
        "bulkTasks": 50 if quick else 500,
        "bulkBytes": 2 ** 20,
        "warmupTasks": 200 if quick else 2_000,
    }


def steady_runs(repeat, body):
    """time_runs after one untimed run, as suite.ts's steadyRuns."""
    body()
    return time_runs(repeat, body)


def time_runs(repeat, body):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1000)
    return times


def rate(count, times_ms, unit):
    samples = [count * 1000 / ms for ms in times_ms]
    return {"value": statistics.median(samples), "unit": unit, "better": "higher", "samples": samples}


def duration(times_ms):
    return {"value": statistics.median(times_ms), "unit": "ms", "better": "lower", "samples": times_ms}


def check(what, actual, expected):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected}, got {actual}")


def warm_up(pool, plan):
    n = plan["warmupTasks"]
    results = [r.get() for r in [pool.apply_async(inc, (x,)) for x in range(n)]]
    check("inc warm-up", results[-1], n)
    check("map warm-up last item", pool.map(inc, range(n), plan["mapChunkSize"])[-1], n)
    check("fib warm-up", pool.apply(fib, (10,)), 55)
    for r in [pool.apply_async(spin, (1,)) for _ in range(plan["workers"] * 2)]:
        r.get()


def all_of(pool, fn, args_list):
    return [r.get() for r in [pool.apply_async(fn, args) for args in args_list]]


def cold_start(plan):
    # W5: from the constructor until one task has answered, then close() + join().
    pool = multiprocessing.Pool(plan["workers"])
    check("cold start", pool.apply(inc, (1,)), 2)
    pool.close()
    pool.join()


def main():
    plan = {**default_plan(), **json.loads(os.environ.get("MP_BENCH_PLAN") or "{}")}
    repeat = plan["repeat"]
    measures = {"w5ColdStart": duration(time_runs(repeat, lambda: cold_start(plan)))}
    map_input = list(range(plan["mapItems"]))
    payload = array("d", (i % 1024 for i in range(plan["bulkBytes"] // 8)))
    payload_sum = sum(payload)
    with multiprocessing.Pool(plan["workers"]) as pool:
        warm_up(pool, plan)
        measures["w1TinyTasks"] = rate(
            plan["tinyTasks"], steady_runs(repeat, lambda: all_of(pool, inc, [(x,) for x in range(plan["tinyTasks"])])), "tasks/s"
        )

        def mapped():
            check("map last item", pool.map(inc, map_input, plan["mapChunkSize"])[-1], plan["mapItems"])

        measures["w2Map"] = rate(plan["mapItems"], steady_runs(repeat, mapped), "items/s")
        # Each pooled run against the mean of the sequential runs just before and just after
        # it, as suite.ts does; `repeat` rounds, not the Node libraries' fibRounds: one
        # sequential run here takes about 10 s.
        def sequential_run():
            (seconds,) = time_runs(1, lambda: [fib(plan["fibN"]) for _ in range(plan["fibTasks"])])
            return seconds

        speed_ups = []
        before = sequential_run()
        for _ in range(repeat):
            (pooled,) = time_runs(1, lambda: all_of(pool, fib, [(plan["fibN"],)] * plan["fibTasks"]))
            after = sequential_run()
            speed_ups.append((before + after) / 2 / pooled)
            before = after
        measures["w3SpeedUp"] = {"value": statistics.median(speed_ups), "unit": "x sequential", "better": "higher", "samples": speed_ups}

        def bulk():
            sums = all_of(pool, sum_array, [(payload,)] * plan["bulkTasks"])
            check("sum", sums[-1], payload_sum)

        measures["w4BulkCopy"] = rate(plan["bulkTasks"] * plan["bulkBytes"] / 2 ** 20, steady_runs(repeat, bulk), "MiB/s")
    start_method = multiprocessing.get_start_method()
    print(json.dumps({
        "library": "python",
        "version": platform.python_version(),
        "kind": "process",
        "mapHow": "pool.map(inc, items, 10000)",
        "settings": f"multiprocessing.Pool(workers), start method {start_method!r}",
        "startMethod": start_method,
        "executable": sys.executable,
        "measures": measures,
    }))


if __name__ == "__main__":
    main()
