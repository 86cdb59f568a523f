"""LogisticRegressionCV's side-by-side folds (fastlogreg._fold_batch): the multi-fold
kernel against the reference kernel of each fold, and the cross-validation it drives
against the same cross-validation fitted one fold at a time.

Promised: the kernel's partial sums equal the reference's per fold to a few ulp of the
sums (they add the same terms in another order); a cross-validation gives bit-identical
results from run to run on one host (each fold's sums do not depend on which other folds
are evaluated with it, nor on the order the folds' threads ask); the side-by-side paths
equal the one-fold-at-a-time paths to the solvers' tolerance (their floating-point sums
differ, so L-BFGS may take other steps)."""

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

import fastlogreg as flr
from fastlogreg import LogisticRegressionCV, _fold_batch, linear_model_cv

pytest.importorskip("numba")
from fastlogreg.backends.numba_kernels import folds as fold_kernels  # noqa: E402
from fastlogreg.backends.numba_kernels.fused import LOGIT, PROBIT  # noqa: E402


def _planted(n=4000, d=8, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    w = rng.standard_normal(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w + 0.3)))).astype(np.int64)
    return X, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("link", ["logit", "probit"])
@pytest.mark.parametrize("n_folds", [2, 5, 7])  # padding to a multiple of 5 models, two tiles
@pytest.mark.parametrize("n_threads", [1, 3])
def test_kernel_equals_the_reference_per_fold(dtype, link, n_folds, n_threads):
    rng = np.random.default_rng(n_folds)
    n, d = 1037, 13  # rows and columns off every block and tile multiple
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.random(n)  # probabilities as targets: the general form
    fold = rng.integers(0, n_folds, n)
    sw = rng.random(n) + 0.5
    weights = np.stack([np.where(fold != f, sw, 0.0) for f in range(n_folds)])
    W = rng.standard_normal((n_folds, d)) * 0.5
    B = rng.standard_normal(n_folds)
    active = np.ones(n_folds, dtype=bool)
    active[1] = False
    loss = np.full(n_folds, -7.0)
    grad_w = np.full((n_folds, d), -7.0)
    grad_b = np.full(n_folds, -7.0)
    fold_kernels.binary_folds_loss_grad(LOGIT if link == "logit" else PROBIT, X, y, weights, active,
                                        (W, B), (loss, grad_w, grad_b), n_threads)
    reference = flr.logistic_loss_grad if link == "logit" else flr.probit_loss_grad
    for f in range(n_folds):
        if not active[f]:  # left as they were
            assert loss[f] == -7.0 and grad_b[f] == -7.0 and np.all(grad_w[f] == -7.0)
            continue
        total = weights[f].sum()
        ref_loss, ref_gw, ref_gb = reference(X, y, W[f], B[f], sample_weight=weights[f], backend="numpy")
        # the reference returns means; the kernel returns sums
        np.testing.assert_allclose(loss[f] / total, ref_loss, rtol=1e-13)
        scale = np.max(np.abs(ref_gw)) + abs(ref_gb)
        np.testing.assert_allclose(grad_w[f] / total, ref_gw, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(grad_b[f] / total, ref_gb, rtol=0, atol=1e-13 * scale)


def _cv_one_fold_at_a_time(monkeypatch, X, y, **params):
    with monkeypatch.context() as m:
        m.setattr(LogisticRegressionCV, "_fold_batch", lambda self, *args: None)
        return LogisticRegressionCV(**params).fit(X, y)


@pytest.mark.parametrize("params", [
    dict(),
    dict(link="probit"),
    dict(fit_intercept=False, class_weight="balanced"),
    dict(scoring="neg_log_loss"),
], ids=["logit", "probit", "balanced-no-intercept", "log-loss"])
def test_side_by_side_equals_one_fold_at_a_time(fast_backend, monkeypatch, params):
    X, y = _planted()
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    params = dict(Cs=np.logspace(-3, 2, 6), cv=folds, tol=1e-9, backend=fast_backend, **params)
    calls = []
    original = _fold_batch.FoldBatch._loss_grad_all
    monkeypatch.setattr(_fold_batch.FoldBatch, "_loss_grad_all",
                        lambda self, batched: calls.append(len(batched)) or original(self, batched))
    got = LogisticRegressionCV(**params).fit(X, y)
    assert calls and max(calls) == len(folds)  # the folds were evaluated together
    expected = _cv_one_fold_at_a_time(monkeypatch, X, y, **params)
    np.testing.assert_array_equal(got.C_, expected.C_)
    paths, expected_paths = got.coefs_paths_[1], expected.coefs_paths_[1]
    np.testing.assert_allclose(paths, expected_paths, rtol=0, atol=1e-6 * np.max(np.abs(expected_paths)))
    np.testing.assert_allclose(got.scores_[1], expected.scores_[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.coef_, expected.coef_, rtol=1e-6)


def test_side_by_side_runs_are_bit_identical(fast_backend):
    X, y = _planted(seed=3)
    fits = [LogisticRegressionCV(Cs=5, cv=3, backend=fast_backend).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].coefs_paths_[1], fits[1].coefs_paths_[1])
    np.testing.assert_array_equal(fits[0].scores_[1], fits[1].scores_[1])
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)


