"""Penalties of fastlogreg.LogisticRegression: L1, elastic net, no penalty, class weights.

Reference: scikit-learn's own solvers run to tight tolerances ("saga" at tol=1e-10 for
L1 and the elastic net, "liblinear" without intercept for L1, "lbfgs" for class
weights). The objective of each reference solution is evaluated by a NumPy formula
written here (not by the code under test); the checks are those of the penalties'
documentation: the same objective to 1e-8 relative, the same support, ``coef_`` to
1e-6 relative of its largest entry on these well-conditioned problems.
"""

import warnings

import numpy as np
import pytest
from scipy import sparse, special
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.preprocessing import StandardScaler

from fastlogreg import LogisticRegression

OBJECTIVE_RTOL = 1e-8
COEF_RTOL = 1e-6


def _standardized(loader, n=None):
    X, y = loader(return_X_y=True)
    if n is not None:
        X, y = X[:n], y[:n]
    return StandardScaler().fit_transform(X), y


def _planted_sparse(seed=0, n=600, d=40, informative=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[rng.choice(d, informative, replace=False)] = rng.choice([-2.0, 2.0], informative)
    y = (rng.random(n) < special.expit(X @ w - 0.5)).astype(int)
    return X, y, np.flatnonzero(w)


def numpy_objective(X, y, coef, intercept, C, l1_ratio, sample_weight=None):
    """sum(sw l) / sum(sw) + (r ||W||_1 + (1 - r)/2 ||W||^2) / (C sum(sw)), by NumPy only."""
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    classes = np.unique(y)
    sw = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    Z = X @ coef.T + intercept
    if len(classes) == 2:
        t = (y == classes[1]).astype(float)
        losses = np.logaddexp(0.0, Z[:, 0]) - t * Z[:, 0]
    else:
        index = np.searchsorted(classes, y)
        losses = special.logsumexp(Z, axis=1) - Z[np.arange(X.shape[0]), index]
    penalty = l1_ratio * np.abs(coef).sum() + 0.5 * (1.0 - l1_ratio) * np.vdot(coef, coef)
    return float(sw @ losses / sw.sum() + penalty / (C * sw.sum()))


def _saga(X, y, C, penalty, l1_ratio=None, tol=1e-10):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's deprecation of `penalty`
        return SkLogisticRegression(penalty=penalty, l1_ratio=l1_ratio, solver="saga", C=C, tol=tol,
                                    max_iter=100_000).fit(X, y)


def _assert_same_optimum(ours, ref, X, y, C, l1_ratio, check_coef=True):
    f_ours = numpy_objective(X, y, ours.coef_, ours.intercept_, C, l1_ratio)
    f_ref = numpy_objective(X, y, ref.coef_, ref.intercept_, C, l1_ratio)
    assert f_ours <= f_ref * (1 + OBJECTIVE_RTOL)
    assert f_ref <= f_ours * (1 + OBJECTIVE_RTOL)
    np.testing.assert_array_equal(ours.coef_ != 0, ref.coef_ != 0)
    if check_coef:
        scale = np.max(np.abs(ref.coef_))
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=COEF_RTOL * scale)


L1_CASES = [
    (load_breast_cancer, None, 0.1),
    (load_wine, None, 0.5),
    (load_iris, None, 1.0),
    (load_digits, 300, 0.05),
]


