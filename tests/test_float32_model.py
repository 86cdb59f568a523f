"""float32 models: the dtype policy of ``LogisticRegression``, as scikit-learn's.

* Fitted on float32 ``X``: ``coef_`` and ``intercept_`` are float32 (every solver, every
  backend, binary and multinomial, warm starts and ``partial_fit`` included: the dtype
  follows the ``X`` of the last call).
* ``decision_function`` / ``predict_proba`` / ``predict_log_proba`` return NumPy's
  promotion of the dtypes of ``X`` and ``coef_``: float32 only for float32 ``X`` on a
  float32 model.
* The kernels see float32 ``X`` as it is (no float64 copy, in fit or predict).
* ``save`` / ``load`` keep the dtype and every bit of ``coef_`` and ``intercept_``.

Tolerance of a float32 model against a float64 fit on the same (float32) values: both
solve the same float64 problem, so they differ by the rounding of the coefficients to
float32 (half an ulp each, ``eps32 / 2`` relative) and of the outputs. A score
``z = x.w + b`` then moves by at most ``eps32 / 2 * (|x|.|w| + |b|)``, plus its own
rounding; ``SCORE_EPS = 4`` such units leaves room for the solvers' stopping points
(measured: at most 0.68 units on these data, Intel Xeon Ice Lake, AVX-512). A
probability moves by at most half its score's change (sigmoid: a quarter), a log
probability by at most twice it; each output is rounded once more (``eps32`` relative).
"""

import warnings

import numpy as np
import pytest
from scipy import special

import fastlogreg
from fastlogreg import LogisticRegression, _backend

from conftest import SEED

EPS32 = float(np.finfo(np.float32).eps)
#: float32 epsilons times ``|x|.|w| + |b|`` allowed between the scores of a float32
#: model and of a float64 fit (see the module docstring).
SCORE_EPS = 4.0
SOLVERS = ["lbfgs", "newton", "sgd"]


def _data(n_classes, n=400, d=5, seed=SEED):
    """float32 X (standard normal) and labels drawn from a softmax model of it."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    W = rng.standard_normal((n_classes, d))
    y = np.argmax(X @ W.T + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


def _fit(X, y, solver, backend, **kwargs):
    params = {"solver": solver, "backend": backend, "tol": 1e-7, "max_iter": 1000, "random_state": 0}
    params.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unconverged fit would make the comparison moot
        return LogisticRegression(**params).fit(X, y)


def _outputs(model, X):
    return {"decision_function": model.decision_function(X),
            "predict_proba": model.predict_proba(X),
            "predict_log_proba": model.predict_log_proba(X)}


def _score_scale(model, X):
    """``|x|.|w| + |b|`` per sample and class: the magnitude a score's rounding scales with."""
    scale = np.abs(np.asarray(X, dtype=np.float64)) @ np.abs(model.coef_.astype(np.float64)).T
    scale += np.abs(model.intercept_.astype(np.float64))
    return scale[:, 0] if model.coef_.shape[0] == 1 else scale


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_fit_gives_float32_attributes_and_outputs(backend, solver, n_classes):
    X32, y = _data(n_classes)
    model = _fit(X32, y, solver, backend)
    rows = 1 if n_classes == 2 else n_classes
    assert model.coef_.dtype == np.float32 and model.coef_.shape == (rows, X32.shape[1])
    assert model.intercept_.dtype == np.float32 and model.intercept_.shape == (rows,)
    assert model.n_iter_.dtype == np.int32
    assert isinstance(model.objective_, float) and isinstance(model.gradient_max_norm_, float)
    for name, out in _outputs(model, X32).items():
        assert out.dtype == np.float32, name
    # float64 X on the float32 model: float64, as NumPy's X @ coef_.T
    for name, out in _outputs(model, X32.astype(np.float64)).items():
        assert out.dtype == np.float64, name
    assert model.predict(X32).dtype == model.classes_.dtype


