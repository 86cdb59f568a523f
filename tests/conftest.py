"""Shared fixtures: the whole suite runs once per available backend.

``backend`` is a session fixture parametrized over :func:`fastlogreg.available_backends`
(as MarkupSafe's ``_speedups`` fixture): every test that takes it runs once per backend,
with the backend's name as the test id. ``fast_backend`` is the same without "numpy", for
tests that compare a backend against the NumPy reference (the oracle).

What the suite promises, and how each promise is asserted:

* **Exact on every host** (``assert_array_equal`` or ``==`` against literal values):
  values the contract fixes whatever libm, SIMD dispatch or FMA the host has: +-inf,
  NaN, 0 and 1 at the ends of the domain, the uniform rows of softmax (``1/C``, the
  correctly rounded quotient), exact scalings (a power-of-two factor), integer sums.
* **Bit-identical on the same host and thread count** (``assert_array_equal`` between
  two results of the same backend): repeated calls, every memory layout and dtype
  conversion of the same values, concurrent calls, ``backend=`` against
  ``use_backend``, a model saved and loaded. Across hosts these may change in the last
  bits: libm, NumPy's SIMD loops (AVX-512 or AVX2), FMA contraction and the C kernel's
  instruction-set clone all differ.
* **To a tolerance** (``assert_ulp_close``, ``assert_specials_exact``,
  ``assert_fused_close`` and the tolerances named in each module): everything that
  compares two implementations: backends against the reference, against mpmath,
  SciPy, scikit-learn or statsmodels, and results for different thread counts.

To check the AVX2 path of an AVX-512 host, run the suite with
``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"`` (NumPy's AVX2 loops),
``FASTLOGREG_C_ISA=x86-64-v3`` (the C kernel's AVX2 level; or a build with
``FASTLOGREG_EXTRA_CFLAGS=-march=x86-64-v3``), and Numba compiling for
``NUMBA_CPU_NAME=znver3`` with its own ``NUMBA_CACHE_DIR`` and ``NUMBA_CPU_FEATURES`` set
to the host's features with the AVX-512 ones turned off (a CPU name alone keeps the
host's features)::

    python -c "import llvmlite.binding as ll; print(','.join(('-' if k.startswith('avx512')
    or k == 'evex512' else '+-'[not v]) + k for k, v in ll.get_host_cpu_features().items()))"

Hypothesis: the "fastlogreg" profile (default) keeps the number of examples small and
derandomizes the search, so the suite is fast and every run sees the same examples;
``deadline=None`` because Numba compiles lazily on the first call of each signature.
Set ``HYPOTHESIS_PROFILE=thorough`` for a longer, randomized search.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import fastlogreg

settings.register_profile(
    "fastlogreg",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fastlogreg"))

#: Seed of every ``numpy.random.Generator`` in the suite.
SEED = 20261128

BACKENDS = fastlogreg.available_backends()
FAST_BACKENDS = [name for name in BACKENDS if name != "numpy"]


def pytest_report_header(config):
    info = fastlogreg.backend_info()
    return [f"fastlogreg backends: {BACKENDS} (default {info['default']}, "
            f"{info['num_threads']} threads); " +
            ", ".join(f"{k}: {v}" for k, v in info.items() if k in ("numba", "c", "numpy"))]


@pytest.fixture(scope="session", params=BACKENDS, ids=BACKENDS)
def backend(request):
    """Name of one available backend; the test runs once per backend."""
    return request.param


@pytest.fixture(scope="session", params=FAST_BACKENDS or [None], ids=FAST_BACKENDS or ["none"])
def fast_backend(request):
    """Name of one available non-reference backend ("numba", "c"), compared against "numpy"."""
    if request.param is None:
        pytest.skip("no backend besides the NumPy reference is available")
    return request.param


@pytest.fixture
def rng():
    """A freshly seeded generator: every test sees the same numbers on every run."""
    return np.random.default_rng(SEED)


@pytest.fixture
def restore_backend_state():
    """Restore the default backend and the thread count after a test that changes them."""
    from fastlogreg import _backend

    saved_default, saved_threads = _backend._default, _backend._num_threads
    yield
    _backend._default, _backend._num_threads = saved_default, saved_threads


def planted_classes(n_classes=2, n=3000, d=6, dtype=np.float64, weighted=True):
    """``(X, y, sample_weight or None)``: standard normal X (n, d) of ``dtype``, labels the
    argmax of X times random coefficients plus Gumbel noise (a planted softmax model, so
    every class occurs), weights uniform in [0.2, 2]."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((n, d)).astype(dtype)
    scores = X.astype(np.float64) @ rng.standard_normal((d, n_classes))
    y = np.argmax(scores + rng.gumbel(size=(n, n_classes)), axis=1)
    sw = rng.uniform(0.2, 2.0, n) if weighted else None
    return X, y, sw


