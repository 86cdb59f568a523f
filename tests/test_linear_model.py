"""fastlogreg.LogisticRegression: same optimum as scikit-learn and statsmodels, the
estimator API, memory (no copy of X), persistence and bad input.

Tolerances
----------
* ``OPTIMUM_RTOL = 1e-6``: the documented agreement with scikit-learn's
  ``LogisticRegression(tol=1e-10, max_iter=10000)`` (lbfgs), measured as
  ``|theta - theta_sk| <= 1e-6 |theta_sk|`` over all coefficients and intercepts. Both
  L-BFGS implementations stop on the same relative-decrease test (``ftol = 64 eps``)
  at gradients of ~1e-9, which bounds their distance to the optimum to a few 1e-7
  relative for the C used below (C is picked per data set so that holds: the
  strong-convexity constant is ``1 / (C sum(sw))``).
* ``EXACT_RTOL = 1e-8``: our "newton" against scikit-learn's "newton-cholesky" at
  tol=1e-10 (both converge quadratically; gradients < 1e-10, so the optima agree to
  ~1e-10 relative; 1e-8 leaves room for the conditioning of digits).
* ``SGD_OBJECTIVE_RTOL = 1e-3``: the documented bound for "sgd" on the objective.
"""

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import special
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastlogreg
from fastlogreg import LogisticRegression, linear_model, solvers
from fastlogreg._problems import BinaryProblem, MultinomialProblem

from _interpreter import run_python
from conftest import SEED

