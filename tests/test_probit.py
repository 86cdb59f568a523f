"""Probit link: the Numba ``log_ndtr`` / ``probit_loss_grad`` kernels and the probit fit.

Tolerances
----------
* ``log_ndtr`` against mpmath at 50 digits, at the very same float inputs:
  ``LOG_NDTR_RTOL = 8 eps`` relative over the whole range, right tail included (the
  kernels measure below 2 eps here; the margin is for other hosts' libm). Against the
  reference backend, which meets the same bound, twice that (the two may sit on either
  side of the exact value); SciPy's ``log_ndtr`` is not the oracle: it loses up to about
  1,000 eps above x = 5.
* Fused gradient against central finite differences of the kernel's own loss, with
  a step h = 1e-6: truncation h^2 |l'''| and rounding eps |l| / h, so ``FD_RTOL = 1e-6``.
* Fit against statsmodels' Probit MLE (C=inf): both at gradient < 1e-9 on a
  well-conditioned problem, so ``1e-6`` relative.
"""

import mpmath
import numpy as np
import pytest
from scipy import special

import fastlogreg
from fastlogreg import LogisticRegression

from conftest import SEED, assert_ulp_close

numba_kernels = pytest.importorskip("fastlogreg.backends.numba_kernels")

EPS = np.finfo(np.float64).eps
LOG_NDTR_RTOL = 8 * EPS
FD_RTOL = 1e-6


def _mp_log_ndtr(x):
    mpmath.mp.dps = 50
    x = mpmath.mpf(float(x))
    if x > 0:
        return float(mpmath.log1p(-mpmath.ncdf(-x)))
    return float(mpmath.log(mpmath.ncdf(x)))


GRID = np.concatenate([
    -np.logspace(3, -3, 60), [0.0], np.logspace(-3, np.log10(37.5), 50),
    [-20.0, -19.999999, -20.000001, -1.0, -0.9999999, -1.0000001, -1e3, 37.0],
])


def test_log_ndtr_matches_mpmath():
    out = np.empty((1, GRID.size))
    numba_kernels.log_ndtr(GRID[None, :], out, 2)
    expected = np.array([_mp_log_ndtr(x) for x in GRID])
    rel = np.abs(out[0] - expected) / np.abs(expected)
    bad = rel > LOG_NDTR_RTOL
    assert not bad.any(), list(zip(GRID[bad], rel[bad] / EPS))


def test_log_ndtr_matches_the_reference_on_a_dense_grid():
    x = np.concatenate([np.linspace(-1e3, 40.0, 200_001), np.linspace(-25, 5, 30_001)])
    out = np.empty((1, x.size))
    numba_kernels.log_ndtr(x[None, :], out, 2)
    ref = fastlogreg.log_ndtr(x, backend="numpy")
    normal = np.abs(ref) >= np.finfo(np.float64).tiny  # subnormal results: absolute check
    rel = np.abs(out[0] - ref)[normal] / np.abs(ref[normal])
    bad = rel > 2 * LOG_NDTR_RTOL
    assert not bad.any(), list(zip(x[normal][bad], rel[bad] / EPS))[:10]
    assert np.all(np.abs(out[0] - ref)[~normal] <= np.finfo(np.float64).tiny)


def test_log_ndtr_special_values_and_layouts():
    x = np.array([[-np.inf, np.inf, np.nan, 0.0]])
    out = np.empty_like(x)
    numba_kernels.log_ndtr(x, out, 1)
    assert out[0, 0] == -np.inf and out[0, 1] == 0.0 and np.isnan(out[0, 2])
    assert out[0, 3] == pytest.approx(np.log(0.5), rel=1e-15)
    # any strides, float32 data: the public function dispatches to the kernel
    rng = np.random.default_rng(SEED)
    z = rng.standard_normal((7, 9)) * 10
    for view in (z, z.T, z[::2, ::-3], np.asfortranarray(z)):
        got = fastlogreg.log_ndtr(view, backend="numba")
        ref = fastlogreg.log_ndtr(view, backend="numpy")
        assert got.shape == view.shape
        assert np.all(np.abs(got - ref) <= 2 * LOG_NDTR_RTOL * np.abs(ref))
    z32 = z.astype(np.float32)
    got = fastlogreg.log_ndtr(z32, backend="numba")
    assert got.dtype == np.float32
    # SciPy's float64 log_ndtr rounded to float32: a different libm path, so 1 float32 ulp.
    assert_ulp_close(got, special.log_ndtr(z32.astype(np.float64)).astype(np.float32), 1,
                     "float32 log_ndtr against SciPy")


