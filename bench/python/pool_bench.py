"""multiprocessing.Pool over the same four measures as bench/macro/suite.ts.

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


def inc(x):
    return x + 1


def spin(ms):
    """Keeps the CPU busy for `ms` milliseconds by the clock, like tasks.mjs's spin."""
    end = time.perf_counter() + ms / 1000
    turns = 0
    while time.perf_counter() < end:
        turns += 1
    return turns


def default_plan():
    quick = os.environ.get("MP_BENCH_QUICK") in ("1", "true")
    repeat = int(os.environ.get("MP_BENCH_REPEAT") or (1 if quick else 3))
    return {
        "workers": int(os.environ.get("MP_BENCH_WORKERS") or 2),
        "repeat": repeat,
        "tinyTasks": 2_000 if quick else 20_000,
        "mapItems": 10_000 if quick else 100_000,
        "cpuTasks": 8 if quick else 40,
        "cpuTaskMs": 20,
        "warmupTasks": 200 if quick else 2_000,
    }


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
    check("map warm-up last item", pool.map(inc, range(n))[-1], n)
    for r in [pool.apply_async(spin, (1,)) for _ in range(plan["workers"] * 2)]:
        r.get()


def tiny_tasks(pool, n):
    pending = [pool.apply_async(inc, (x,)) for x in range(n)]
    for r in pending:
        r.get()


def cpu_bound(pool, plan):
    pending = [pool.apply_async(spin, (plan["cpuTaskMs"],)) for _ in range(plan["cpuTasks"])]
    for r in pending:
        r.get()


def startup_shutdown(plan):
    # From the constructor until `workers` tiny tasks have answered, then close() + join().
    pool = multiprocessing.Pool(plan["workers"])
    for r in [pool.apply_async(inc, (x,)) for x in range(plan["workers"])]:
        r.get()
    pool.close()
    pool.join()


def main():
    plan = {**default_plan(), **json.loads(os.environ.get("MP_BENCH_PLAN") or "{}")}
    repeat = plan["repeat"]
    map_input = list(range(plan["mapItems"]))
    with multiprocessing.Pool(plan["workers"]) as pool:
        warm_up(pool, plan)
        measures = {
            "tinyTasks": rate(plan["tinyTasks"], time_runs(repeat, lambda: tiny_tasks(pool, plan["tinyTasks"])), "tasks/s"),
            "map": rate(plan["mapItems"], time_runs(repeat, lambda: pool.map(inc, map_input)), "items/s"),
            "cpuBound": duration(time_runs(repeat, lambda: cpu_bound(pool, plan))),
        }
    measures["startupShutdown"] = duration(time_runs(repeat, lambda: startup_shutdown(plan)))
    start_method = multiprocessing.get_start_method()
    print(json.dumps({
        "library": "python",
        "version": platform.python_version(),
        "mapHow": "pool.map, default chunksize",
        "settings": f"multiprocessing.Pool(workers), start method {start_method!r}",
        "startMethod": start_method,
        "executable": sys.executable,
        "measures": measures,
    }))


if __name__ == "__main__":
    main()
