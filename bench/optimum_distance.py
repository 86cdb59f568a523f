"""How close fastlogreg's optimum is to scikit-learn's on the data sets of
tests/test_linear_model.py: the figures behind its 1e-6 bound, printed per solver.

    python bench/optimum_distance.py

Per data set: the largest relative distance ``|theta - theta_sk| / |theta_sk|`` over the
"numba" and "c" backends (coefficients and intercepts; scikit-learn's lbfgs at
tol=1e-10), and for "sgd" the relative gap of the objective (by the NumPy reference).
"""

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests"))

import test_linear_model as t  # noqa: E402  (the data sets and helpers of the test)

from fastlogreg import LogisticRegression  # noqa: E402


def main():
    warnings.simplefilter("ignore")
    fits = t._LazyFits()
    for name in t.DATASETS:
        X, y, sw, C, sk_lbfgs, _ = fits[name]
        ref = t._theta(sk_lbfgs)
        row = []
        for solver in ("lbfgs", "newton", "auto"):
            worst = 0.0
            for backend in ("numba", "c"):
                model = LogisticRegression(C=C, solver=solver, tol=1e-10, max_iter=10000,
                                           backend=backend).fit(X, y, sample_weight=sw)
                worst = max(worst, np.linalg.norm(t._theta(model) - ref) / np.linalg.norm(ref))
            row.append(f"{solver} {worst:.1e}")
        sgd = LogisticRegression(C=C, solver="sgd", tol=1e-4, max_iter=500,
                                 random_state=0).fit(X, y, sample_weight=sw)
        best = t._reference_objective(X, y, sw, C, sk_lbfgs)
        gap = (t._reference_objective(X, y, sw, C, sgd) - best) / best
        print(f"{name:36s} relative distance: {', '.join(row)}; sgd objective gap {gap:.1e}")


if __name__ == "__main__":
    main()
