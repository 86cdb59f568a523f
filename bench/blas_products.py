"""The two matrix products of the softmax loss+gradient, done by NumPy's BLAS: a yardstick
for the fused kernel, which does both plus the pointwise part in one pass over X.

    python bench/blas_products.py [--rows 1000000] [--d 100] [--classes 10] [--reps 15]

Times ``S = X @ W.T`` (the scores) and ``G = R.T @ X`` (the gradient update) on random
float64 data, each a median of ``--reps`` with its quartiles, and prints the rate in
GFLOP/s (2 flops a multiply-add, as the benchmark's roofline counts them). The BLAS and
its thread count are printed first (threadpoolctl).
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_info


def timed(fn, reps):
    """Median and quartiles (ms) of ``reps`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return np.percentile(times, [50, 25, 75]) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    n, d, C = args.rows, args.d, args.classes
    rng = np.random.default_rng(0)
    X, W, R = rng.standard_normal((n, d)), rng.standard_normal((C, d)), rng.standard_normal((n, C))
    S, G = np.empty((n, C)), np.empty((C, d))
    for info in threadpool_info():
        print(f"{info['internal_api']} {info['version']}, {info['num_threads']} threads")
    flops = 2 * n * d * C
    for name, fn in (("scores S = X @ W.T", lambda: np.matmul(X, W.T, out=S)),
                     ("update G = R.T @ X", lambda: np.matmul(R.T, X, out=G))):
        median, q1, q3 = timed(fn, args.reps)
        print(f"{name}: {median:.1f} ms (quartiles {q1:.1f}-{q3:.1f}), {flops / median / 1e6:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
