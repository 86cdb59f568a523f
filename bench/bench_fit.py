"""Fit-time and peak-memory benchmark of fastlogreg.LogisticRegression.

Run:  python bench/bench_fit.py              (everything; ~30 minutes on a busy 2-core
                                             machine, mostly scikit-learn's multinomial fits)
      python bench/bench_fit.py --reps 3 --no-memory
      python bench/bench_fit.py --only memory

Speed: scikit-learn's ``LogisticRegression(tol=1e-8, max_iter=10000)`` (lbfgs) against
fastlogreg (solvers "auto", "lbfgs", "newton"; tol=1e-8) on

* binary, float64 X of 500,000 x 100;
* multinomial, float64 X of 200,000 x 50, 10 classes;

(and scikit-learn-intelex's ``LogisticRegression`` when ``sklearnex`` imports: it is not
a dependency of fastlogreg; ``pip install scikit-learn-intelex`` adds that column).
All use C=1 and the same threads (Numba's and the BLAS pool: every core). Each
repetition runs every method once, in a rotated order (interleaved), after an untimed
warm-up fit on a slice (JIT compilation, page faults). A timing counts only if that
fit's objective, evaluated by the NumPy reference backend (the oracle, not the code
under test), is within 1e-8 relative of the best objective any method reached; the
script reports medians, min-max and the per-repetition speed ratios.

Memory: in a fresh subprocess per case, X of 1.6 GB is generated in row blocks, a
warm-up fit on a slice compiles the kernels, the kernel's peak-RSS counter is reset
(``/proc/self/clear_refs``), the fit runs, and ``VmHWM - VmRSS(before fit)`` is what
the fit added on top of X (also tracemalloc's peak of the Python/NumPy allocations).
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
def make_binary(n, d, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=dtype)
    y = np.empty(n, dtype=np.int64)
    w = rng.standard_normal(d) / np.sqrt(d) * 2.0
    step = 1 << 16
    for start in range(0, n, step):
        block = rng.standard_normal((min(step, n - start), d))
        X[start:start + step] = block
        z = block @ w + 0.5
        y[start:start + step] = rng.random(block.shape[0]) < 1.0 / (1.0 + np.exp(-z))
    return X, y


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


def reference_objective(X, y, coef, intercept):
    """The objective at (coef, intercept) by the NumPy reference backend (the oracle)."""
    from fastlogreg._problems import BinaryProblem, MultinomialProblem

    l2 = 1.0 / (C * X.shape[0])
    if coef.shape[0] == 1:
        problem = BinaryProblem(X, (y == np.max(y)).astype(np.float64))
        return float(problem.loss_grad(coef[0], float(intercept[0]), l2=l2, backend="numpy")[0])
    problem = MultinomialProblem(X, y, coef.shape[0])
    return float(problem.loss_grad(coef, intercept, l2=l2, backend="numpy")[0])


# ----------------------------------------------------------------------------- speed
def methods():
    from sklearn.linear_model import LogisticRegression as SkLR

    from fastlogreg import LogisticRegression

    out = {
        "sklearn-lbfgs": lambda: SkLR(C=C, tol=TOL, max_iter=10000),
        "fastlogreg-auto": lambda: LogisticRegression(C=C, tol=TOL, max_iter=10000),
        "fastlogreg-lbfgs": lambda: LogisticRegression(C=C, tol=TOL, max_iter=10000, solver="lbfgs"),
        "fastlogreg-newton": lambda: LogisticRegression(C=C, tol=TOL, max_iter=10000, solver="newton"),
    }
    try:
        from sklearnex.linear_model import LogisticRegression as ExLR

        out["sklearnex"] = lambda: ExLR(C=C, tol=TOL, max_iter=10000)
    except Exception as exc:  # a bench extra: report that it is missing
        print(f"scikit-learn-intelex not available ({type(exc).__name__}: {exc}); skipped")
    return out


def bench_speed(name, X, y, reps):
    ms = methods()
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
    result = {"problem": name, "shape": list(X.shape), "best_objective": best, "methods": {}}
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
    if kind == "binary":
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
        "case": case, "X_shape": list(X.shape), "X_bytes": int(X.nbytes),
        "added_peak_rss_bytes": hwm - rss_before, "added_fraction_of_X": (hwm - rss_before) / X.nbytes,
        "tracemalloc_peak_bytes": traced_peak, "tracemalloc_fraction_of_X": traced_peak / X.nbytes,
        "fit_s": elapsed, "n_iter": int(model.n_iter_[0]), "solver": model.solver_,
    }))


def bench_memory(cases):
    print("\n== peak memory of a fit on a 1.6 GB X (fresh subprocess per case)")
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
    parser.add_argument("--only", choices=["binary", "multinomial", "memory"], default=None)
    parser.add_argument("--no-memory", action="store_true")
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