def assert_same_model(got, expected, rtol=1e-6):
    """Two fitted estimators hold the same model: classes and dtype exactly, ``coef_`` and
    ``intercept_`` to ``rtol`` relative (absolute ``rtol`` times the largest |coef|)."""
    np.testing.assert_array_equal(got.classes_, expected.classes_)
    assert got.coef_.dtype == expected.coef_.dtype
    scale = np.max(np.abs(expected.coef_))
    np.testing.assert_allclose(got.coef_, expected.coef_, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(got.intercept_, expected.intercept_, rtol=rtol, atol=rtol * scale)


# ----------------------------------------------------------------------------- shared checks
EPS64 = np.finfo(np.float64).eps


def ordered_bits(a):
    """Floats as integers in the same order (adjacent floats differ by 1), for ULP distances."""
    a = np.ascontiguousarray(a)
    itype = np.int64 if a.dtype == np.float64 else np.int32
    bits = a.view(itype).astype(np.int64)
    return np.where(bits < 0, np.int64(np.iinfo(itype).min) - bits, bits)


def assert_ulp_close(got, expected, max_ulp, what=""):
    """Same dtype and shape; equal, both NaN, or at most ``max_ulp`` apart. Below the
    smallest normal number an absolute difference under it is accepted instead (the
    issue's rule for values that underflow: one backend may flush to 0)."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    tiny = np.finfo(got.dtype).tiny
    with np.errstate(invalid="ignore", over="ignore"):
        ulps = np.abs(ordered_bits(got) - ordered_bits(expected))
        ok = (got == expected) | (np.isnan(got) & np.isnan(expected)) | (ulps <= max_ulp)
        ok |= (np.abs(expected) < tiny) & (np.abs(got.astype(np.float64) - expected) < tiny)
    if not np.all(ok):
        bad = np.flatnonzero(~ok.ravel())
        rows = [f"  [{i}] got {got.ravel()[i]!r}, expected {expected.ravel()[i]!r} "
                f"({ulps.ravel()[i]} ulp)" for i in bad[:6]]
        pytest.fail(f"{what}: {bad.size} of {got.size} values more than {max_ulp} ulp apart\n"
                    + "\n".join(rows))


def assert_specials_exact(got, expected, max_ulp, what=""):
    """Bit-exact where ``expected`` is a value the contract fixes on every host (+-inf,
    NaN, 0), within ``max_ulp`` elsewhere (values that come from libm)."""
    got, expected = np.asarray(got), np.asarray(expected)
    special = ~np.isfinite(expected) | (expected == 0)
    np.testing.assert_array_equal(got[special], expected[special], err_msg=f"{what}: special values")
    assert_ulp_close(got[~special], expected[~special], max_ulp, what)


def assert_close_to(got, expected, tol, what=""):
    """|got - expected| <= tol elementwise (tol an array or a scalar), NaN equal to NaN."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(got - expected)
        ok = (got == expected) | (np.isnan(got) & np.isnan(expected)) | (err <= tol)
    if not np.all(ok):
        tol = np.broadcast_to(tol, got.shape)
        bad = np.flatnonzero(~ok.ravel())
        rows = [f"  [{i}] got {got.ravel()[i]!r}, expected {expected.ravel()[i]!r}, "
                f"error {err.ravel()[i]:.3g} > tolerance {tol.ravel()[i]:.3g}" for i in bad[:6]]
        pytest.fail(f"{what}: {bad.size} of {got.size} values outside the tolerance\n" + "\n".join(rows))


def safe_norm(v):
    """Euclidean norm without overflow for entries near the float range (as LAPACK's nrm2)."""
    v = np.abs(np.ravel(np.asarray(v, dtype=np.float64)))
    top = v.max(initial=0.0)
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sqrt(np.sum((v / top) ** 2)))


