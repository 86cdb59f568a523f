"""Two Python threads calling the C kernel at once: the GIL is released during the call
(cffi API mode), so they overlap; and the results equal those of serial calls, bit for bit.

    python csrc/tools/threads_demo.py [--reps 9]

Each job: 5 calls of logistic_loss_grad(n_threads=1) on its own 400,000 x 100 float64 X.
Serial: both jobs one after the other in the main thread; concurrent: one thread per job.
"""
import argparse
import statistics
import threading
import time

import numpy as np

from fastlogreg.backends import c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=9)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    jobs = []
    for _ in range(2):
        X = rng.standard_normal((400_000, 100))
        y = (rng.random(X.shape[0]) < 0.5).astype(np.float64)
        w = rng.standard_normal(100) * 0.1
        jobs.append((X, y, w))

    def run(job, out):
        X, y, w = job
        for _ in range(5):
            g = np.empty(X.shape[1])
            loss, gb = c.logistic_loss_grad(X, y, w, 0.1, np.zeros(0), g, 1)
        out.append(np.concatenate([[loss, gb], g]))

    serial_ref = []
    for job in jobs:
        run(job, serial_ref)
    t_serial, t_conc = [], []
    for _ in range(a.reps):
        outs = [[], []]
        t0 = time.perf_counter()
        for job, out in zip(jobs, outs):
            run(job, out)
        t_serial.append(time.perf_counter() - t0)
        outs = [[], []]
        threads = [threading.Thread(target=run, args=(job, out)) for job, out in zip(jobs, outs)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_conc.append(time.perf_counter() - t0)
        for got, want in zip(outs, serial_ref):
            assert np.array_equal(got[0], want), "concurrent result differs from the serial one"
    ratio = [s / cc for s, cc in zip(t_serial, t_conc)]
    for name, t in (("serial    ", t_serial), ("concurrent", t_conc)):
        print(f"{name} median {statistics.median(t) * 1e3:7.1f} ms  "
              f"(min {min(t) * 1e3:.1f}, max {max(t) * 1e3:.1f})")
    print(f"serial / concurrent per repetition: median {statistics.median(ratio):.2f} "
          f"(min {min(ratio):.2f}, max {max(ratio):.2f}); results bit-identical to serial: yes")


def gil_check():
    """While a worker thread is inside one long C call, does the main thread run Python?
    Count the main thread's loop iterations during the call, and the longest gap between
    two iterations (with the GIL held by the call, one gap would span the whole call)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1_500_000, 100))
    y = (rng.random(X.shape[0]) < 0.5).astype(np.float64)
    w = rng.standard_normal(100) * 0.1
    g = np.empty(100)
    done = threading.Event()
    span = []

    def worker():
        t0 = time.perf_counter()
        c.logistic_loss_grad(X, y, w, 0.1, np.zeros(0), g, 1)
        span.append(time.perf_counter() - t0)
        done.set()

    th = threading.Thread(target=worker)
    count, longest = 0, 0.0
    last = time.perf_counter()
    th.start()
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
        count += 1
    th.join()
    print(f"GIL check: one C call of {span[0] * 1e3:.0f} ms in a worker thread; meanwhile the main "
          f"thread ran {count} loop iterations, longest gap {longest * 1e3:.1f} ms")
    assert longest < 0.5 * span[0], "the main thread was blocked during the C call"


if __name__ == "__main__":
    gil_check()
    main()