@pytest.mark.parametrize("loader, n, C", L1_CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_l1_matches_saga(loader, n, C):
    X, y = _standardized(loader, n)
    X = X[:, np.std(X, axis=0) > 0]
    ours = LogisticRegression(C=C, penalty="l1", tol=1e-10, backend="numpy").fit(X, y)
    assert ours.solver_ == "prox-newton"
    assert np.any(ours.coef_ == 0.0)  # exact zeros
    _assert_same_optimum(ours, _saga(X, y, C, "l1"), X, y, C, 1.0)


@pytest.mark.parametrize("loader, C, l1_ratio", [(load_breast_cancer, 0.1, 0.5), (load_wine, 0.2, 0.3),
                                                  (load_iris, 0.5, 0.8)],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_elasticnet_matches_saga(loader, C, l1_ratio):
    X, y = _standardized(loader)
    ours = LogisticRegression(C=C, penalty="elasticnet", l1_ratio=l1_ratio, tol=1e-10,
                              backend="numpy").fit(X, y)
    _assert_same_optimum(ours, _saga(X, y, C, "elasticnet", l1_ratio), X, y, C, l1_ratio)


def test_l1_without_intercept_matches_liblinear():
    X, y = _standardized(load_breast_cancer)
    C = 0.05
    ours = LogisticRegression(C=C, penalty="l1", fit_intercept=False, tol=1e-10, backend="numpy").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkLogisticRegression(penalty="l1", solver="liblinear", C=C, fit_intercept=False,
                                   tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_array_equal(ours.intercept_, [0.0])
    # liblinear's coordinate descent stops on its own criterion: the objective and the
    # support are the check, the coefficients agree to its accuracy only
    _assert_same_optimum(ours, ref, X, y, C, 1.0, check_coef=False)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-4 * np.max(np.abs(ref.coef_)))


def test_planted_sparse_model_support():
    X, y, support = _planted_sparse()
    C = 0.05
    ours = LogisticRegression(C=C, penalty="l1", tol=1e-10, backend="numpy").fit(X, y)
    _assert_same_optimum(ours, _saga(X, y, C, "l1"), X, y, C, 1.0)
    found = np.flatnonzero(ours.coef_[0])
    assert set(support) <= set(found)
    assert len(found) < X.shape[1] // 2


def test_l1_kkt_conditions_probit():
    """Probit + L1 (no scikit-learn reference): the optimality conditions by a NumPy formula."""
    X, y, _ = _planted_sparse(seed=1, n=400, d=20)
    C = 0.05
    model = LogisticRegression(C=C, penalty="l1", link="probit", tol=1e-10, backend="numpy").fit(X, y)
    z = X @ model.coef_[0] + model.intercept_[0]
    # d/dz of -y log Phi(z) - (1-y) log Phi(-z)
    pdf = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    dz = -y * pdf / special.ndtr(z) + (1 - y) * pdf / special.ndtr(-z)
    n = X.shape[0]
    grad = X.T @ dz / n
    lam = 1.0 / (C * n)
    w = model.coef_[0]
    assert abs(dz.sum() / n) < 1e-8
    np.testing.assert_allclose(grad[w != 0], -lam * np.sign(w[w != 0]), rtol=0, atol=1e-8)
    assert np.all(np.abs(grad[w == 0]) <= lam + 1e-8)
    assert 0 < np.count_nonzero(w) < X.shape[1]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_l1_sparse_input_matches_dense(n_classes):
    X, y, _ = _planted_sparse(seed=2)
    X[np.abs(X) < 0.8] = 0.0
    if n_classes == 3:
        y = np.where(X[:, 1] > 0.5, 2, y)
    dense = LogisticRegression(C=0.1, penalty="l1", tol=1e-10, backend="numpy").fit(X, y)
    csr = LogisticRegression(C=0.1, penalty="l1", tol=1e-10, backend="numpy").fit(sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(csr.coef_ != 0, dense.coef_ != 0)
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=0, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("link", ["logit", "probit"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_csr_hessian_on_working_set_equals_dense(dtype, link, fit_intercept, n_threads,
                                                 restore_backend_state):
    """The prox-newton model's Hessian on CSR X (pairwise products of each row's entries in
    the working set) against the dense formula, with unsorted column indices and a column
    repeated within a row (repeats add up, as in the densified matrix)."""
    import fastlogreg
    from fastlogreg import _proximal, solvers
    from fastlogreg._problems import BinaryProblem

    rng = np.random.default_rng(5)
    X = sparse.random(700, 60, density=0.1, format="csr", random_state=5, data_rvs=rng.standard_normal)
    first = slice(X.indptr[0], X.indptr[1])
    X.indices[first] = X.indices[first][::-1].copy()
    X.indices[X.indptr[0]] = X.indices[X.indptr[0] + 1]
    X.has_sorted_indices = False
    X = X.astype(dtype)
    y = (rng.random(700) < 0.5).astype(float)
    sw = rng.random(700)
    fastlogreg.set_num_threads(n_threads)
    features = np.union1d(rng.choice(60, 20, replace=False), [X.indices[0]])
    theta = rng.standard_normal(60 + fit_intercept) * 0.3
    matrices = []
    for A in (X, X.toarray()):
        obj = solvers.Objective(BinaryProblem(A, y, sw, link=link), 0.01, fit_intercept)
        matrices.append(_proximal.HessianModel(obj, stride=1).matrix(theta, features))
    (G, index), (G_dense, index_dense) = matrices
    np.testing.assert_array_equal(index, index_dense)
    np.testing.assert_array_equal(G, G.T)
    np.testing.assert_allclose(G, G_dense, rtol=0, atol=1e-13 * np.max(np.abs(G_dense)))


def test_l1_float32_keeps_dtype():
    X, y, _ = _planted_sparse(seed=3)
    model = LogisticRegression(C=0.1, penalty="l1", backend="numpy").fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    assert np.any(model.coef_ == 0.0)


def test_penalty_none_ignores_C():
    X, y, _ = _planted_sparse(seed=4, n=300, d=5)
    free = LogisticRegression(penalty=None, C=0.01, tol=1e-10, backend="numpy").fit(X, y)
    inf = LogisticRegression(C=np.inf, tol=1e-10, backend="numpy").fit(X, y)
    np.testing.assert_allclose(free.coef_, inf.coef_, rtol=1e-8)


def test_elasticnet_ratio_zero_is_l2():
    X, y = _standardized(load_wine)
    en = LogisticRegression(C=0.3, penalty="elasticnet", l1_ratio=0.0, tol=1e-10, backend="numpy").fit(X, y)
    l2 = LogisticRegression(C=0.3, tol=1e-10, backend="numpy").fit(X, y)
    np.testing.assert_allclose(en.coef_, l2.coef_, rtol=0, atol=1e-8)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0, 2: 0.5}])
@pytest.mark.parametrize("weighted", [False, True])
def test_class_weight_matches_lbfgs(class_weight, weighted):
    X, y = _standardized(load_wine)
    sw = np.random.default_rng(0).uniform(0.2, 2.0, X.shape[0]) if weighted else None
    ours = LogisticRegression(C=0.5, class_weight=class_weight, tol=1e-10, backend="numpy")
    ours.fit(X, y, sample_weight=sw)
    ref = SkLogisticRegression(C=0.5, class_weight=class_weight, tol=1e-12, max_iter=10_000)
    ref.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=COEF_RTOL * np.max(np.abs(ref.coef_)))
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=0,
                               atol=COEF_RTOL * np.max(np.abs(ref.coef_)))