@pytest.mark.parametrize("case", ["numpy backend", "multinomial", "l1", "sparse", "newton", "fortran"])
def test_side_by_side_only_where_it_applies(fast_backend, monkeypatch, case):
    """The folds go side by side for dense C-contiguous binary data fitted by L-BFGS with an
    L2 penalty on a fast backend; otherwise one at a time (and the fit still works)."""
    from scipy import sparse

    X, y = _planted(n=600)
    params = dict(Cs=3, cv=3, backend=fast_backend)
    if case == "numpy backend":
        params["backend"] = "numpy"
    elif case == "multinomial":
        y = y + (X[:, 0] > 1)
    elif case == "l1":
        params.update(penalty="l1")
    elif case == "sparse":
        X = sparse.csr_matrix(X)
    elif case == "newton":
        params["solver"] = "newton"
    elif case == "fortran":
        X = np.asfortranarray(X)
    batches = []
    original = LogisticRegressionCV._fold_batch
    monkeypatch.setattr(LogisticRegressionCV, "_fold_batch",
                        lambda self, *args: batches.append(original(self, *args)) or batches[-1])
    LogisticRegressionCV(**params).fit(X, y)
    assert batches == [None]
    batches.clear()
    LogisticRegressionCV(Cs=3, cv=3, backend=fast_backend).fit(*_planted(n=600))
    assert isinstance(batches[0], _fold_batch.FoldBatch)


def test_an_error_in_a_fold_reaches_the_caller(fast_backend, monkeypatch):
    """A solver failing in one fold's thread: the fit raises its error (the other folds
    are not left waiting)."""
    X, y = _planted(n=800)
    original = linear_model_cv.solvers._run_solver
    calls = []

    def failing(obj, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("solver failed in one fold")
        return original(obj, *args, **kwargs)

    monkeypatch.setattr(linear_model_cv.solvers, "_run_solver", failing)
    with pytest.raises(RuntimeError, match="solver failed in one fold"):
        LogisticRegressionCV(Cs=3, cv=3, backend=fast_backend).fit(X, y)


def test_an_error_in_the_batched_pass_reaches_the_caller(fast_backend, monkeypatch):
    X, y = _planted(n=800)

    def failing(self, batched):
        raise MemoryError("no memory for the folds' pass")

    monkeypatch.setattr(_fold_batch.FoldBatch, "_loss_grad_all", failing)
    with pytest.raises(MemoryError, match="no memory for the folds' pass"):
        LogisticRegressionCV(Cs=3, cv=3, backend=fast_backend).fit(X, y)


def test_an_interrupted_run_releases_the_fold_threads(fast_backend, monkeypatch):
    """Ctrl-C on the main thread while it serves the folds: the interrupt reaches the
    caller and every fold's thread ends instead of waiting for an answer forever."""
    import threading

    X, y = _planted(n=800)
    calls = []

    def interrupted(self, batched):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, batched)

    original = _fold_batch.FoldBatch._loss_grad_all
    before = threading.active_count()
    monkeypatch.setattr(_fold_batch.FoldBatch, "_loss_grad_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        LogisticRegressionCV(Cs=3, cv=3, backend=fast_backend).fit(X, y)
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.daemon:
            thread.join(timeout=10)
    assert threading.active_count() <= before
