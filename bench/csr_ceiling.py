"""The Numba CSR kernels against a read-only pass over data + indices (their ceiling).

A CSR matrix of ``--rows`` x ``--cols`` with ``--nnz`` entries a row, column indices
uniform or Zipf (p_j ~ 1 / (j + 1)^1.1), int32 indices, labels from a planted model.
For each index law and data dtype: the median (and min, max) of ``--reps`` calls of a
Numba pass summing data and indices over the kernels' static row chunks (the memory
ceiling), of ``logistic_loss_grad_csr`` and of ``softmax_loss_grad_csr``
(``--classes``), the ceiling / kernel ratio, and with ``--reference`` the NumPy / SciPy
reference's time (3 calls). Needs ~2.5 GB of memory at the default size. Run from the
repository root::

    python bench/csr_ceiling.py --threads 2 --reference
    python bench/csr_ceiling.py --rows 200000 --laws zipf --kernels binary
"""
import argparse
import sys
import time

import numba
import numpy as np
from numba import prange
from scipy import sparse

sys.path.insert(0, ".")  # run from the repository root, the package need not be installed
from fastlogreg.backends import numba_kernels as nk  # noqa: E402
from fastlogreg.backends import reference as ref  # noqa: E402


@numba.njit(parallel=True, cache=True, nogil=True)
def read_only(data, indices, indptr, n_threads):
    """sum(data) + sum(indices) over the same static row chunks as the kernels."""
    n = indptr.shape[0] - 1
    part = np.zeros((n_threads, 8))
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        acc = 0.0
        iacc = 0
        for p in range(np.int64(indptr[lo]), np.int64(indptr[hi])):
            acc += data[p]
            iacc += indices[p]
        part[c, 0] = acc + iacc
    return part[:, 0].sum()


def timeit(f, args, reps):
    """Median, min and max milliseconds of ``reps`` calls ``f(*args)`` after one untimed call."""
    f(*args)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f(*args)
        ts.append(time.perf_counter() - t)
    ts = np.array(ts) * 1e3
    return np.median(ts), ts.min(), ts.max()


def matrix(n, d, k, law, rng):
    if law == "uniform":
        indices = rng.integers(0, d, n * k, dtype=np.int32)
    else:
        p = 1.0 / np.arange(1, d + 1) ** 1.1
        cdf = np.cumsum(p / p.sum())
        indices = np.minimum(np.searchsorted(cdf, rng.random(n * k)), d - 1).astype(np.int32)
    data = rng.standard_normal(n * k)
    indptr = (np.arange(n + 1, dtype=np.int64) * k).astype(np.int32)
    return data, indices, indptr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=100_000)
    ap.add_argument("--nnz", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--laws", default="uniform,zipf")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--kernels", default="binary,softmax")
    ap.add_argument("--reference", action="store_true", help="also time the reference (3 reps)")
    a = ap.parse_args()
    n, d, k, t, C = a.rows, a.cols, a.nnz, a.threads, a.classes
    rng = np.random.default_rng(0)
    for law in a.laws.split(","):
        data64, indices, indptr = matrix(n, d, k, law, rng)
        A = sparse.csr_matrix((data64, indices, indptr), shape=(n, d))
        w_true = rng.standard_normal(d) / np.sqrt(k)
        y = (rng.random(n) < 1 / (1 + np.exp(-(A @ w_true)))).astype(np.float64)
        W_true = rng.standard_normal((C, d)) / np.sqrt(k)
        Z = (A @ W_true.T) + rng.gumbel(size=(n, C))
        labels = Z.argmax(1).astype(np.int64)
        del A, Z
        w = 0.5 * w_true
        W = 0.5 * W_true
        b = np.zeros(C)
        sw = np.empty(0)
        for dt in a.dtypes.split(","):
            data = data64.astype(dt)
            ceil = timeit(read_only, (data, indices, indptr, t), a.reps)
            print(f"{law:8s} {dt:8s} read-only ceiling        median {ceil[0]:8.1f} ms  "
                  f"[{ceil[1]:.1f}, {ceil[2]:.1f}]", flush=True)
            kernels = []
            if "binary" in a.kernels:
                kernels.append(("logistic_loss_grad_csr", "logistic_loss_grad_csr",
                                (data, indices, indptr, y, w, 0.1, sw, np.empty(d), t)))
            if "softmax" in a.kernels:
                kernels.append((f"softmax_loss_grad_csr C={C}", "softmax_loss_grad_csr",
                                (data, indices, indptr, labels, np.empty((0, 0)), W, b, sw,
                                 np.empty((C, d)), np.empty(C), t)))
            for label, name, args in kernels:
                med = timeit(getattr(nk, name), args, a.reps)
                line = (f"{law:8s} {dt:8s} {label:24s} median {med[0]:8.1f} ms  "
                        f"[{med[1]:.1f}, {med[2]:.1f}]  ceiling/kernel {ceil[0] / med[0]:.2f}")
                if a.reference:
                    r = timeit(getattr(ref, name), args, 3)
                    line += f"  reference {r[0]:.0f} ms (x{r[0] / med[0]:.1f})"
                print(line, flush=True)


if __name__ == "__main__":
    main()