OPTIMUM_RTOL = 1e-6
EXACT_RTOL = 1e-8
SGD_OBJECTIVE_RTOL = 1e-3


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _random_binary(seed=SEED, n=400, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = (rng.random(n) < special.expit(X @ w + 0.3)).astype(int)
    return X, y, rng.uniform(0.2, 3.0, n)


def _random_multinomial(seed=SEED, n=500, d=5, n_classes=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((n_classes, d))
    P = special.softmax(X @ W.T, axis=1)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return X, y, rng.uniform(0.2, 3.0, n)


# name -> (X, y, sample_weight or None, C)
DATASETS = {
    "breast_cancer": lambda: (*_standardized(load_breast_cancer), None, 0.1),
    "iris": lambda: (*_standardized(load_iris), None, 1.0),
    "wine": lambda: (*_standardized(load_wine), None, 0.1),
    "digits": lambda: (*_standardized(load_digits), None, 0.01),
    "random_binary_weighted": lambda: (*_random_binary(), 1.0),
    "random_multinomial_weighted": lambda: (*_random_multinomial(), 1.0),
    # enough rows per parameter that "newton" (and "auto") use the sampled Hessian
    "random_multinomial_sampled_hessian": lambda: (*_random_multinomial(n=6000, d=4, n_classes=3), 1.0),
}


def _theta(model):
    return np.concatenate([np.ravel(model.coef_), np.ravel(model.intercept_)])


def _reference_objective(X, y, sample_weight, C, model):
    """The objective at ``model``'s coefficients by the NumPy reference backend (the oracle)."""
    classes = np.unique(y)
    index = np.searchsorted(classes, y)
    sw_sum = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    l2 = 0.0 if np.isinf(C) else 1.0 / (C * sw_sum)
    if len(classes) == 2:
        problem = BinaryProblem(X, index.astype(float), sample_weight)
        return float(problem.loss_grad(model.coef_[0], model.intercept_[0], l2=l2, backend="numpy")[0])
    problem = MultinomialProblem(X, index, len(classes), sample_weight)
    return float(problem.loss_grad(model.coef_, model.intercept_, l2=l2, backend="numpy")[0])


_SKLEARN_FITS = {}


class _LazyFits:
    """scikit-learn's lbfgs and newton-cholesky solutions, computed once per data set
    and process (a plain cache: pytest re-creates module fixtures between the
    session-scoped backend parameters)."""

    def __getitem__(self, name):
        if name not in _SKLEARN_FITS:
            X, y, sw, C = DATASETS[name]()
            lbfgs = SkLogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y, sample_weight=sw)
            exact = SkLogisticRegression(C=C, tol=1e-10, max_iter=10000, solver="newton-cholesky").fit(
                X, y, sample_weight=sw)
            _SKLEARN_FITS[name] = (X, y, sw, C, lbfgs, exact)
        return _SKLEARN_FITS[name]


@pytest.fixture
def sklearn_fits():
    return _LazyFits()


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_same_optimum_as_sklearn(sklearn_fits, dataset, solver, backend):
    if backend == "numpy" and dataset == "digits":
        # the reference backend is the oracle of the kernels; the estimator code path is
        # the same for every backend and digits (the slowest fit) runs on the fast ones
        pytest.skip("digits on the NumPy reference backend: covered by the fast backends")
    X, y, sw, C, sk_lbfgs, sk_exact = sklearn_fits[dataset]
    model = LogisticRegression(C=C, solver=solver, tol=1e-10, max_iter=10000, backend=backend)
    model.fit(X, y, sample_weight=sw)
    assert model.coef_.shape == sk_lbfgs.coef_.shape
    assert model.intercept_.shape == sk_lbfgs.intercept_.shape
    ref = _theta(sk_lbfgs)
    err = np.linalg.norm(_theta(model) - ref)
    assert err <= OPTIMUM_RTOL * np.linalg.norm(ref), (
        f"{dataset}: relative distance {err / np.linalg.norm(ref):.2e}")
    if solver == "newton":
        exact = _theta(sk_exact)
        np.testing.assert_allclose(_theta(model), exact, rtol=EXACT_RTOL,
                                   atol=EXACT_RTOL * np.max(np.abs(exact)))
        assert model.gradient_max_norm_ <= 1e-10


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris", "random_multinomial_weighted"])
def test_sgd_objective_within_1e3(sklearn_fits, dataset, backend):
    X, y, sw, C, sk_lbfgs, _ = sklearn_fits[dataset]
    model = LogisticRegression(C=C, solver="sgd", tol=1e-4, max_iter=500, random_state=0,
                               backend=backend).fit(X, y, sample_weight=sw)
    best = _reference_objective(X, y, sw, C, sk_lbfgs)
    ours = _reference_objective(X, y, sw, C, model)
    assert abs(ours - best) <= SGD_OBJECTIVE_RTOL * best
    assert model.objective_ == pytest.approx(ours, rel=1e-12)


def test_unpenalized_matches_statsmodels_logit(backend):
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(SEED)
    n, d = 3000, 4
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < special.expit(X @ np.array([0.8, -0.5, 0.3, 0.0]) - 0.2)).astype(int)
    ref = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, maxiter=100, disp=0).params
    for solver in ("newton", "lbfgs"):
        model = LogisticRegression(C=np.inf, solver=solver, tol=1e-10, max_iter=1000, backend=backend)
        model.fit(X, y)
        got = np.concatenate([model.intercept_, model.coef_[0]])
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-8)