def _probit_data(n=400, d=4, seed=SEED):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < special.ndtr(X @ np.array([0.9, -0.4, 0.2, 0.0])[:d] + 0.1)).astype(float)
    return X, y, rng.uniform(0.2, 2.0, n)


def test_probit_loss_grad_matches_reference(fast_backend):
    X, y, sw = _probit_data()
    y[:5] = [0.25, 0.5, 0.75, 0.0, 1.0]  # soft labels too
    rng = np.random.default_rng(SEED)
    for scale in (0.1, 3.0, 40.0):  # 40: scores deep in both tails
        w = rng.standard_normal(4) * scale
        got = fastlogreg.probit_loss_grad(X, y, w, 0.3, sample_weight=sw, l2=0.01, backend=fast_backend)
        ref = fastlogreg.probit_loss_grad(X, y, w, 0.3, sample_weight=sw, l2=0.01, backend="numpy")
        assert float(got[0]) == pytest.approx(float(ref[0]), rel=1e-12)
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-11, atol=1e-12 * np.abs(ref[1]).max())
        assert float(got[2]) == pytest.approx(float(ref[2]), rel=1e-11, abs=1e-12)


def _assert_pointwise_vs_mpmath(zs, backend, slack):
    """One sample (x = 1, w = 0, b = z) for each z in ``zs`` and y in {1, 0, 0.3}: the loss
    within 4 eps and grad_b (the residual) within 16 eps of its terms, plus ``slack``."""
    failures = []
    for y in (1.0, 0.0, 0.3):
        for z in zs:
            loss, _, grad_b = fastlogreg.probit_loss_grad(np.ones((1, 1)), [y], [0.0], z, backend=backend)
            u = mpmath.mpf(float(z))
            log_cdf, log_sf = (mpmath.log(mpmath.ncdf(v)) if v <= 0 else mpmath.log1p(-mpmath.ncdf(-v))
                               for v in (u, -u))
            true_loss = -y * log_cdf - (1 - y) * log_sf
            a = y * mpmath.npdf(u) / mpmath.ncdf(u)
            b = (1 - y) * mpmath.npdf(u) / mpmath.ncdf(-u)
            if abs(loss - true_loss) > 4 * EPS * abs(true_loss) + slack:
                failures.append(f"loss y={y} z={z!r}: {loss!r} vs {float(true_loss)!r}")
            if abs(grad_b - (b - a)) > 16 * EPS * (a + b) + slack:
                failures.append(f"residual y={y} z={z!r}: {grad_b!r} vs {float(b - a)!r}")
    assert not failures, "\n".join(failures[:12])


def test_probit_pointwise_vs_mpmath_across_the_formula_switches(fast_backend):
    """One sample (x = 1, w = 0, b = z): the loss and grad_b are the pointwise loss and
    residual. The kernels switch formulas at z = -20 (asymptotic series) and z = 0
    (Phi, or 1 - Phi from the other tail); a dense sweep across both, hard and soft
    labels: 4 eps on the loss, 16 eps of the residual's terms (as in test_gradients)."""
    mpmath.mp.dps = 50
    zs = np.concatenate([np.linspace(-21.0, 3.0, 97), [-20.0, -20.0 - 1e-9, -20.0 + 1e-9],
                         [-1e-300, 0.0, 1e-300, -1e-9, 1e-9]])
    _assert_pointwise_vs_mpmath(zs, fast_backend, slack=0.0)


