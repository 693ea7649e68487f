#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# make_synthetic.py - writes the synthetic results files (schema ipcmark-results/1) that
# the compare and plot tests use. Deterministic: rerun it and the files do not change.
import json
import random
import sys

BACKENDS = {"pipe": 1.0, "socketpair": 0.8, "mqueue": 0.6, "shm": 3.0}
SIZES = [8, 64, 512, 4096, 65536, 1048576]
PXC = [(1, 1), (2, 1), (1, 2), (2, 2), (4, 2), (4, 4)]
WORKERS = [1, 2, 4, 8]
REPS = 5


def stat(rng, centre, noise, reps=REPS):
    s = [round(centre * (1 + rng.gauss(0, noise)), 1) for _ in range(reps)]
    srt = sorted(s)
    med = srt[len(s) // 2]
    mad = sorted(abs(x - med) for x in s)[len(s) // 2]
    return {"median": med, "min": srt[0], "max": srt[-1], "mad": round(mad, 1),
            "ci95": [srt[0], srt[-1]], "samples": s}


def results(seed, slow_backend=None, slow=1.0, created="2026-12-01T10:00:00Z"):
    rng = random.Random(seed)
    cases = []

    def case(**kw):
        c = {"shape": "queue", "size": 64, "producers": 1, "consumers": 1, "workers": 0,
             "placement": "unpinned", "status": "ok", "repetitions": REPS}
        c.update(kw)
        cases.append(c)

    for be, k in BACKENDS.items():
        f = slow if be == slow_backend else 1.0
        for size in SIZES:
            # A per-message cost plus a per-byte cost: rates fall with size.
            rate = k * 1.0 / (1.5e-6 + size / (2.0e9 * k)) * f
            m = stat(rng, rate, 0.02)
            case(mode="throughput", backend=be, size=size, msgs_per_s=m,
                 bytes_per_s=stat(rng, rate * size, 0.02))
        for p, c in PXC:
            if (p, c) == (1, 1):
                continue
            # Contention: more parties help shm, hurt the kernel queues a little.
            scale = (p * c) ** (0.35 if be == "shm" else -0.15)
            rate = k / 1.6e-6 * scale * f
            case(mode="throughput", backend=be, producers=p, consumers=c,
                 msgs_per_s=stat(rng, rate, 0.03))
        for placement, base_ns in (("same-cpu", 5000.0), ("cross-cpu", 40000.0)):
            p50 = base_ns / k / f
            lat = {"min": round(p50 * 0.8), "p50": round(p50), "p90": round(p50 * 1.3),
                   "p99": round(p50 * 2.5), "p999": round(p50 * 6), "max": round(p50 * 40),
                   "mean": round(p50 * 1.2),
                   "p50_samples": [round(p50 * (1 + rng.gauss(0, 0.02))) for _ in range(REPS)]}
            case(mode="latency", backend=be, shape="pipe", placement=placement,
                 cpus=[0, 0] if placement == "same-cpu" else [0, 1], latency_ns=lat)
        for w in WORKERS:
            rate = k * 60000 * min(w, 2) ** 0.9 / (1 + 0.05 * w) * f
            case(mode="pool", backend=be, producers=0, consumers=0, workers=w,
                 tasks_per_s=stat(rng, rate, 0.03))
    for w in WORKERS:
        rate = 9000 * min(w, 2) ** 0.8
        case(mode="pool", backend="python-mp", producers=0, consumers=0, workers=w,
             tasks_per_s=stat(rng, rate, 0.04))
    case(mode="throughput", backend="mqueue", size=1048576, producers=2, consumers=1,
         status="skipped", reason="message larger than fs.mqueue.msgsize_max = 8192")
    return {
        "schema": "ipcmark-results/1",
        "tool": {"version": "0.1.0", "git": "synthetic"},
        "created_utc": created,
        "host": {"kernel": "6.1.0-synthetic", "cpu_model": "Synthetic CPU @ 2.0GHz",
                 "cpus_online": 2,
                 "limits": {"pipe_buf": 4096, "pipe_max_size": 1048576,
                            "mqueue_msg_max": 10, "mqueue_msgsize_max": 8192}},
        "build": {"compiler": "GNU 12.2.0", "flags": "-O2", "type": "Release"},
        "timer": {"clock": "CLOCK_MONOTONIC", "overhead_ns": 20},
        "config": {"repeat": REPS},
        "cases": cases,
    }


def write(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    write(f"{out}/synthetic_base.json", results(1))
    # Same distributions, fresh noise: a second run of an unchanged build.
    write(f"{out}/synthetic_same.json", results(2, created="2026-12-01T11:00:00Z"))
    # One backend 30% slower: throughput x 1/1.3, latency x 1.3.
    write(f"{out}/synthetic_pipe_slow.json",
          results(3, slow_backend="pipe", slow=1 / 1.3, created="2026-12-01T12:00:00Z"))
    # A pool run and the python-mp reference as two files, as `ipcmark bench --mode pool`
    # and scripts/pool_python.py write them, for `ipcmark plot A.json B.json`.
    pool = results(1)
    py = dict(pool, cases=[c for c in pool["cases"] if c["backend"] == "python-mp"],
              tool={"name": "pool_python.py", "version": "0.1.0"})
    pool["cases"] = [c for c in pool["cases"]
                     if c["mode"] == "pool" and c["backend"] != "python-mp"]
    write(f"{out}/synthetic_pool.json", pool)
    write(f"{out}/synthetic_python.json", py)
