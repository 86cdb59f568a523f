"""The two matrix products of the softmax loss+gradient, done by NumPy's BLAS: a yardstick
for the fused kernel, which does both plus the pointwise part in one pass over X.

    python bench/blas_products.py [--rows 1000000] [--d 100] [--classes 10] [--reps 15]

Times ``S = X @ W.T`` (the scores) and ``G = R.T @ X`` (the gradient update) on random
float64 data, interleaved, each a median of ``--reps`` with half its interquartile range
(the benchmark's timing), and prints the rate in
GFLOP/s (2 flops a multiply-add, as the benchmark's roofline counts them). The BLAS and
its thread count are printed first (threadpoolctl).
"""

import argparse

import numpy as np
from threadpoolctl import threadpool_info

from fastlogreg.benchmarks.timing import interleaved, summarize


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
    products = {"scores S = X @ W.T": lambda: np.matmul(X, W.T, out=S),
                "update G = R.T @ X": lambda: np.matmul(R.T, X, out=G)}
    for name, times in interleaved(products, args.reps).items():
        t = summarize(times)
        print(f"{name}: {t['median'] * 1e3:.1f} ms +- {t['spread'] * 1e3:.1f}, "
              f"{flops / t['median'] / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