def test_unpenalized_multinomial_is_centred_and_optimal(backend):
    X, y, _ = _random_multinomial(n=600, d=3, n_classes=3)
    model = LogisticRegression(C=np.inf, solver="newton", tol=1e-10, backend=backend).fit(X, y)
    np.testing.assert_allclose(model.coef_.sum(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(model.intercept_.sum(), 0.0, atol=1e-10)
    # optimal: the gradient of the unpenalised objective, by the reference backend, vanishes
    _, gW, gb = MultinomialProblem(X, y, 3).loss_grad(model.coef_, model.intercept_, backend="numpy")
    assert np.max(np.abs(gW)) <= 1e-9 and np.max(np.abs(gb)) <= 1e-9


# ----------------------------------------------------------------------------- labels and shapes
@pytest.mark.parametrize("labels", [
    np.array([0, 1]), np.array([-1, 1]), np.array([False, True]), np.array(["no", "yes"]),
    np.array(["b", "a"], dtype=object), np.array([2.0, 7.0]),
], ids=["01", "signed", "bool", "str", "object", "float"])
def test_binary_label_types(labels):
    X, y01, _ = _random_binary(n=200, d=3)
    y = labels[y01]
    model = LogisticRegression(backend="numpy").fit(X, y)
    ref = LogisticRegression(backend="numpy").fit(X, y01)
    assert model.coef_.shape == (1, 3) and model.intercept_.shape == (1,)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    assert set(np.unique(model.predict(X))) <= set(labels.tolist())
    # the positive class is classes_[1]: the sorted label order decides the sign
    sign = 1.0 if np.sort(labels)[1] == labels[1] else -1.0
    np.testing.assert_allclose(model.coef_, sign * ref.coef_, rtol=1e-12, atol=1e-14)
    assert model.score(X, y) == pytest.approx(ref.score(X, y01))


@pytest.mark.parametrize("labels", [
    np.array([0, 1]), np.array([-1, 1], dtype=np.int8), np.array([False, True]),
    np.arange(3, 13, dtype=np.uint32), np.array([0, 2**40, 2**62 + 1]),
    np.array([2**64 - 3, 2**64 - 1], dtype=np.uint64), np.array([0.0, 2.0]),
], ids=lambda a: str(a.dtype))
def test_unique_labels_of_many_samples(labels):
    """Past one label block, integer labels are counted instead of sorted: same classes."""
    rng = np.random.default_rng(SEED)
    y = labels[rng.integers(0, len(labels), 3 * linear_model._LABEL_BLOCK + 5)]
    classes = linear_model._unique_labels(y)
    expected = np.unique(y)
    assert classes.dtype == expected.dtype
    np.testing.assert_array_equal(classes, expected)


def test_multinomial_string_labels_and_shapes():
    X, y, _ = _random_multinomial(n=300, d=4, n_classes=3)
    names = np.array(["cat", "dog", "emu"])
    model = LogisticRegression(backend="numpy").fit(X, names[y])
    assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)
    np.testing.assert_array_equal(model.classes_, names)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(model.predict(X), names[np.argmax(proba, axis=1)])
    np.testing.assert_allclose(np.log(proba), model.predict_log_proba(X), rtol=1e-12, atol=1e-14)


def test_predict_log_proba_is_exact_in_the_tails():
    X = np.array([[-1.0], [1.0]])
    model = LogisticRegression(backend="numpy").fit(X, [0, 1])
    model.coef_ = np.array([[1.0]])
    model.intercept_ = np.array([0.0])
    z = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    logp = model.predict_log_proba(z[:, None])
    np.testing.assert_allclose(logp[:, 1], special.log_expit(z), rtol=1e-15)
    np.testing.assert_allclose(logp[:, 0], special.log_expit(-z), rtol=1e-15)
    assert logp[0, 1] == -800.0  # log(sigmoid) would be -inf here


def test_decision_function_float32_matches_float64():
    X, y, _ = _random_binary(n=300, d=5)
    X32 = X.astype(np.float32)
    model = LogisticRegression(backend="numpy").fit(X32, y)
    scores32 = model.decision_function(X32)
    scores64 = model.decision_function(X32.astype(np.float64))
    assert scores32.dtype == np.float32 and scores64.dtype == np.float64
    # the float32 scores are float64 sums rounded once: within half a float32 ulp of them
    np.testing.assert_allclose(scores32, scores64, rtol=2.0**-24 + 1e-13, atol=1e-13)


def test_float32_trains_like_float64_on_the_same_values(backend):
    X, y, sw = _random_binary(n=500, d=6)
    X32 = X.astype(np.float32)
    m32 = LogisticRegression(solver="newton", tol=1e-10, backend=backend).fit(X32, y, sample_weight=sw)
    m64 = LogisticRegression(solver="newton", tol=1e-10, backend=backend).fit(
        X32.astype(np.float64), y, sample_weight=sw)
    # the kernels sum float32 data in float64: the same optimum up to the solver tolerance,
    # then rounded once to float32
    assert m32.coef_.dtype == np.float32 and m64.coef_.dtype == np.float64
    np.testing.assert_allclose(_theta(m32), _theta(m64), rtol=1e-8 + 2.0**-24, atol=1e-10)
    assert m32.objective_ == pytest.approx(m64.objective_, rel=1e-12)


# ----------------------------------------------------------------------------- memory: no copy of X
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_X_is_never_copied(monkeypatch, dtype, order, n_classes):
    seen = []
    original = solvers.Objective.__init__

    def spy(self, problem, *args, **kwargs):
        seen.append(problem.X.X)  # the dense design matrix's array
        original(self, problem, *args, **kwargs)

    monkeypatch.setattr(solvers.Objective, "__init__", spy)
    rng = np.random.default_rng(SEED)
    X = np.asarray(rng.standard_normal((120, 4)), dtype=dtype, order=order)
    y = np.arange(120) % n_classes
    LogisticRegression(backend="numpy", max_iter=5).fit(X, y)
    assert len(seen) == 1
    assert seen[0].dtype == dtype
    assert np.shares_memory(seen[0], X) and seen[0].ctypes.data == X.ctypes.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver, n_classes", [("lbfgs", 2), ("newton", 3)])
def test_fit_allocates_under_10_percent_of_X(dtype, solver, n_classes):
    """tracemalloc sees every NumPy allocation: a copy of X (or float64 X from float32) would
    be >= 100% of X; the fit's own arrays (targets, gradients, and Newton's Hessian row
    sample, 1/20 of X here) must stay under 10%."""
    rng = np.random.default_rng(SEED)
    n, d = 100_000, 50
    X = rng.standard_normal((n, d)).astype(dtype)
    y = np.digitize(X[:, 0] + rng.standard_normal(n), np.linspace(-1, 1, n_classes - 1))
    assert solvers.hessian_sample_stride(n, n_classes * (d + 1)) > 1 or n_classes == 2
    LogisticRegression(solver=solver, max_iter=2).fit(X[:1000], y[:1000])  # compile outside
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            LogisticRegression(solver=solver, max_iter=20).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.10 * X.nbytes, f"fit allocated {peak / X.nbytes:.1%} of X"


# ----------------------------------------------------------------------------- convergence
def test_convergence_warning_when_max_iter_stops_first(backend):
    X, y = _standardized(load_breast_cancer)
    for solver in ("lbfgs", "newton", "sgd"):
        with pytest.warns(ConvergenceWarning, match="max_iter=1"):
            model = LogisticRegression(solver=solver, max_iter=1, tol=1e-12, backend=backend).fit(X, y)
        assert model.n_iter_[0] == 1
        assert model.gradient_max_norm_ > 1e-12


def test_tol_is_the_gradient_max_norm(backend):
    X, y = _standardized(load_iris)
    for tol in (1e-3, 1e-7):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            model = LogisticRegression(solver="newton", tol=tol, backend=backend).fit(X, y)
        # the reported gradient is the oracle's gradient at the returned coefficients
        l2 = 1.0 / X.shape[0]
        _, gW, gb = MultinomialProblem(X, y, 3).loss_grad(model.coef_, model.intercept_, l2=l2,
                                                          backend="numpy")
        # (intercepts are reported centred: a shift along ones leaves the gradient unchanged)
        assert max(np.max(np.abs(gW)), np.max(np.abs(gb))) <= tol
        assert model.gradient_max_norm_ <= tol


def test_warm_start_resumes_from_the_solution():
    X, y = _standardized(load_wine)
    model = LogisticRegression(solver="newton", tol=1e-8, warm_start=True, backend="numpy").fit(X, y)
    first = _theta(model)
    model.fit(X, y)
    assert model.n_iter_[0] <= 1
    np.testing.assert_allclose(_theta(model), first, rtol=1e-7, atol=1e-9)


def test_verbose_prints_one_line_per_iteration(capsys):
    X, y = _standardized(load_iris)
    model = LogisticRegression(solver="newton", verbose=1, backend="numpy").fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[fastlogreg newton]")]
    # a header, iteration 0 (the start) and one line per iteration
    assert len(lines) == model.n_iter_[0] + 2
    fields = lines[-1].split()
    assert int(fields[2]) == model.n_iter_[0]
    assert float(fields[3]) == pytest.approx(model.objective_, rel=1e-12)
    assert float(fields[4]) == pytest.approx(model.gradient_max_norm_, rel=1e-3)


def test_verbose_lbfgs_and_sgd_progress(capsys):
    X, y = _standardized(load_iris)
    model = LogisticRegression(solver="lbfgs", verbose=1, backend="numpy").fit(X, y)
    out = capsys.readouterr().out
    assert sum(line.startswith("[fastlogreg lbfgs]") for line in out.splitlines()) == model.n_iter_[0] + 1
    model = LogisticRegression(solver="sgd", verbose=1, max_iter=5, tol=0.0, random_state=0,
                               backend="numpy")
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    epochs = [line for line in capsys.readouterr().out.splitlines() if "[" + "#" * 30 + "]" in line]
    assert len(epochs) == 5  # one progress bar per accepted epoch


# ----------------------------------------------------------------------------- partial_fit
def test_partial_fit_converges_to_fit(backend):
    X, y = _standardized(load_breast_cancer)
    best = LogisticRegression(solver="newton", tol=1e-10, backend=backend).fit(X, y).objective_
    model = LogisticRegression(random_state=0, backend=backend)
    model.partial_fit(X, y, classes=[0, 1])
    for _ in range(60):
        model.partial_fit(X, y)
    assert model.objective_ <= best * (1 + SGD_OBJECTIVE_RTOL)


def test_partial_fit_streams_batches_with_classes_first():
    X, y = _standardized(load_iris)
    order = np.random.default_rng(SEED).permutation(len(y))
    X, y = X[order], y[order]
    model = LogisticRegression(random_state=0, backend="numpy")
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X[:50], y[:50])
    for _epoch in range(30):
        for start in range(0, 150, 50):
            model.partial_fit(X[start:start + 50], y[start:start + 50], classes=[0, 1, 2])
    assert model.coef_.shape == (3, 4)
    assert model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not in classes_"):
        model.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="not the same"):
        model.partial_fit(X[:3], [0, 1, 2], classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:3, :2], [0, 1, 2])