def test_float32_probit_model(backend):
    X32, y = _data(2)
    model = _fit(X32, y, "lbfgs", backend, link="probit")
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    out = _outputs(model, X32)
    assert all(v.dtype == np.float32 for v in out.values())
    ref = _fit(X32.astype(np.float64), y, "lbfgs", backend, link="probit")
    z64 = ref.decision_function(X32.astype(np.float64))
    tol = SCORE_EPS * EPS32 * _score_scale(ref, X32)
    assert np.all(np.abs(out["decision_function"] - z64) <= tol)
    p64 = special.ndtr(np.column_stack([-z64, z64]))
    assert np.all(np.abs(out["predict_proba"] - p64) <= tol[:, None] + EPS32 * p64)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float64_model_on_float32_X_and_integer_X(n_classes):
    X32, y = _data(n_classes)
    model64 = _fit(X32.astype(np.float64), y, "lbfgs", "numpy")
    assert model64.coef_.dtype == np.float64
    for name, out in _outputs(model64, X32).items():
        assert out.dtype == np.float64, name
    model32 = _fit(X32, y, "lbfgs", "numpy")
    X_int = np.rint(4 * X32).astype(np.int64)
    for name, out in _outputs(model32, X_int).items():
        assert out.dtype == np.float64, name  # integer X is validated to float64


