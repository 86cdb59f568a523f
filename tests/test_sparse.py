"""Sparse input through the public layer: functions, validation and the estimator.

Every fused entry point and ``LogisticRegression`` take SciPy sparse X. Here, per
backend: the sparse result equals the dense result on the densified matrix (to the
fused tolerances), on ordinary and edge-case structures; bad CSR input gives a
ValueError naming the problem; the CSR arrays are not copied; and the estimator on
sparse data reaches the optimum of the dense fit and of scikit-learn's fit on the same
sparse data. The kernels themselves are tested in test_sparse_kernels.py.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import fastlogreg as fl
from fastlogreg._design import as_design

from conftest import SEED

RTOL = {np.dtype(np.float64): 1e-11, np.dtype(np.float32): 1e-5}


def _random_csr(rng, n, d, density, dtype=np.float64, index_dtype=np.int32):
    X = sp.random(n, d, density=density, format="csr", random_state=rng, dtype=np.float64)
    X.data = rng.standard_normal(X.data.shape[0])
    X = sp.csr_matrix((X.data.astype(dtype), X.indices.astype(index_dtype), X.indptr.astype(index_dtype)),
                      shape=(n, d))
    return X


def _structures(rng):
    """name -> CSR matrix: edge cases of the sparsity structure."""
    n, d = 40, 7
    empty_rows = _random_csr(rng, n, d, 0.3).tolil()
    empty_rows[::3] = 0
    zero_columns = _random_csr(rng, n, d, 0.4).tolil()
    zero_columns[:, [1, 4]] = 0
    one_per_row = sp.csr_matrix((rng.standard_normal(n), rng.integers(0, d, n), np.arange(n + 1)),
                                shape=(n, d))
    # repeated and unsorted column indices, and explicit zeros, within rows
    messy = sp.csr_matrix((np.array([1.0, -2.0, 0.0, 0.5, 3.0, 0.25]), np.array([3, 3, 0, 6, 1, 3]),
                           np.array([0, 3, 3, 6])), shape=(3, d))
    return {
        "random": _random_csr(rng, n, d, 0.3),
        "empty rows": sp.csr_matrix(empty_rows),
        "all-zero columns": sp.csr_matrix(zero_columns),
        "d = 1": _random_csr(rng, n, 1, 0.6),
        "one nonzero per row": one_per_row,
        "fully dense": sp.csr_matrix(rng.standard_normal((n, d))),
        "repeats, unsorted, explicit zeros": messy,
        "int64 indices": _random_csr(rng, n, d, 0.3, index_dtype=np.int64),
        "float32": _random_csr(rng, n, d, 0.3, dtype=np.float32),
        "csr_array": sp.csr_array(_random_csr(rng, n, d, 0.3)),
        "CSC (converted)": _random_csr(rng, n, d, 0.3).tocsc(),
        "COO (converted)": _random_csr(rng, n, d, 0.3).tocoo(),
    }


STRUCTURES = list(_structures(np.random.default_rng(SEED)))


def _dense(X):
    """The densified matrix, repeated entries summed (SciPy's toarray)."""
    return np.asarray(X.toarray())


def _assert_results_close(got, ref, dtype, what):
    for g, r in zip(got, ref):
        g, r = np.asarray(g, dtype=np.float64), np.asarray(r, dtype=np.float64)
        tol = RTOL[np.dtype(dtype)] * max(1.0, float(np.max(np.abs(r))))
        np.testing.assert_allclose(g, r, rtol=0, atol=tol, err_msg=what)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_fused_functions_sparse_equal_dense(backend, structure):
    rng = np.random.default_rng(SEED)
    X = _structures(rng)[structure]
    n, d = X.shape
    dtype = X.dtype
    D = _dense(X).astype(dtype)
    y = rng.integers(0, 2, n).astype(np.float64)
    sw = rng.uniform(0.5, 2.0, n)
    w, v = rng.standard_normal(d), rng.standard_normal(d)
    C = 3
    labels = rng.integers(0, C, n)
    W, V, b = rng.standard_normal((C, d)), rng.standard_normal((C, d)), rng.standard_normal(C)
    calls = {
        "logistic_loss_grad": lambda A: fl.logistic_loss_grad(A, y, w, 0.3, sample_weight=sw, l2=0.1,
                                                              backend=backend),
        "probit_loss_grad": lambda A: fl.probit_loss_grad(A, y, w, -0.2, sample_weight=sw, backend=backend),
        "softmax_loss_grad": lambda A: fl.softmax_loss_grad(A, labels, W, b, sample_weight=sw, l2=0.1,
                                                            backend=backend),
        "logistic_hessp": lambda A: fl.logistic_hessp(A, w, 0.3, v, 0.5, sample_weight=sw, backend=backend),
        "softmax_hessp": lambda A: fl.softmax_hessp(A, W, b, V, b, sample_weight=sw, backend=backend),
    }
    for name, call in calls.items():
        got, ref = call(X), call(D)
        assert [np.asarray(g).dtype for g in got] == [np.asarray(r).dtype for r in ref], name
        _assert_results_close(got, ref, dtype, f"{name}[{backend}] on {structure}")


def test_sparse_arrays_are_not_copied():
    rng = np.random.default_rng(SEED)
    for dtype in (np.float32, np.float64):
        for itype in (np.int32, np.int64):
            X = _random_csr(rng, 50, 9, 0.3, dtype=dtype, index_dtype=itype)
            design = as_design(X)
            assert design.data is X.data and design.indices is X.indices and design.indptr is X.indptr
            wrapped = as_design(sp.csr_array(X))
            assert np.shares_memory(wrapped.data, X.data) and np.shares_memory(wrapped.indices, X.indices)


def test_row_range_of_a_csr_design_shares_its_arrays():
    X = _random_csr(np.random.default_rng(SEED), 30, 5, 0.4)
    part = as_design(X).take_rows(slice(10, 20))
    assert part.data is X.data and np.shares_memory(part.indptr, X.indptr)
    np.testing.assert_array_equal(part.to_scipy().toarray(), X[10:20].toarray())
    picked = as_design(X).take_rows(np.array([3, 0, 29, 3]))
    np.testing.assert_array_equal(picked.to_scipy().toarray(), X[[3, 0, 29, 3]].toarray())
    np.testing.assert_array_equal(as_design(X).take_rows(slice(1, None, 7)).to_scipy().toarray(),
                                  X[1::7].toarray())


def _valid():
    return sp.csr_matrix((np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 2, 1, 2]), np.array([0, 2, 2, 4])),
                         shape=(3, 3))