# ----------------------------------------------------------------------------- sklearn integration
def test_pipeline_gridsearch_clone_pickle():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(backend="numpy"))
    search = GridSearchCV(pipe, {"logisticregression__C": [0.01, 1.0]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    cloned = clone(search.best_estimator_)
    assert not hasattr(cloned[-1], "coef_")
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_feature_names_from_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = _standardized(load_iris)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = LogisticRegression(backend="numpy").fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X)


@pytest.mark.parametrize("labels", [np.array([3, 5, 9]), np.array(["x", "y", "z"]),
                                    np.array(["x", "y", "z"], dtype=object)], ids=["int", "str", "object"])
def test_save_load_predicts_identically(tmp_path, labels):
    X, y = _standardized(load_iris)
    model = LogisticRegression(C=0.5, backend="numpy").fit(X, labels[y])
    path = tmp_path / "model.flr"
    model.save(path)
    loaded = fastlogreg.load(path)
    assert type(loaded) is LogisticRegression
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded.classes_.dtype == model.classes_.dtype
    # a plain archive: readable without pickle
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) >= {"metadata", "coef_", "intercept_", "classes_"}


def test_save_load_binary_unpenalized_with_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y, _ = _random_binary(n=200, d=3)
    frame = pd.DataFrame(X, columns=["u", "v", "w"])
    model = LogisticRegression(C=np.inf, backend="numpy").fit(frame, y)
    model.save(tmp_path / "m")
    loaded = fastlogreg.load(tmp_path / "m")
    assert loaded.C == np.inf
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    np.testing.assert_array_equal(loaded.decision_function(frame), model.decision_function(frame))


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(ValueError, match="not a fastlogreg model"):
        fastlogreg.load(path)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("n_classes", [2, 3])
