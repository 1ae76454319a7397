"""The Python docs' Lock example as a whole program, timed from its start to its exit.

Twin of bench/micro/programs.ts; prints one JSON object with the same keys (the example
runs on processes in Python, so both keys time the same program):
  lockExampleSeconds, lockExampleSecondsProcesses
Median of the plan's `repeat` runs (MP_BENCH_PLAN, default 5) after one untimed run.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The example as the Python docs ("Synchronization between processes") write it.
PROGRAM = """
from multiprocessing import Process, Lock

def f(l, i):
    l.acquire()
    try:
        print('hello world', i)
    finally:
        l.release()

if __name__ == '__main__':
    lock = Lock()

    for num in range(10):
        Process(target=f, args=(lock, num)).start()
"""


def time_program(path):
    start = time.perf_counter()
    run = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - start
    lines = run.stdout.strip().split("\n")
    if run.returncode != 0 or len(lines) != 10:
        raise RuntimeError(f"the Lock example exited with {run.returncode} and printed {run.stdout!r} {run.stderr!r}")
    return seconds


def main():
    repeat = int(json.loads(os.environ.get("MP_BENCH_PLAN", "{}")).get("repeat", 5))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "lock_example.py")
        with open(path, "w") as out:
            out.write(PROGRAM)
        time_program(path)
        seconds = round(statistics.median(time_program(path) for _ in range(repeat)), 3)
    print(json.dumps({"lockExampleSeconds": seconds, "lockExampleSecondsProcesses": seconds}))


if __name__ == "__main__":
    main()