@pytest.mark.parametrize("n_classes", [2, 3])
def test_mixed_dtype_predictions_use_the_widened_coefficients(n_classes):
    """float64 X on a float32 model: the float32 coefficients widened exactly, float64
    arithmetic (what NumPy's X @ coef_.T + intercept_ gives), not float32 scores."""
    X32, y = _data(n_classes)
    model = _fit(X32, y, "lbfgs", "numpy")
    X64 = X32.astype(np.float64) + 1e-9  # values float32 cannot hold
    expected = X64 @ model.coef_.astype(np.float64).T + model.intercept_.astype(np.float64)
    got = model.decision_function(X64)
    np.testing.assert_allclose(got, expected[:, 0] if n_classes == 2 else expected,
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float64_X_is_unaffected(backend, solver, n_classes):
    X32, y = _data(n_classes)
    X = X32.astype(np.float64) + np.random.default_rng(SEED + 1).normal(0, 1e-3, X32.shape)
    model = _fit(X, y, solver, backend)
    assert model.coef_.dtype == np.float64 and model.intercept_.dtype == np.float64
    out = _outputs(model, X)
    assert all(v.dtype == np.float64 for v in out.values())
    z = X @ model.coef_.T + model.intercept_
    if n_classes == 2:
        z = z[:, 0]
        p = special.expit(np.column_stack([-z, z]))
        logp = special.log_expit(np.column_stack([-z, z]))
    else:
        p, logp = special.softmax(z, axis=1), special.log_softmax(z, axis=1)
    np.testing.assert_allclose(out["decision_function"], z, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(out["predict_proba"], p, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["predict_log_proba"], logp, rtol=1e-12, atol=1e-13)


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_model_predicts_as_a_float64_fit(backend, solver, n_classes):
    X32, y = _data(n_classes)
    m32 = _fit(X32, y, solver, backend)
    m64 = _fit(X32.astype(np.float64), y, solver, backend)
    out32, out64 = _outputs(m32, X32), _outputs(m64, X32.astype(np.float64))
    dz = SCORE_EPS * EPS32 * _score_scale(m64, X32)
    z32, z64 = out32["decision_function"].astype(np.float64), out64["decision_function"]
    assert np.all(np.abs(z32 - z64) <= dz), np.max(np.abs(z32 - z64) / dz)
    dz_rows = dz if n_classes > 2 else np.column_stack([dz, dz])
    dz_max = dz_rows.max(axis=1, keepdims=True)
    p32, p64 = out32["predict_proba"].astype(np.float64), out64["predict_proba"]
    assert np.all(np.abs(p32 - p64) <= dz_max / 2 + EPS32 * p64)
    l32, l64 = out32["predict_log_proba"].astype(np.float64), out64["predict_log_proba"]
    assert np.all(np.abs(l32 - l64) <= 2 * dz_max + EPS32 * np.abs(l64))
    # labels agree wherever the float64 scores are not within the tolerance of a tie
    if n_classes == 2:
        clear = np.abs(z64) > dz
    else:
        top2 = np.sort(z64, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 2 * dz.max(axis=1)
    assert np.count_nonzero(clear) > 0.9 * len(y)
    np.testing.assert_array_equal(m32.predict(X32)[clear], m64.predict(X32)[clear])


def test_float32_scores_are_float64_sums_rounded_once(backend):
    """A float32 model scores float32 X in float64 and rounds once: the result is the
    float32 nearest the exact float64 score (within half an ulp of it)."""
    X32, y = _data(3)
    model = _fit(X32, y, "lbfgs", backend)
    exact = X32.astype(np.float64) @ model.coef_.astype(np.float64).T + model.intercept_
    got = model.decision_function(X32)
    np.testing.assert_allclose(got, exact, rtol=2.0**-24 + 1e-14, atol=1e-30)


# ----------------------------------------------------------------------------- warm starts
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_warm_start_follows_the_dtype_of_X(backend, solver, n_classes):
    X32, y = _data(n_classes)
    X64 = X32.astype(np.float64)
    model = _fit(X64, y, solver, backend, warm_start=True)
    assert model.coef_.dtype == np.float64
    model.fit(X32, y)
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    # a warm start from the converged float64 solution: the rounding to float32 is far
    # below tol's effect, so no more than a few iterations are needed
    assert model.n_iter_[0] <= 3
    model.fit(X64, y)
    assert model.coef_.dtype == np.float64 and model.intercept_.dtype == np.float64


@pytest.mark.parametrize("n_classes", [2, 3])
def test_partial_fit_follows_the_dtype_of_each_batch(backend, n_classes):
    X32, y = _data(n_classes)
    model = LogisticRegression(backend=backend, random_state=0)
    model.partial_fit(X32[:200], y[:200], classes=np.arange(n_classes))
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    assert model.predict_proba(X32).dtype == np.float32
    loss_before = model.objective_
    model.partial_fit(X32[:200], y[:200])
    assert model.coef_.dtype == np.float32
    # continued from the float32 coefficients (an epoch may be undone: then the objective
    # is the one at those coefficients, up to their rounding)
    assert model.objective_ <= loss_before * (1 + 1e-6)
    model.partial_fit(X32[200:].astype(np.float64), y[200:])
    assert model.coef_.dtype == np.float64 and model.intercept_.dtype == np.float64
    model.partial_fit(X32[200:], y[200:])
    assert model.coef_.dtype == np.float32


# ----------------------------------------------------------------------------- no copy of X
class _KernelSpy:
    """A backend whose fused calls record their first argument (X)."""

    def __init__(self, kernel, seen):
        self._kernel, self._seen = kernel, seen

    def __getattr__(self, name):
        fn = getattr(self._kernel, name)
        if not callable(fn):
            return fn

        def spy(*args, **kwargs):
            if args and isinstance(args[0], np.ndarray) and args[0].ndim == 2:
                self._seen.append((name, args[0]))
            return fn(*args, **kwargs)

        return spy


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_kernels_read_float32_X_as_it_is(monkeypatch, solver, n_classes):
    """Every fused call of every solver gets float32 X: the data itself (or, for Newton's
    Hessian sample, a float32 copy of every 20th row), never a float64 conversion."""
    X32, y = _data(n_classes, n=6000, d=4)  # large enough for Newton's Hessian sample
    seen = []
    resolve = _backend.resolve
    monkeypatch.setattr(_backend, "resolve", lambda name: _KernelSpy(resolve(name), seen))
    _fit(X32, y, solver, "numpy", tol=1e-5)
    assert seen
    for name, X in seen:
        assert X.dtype == np.float32, name
        assert np.shares_memory(X, X32) or X.shape[0] <= X32.shape[0] // 20, (name, X.shape)
    if solver == "newton":
        assert any(not np.shares_memory(X, X32) for _, X in seen), "no Hessian sample taken"


def test_predictions_do_not_copy_float32_X_to_float64():
    """tracemalloc sees every NumPy allocation: a float64 copy of X is 2x X; the row
    blocks of float64 (8 MB) and the (n, 3) outputs stay under 1x."""
    import tracemalloc

    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((200_000, 40)).astype(np.float32)  # 32 MB
    model = _fit(X[:2000], rng.integers(0, 3, 2000), "lbfgs", "numpy")
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        getattr(model, method)(X[:10])
        tracemalloc.start()
        try:
            getattr(model, method)(X)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < X.nbytes, f"{method} allocated {peak / X.nbytes:.0%} of X"


# ----------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_save_load_keeps_dtype_and_bits(tmp_path, backend, dtype, n_classes):
    X32, y = _data(n_classes)
    X = X32.astype(dtype)
    model = _fit(X, y, "lbfgs", backend)
    path = tmp_path / "model.flr"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert data["coef_"].dtype == dtype and data["intercept_"].dtype == dtype
    loaded = fastlogreg.load(path)
    for name in ("coef_", "intercept_"):
        got, saved = getattr(loaded, name), getattr(model, name)
        assert got.dtype == saved.dtype == dtype, name
        uint = np.uint32 if dtype == np.float32 else np.uint64
        np.testing.assert_array_equal(got.view(uint), saved.view(uint), err_msg=name)
    for name, out in _outputs(loaded, X).items():
        expected = getattr(model, name)(X)
        assert out.dtype == expected.dtype == dtype, name
        np.testing.assert_array_equal(out, expected, err_msg=name)  # same host, same code


def _write_model(tmp_path, coef, intercept):
    """A valid float32 model file with ``coef_`` / ``intercept_`` replaced."""
    X32, y = _data(3)
    path = tmp_path / "valid.flr"
    _fit(X32, y, "lbfgs", "numpy").save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["coef_"], arrays["intercept_"] = coef(arrays["coef_"]), intercept(arrays["intercept_"])
    crafted = tmp_path / "crafted.flr"
    with open(crafted, "wb") as fh:
        np.savez(fh, **arrays)
    return crafted


def _with_nan(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


@pytest.mark.parametrize("coef, intercept, match", [
    (lambda c: c.astype(np.int32), lambda b: b, r"coef_ must be float64 or float32, got int32"),
    (lambda c: c.astype(np.complex64), lambda b: b, r"coef_ must be float64 or float32, got complex64"),
    (lambda c: c.astype(np.float16), lambda b: b, r"coef_ must be float64 or float32, got float16"),
    (lambda c: c, lambda b: b.astype(np.int64), r"intercept_ must be float64 or float32, got int64"),
    (_with_nan, lambda b: b, r"coef_ holds non-finite values"),
    (lambda c: c, lambda b: np.full_like(b, np.inf), r"intercept_ holds non-finite values"),
    (lambda c: c, lambda b: b.astype(np.float64), r"coef_ \(float32\) and intercept_ \(float64\)"),
], ids=["int", "complex", "float16", "int-intercept", "nan", "inf", "mixed"])
def test_load_refuses_bad_float32_models(tmp_path, coef, intercept, match):
    path = _write_model(tmp_path, coef, intercept)
    with pytest.raises(ValueError, match=match):
        fastlogreg.load(path)


def test_load_accepts_float32_and_float64_files(tmp_path):
    path = _write_model(tmp_path, lambda c: c, lambda b: b)
    assert fastlogreg.load(path).coef_.dtype == np.float32
    path = _write_model(tmp_path, lambda c: c.astype(np.float64), lambda b: b.astype(np.float64))
    assert fastlogreg.load(path).coef_.dtype == np.float64