def test_nonfinite_X_is_counted(backend, n_classes):
    X, _, _ = _random_binary(n=50, d=3)
    y = np.arange(50) % n_classes
    X[0, 0] = np.nan
    X[1, 1] = np.nan
    X[2, 2] = np.inf
    for solver in ("lbfgs", "newton", "sgd"):
        with pytest.raises(ValueError, match=r"X contains 3 non-finite value\(s\): 2 NaN and 1 infinity"):
            LogisticRegression(solver=solver, backend=backend).fit(X, y)
    for bad in (np.inf, -np.inf):  # a lone infinity, also with a warm start
        X2 = np.nan_to_num(X, nan=0.0, posinf=0.0)
        model = LogisticRegression(warm_start=True, backend=backend).fit(X2, y)
        X2[5, 1] = bad
        with pytest.raises(ValueError, match=r"1 non-finite value\(s\): 0 NaN and 1 infinity"):
            model.fit(X2, y)
        with pytest.raises(ValueError, match=r"1 non-finite"):
            LogisticRegression(backend=backend).fit(X2, y)
    model = LogisticRegression(backend="numpy").fit(np.nan_to_num(X, posinf=0.0), y)
    with pytest.raises(ValueError, match="1 NaN and 1 infinity"):
        model.predict(X[1:3])


