"""Fit-time and peak-memory benchmark of fastlogreg.LogisticRegression.

Run:  python bench/bench_fit.py              (everything; ~30 minutes on a busy 2-core
                                             machine, mostly scikit-learn's multinomial fits)
      python bench/bench_fit.py --reps 3 --no-memory
      python bench/bench_fit.py --only memory
      python bench/bench_fit.py --only l1-path --reps 3   (and l1-path-sparse, l1-path-text, cv:
                                                          bench_path.py)

Speed: scikit-learn's ``LogisticRegression(tol=1e-8, max_iter=10000)`` (lbfgs) against
fastlogreg (solvers "auto", "lbfgs", "newton"; tol=1e-8) on

* binary, float64 X of 500,000 x 100;
* multinomial, float64 X of 200,000 x 50, 10 classes;
* sparse (``--only sparse``): CSR X of 1,000,000 x 100,000 with 50 entries a row (column
  indices from a Zipf law with exponent 1.1, standard normal values, int32 indices),
  binary and multinomial with 10 classes, and binary without intercept against
  scikit-learn's "liblinear" too (liblinear penalizes its intercept, so no intercept is
  the only fit where it solves the same problem). scikit-learn's "newton-cholesky" forms
  the d x d Hessian (80 GB at d = 100,000) and is left out;

(and scikit-learn-intelex's ``LogisticRegression`` when ``sklearnex`` imports: it is not
a dependency of fastlogreg; ``pip install scikit-learn-intelex`` adds that column).
All use C=1 and the same threads (Numba's and the BLAS pool: every core). Each
repetition runs every method once, in a rotated order (interleaved), after an untimed
warm-up fit on a slice (JIT compilation, page faults). A timing counts only if that
fit's objective, evaluated by the NumPy reference backend (the oracle, not the code
under test), is within 1e-8 relative of the best objective any method reached; the
script reports medians, min-max and the per-repetition speed ratios.

Memory: in a fresh subprocess per case, X of 1.6 GB (sparse: the CSR matrix above,
600 MB in float64) is generated in row blocks, a warm-up fit on a slice compiles the
kernels, the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``), the fit
runs, and ``VmHWM - VmRSS(before fit)`` is what the fit added on top of X (also
tracemalloc's peak of the Python/NumPy allocations). For sparse X the bytes of X are
those of ``data``, ``indices`` and ``indptr``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from fastlogreg.benchmarks.paths import make_binary  # noqa: E402  (after the path)

C = 1.0
TOL = 1e-8
OBJECTIVE_RTOL = 1e-8
#: Untimed sleep before every timed fit. The objective check between fits runs the NumPy
#: reference (multi-threaded BLAS), and the libraries' pools (OpenBLAS, TBB, OpenMP)
#: spin-wait for up to ~0.1 s after their last task: without the pause, each fit paid
#: for whatever ran before it (a 200,000 x 50 multinomial fastlogreg fit took 1.19 s in
#: the mix and 0.70 s alone).
PAUSE_SECONDS = 0.25


# ----------------------------------------------------------------------------- data
def make_multinomial(n, d, n_classes, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=dtype)
    y = np.empty(n, dtype=np.int64)
    W = rng.standard_normal((n_classes, d)) / np.sqrt(d) * 2.0
    step = 1 << 16
    for start in range(0, n, step):
        block = rng.standard_normal((min(step, n - start), d))
        X[start:start + step] = block
        Z = block @ W.T
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        y[start:start + step] = (P.cumsum(axis=1) > rng.random((block.shape[0], 1))).argmax(axis=1)
    return X, y


SPARSE_SHAPE = (1_000_000, 100_000)
SPARSE_PER_ROW = 50


def make_sparse(n, d, n_classes, per_row=SPARSE_PER_ROW, seed=0, dtype=np.float64, zipf=1.1):
    """CSR X (n, d) with ``per_row`` entries a row, column indices from a Zipf law
    (p_j ~ 1 / (j + 1)^zipf), standard normal values, int32 indices; labels of a planted
    model (binary: Bernoulli of s(x w); multinomial: sampled from softmax(x W^T))."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, d + 1) ** zipf)
    cdf /= cdf[-1]
    nnz = n * per_row
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=dtype)
    step = 1 << 22
    for start in range(0, nnz, step):
        m = min(step, nnz - start)
        indices[start:start + m] = np.minimum(np.searchsorted(cdf, rng.random(m)), d - 1)
        data[start:start + m] = rng.standard_normal(m)
    indptr = np.arange(0, nnz + 1, per_row, dtype=np.int32 if nnz < 2**31 else np.int64)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    W = rng.standard_normal((max(1, n_classes if n_classes > 2 else 1), d)) * (2.0 / np.sqrt(per_row))
    Z = np.asarray(X @ W.T)
    if n_classes <= 2:
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-Z[:, 0]))).astype(np.int64)
    else:
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return X, y


