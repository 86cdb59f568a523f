"""Timing of the C backend's CSR kernels against a read-only pass over the nonzeros.

    python csrc/tools/bench_csr.py [--n 1000000] [--d 100000] [--nnz 50] [--reps 7]
                                   [--threads 2] [--ref-reps 3] [--laws uniform zipf]
                                   [--dtypes float64 float32]

X is n x d in CSR form with nnz entries per row, int32 indices, column indices drawn
uniformly or from p_j ~ 1 / (j + 1)^1.1 (Zipf-like), float64 data (and the same values
as float32); y from a planted logistic model, labels from a planted 10-class model.
Contenders, run once each per repetition in alternating order:

* ``read``: a Numba pass over data and indices on ``--threads`` threads (the same
  contiguous row chunks as the kernels), summing both; ``np read``: NumPy's
  ``data.sum()`` and ``indices.sum()`` on one thread.  The ceiling is the faster of the
  two medians (on a loaded 2-core host one thread can beat two);
* ``logistic``: ``c.logistic_loss_grad_csr``; ``softmax10``: ``c.softmax_loss_grad_csr``
  with 10 classes;
* ``ref logistic``: the reference's CSR kernel (SciPy), ``--ref-reps`` repetitions.

Reported per law and dtype: median, p10-p90 and min in ms, and the median ratio
read / kernel ("fraction of the ceiling") and reference / C. Equality with the
reference is checked once before timing.
"""

import argparse
import statistics
import time

import numba
import numpy as np

from fastlogreg.backends import c
from fastlogreg.backends import reference as ref


@numba.njit(parallel=True, nogil=True, fastmath={"reassoc"})
def read_pass(data, indices, indptr, n_threads):
    n = indptr.shape[0] - 1
    parts = np.zeros(n_threads)
    for t in numba.prange(n_threads):
        lo = indptr[n * t // n_threads]
        hi = indptr[n * (t + 1) // n_threads]
        acc = 0.0
        iacc = 0
        for p in range(lo, hi):
            acc += data[p]
            iacc += indices[p]
        parts[t] = acc + iacc
    return parts.sum()


def make_csr(rng, n, d, nnz, law):
    indptr = (np.arange(n + 1, dtype=np.int64) * nnz).astype(np.int32)
    if law == "uniform":
        indices = rng.integers(0, d, n * nnz, dtype=np.int32)
    else:
        cdf = np.cumsum(1.0 / np.arange(1, d + 1) ** 1.1)
        cdf /= cdf[-1]
        indices = np.minimum(np.searchsorted(cdf, rng.random(n * nnz)), d - 1).astype(np.int32)
    data = rng.standard_normal(n * nnz)
    return data, indices, indptr


def stats(ts):
    ts = sorted(ts)
    q = statistics.quantiles(ts, n=10) if len(ts) > 2 else [ts[0]] * 9
    return statistics.median(ts), q[0], q[-1], ts[0]


def bench_case(tag, data, indices, indptr, y, labels, w, W, args):
    nt, d, C = args.threads, w.shape[0], W.shape[0]
    b, sw = np.zeros(C), np.empty(0)
    g, G, gb = np.empty(d), np.empty((C, d)), np.empty(C)
    runs = {
        "read": lambda: read_pass(data, indices, indptr, nt),
        "np read": lambda: (data.sum(), indices.sum(dtype=np.int64)),
        "logistic": lambda: c.logistic_loss_grad_csr(data, indices, indptr, y, w, 0.1, sw, g, nt),
        "softmax10": lambda: c.softmax_loss_grad_csr(data, indices, indptr, labels, np.empty((0, 0)),
                                                     W, b, sw, G, gb, nt),
    }
    for f in runs.values():  # warm-up
        f()
    g_ref = np.empty(d)
    r = ref.logistic_loss_grad_csr(data, indices, indptr, y, w, 0.1, sw, g_ref, nt)
    got = c.logistic_loss_grad_csr(data, indices, indptr, y, w, 0.1, sw, g, nt)
    assert np.allclose(got, r, rtol=1e-10)
    assert np.allclose(g, g_ref, rtol=1e-8, atol=1e-8 * abs(g_ref).max())
    times = {k: [] for k in runs}
    names = list(runs)
    for rep in range(args.reps):
        for k in (names if rep % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            runs[k]()
            times[k].append(time.perf_counter() - t0)
    times["ref logistic"] = []
    for _ in range(args.ref_reps):
        t0 = time.perf_counter()
        ref.logistic_loss_grad_csr(data, indices, indptr, y, w, 0.1, sw, g_ref, nt)
        times["ref logistic"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    ceiling = min(med["read"], med["np read"])
    for k, v in times.items():
        m, p10, p90, lo = stats(v)
        extra = ""
        if "read" not in k and not k.startswith("ref"):
            extra = f"  ceiling fraction {ceiling / m:.2f}"
        if k == "logistic":
            extra += f"  ref/C {med['ref logistic'] / m:.1f}x"
        print(f"{tag:16s} {k:13s} median {m * 1e3:8.1f} ms  p10-p90 {p10 * 1e3:7.1f}-{p90 * 1e3:7.1f}"
              f"  min {lo * 1e3:7.1f}  (n={len(v)}){extra}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=100_000)
    ap.add_argument("--nnz", type=int, default=50)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--ref-reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--laws", nargs="+", default=["uniform", "zipf"])
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    args = ap.parse_args()
    numba.set_num_threads(args.threads)
    n, d, C = args.n, args.d, 10
    print(f"C backend: {c.instruction_set()}, openmp={c.openmp_enabled()}; n={n} d={d} "
          f"nnz/row={args.nnz} threads={args.threads}")
    for law in args.laws:
        rng = np.random.default_rng(0)
        data64, indices, indptr = make_csr(rng, n, d, args.nnz, law)
        from scipy import sparse

        X = sparse.csr_matrix((data64, indices, indptr), shape=(n, d))
        w_true = rng.standard_normal(d) / np.sqrt(args.nnz)
        y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w_true)))).astype(np.float64)
        W_true = rng.standard_normal((C, d)) / np.sqrt(args.nnz)
        labels = np.argmax(X @ W_true.T + rng.gumbel(size=(n, C)), axis=1).astype(np.int64)
        del X
        w = rng.standard_normal(d) * 0.01
        W = rng.standard_normal((C, d)) * 0.01
        for dtype in args.dtypes:
            data = data64.astype(dtype, copy=False)
            bench_case(f"{law} {data.dtype}", data, indices, indptr, y, labels, w, W, args)


if __name__ == "__main__":
    main()