def test_class_weight_binary_l1_matches_saga():
    X, y = _standardized(load_breast_cancer)
    cw = {0: 2.0, 1: 0.5}
    ours = LogisticRegression(C=0.1, penalty="l1", class_weight=cw, tol=1e-10, backend="numpy").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkLogisticRegression(penalty="l1", solver="saga", C=0.1, class_weight=cw, tol=1e-10,
                                   max_iter=100_000).fit(X, y)
    sw = np.where(y == 0, 2.0, 0.5)
    f_ours = numpy_objective(X, y, ours.coef_, ours.intercept_, 0.1, 1.0, sw)
    f_ref = numpy_objective(X, y, ref.coef_, ref.intercept_, 0.1, 1.0, sw)
    assert abs(f_ours - f_ref) <= OBJECTIVE_RTOL * f_ref
    np.testing.assert_array_equal(ours.coef_ != 0, ref.coef_ != 0)


def test_class_weight_equals_sample_weight():
    X, y = _standardized(load_iris)
    cw = {0: 2.0, 1: 1.0, 2: 0.25}
    a = LogisticRegression(class_weight=cw, tol=1e-10, backend="numpy").fit(X, y)
    b = LogisticRegression(tol=1e-10, backend="numpy").fit(X, y, sample_weight=np.choose(y, [2.0, 1.0, 0.25]))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=1e-8)


