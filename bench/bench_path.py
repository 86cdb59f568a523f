"""Regularization-path benchmarks: an L1 path and LogisticRegressionCV (run by bench_fit.py).

``--only l1-path`` (``l1-path-sparse`` for CSR input, ``l1-path-text`` below): a binary L1
path of 20 values of
``C``, from ``C_min`` (the smallest ``C`` whose model is all zeros: ``1 / (n max_j |X_j^T
(y - 1/2)|)`` without intercept) up to ``100 C_min``, log-spaced, on float64 X of
500,000 x 200 with 20 informative features (a planted sparse model, no intercept). Each
method walks the path warm-started from the previous ``C``:

* fastlogreg: ``LogisticRegression(penalty="l1", warm_start=True)``, ``C`` set per point;
* scikit-learn "saga" with ``warm_start=True``;
* scikit-learn "liblinear" (no warm start; without intercept it solves the same problem);
* glum's ``GeneralizedLinearRegressor(family="binomial", l1_ratio=1, alpha_search=True)``
  with ``alpha = 1 / (C n)`` (glum's mean-deviance scaling), when glum imports.

Each path point's objective is evaluated by a NumPy formula (not by the code under test)
and compared with the best any method reached at that point: a method's timing counts as
"same objective" when every point is within ``OBJECTIVE_RTOL`` relative.

The data, the path, the objective and the methods are those of
:mod:`fastlogreg.benchmarks.paths`, which ``fastlogreg bench --full`` runs too (``--kernel
l1_path``, ``--kernel LogisticRegressionCV.fit``: one repetition, without saga); this
script adds saga, the CSR path and repeated, interleaved runs.

``--only l1-path-text``: the same path on the sparse fits' text-like data (CSR
``--sparse-rows`` x 100,000, 50 entries a row, Zipf columns), against liblinear, and
saga with ``--saga`` (its walk takes about ten times as long as liblinear's): glum's
solver forms the d x d Hessian (75 GB at d = 100,000).

``--only cv``: ``LogisticRegressionCV(Cs=10, cv=5)``, L2, binary 500,000 x 100, against
scikit-learn's ``LogisticRegressionCV`` with the same folds and scoring (accuracy), each
at its default ``tol`` (1e-6 and 1e-4), and scikit-learn at fastlogreg's ``tol=1e-6``;
reports the chosen ``C_`` of each.
"""

import statistics
import time
import warnings

import numpy as np

from fastlogreg.benchmarks.paths import (
    OBJECTIVE_RTOL,
    PATH_POINTS,
    chosen_C,
    cv_folds,
    fastlogreg_cv,
    fastlogreg_path,
    make_planted,  # noqa: F401 (bench_fit.py's data of these cases)
    objective_gaps,
    path_Cs,
    path_methods,
    path_objectives,
    sklearn_cv,
)


def _methods(saga, glum):
    """fastlogreg's walk, liblinear, saga when ``saga`` and glum when ``glum`` (and it
    imports), with their tol."""
    out = {"fastlogreg prox-newton": fastlogreg_path, **path_methods(saga=saga, glum=glum)}
    if glum and "glum" not in out:
        print("glum not installed: its column is skipped (pip install glum)")
    return out


def bench_l1_path(X, y, reps, label, saga=True, glum=True):
    Cs = path_Cs(X, y)
    ms = _methods(saga, glum)
    print(f"\n== L1 path, {label}: {PATH_POINTS} values of C from {Cs[0]:.4g} (all-zero model) to "
          f"{Cs[-1]:.4g}, no intercept, {reps} interleaved repetitions")
    for run in ms.values():  # untimed warm-up on a slice: JIT compilation, first touches
        run(X[:5000], y[:5000], Cs[:2])
    times = {k: [] for k in ms}
    objectives = {k: None for k in ms}
    supports = {}
    labels = list(ms)
    for rep in range(reps):
        order = labels[rep % len(labels):] + labels[:rep % len(labels)]
        for name in order:
            time.sleep(0.25)
            start = time.perf_counter()
            coefs = ms[name](X, y, Cs)
            times[name].append(time.perf_counter() - start)
            objectives[name] = path_objectives(X, y, coefs, Cs)
            supports[name] = [int(np.count_nonzero(c)) for c in coefs]
    gaps = objective_gaps(objectives)
    base = statistics.median(times["fastlogreg prox-newton"])
    result = {"Cs": Cs.tolist(), "methods": {}}
    for name in labels:
        t = times[name]
        gap = gaps[name]
        entry = {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                 "max_objective_rel_gap": gap, "same_objective": gap <= OBJECTIVE_RTOL,
                 "support_sizes": supports[name], "ratio_to_fastlogreg": statistics.median(t) / base}
        result["methods"][name] = entry
        print(f"  {name:24s} median {entry['median_s']:8.2f} s [min {entry['min_s']:.2f}, max "
              f"{entry['max_s']:.2f}]  max objective gap {gap:.1e} "
              f"{'OK' if entry['same_objective'] else 'NOT SAME OBJECTIVE'}  "
              f"x{entry['ratio_to_fastlogreg']:.1f} the fastlogreg time")
    print(f"  support sizes along the path (fastlogreg): {supports['fastlogreg prox-newton']}")
    return result


def bench_cv(X, y, reps):
    folds = cv_folds(X, y)
    ms = {
        "fastlogreg": lambda: fastlogreg_cv(folds),
        "sklearn lbfgs": lambda: sklearn_cv(folds),
        "sklearn lbfgs tol=1e-6": lambda: sklearn_cv(folds, tol=1e-6),
    }
    print(f"\n== LogisticRegressionCV(Cs=10, cv=5), L2, X {X.shape}, {reps} interleaved repetitions")
    fastlogreg_cv(2, Cs=2).fit(X[:5000], y[:5000])  # untimed: JIT compilation
    times = {k: [] for k in ms}
    chosen = {}
    labels = list(ms)
    for rep in range(reps):
        order = labels[rep % len(labels):] + labels[:rep % len(labels)]
        for name in order:
            time.sleep(0.25)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                model = ms[name]().fit(X, y)
                times[name].append(time.perf_counter() - start)
            chosen[name] = chosen_C(model)
    base = statistics.median(times["fastlogreg"])
    result = {}
    for name in labels:
        t = times[name]
        result[name] = {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                        "C_": chosen[name], "ratio_to_fastlogreg": statistics.median(t) / base}
        print(f"  {name:22s} median {statistics.median(t):8.2f} s [min {min(t):.2f}, max {max(t):.2f}]  "
              f"C_ {chosen[name]:.6g}  x{statistics.median(t) / base:.1f} the fastlogreg time")
    return result