def _nbytes(X):
    """Bytes of X: the array, or a CSR matrix's data, indices and indptr."""
    if hasattr(X, "indptr"):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(X.nbytes)


def reference_objective(X, y, coef, intercept):
    """The objective at (coef, intercept) by the NumPy reference backend (the oracle)."""
    from fastlogreg._problems import BinaryProblem, MultinomialProblem

    l2 = 1.0 / (C * X.shape[0])
    intercept = np.atleast_1d(intercept)  # scikit-learn's is 0.0 without an intercept
    if coef.shape[0] == 1:
        problem = BinaryProblem(X, (y == np.max(y)).astype(np.float64))
        return float(problem.loss_grad(coef[0], float(intercept[0]), l2=l2, backend="numpy")[0])
    problem = MultinomialProblem(X, y, coef.shape[0])
    return float(problem.loss_grad(coef, intercept, l2=l2, backend="numpy")[0])


# ----------------------------------------------------------------------------- speed
def methods(fit_intercept=True):
    from sklearn.linear_model import LogisticRegression as SkLR

    from fastlogreg import LogisticRegression

    common = dict(C=C, tol=TOL, max_iter=10000, fit_intercept=fit_intercept)
    out = {
        "sklearn-lbfgs": lambda: SkLR(**common),
        "fastlogreg-auto": lambda: LogisticRegression(**common),
        "fastlogreg-lbfgs": lambda: LogisticRegression(solver="lbfgs", **common),
        "fastlogreg-newton": lambda: LogisticRegression(solver="newton", **common),
    }
    if not fit_intercept:
        # liblinear's own stopping test; 1e-10 brings it to the common optimum
        out["sklearn-liblinear"] = lambda: SkLR(solver="liblinear", **{**common, "tol": 1e-10})
    try:
        from sklearnex.linear_model import LogisticRegression as ExLR

        out["sklearnex"] = lambda: ExLR(**common)
    except Exception as exc:  # a bench extra: report that it is missing
        print(f"scikit-learn-intelex not available ({type(exc).__name__}: {exc}); skipped")
    return out


