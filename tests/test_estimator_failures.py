"""LogisticRegression never fails silently: a fit that cannot succeed raises or warns with
the reason, bad parameters and weights are named, and a failed or interrupted fit leaves
the estimator as it was."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import ConvergenceWarning

from fastlogreg import LogisticRegression, solvers


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def test_overflowing_scores_raise_or_warn_never_nan(backend):
    """|X| ~ 1e200: the scores overflow. Each solver either refuses (ValueError naming the
    cause, estimator untouched) or stops with a ConvergenceWarning and finite results."""
    X, y = _standardized(load_breast_cancer)
    for solver in ("lbfgs", "newton", "sgd"):
        model = LogisticRegression(solver=solver, backend=backend)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model.fit(X * 1e200, y)
            except ValueError as exc:
                assert "Standardize the features" in str(exc), exc
                assert not hasattr(model, "coef_") and not hasattr(model, "classes_")
                continue
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught), solver
        assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.objective_), solver


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_solver_failure_is_a_convergence_warning(solver, monkeypatch):
    """A gradient of the wrong sign makes every line search fail: L-BFGS-B and Newton stop
    early, and the fit must say so (it used to report such stops as converged)."""
    X, y = _standardized(load_breast_cancer)
    real = solvers.Objective.loss_grad

    def wrong_sign(self, theta):
        loss, grad = real(self, theta)
        return loss, -grad

    monkeypatch.setattr(solvers.Objective, "loss_grad", wrong_sign)
    with pytest.warns(ConvergenceWarning, match=rf"{solver} stopped before reaching tol=1e-06: "
                                                r".*(no decrease|line search failed)"):
        LogisticRegression(solver=solver, backend="numpy").fit(X, y)


def test_converged_fits_do_not_warn(backend):
    X, y = _standardized(load_iris)
    for solver in ("lbfgs", "newton"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            LogisticRegression(solver=solver, backend=backend).fit(X, y)


@pytest.mark.parametrize("n", [20, 60])
def test_weights_whose_sum_overflows_are_refused(n):
    X, y = _standardized(load_breast_cancer)
    with pytest.raises(ValueError, match=r"sample_weight sums to more than float64 can hold "
                                         r"\(largest weight 1e\+307\)"):
        LogisticRegression(backend="numpy").fit(X[:n], np.arange(n) % 2, sample_weight=np.full(n, 1e307))


@pytest.mark.parametrize("C, weight", [(1.0, 1e-320), (1e-320, 1.0)])
def test_penalty_overflow_names_c_and_sample_weight(C, weight):
    X, y = _standardized(load_breast_cancer)
    with pytest.raises(ValueError, match=r"C \* sum\(sample_weight\) = .* is too small"):
        LogisticRegression(C=C, backend="numpy").fit(X, y, sample_weight=np.full(len(y), weight))


@pytest.mark.parametrize("param, value", [("verbose", "loud"), ("verbose", -1), ("random_state", "x"),
                                          ("random_state", -3), ("fit_intercept", "no"),
                                          ("fit_intercept", 1), ("warm_start", "yes")])
def test_bad_parameters_are_named(param, value):
    X, y = _standardized(load_iris)
    with pytest.raises(ValueError, match=rf"^{param} must be"):
        LogisticRegression(backend="numpy", **{param: value}).fit(X, y)


def test_failed_fit_keeps_the_previous_model():
    X, y = _standardized(load_iris)
    model = LogisticRegression(backend="numpy").fit(X, y)
    before = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in vars(model).items()}
    letters = np.array(["a", "b"])[y % 2]
    bad_X = X.copy()
    bad_X[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        model.fit(bad_X, letters)  # new labels, then a failure
    assert set(vars(model)) == set(before)
    for key, value in before.items():
        np.testing.assert_array_equal(getattr(model, key), value, err_msg=key)
    assert model.predict(X[:1])[0] in (0, 1, 2)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_interrupted_fit_keeps_the_previous_model(method, monkeypatch):
    X, y = _standardized(load_iris)
    model = LogisticRegression(backend="numpy")
    model.partial_fit(X, y, classes=[0, 1, 2]) if method == "partial_fit" else model.fit(X, y)
    coef, classes = model.coef_.copy(), model.classes_.copy()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(solvers, "minimize", interrupt)
    monkeypatch.setattr(solvers, "sgd", interrupt)
    with pytest.raises(KeyboardInterrupt):
        if method == "fit":
            model.fit(X[:100], np.array(["u", "v"])[y[:100]])
        else:
            model.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.classes_, classes)