def test_nonfinite_y_and_sample_weight_are_counted():
    X, y, sw = _random_binary(n=50, d=3)
    y = y.astype(float)
    y[:2] = np.nan
    with pytest.raises(ValueError, match="y contains 2 non-finite"):
        LogisticRegression().fit(X, y)
    sw[:3] = [np.nan, np.inf, -np.inf]
    with pytest.raises(ValueError, match="sample_weight contains 3 non-finite"):
        LogisticRegression().fit(X, np.arange(50) % 2, sample_weight=sw)


def test_bad_input_errors():
    X, y, sw = _random_binary(n=50, d=3)
    with pytest.raises(ValueError, match="only one class"):
        LogisticRegression().fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="class"):  # one class left with positive weight
        LogisticRegression().fit(X, y, sample_weight=(y == 1).astype(float))
    with pytest.raises(ValueError, match="sample"):
        LogisticRegression().fit(np.empty((0, 3)), [])
    with pytest.raises(ValueError, match="negative"):
        LogisticRegression().fit(X, y, sample_weight=-sw)
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression().fit(X, np.linspace(0, 1, 50))
    model = LogisticRegression(backend="numpy").fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="C must be"):
        LogisticRegression(C=0.0).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        LogisticRegression(solver="bogus").fit(X, y)
    with pytest.raises(ValueError, match="probit"):
        LogisticRegression(link="probit", solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="two classes"):
        LogisticRegression(link="probit").fit(X, np.arange(50) % 3)


def test_import_does_not_load_sklearn_or_numba():
    code = ("import sys, fastlogreg; assert 'sklearn' not in sys.modules, 'sklearn'; "
            "assert 'numba' not in sys.modules, 'numba'; fastlogreg.LogisticRegression; "
            "assert 'sklearn' in sys.modules")
    run_python(code)


def test_docstring_examples_run():
    import doctest

    import fastlogreg.linear_model as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
