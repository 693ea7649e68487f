#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# pool_python.py - the reference row from Python's world: the `pool` bench workload run
# with multiprocessing.Pool.map, written as ipcmark result JSON (backend "python-mp").
"""Run ipcmark's pool workload with multiprocessing.Pool.map.

Same workload as `ipcmark bench --mode pool`: tasks are byte strings of SIZE bytes whose
first 8 bytes carry the task's index; the task body returns those 8 bytes; every result
is checked. Tasks per second of one map() call, pool start-up outside the clock, for each
worker count, task size and chunk size (0 = CPython's default chunksize, i.e. None).

    scripts/pool_python.py -o results/python-mp.json
    scripts/pool_python.py --workers 1,2 --sizes 8 --chunk 1 --tasks 2000
"""
import argparse
import datetime
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time


def task(b):
    # Trivial body, as in the C bench: hand back the 8-byte index.
    return b[:8]


def parse_list(text, sizes=False):
    out = []
    for item in text.split(","):
        item = item.strip().lower()
        mult = 1
        if sizes and item.endswith("k"):
            mult, item = 1024, item[:-1]
        elif sizes and item.endswith("m"):
            mult, item = 1 << 20, item[:-1]
        out.append(int(item) * mult)
    return out


def summary(samples):
    s = sorted(samples)
    med = statistics.median(s)
    mad = statistics.median([abs(x - med) for x in s])
    # Same shape as ipcmark's summaries; the interval is the sample range when there are
    # too few repetitions for an order-statistic interval.
    return {"median": med, "min": s[0], "max": s[-1], "mad": mad, "ci95": [s[0], s[-1]],
            "samples": samples}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_case(pool, size, workers, chunk, ntasks, repeat):
    inputs = [i.to_bytes(8, "little") + bytes(size - 8) for i in range(ntasks)]
    samples, bad = [], 0
    chunksize = None if chunk == 0 else chunk
    pool.map(task, inputs[: max(1, ntasks // 10)], chunksize)  # warm-up
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = pool.map(task, inputs, chunksize)
        dt = time.perf_counter() - t0
        bad += sum(1 for i, r in enumerate(out) if int.from_bytes(r, "little") != i)
        samples.append(ntasks / dt)
    return samples, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--sizes", default="8,1k,64k")
    ap.add_argument("--chunk", default="1,0", help="chunk sizes; 0 = CPython's default")
    ap.add_argument("--tasks", type=int, default=5000, help="tasks per map (per repetition)")
    ap.add_argument("--max-bytes", type=int, default=256 << 20,
                    help="cap tasks x size per map (memory)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--start-method", default="fork")
    ap.add_argument("-o", "--output", help="JSON file (default: stdout)")
    args = ap.parse_args()

    ctx = mp.get_context(args.start_method)
    cases = []
    for workers in parse_list(args.workers):
        with ctx.Pool(workers) as pool:
            for size in parse_list(args.sizes, sizes=True):
                size = max(size, 8)
                ntasks = max(1, min(args.tasks, args.max_bytes // size))
                for chunk in parse_list(args.chunk):
                    samples, bad = run_case(pool, size, workers, chunk, ntasks, args.repeat)
                    s = summary(samples)
                    print(f"python-mp workers {workers} size {size} chunk "
                          f"{chunk or 'default'}: {s['median']:.0f} tasks/s", file=sys.stderr)
                    cases.append({
                        "mode": "pool", "backend": "python-mp", "shape": "queue",
                        "size": size, "producers": 0, "consumers": 0, "workers": workers,
                        "chunk": chunk, "placement": "unpinned", "cpus": [],
                        "status": "ok" if bad == 0 else "failed",
                        "reason": "" if bad == 0 else f"{bad} wrong results",
                        "repetitions": len(samples),
                        "messages_per_repetition": ntasks,
                        "tasks_per_s": s,
                        "verified": {"messages": ntasks * len(samples), "lost": 0,
                                     "duplicated": 0, "reordered": 0, "corrupt": bad},
                    })
    uname = os.uname()
    record = {
        "schema": "ipcmark-results/1",
        "tool": {"name": "pool_python.py", "version": "0.1.0",
                 "python": platform.python_version()},
        "created_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": {"hostname": uname.nodename, "kernel": uname.release,
                 "cpu_model": cpu_model(), "cpus_online": os.cpu_count()},
        "build": {"compiler": "CPython " + platform.python_version(), "flags": "",
                  "type": "python"},
        "timer": {"clock": "time.perf_counter"},
        "config": {"mode": "pool", "workers": parse_list(args.workers),
                   "sizes": parse_list(args.sizes, sizes=True),
                   "chunks": parse_list(args.chunk), "tasks": args.tasks,
                   "repeat": args.repeat, "start_method": args.start_method},
        "cases": cases,
    }
    text = json.dumps(record, indent=2)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