def binary_error_scales(X, y, w, b, sample_weight):
    """Magnitudes that bound the rounding error of a binary fused kernel (float64 sums).

    With a_i = sum_j |x_ij w_j| + |b|, the score z_i is computed to (d + 1) a_i epsilons
    in any summation order; the pointwise loss moves by |r_i| (r = dl/dz = s - y) per
    unit of z, the residual by at most 1/4, and the residual itself is formed from
    s_i and y_i (|s_i| + |y_i| epsilons). Summing n rows costs n epsilons of the sum of
    magnitudes. Returns (loss_scale, grad_scale): epsilons times these bound the
    difference between two correct implementations, whatever their summation order.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    a = np.abs(X) @ np.abs(w) + abs(b)
    with np.errstate(over="ignore"):
        z = X @ w + b
    s = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))
    dz = (d + 1) * a
    loss_scale = (n + 4) * np.sum(sw * np.abs(s - y) * dz) / sw.sum()
    e = (n + 4) * ((s + y) + dz / 4)
    grad_scale = safe_norm(np.append(np.abs(X).T @ (sw * e), np.sum(sw * e))) / sw.sum()
    return loss_scale, grad_scale


def softmax_error_scales(X, Y, W, b, sample_weight):
    """As :func:`binary_error_scales` for the softmax kernel (Y one-hot/probability rows):
    scores z_ik to (d + 1) a_ik epsilons, the loss moves by sum_k |p_ik - Y_ik| per unit
    of z and each probability by at most 2 p_ik max_k dz_ik."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    A = np.abs(X) @ np.abs(W).T + np.abs(b)
    with np.errstate(over="ignore", invalid="ignore"):
        Z = X @ W.T + b
        Z = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
    dz = ((d + 1) * A).max(axis=1)
    loss_scale = (n + 4) * np.sum(sw * np.abs(P - Y).sum(axis=1) * dz) / sw.sum()
    E = (n + 4) * ((P + Y) + 2 * P * dz[:, None])
    grad = np.concatenate([(E * sw[:, None]).T @ np.abs(X), (E * sw[:, None]).sum(axis=0)[:, None]], axis=1)
    return loss_scale, safe_norm(grad) / sw.sum()


def assert_fused_close(got, ref, scales, rtol, what=""):
    """(loss, grad, grad_b) of a backend against the reference: the documented relative
    ``rtol`` of the loss and of the gradient's norm, plus float64 epsilons times the
    rounding scales of :func:`binary_error_scales` (the error two correct summation
    orders may make near cancellation)."""
    loss, grad, grad_b = got
    loss_ref, grad_ref, grad_b_ref = ref
    loss_scale, grad_scale = scales
    assert np.asarray(loss).dtype == np.asarray(loss_ref).dtype, what
    assert np.asarray(grad).dtype == np.asarray(grad_ref).dtype, what
    assert np.shape(grad) == np.shape(grad_ref) and np.shape(grad_b) == np.shape(grad_b_ref), what
    loss_err = abs(float(loss) - float(loss_ref))
    loss_tol = rtol * abs(float(loss_ref)) + EPS64 * loss_scale
    assert loss_err <= loss_tol, (f"{what}: loss {loss!r} vs reference {loss_ref!r} "
                                  f"(error {loss_err:.3g} > {loss_tol:.3g})")
    g = np.concatenate([np.ravel(grad), np.ravel(grad_b)]).astype(np.float64)
    g_ref = np.concatenate([np.ravel(grad_ref), np.ravel(grad_b_ref)]).astype(np.float64)
    grad_err = safe_norm(g - g_ref)
    grad_tol = rtol * safe_norm(g_ref) + EPS64 * grad_scale
    assert grad_err <= grad_tol, (f"{what}: gradient differs from the reference by {grad_err:.3g} "
                                  f"> {grad_tol:.3g} (|g_ref| = {safe_norm(g_ref):.3g})\n"
                                  f"got {g}\nref {g_ref}")