def bench_speed(name, X, y, reps, fit_intercept=True):
    ms = methods(fit_intercept)
    print(f"\n== {name}: X {X.shape} {X.dtype}, {len(np.unique(y))} classes, C={C}, tol={TOL}, "
          f"{reps} interleaved repetitions")
    for make in ms.values():  # warm-up: JIT compilation and first-touch costs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make().fit(X[:5000], y[:5000])
    times = {label: [] for label in ms}
    objectives = {label: [] for label in ms}
    iters = {}
    labels = list(ms)
    for rep in range(reps):
        order = labels[rep % len(labels):] + labels[:rep % len(labels)]
        for label in order:
            model = ms[label]()
            time.sleep(PAUSE_SECONDS)
            start = time.perf_counter()
            model.fit(X, y)
            times[label].append(time.perf_counter() - start)
            objectives[label].append(reference_objective(X, y, model.coef_, model.intercept_))
            iters[label] = int(np.max(model.n_iter_))
            if hasattr(model, "n_passes_"):
                iters[label] = (iters[label], model.n_passes_)
    best = min(min(v) for v in objectives.values())
    result = {"problem": name, "shape": list(X.shape), "best_objective": best, "methods": {},
              "fit_intercept": fit_intercept}
    base = times["sklearn-lbfgs"]
    for label in labels:
        rel = max(abs(f - best) / abs(best) for f in objectives[label])
        t = times[label]
        ratios = [b / o for b, o in zip(base, t)]
        q = statistics.quantiles(t, n=4) if len(t) >= 2 else [t[0]] * 3
        entry = {
            "median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
            "iqr_s": [q[0], q[2]], "objective_rel_gap": rel, "same_objective": rel <= OBJECTIVE_RTOL,
            "iterations_and_passes": iters[label],
            "speedup_vs_sklearn_median": statistics.median(base) / statistics.median(t),
            "speedup_per_rep_min_max": [min(ratios), max(ratios)],
        }
        result["methods"][label] = entry
        print(f"  {label:18s} median {entry['median_s']:7.3f} s  [min {entry['min_s']:.3f}, max "
              f"{entry['max_s']:.3f}, IQR {q[0]:.3f}-{q[2]:.3f}]  objective gap {rel:.1e} "
              f"{'OK' if entry['same_objective'] else 'NOT SAME OBJECTIVE'}  iters/passes "
              f"{iters[label]}  speedup x{entry['speedup_vs_sklearn_median']:.2f} "
              f"(per rep {min(ratios):.2f}-{max(ratios):.2f})")
    return result