def _with(**parts):
    X = _valid()
    for name, value in parts.items():
        setattr(X, name, value)  # past SciPy's own checks, as a hand-built matrix can be
    return X


BAD = {
    "NaN in data": (_with(data=np.array([1.0, np.nan, 3.0, 4.0])), "1 non-finite value"),
    "inf in data": (_with(data=np.array([1.0, 2.0, -np.inf, 4.0])), "0 NaN and 1 infinity"),
    "column index out of range": (_with(indices=np.array([0, 3, 1, 2], np.int32)),
                                  "out of range for 3 columns"),
    "negative column index": (_with(indices=np.array([0, -1, 1, 2], np.int32)), "negative column index"),
    "indptr decreasing": (_with(indptr=np.array([0, 3, 2, 4], np.int32)), "decreases at row 1"),
    "indptr wrong length": (_with(indptr=np.array([0, 2, 4], np.int32)), r"expected n_rows \+ 1 = 4"),
    "indptr[-1] != nnz": (_with(indptr=np.array([0, 2, 2, 3], np.int32)), "stores 4 entries"),
    "indptr[0] != 0": (_with(indptr=np.array([1, 2, 2, 4], np.int32)), r"indptr\[0\] is 1"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_csr_input_is_a_clear_value_error(case):
    X, message = BAD[case]
    with pytest.raises(ValueError, match=message):
        fl.logistic_loss_grad(X, np.zeros(3), np.zeros(3), backend="numpy")
    with pytest.raises(ValueError, match=message):
        fl.LogisticRegression(backend="numpy").fit(X, [0, 1, 1])


def test_sparse_shape_must_match_y_and_w():
    X = _valid()
    with pytest.raises(ValueError, match="y"):
        fl.logistic_loss_grad(X, np.zeros(4), np.zeros(3), backend="numpy")
    with pytest.raises(ValueError, match="w must have shape"):
        fl.logistic_loss_grad(X, np.zeros(3), np.zeros(4), backend="numpy")
    with pytest.raises(ValueError):
        fl.LogisticRegression(backend="numpy").fit(X, [0, 1])
    with pytest.raises(TypeError, match="X.data"):
        fl.logistic_loss_grad(X.astype(np.complex128), np.zeros(3), np.zeros(3), backend="numpy")


# ----------------------------------------------------------------------------- estimator
def _classification(rng, n, d, n_classes, density=0.1, dtype=np.float64):
    X = _random_csr(rng, n, d, density, dtype=dtype)
    W = rng.standard_normal((n_classes, d))
    scores = X @ W.T + rng.gumbel(size=(n, n_classes))
    y = np.argmax(scores, axis=1)
    return X, y, rng.uniform(0.2, 3.0, n)


def _fit(X, y, sw, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params = {"tol": 1e-10, "max_iter": 1000, **params}
        return fl.LogisticRegression(**params).fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("solver", ["lbfgs", "newton", "sgd"])
def test_estimator_sparse_equals_dense(backend, n_classes, solver):
    rng = np.random.default_rng(SEED)
    X, y, sw = _classification(rng, 400, 30, n_classes)
    params = dict(solver=solver, backend=backend, random_state=0, C=0.5)
    if solver == "sgd":
        params.update(tol=1e-7)
    sparse_fit = _fit(X, y, sw, **params)
    dense_fit = _fit(X.toarray(), y, sw, **params)
    # Sparse fits are diagonally preconditioned, so the two take different paths; each
    # stops at a gradient of at most max(tol, sqrt(eps |f|)) ~ 1e-8, which leaves the
    # coefficients (of order 1, curvature >= l2 ~ 3e-3) within ~1e-6 of the optimum.
    np.testing.assert_allclose(sparse_fit.coef_, dense_fit.coef_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sparse_fit.intercept_, dense_fit.intercept_, rtol=1e-6, atol=1e-6)
    assert abs(sparse_fit.objective_ - dense_fit.objective_) <= 1e-12 * abs(dense_fit.objective_)
    Xt = _random_csr(rng, 50, 30, 0.2)
    for method in ("decision_function", "predict_proba", "predict_log_proba"):
        np.testing.assert_allclose(getattr(sparse_fit, method)(Xt), getattr(sparse_fit, method)(Xt.toarray()),
                                   rtol=1e-12, atol=1e-14, err_msg=method)
    np.testing.assert_array_equal(sparse_fit.predict(Xt), sparse_fit.predict(Xt.toarray()))


def test_estimator_sparse_probit_warm_start_and_partial_fit(backend):
    rng = np.random.default_rng(SEED)
    X, y, sw = _classification(rng, 300, 20, 2)
    probit = _fit(X, y, sw, link="probit", backend=backend)
    dense_probit = _fit(X.toarray(), y, sw, link="probit", backend=backend)
    np.testing.assert_allclose(probit.coef_, dense_probit.coef_, rtol=1e-6, atol=1e-6)  # as above
    assert abs(probit.objective_ - dense_probit.objective_) <= 1e-12 * abs(dense_probit.objective_)
    warm = fl.LogisticRegression(warm_start=True, tol=1e-10, backend=backend).fit(X, y)
    again = warm.fit(X, y)
    assert again.n_iter_[0] <= 2
    streamed = fl.LogisticRegression(backend=backend, random_state=0)
    streamed_dense = fl.LogisticRegression(backend=backend, random_state=0)
    for _ in range(3):
        streamed.partial_fit(X, y, classes=[0, 1])
        streamed_dense.partial_fit(X.toarray(), y, classes=[0, 1])
    np.testing.assert_allclose(streamed.coef_, streamed_dense.coef_, rtol=1e-9, atol=1e-12)


def test_estimator_float32_sparse_keeps_float32(backend):
    rng = np.random.default_rng(SEED)
    X, y, _ = _classification(rng, 300, 20, 3, dtype=np.float32)
    clf = _fit(X, y, None, backend=backend)
    assert clf.coef_.dtype == np.float32 and clf.predict_proba(X).dtype == np.float32
    ref = _fit(X.astype(np.float64), y, None, backend=backend)
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_fit_matches_scikit_learn(n_classes):
    """The same optimum as scikit-learn's lbfgs on the same sparse data and weights."""
    rng = np.random.default_rng(SEED)
    X, y, sw = _classification(rng, 2000, 60, n_classes, density=0.05)
    ours = _fit(X, y, sw, C=2.0)
    theirs = SkLogisticRegression(C=2.0, tol=1e-12, max_iter=10000).fit(X, y, sample_weight=sw)
    scale = np.max(np.abs(theirs.coef_))
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-6 * scale)


# ----------------------------------------------------------------------------- preconditioner
def test_diagonal_scale_is_the_hessian_diagonal_at_zero():
    """``Objective.diagonal_scale()**2`` is the Hessian's diagonal at theta = 0 (logit),
    read column by column from Hessian-vector products with unit vectors."""
    from fastlogreg import solvers
    from fastlogreg._problems import BinaryProblem, MultinomialProblem

    rng = np.random.default_rng(SEED)
    X = _random_csr(rng, 200, 6, 0.4)
    sw = rng.uniform(0.5, 2.0, 200)
    for problem in (BinaryProblem(X, rng.integers(0, 2, 200), sw),
                    MultinomialProblem(X, rng.integers(0, 2, 200), 2, sw)):
        obj = solvers.Objective(problem, l2=0.01)
        scale = obj.diagonal_scale()
        diagonal = np.array([obj.hessp(np.zeros(obj.n_params), e)[j]
                             for j, e in enumerate(np.eye(obj.n_params))])
        # (two-class softmax at 0: p_k (1 - p_k) = 1/4, as for the logit link)
        np.testing.assert_allclose(scale**2, diagonal, rtol=1e-12)


def test_preconditioned_lbfgs_stops_on_the_unscaled_gradient():
    """On columns of very different frequencies the preconditioned L-BFGS needs far fewer
    iterations than plain L-BFGS, and stops on the gradient in the original parameters."""
    from fastlogreg import solvers
    from fastlogreg._problems import BinaryProblem

    rng = np.random.default_rng(SEED)
    n, d = 5000, 300
    # column j present in about n / (j + 1) rows: a Zipf-like vocabulary
    X = sp.csr_matrix(rng.standard_normal((n, d)) * (rng.random((n, d)) < 1.0 / np.arange(1, d + 1)))
    y = (rng.random(n) < 0.5).astype(np.float64)
    obj = solvers.Objective(BinaryProblem(X, y), l2=1.0 / n)
    plain = solvers.lbfgs(obj, np.zeros(obj.n_params), tol=1e-8, max_iter=5000)
    scaled = solvers.lbfgs(obj, np.zeros(obj.n_params), tol=1e-8, max_iter=5000, scale=obj.diagonal_scale())
    assert scaled.converged and scaled.grad_max <= 1e-8
    assert np.max(np.abs(obj.loss_grad(scaled.theta)[1])) <= 1e-8
    assert scaled.n_iter < plain.n_iter / 2, (scaled.n_iter, plain.n_iter)
    assert abs(scaled.loss - plain.loss) <= 1e-12 * abs(plain.loss)
