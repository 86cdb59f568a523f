"""Regularization-path benchmarks: an L1 path and LogisticRegressionCV (run by bench_fit.py).

``--only l1-path`` (``l1-path-sparse`` for CSR input): a binary L1 path of 20 values of
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

``--only cv``: ``LogisticRegressionCV(Cs=10, cv=5)``, L2, binary 500,000 x 100, against
scikit-learn's ``LogisticRegressionCV`` with the same folds and scoring (accuracy), each
at its default ``tol`` (1e-6 and 1e-4), and scikit-learn at fastlogreg's ``tol=1e-6``;
reports the chosen ``C_`` of each.
"""

import statistics
import time
import warnings

import numpy as np

PATH_POINTS = 20
PATH_SPAN = 100.0
OBJECTIVE_RTOL = 1e-8


def make_planted(n, d, informative=20, seed=0, sparse_density=None):
    """X (n, d) standard normal (or CSR with ``sparse_density``), y from a planted sparse model."""
    rng = np.random.default_rng(seed)
    w = np.zeros(d)
    w[rng.choice(d, informative, replace=False)] = rng.choice([-1.0, 1.0], informative) * rng.uniform(
        0.3, 1.0, informative)
    if sparse_density is not None:
        from scipy import sparse

        X = sparse.random(n, d, density=sparse_density, format="csr", random_state=seed,
                          data_rvs=rng.standard_normal)
        z = X @ w / np.sqrt(sparse_density)
    else:
        X = np.empty((n, d))
        z = np.empty(n)
        step = 1 << 15
        for start in range(0, n, step):
            block = rng.standard_normal((min(step, n - start), d))
            X[start:start + step] = block
            z[start:start + step] = block @ w
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return X, y


def path_Cs(X, y, points=PATH_POINTS, span=PATH_SPAN):
    n = X.shape[0]
    g = np.abs(X.T @ (y - 0.5)) / n  # gradient at w = 0 without intercept
    c_min = 1.0 / (n * float(np.max(g)))
    return c_min * np.logspace(0, np.log10(span), points)


def l1_objective(X, y, coef, C):
    """mean softplus loss + ||w||_1 / (C n), by NumPy."""
    z = np.asarray(X @ coef).ravel()
    loss = np.logaddexp(0.0, z) - y * z
    return float(loss.mean() + np.abs(coef).sum() / (C * X.shape[0]))


def _fastlogreg_path(X, y, Cs, tol):
    from fastlogreg import LogisticRegression

    model = LogisticRegression(penalty="l1", fit_intercept=False, warm_start=True, tol=tol, max_iter=1000)
    coefs = []
    for C in Cs:
        model.set_params(C=C).fit(X, y)
        coefs.append(model.coef_[0].astype(np.float64).copy())
    return coefs


def _saga_path(X, y, Cs, tol):
    from sklearn.linear_model import LogisticRegression as SkLR

    model = SkLR(penalty="l1", solver="saga", fit_intercept=False, warm_start=True, tol=tol, max_iter=10_000)
    coefs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for C in Cs:
            model.set_params(C=C).fit(X, y)
            coefs.append(model.coef_[0].copy())
    return coefs


def _liblinear_path(X, y, Cs, tol):
    from sklearn.linear_model import LogisticRegression as SkLR

    coefs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for C in Cs:
            model = SkLR(C=C, penalty="l1", solver="liblinear", fit_intercept=False, tol=tol,
                         max_iter=10_000)
            coefs.append(model.fit(X, y).coef_[0].copy())
    return coefs


def _glum_path(X, y, Cs, tol):
    from glum import GeneralizedLinearRegressor

    alphas = 1.0 / (np.asarray(Cs) * X.shape[0])  # decreasing: glum walks from the largest
    model = GeneralizedLinearRegressor(family="binomial", l1_ratio=1.0, alpha_search=True, alphas=alphas,
                                       fit_intercept=False, gradient_tol=tol, max_iter=1000)
    model.fit(X, y)
    return [np.asarray(c, dtype=np.float64) for c in model.coef_path_]


def path_methods():
    out = {
        "fastlogreg prox-newton": (_fastlogreg_path, 1e-8),
        "sklearn saga": (_saga_path, 1e-6),
        "sklearn liblinear": (_liblinear_path, 1e-8),
    }
    try:
        import glum  # noqa: F401

        out["glum"] = (_glum_path, 1e-8)
    except ImportError:
        print("glum not installed: its column is skipped (pip install glum)")
    return out


def bench_l1_path(X, y, reps, label):
    Cs = path_Cs(X, y)
    ms = path_methods()
    print(f"\n== L1 path, {label}: {PATH_POINTS} values of C from {Cs[0]:.4g} (all-zero model) to "
          f"{Cs[-1]:.4g}, no intercept, {reps} interleaved repetitions")
    for run, tol in ms.values():  # untimed warm-up on a slice: JIT compilation, first touches
        run(X[:5000], y[:5000], Cs[:2], tol)
    times = {k: [] for k in ms}
    objectives = {k: None for k in ms}
    supports = {}
    labels = list(ms)
    for rep in range(reps):
        order = labels[rep % len(labels):] + labels[:rep % len(labels)]
        for name in order:
            run, tol = ms[name]
            time.sleep(0.25)
            start = time.perf_counter()
            coefs = run(X, y, Cs, tol)
            times[name].append(time.perf_counter() - start)
            objectives[name] = np.array([l1_objective(X, y, c, C) for c, C in zip(coefs, Cs)])
            supports[name] = [int(np.count_nonzero(c)) for c in coefs]
    best = np.min(np.vstack(list(objectives.values())), axis=0)
    base = statistics.median(times["fastlogreg prox-newton"])
    result = {"Cs": Cs.tolist(), "methods": {}}
    for name in labels:
        t = times[name]
        gap = float(np.max((objectives[name] - best) / best))
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
    from sklearn.linear_model import LogisticRegressionCV as SkCV
    from sklearn.model_selection import StratifiedKFold

    from fastlogreg import LogisticRegressionCV

    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    ms = {
        "fastlogreg": lambda: LogisticRegressionCV(Cs=10, cv=folds),
        "sklearn lbfgs": lambda: SkCV(Cs=10, cv=folds, scoring=None, l1_ratios=None,
                                      use_legacy_attributes=True),
        "sklearn lbfgs tol=1e-6": lambda: SkCV(Cs=10, cv=folds, scoring=None, l1_ratios=None, tol=1e-6,
                                               use_legacy_attributes=True),
    }
    print(f"\n== LogisticRegressionCV(Cs=10, cv=5), L2, X {X.shape}, {reps} interleaved repetitions")
    LogisticRegressionCV(Cs=2, cv=2).fit(X[:5000], y[:5000])  # untimed: JIT compilation
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
            chosen[name] = float(model.C_[0])
    base = statistics.median(times["fastlogreg"])
    result = {}
    for name in labels:
        t = times[name]
        result[name] = {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                        "C_": chosen[name], "ratio_to_fastlogreg": statistics.median(t) / base}
        print(f"  {name:22s} median {statistics.median(t):8.2f} s [min {min(t):.2f}, max {max(t):.2f}]  "
              f"C_ {chosen[name]:.6g}  x{statistics.median(t) / base:.1f} the fastlogreg time")
    return result