# ----------------------------------------------------------------------------- memory
def _status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def memory_child(case):
    """Run in a subprocess: one fit on a 1.6 GB X, print a JSON line with the figures."""
    import gc
    import tracemalloc

    from fastlogreg import LogisticRegression
    from fastlogreg.solvers import choose_solver

    kind, dtype_name, solver = case.split(":")
    dtype = np.dtype(dtype_name)
    target = 1.6e9
    if kind.startswith("sparse"):
        (n, d), n_classes = SPARSE_SHAPE, 10 if kind == "sparse-multinomial" else 2
        X, y = make_sparse(n, d, n_classes, seed=1, dtype=dtype)
        max_iter = 200 if n_classes == 2 else 5
    elif kind == "binary":
        d, n_classes = 100, 2
        n = int(target // (d * dtype.itemsize))
        X, y = make_binary(n, d, seed=1, dtype=dtype)
        max_iter = 200
    else:
        d, n_classes = 50, 10
        n = int(target // (d * dtype.itemsize))
        X, y = make_multinomial(n, d, n_classes, seed=1, dtype=dtype)
        max_iter = 5  # memory does not depend on the iteration count; keeps it short
    # Compile outside the measurement with the solver the full fit will take: on the
    # slice, "auto" would pick L-BFGS and leave the Hessian-vector kernels uncompiled
    # (a cold Numba cache then put their compilation inside the measured fit).
    warm_solver = choose_solver(n, d, n_classes) if solver == "auto" else solver
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LogisticRegression(solver=warm_solver, max_iter=3).fit(X[:20000], y[:20000])
    gc.collect()
    rss_before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(solver=solver, max_iter=max_iter).fit(X, y)
    elapsed = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = _status("VmHWM")
    print(json.dumps({
        "case": case, "X_shape": list(X.shape), "X_bytes": _nbytes(X),
        "added_peak_rss_bytes": hwm - rss_before, "added_fraction_of_X": (hwm - rss_before) / _nbytes(X),
        "tracemalloc_peak_bytes": traced_peak, "tracemalloc_fraction_of_X": traced_peak / _nbytes(X),
        "fit_s": elapsed, "n_iter": int(model.n_iter_[0]), "solver": model.solver_,
    }))


def bench_memory(cases):
    print("\n== peak memory of a fit (fresh subprocess per case)")
    results = []
    for case in cases:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", case],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"  {case}: FAILED\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"  {case:28s} X {r['X_shape']} {r['X_bytes'] / 1e9:.2f} GB: fit added "
              f"{r['added_peak_rss_bytes'] / 1e6:8.1f} MB peak RSS = {100 * r['added_fraction_of_X']:.2f}% "
              f"of X (tracemalloc peak {r['tracemalloc_peak_bytes'] / 1e6:.1f} MB = "
              f"{100 * r['tracemalloc_fraction_of_X']:.2f}%), fit {r['fit_s']:.1f} s, "
              f"{r['n_iter']} iterations")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", choices=["binary", "multinomial", "memory", "sparse", "sparse-memory",
                                           "l1-path", "l1-path-sparse", "l1-path-text", "cv"],
                        default=None, help="one group (default: the dense groups and memory cases)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--sparse-rows", type=int, default=SPARSE_SHAPE[0],
                        help="rows of the sparse speed cases (scikit-learn's lbfgs needs thousands of "
                        "iterations on them: about 5 minutes per fit at 100,000 rows)")
    parser.add_argument("--path-rows", type=int, default=500_000,
                        help="rows of the l1-path and cv cases (bench_path.py)")
    parser.add_argument("--saga", action="store_true",
                        help="l1-path-text: also walk scikit-learn's saga (about ten times liblinear's time)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    import fastlogreg

    info = fastlogreg.backend_info()
    try:
        from threadpoolctl import threadpool_info

        blas = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"fastlogreg {fastlogreg.__version__}, backend {info['default']}, "
          f"{info['num_threads']} threads; BLAS pools {blas}")
    results = {"backend_info": {k: str(v) for k, v in info.items()}}
    if args.only in (None, "binary"):
        X, y = make_binary(500_000, 100)
        results["binary"] = bench_speed("binary 500,000 x 100 float64", X, y, args.reps)
        del X, y
    if args.only in (None, "multinomial"):
        X, y = make_multinomial(200_000, 50, 10)
        results["multinomial"] = bench_speed("multinomial 200,000 x 50, 10 classes, float64", X, y,
                                             args.reps)
        del X, y
    if args.only == "sparse":
        n, d = args.sparse_rows, SPARSE_SHAPE[1]
        label = f"{n:,} x {d:,} CSR, {SPARSE_PER_ROW} a row (Zipf 1.1), float64"
        X, y = make_sparse(n, d, 2)
        results["sparse_binary"] = bench_speed(f"sparse binary {label}", X, y, args.reps)
        results["sparse_binary_no_intercept"] = bench_speed(
            f"sparse binary, no intercept, {label}", X, y, args.reps, fit_intercept=False)
        X, y = make_sparse(n, d, 10)
        results["sparse_multinomial"] = bench_speed(f"sparse multinomial, 10 classes, {label}", X, y,
                                                    args.reps)
        del X, y
    if args.only in ("l1-path", "l1-path-sparse", "l1-path-text", "cv"):
        import bench_path

        if args.only == "l1-path":
            X, y = bench_path.make_planted(args.path_rows, 200)
            results["l1_path"] = bench_path.bench_l1_path(X, y, args.reps, f"dense {X.shape}")
        elif args.only == "l1-path-sparse":
            X, y = bench_path.make_planted(args.path_rows, 2000, sparse_density=0.02)
            results["l1_path_sparse"] = bench_path.bench_l1_path(X, y, args.reps,
                                                                 f"CSR {X.shape}, 2% nonzero")
        elif args.only == "l1-path-text":
            X, y = make_sparse(args.sparse_rows, SPARSE_SHAPE[1], 2)
            results["l1_path_text"] = bench_path.bench_l1_path(
                X, y, args.reps, f"CSR {X.shape}, {SPARSE_PER_ROW} a row (Zipf 1.1)", saga=args.saga,
                glum=False)
        else:
            X, y = make_binary(args.path_rows, 100)
            results["cv"] = bench_path.bench_cv(X, y, args.reps)
        del X, y
    if args.only == "sparse-memory":
        results["sparse_memory"] = bench_memory([
            "sparse-binary:float64:lbfgs", "sparse-binary:float64:newton", "sparse-binary:float32:lbfgs",
            "sparse-multinomial:float64:auto",
        ])
    if args.only == "memory" or (args.only is None and not args.no_memory):
        results["memory"] = bench_memory([
            "binary:float64:lbfgs", "binary:float64:newton", "binary:float32:lbfgs",
            "multinomial:float64:lbfgs", "multinomial:float64:auto", "multinomial:float32:auto",
        ])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