@pytest.mark.parametrize("params, match", [
    (dict(penalty="l3"), "penalty must be one of"),
    (dict(penalty="elasticnet"), "needs l1_ratio"),
    (dict(penalty="elasticnet", l1_ratio=1.5), "needs l1_ratio"),
    (dict(penalty="l1", l1_ratio=0.5), "l1_ratio is used with penalty='elasticnet' only"),
    (dict(penalty="l1", solver="lbfgs"), "needs solver='prox-newton'"),
    (dict(class_weight="heavy"), "class_weight must be"),
    (dict(class_weight={0: -1.0}), r"class_weight\[0\] must be a finite number"),
])
def test_bad_penalty_parameters(params, match):
    X, y = _standardized(load_iris)
    with pytest.raises(ValueError, match=match):
        LogisticRegression(backend="numpy", **params).fit(X, y)


def test_class_weight_unknown_label():
    X, y = _standardized(load_iris)
    with pytest.raises(ValueError, match=r"class_weight names label\(s\) \[7\]"):
        LogisticRegression(class_weight={0: 1.0, 7: 2.0}, backend="numpy").fit(X, y)


def test_partial_fit_only_for_smooth_penalties():
    assert not hasattr(LogisticRegression(penalty="l1"), "partial_fit")
    assert not hasattr(LogisticRegression(penalty="elasticnet", l1_ratio=0.5), "partial_fit")
    assert not hasattr(LogisticRegression(class_weight="balanced"), "partial_fit")
    assert hasattr(LogisticRegression(penalty=None, class_weight={0: 2.0}), "partial_fit")


def test_save_load_keeps_penalty_and_class_weight(tmp_path):
    from fastlogreg import load

    X, y = _standardized(load_iris)
    model = LogisticRegression(penalty="elasticnet", l1_ratio=0.5, class_weight={np.int64(0): 2.0},
                               backend="numpy").fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.get_params()["class_weight"] == {0: 2.0}
    assert loaded.penalty == "elasticnet" and loaded.l1_ratio == 0.5
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_warm_started_l1_path_screens_and_reaches_each_optimum(monkeypatch):
    """A path walked with warm_start=True (C growing) starts each point's working set by
    the strong rule from the previous point's penalty; every point still reaches the
    optimum of a cold fit (the exact gradient lets a wrongly screened feature back in)."""
    from fastlogreg import _proximal

    X, y, _ = _planted_sparse(seed=4)
    screens = []
    original = _proximal.prox_newton

    def recording(obj, theta0, **kwargs):
        screens.append((kwargs.get("screen_l1"), kwargs["l1"]))
        return original(obj, theta0, **kwargs)

    monkeypatch.setattr(_proximal, "prox_newton", recording)
    warm = LogisticRegression(penalty="l1", warm_start=True, tol=1e-10, backend="numpy")
    for C in (0.02, 0.05, 0.2):
        warm.set_params(C=C).fit(X, y)
        cold = LogisticRegression(penalty="l1", C=C, tol=1e-10, backend="numpy").fit(X, y)
        np.testing.assert_array_equal(warm.coef_ != 0, cold.coef_ != 0)
        np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=0, atol=1e-7)
    warm_screens = screens[0::2]
    assert warm_screens[0][0] is None  # the first point has no previous penalty
    assert all(screen == previous_l1 and screen > l1 for (screen, l1), (_, previous_l1)
               in zip(warm_screens[1:], warm_screens[:-1]))
    assert all(screen is None for screen, _ in screens[1::2])  # cold fits never screen