def test_probit_gradient_finite_differences(backend):
    X, y, sw = _probit_data()
    rng = np.random.default_rng(SEED)
    w = rng.standard_normal(4)
    b = -0.2
    _, g, gb = fastlogreg.probit_loss_grad(X, y, w, b, sample_weight=sw, l2=0.05, backend=backend)
    h = 1e-6

    def loss(w_, b_):
        return float(fastlogreg.probit_loss_grad(X, y, w_, b_, sample_weight=sw, l2=0.05,
                                                 backend=backend)[0])

    fd = np.array([(loss(w + h * e, b) - loss(w - h * e, b)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(g, fd, rtol=FD_RTOL, atol=FD_RTOL * np.abs(fd).max())
    assert gb == pytest.approx((loss(w, b + h) - loss(w, b - h)) / (2 * h), rel=FD_RTOL, abs=1e-9)


def test_probit_tail_residuals_are_finite():
    # z = -40 for y = 1: Phi(z) underflows in a naive formula; the Mills ratio is ~ -z
    X = np.array([[-40.0], [40.0]])
    y = np.array([1.0, 0.0])
    loss, g, gb = fastlogreg.probit_loss_grad(X, y, np.array([1.0]), 0.0, backend="numba")
    expected_loss = -2 * special.log_ndtr(-40.0) / 2
    assert float(loss) == pytest.approx(expected_loss, rel=1e-13)
    assert np.isfinite(g).all() and np.isfinite(gb)
    # d/dz of -log Phi(z) at z = -40 is -phi/Phi ~ z + 1/z... ~ -40.02; both rows add up
    mills = np.exp(-0.5 * 40.0**2 - 0.5 * np.log(2 * np.pi) - special.log_ndtr(-40.0))
    assert float(g[0]) == pytest.approx((-mills * -40.0 + mills * 40.0) / 2, rel=1e-12)


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_probit_fit_matches_statsmodels(backend, solver):
    sm = pytest.importorskip("statsmodels.api")
    X, y, _ = _probit_data(n=2000, d=3, seed=SEED + 1)
    ref = sm.Probit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, maxiter=100, disp=0).params
    tol = 1e-10 if solver == "lbfgs" else 1e-7
    model = LogisticRegression(C=np.inf, link="probit", solver=solver, tol=tol, max_iter=3000,
                               random_state=0, backend=backend).fit(X, y)
    got = np.concatenate([model.intercept_, model.coef_[0]])
    rtol = 1e-6 if solver == "lbfgs" else 1e-4
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * 1e-2)
    proba = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(proba, special.ndtr(X @ model.coef_[0] + model.intercept_[0]), rtol=1e-13)
    np.testing.assert_allclose(model.predict_log_proba(X)[:, 0],
                               special.log_ndtr(-(X @ model.coef_[0] + model.intercept_[0])), rtol=1e-13)


@pytest.mark.parametrize("backend", fastlogreg.available_backends())
def test_probit_residual_at_infinite_scores(backend):
    """Hard labels at z = +-inf: the residual is 0 for a correct label and -+inf for a wrong
    one in every backend, the reference included (0 * inf once made it NaN there)."""
    X = np.ones((1, 1))
    for b, y, loss, grad in ((np.inf, 1.0, 0.0, 0.0), (np.inf, 0.0, np.inf, np.inf),
                             (-np.inf, 0.0, 0.0, 0.0), (-np.inf, 1.0, np.inf, -np.inf)):
        got = fastlogreg.probit_loss_grad(X, np.array([y]), np.zeros(1), b, backend=backend)
        assert got[0] == loss and got[1][0] == grad and got[2] == grad, (backend, b, y, got)


def test_reference_probit_pointwise_tails_vs_mpmath():
    """The reference (the oracle of the fused kernels) on one sample (x = 1, w = 0, b = z):
    loss and residual over [-40, 40], densely around +-37.5..38.6 where phi(z)/Phi(z) and
    -log Phi(z) become subnormal, hard and soft labels. 4 eps on the loss, 16 eps of the
    residual's terms (as for the fast kernels), plus one rounding onto the subnormal grid."""
    mpmath.mp.dps = 50
    tail = np.linspace(37.0, 38.6, 33)
    zs = np.concatenate([np.linspace(-40.0, 40.0, 161), tail, -tail])
    _assert_pointwise_vs_mpmath(zs, "numpy", slack=np.finfo(np.float64).smallest_subnormal)
