"""Gradients and objectives: finite differences, an independent plain-NumPy/math objective,
and the pointwise residuals dl/dz against mpmath.

Finite differences: central differences with step ``h = FD_STEP * max(1, |theta_j|)``
(``FD_STEP = eps^(1/3) ~ 6e-6``, the step that balances the truncation error
``h^2 |f'''| / 6`` against the rounding error ``eps |f| / h``); both are about
``eps^(2/3) ~ 4e-11`` times the scale of the objective and its derivatives, which is
O(1) for the standard-normal data used here, so ``FD_RTOL = 1e-7`` (relative to the
gradient's norm) leaves a margin of more than 1000.
"""

import math

import mpmath
import numpy as np
import pytest

import fastlogreg as fl

from conftest import EPS64, assert_close_to

mpmath.mp.dps = 60

FD_STEP = EPS64 ** (1 / 3)
#: Relative (to the gradient norm) error allowed to a central difference: ~1000 eps^(2/3).
FD_RTOL = 1e-7
#: An independent evaluation of the same objective (different but stable formulas for
#: |z| < 5, n = 60 rows): each side is within ~n eps relative, so 1e-12 leaves margin 70.
OBJECTIVE_RTOL = 1e-12
#: float32 X: only the final rounding of loss and gradient to float32 differs (1/2 eps32).
OBJECTIVE_RTOL32 = 2 * np.finfo(np.float32).eps


def central_difference(f, theta):
    """Gradient of scalar f at theta (any shape) by central differences."""
    theta = np.asarray(theta, dtype=np.float64)
    grad = np.empty_like(theta)
    for idx in np.ndindex(theta.shape):
        h = FD_STEP * max(1.0, abs(theta[idx]))
        up, down = theta.copy(), theta.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (f(up) - f(down)) / (up[idx] - down[idx])
    return grad


def assert_gradient_matches(analytic, numeric, what):
    analytic = np.ravel(np.asarray(analytic, dtype=np.float64))
    numeric = np.ravel(numeric)
    err = np.linalg.norm(analytic - numeric)
    tol = FD_RTOL * max(np.linalg.norm(numeric), 1.0)
    assert err <= tol, (f"{what}: |analytic - finite difference| = {err:.3g} > {tol:.3g}\n"
                        f"{analytic}\n{numeric}")


@pytest.fixture
def binary_data(rng):
    n, d = 60, 4
    X = rng.standard_normal((n, d))
    w = 0.5 * rng.standard_normal(d)
    y = rng.integers(0, 2, n).astype(np.float64)
    y[:10] = rng.uniform(0, 1, 10)  # some probability targets too
    sw = rng.uniform(0.2, 2.0, n)
    sw[3] = 0.0
    return X, y, w, 0.3, sw


@pytest.fixture
def multinomial_data(rng):
    n, d, C = 60, 4, 3
    X = rng.standard_normal((n, d))
    W = 0.5 * rng.standard_normal((C, d))
    b = 0.2 * rng.standard_normal(C)
    labels = rng.integers(0, C, n)
    sw = rng.uniform(0.2, 2.0, n)
    sw[5] = 0.0
    return X, labels, W, b, sw


# ----------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("link", ["logit", "probit"])
@pytest.mark.parametrize("x_dtype", [np.float64, np.float32], ids=["X64", "X32"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_gradient_finite_differences(backend, binary_data, link, x_dtype, weighted):
    X, y, w, b, sw = binary_data
    X = X.astype(x_dtype)  # w stays float64, so the loss is float64 (NumPy's X @ w rule)
    sw = sw if weighted else None
    func = fl.logistic_loss_grad if link == "logit" else fl.probit_loss_grad
    l2 = 0.1
    loss, grad_w, grad_b = func(X, y, w, b, sample_weight=sw, l2=l2, backend=backend)
    assert np.asarray(loss).dtype == np.float64 and grad_w.shape == w.shape and np.ndim(grad_b) == 0
    theta = np.append(w, b)

    def objective(t):
        return float(func(X, y, t[:-1], t[-1], sample_weight=sw, l2=l2, backend=backend)[0])

    assert_gradient_matches(np.append(grad_w, grad_b), central_difference(objective, theta),
                            f"{func.__name__}[{backend}]")


@pytest.mark.parametrize("target", ["labels", "probabilities"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_softmax_gradient_finite_differences(backend, multinomial_data, rng, target, weighted):
    X, labels, W, b, sw = multinomial_data
    y = labels if target == "labels" else rng.dirichlet(np.ones(W.shape[0]), X.shape[0])
    sw = sw if weighted else None
    l2 = 0.1
    loss, grad_W, grad_b = fl.softmax_loss_grad(X, y, W, b, sample_weight=sw, l2=l2, backend=backend)
    assert grad_W.shape == W.shape and grad_b.shape == b.shape
    C, d = W.shape
    theta = np.concatenate([W, b[:, None]], axis=1)

    def objective(t):
        return float(fl.softmax_loss_grad(X, y, t[:, :d], t[:, d], sample_weight=sw, l2=l2,
                                          backend=backend)[0])

    assert_gradient_matches(np.concatenate([grad_W, grad_b[:, None]], axis=1),
                            central_difference(objective, theta), f"softmax_loss_grad[{backend}]")


def test_logistic_hessp_finite_differences(backend, binary_data, rng):
    """H (v, v_b) against central differences of the gradient along (v, v_b)."""
    X, y, w, b, sw = binary_data
    l2 = 0.1
    v, v_b = rng.standard_normal(w.shape), 0.7
    hv, hv_b = fl.logistic_hessp(X, w, b, v, v_b, sample_weight=sw, l2=l2, backend=backend)
    h = FD_STEP

    def grad(t):
        _, gw, gb = fl.logistic_loss_grad(X, y, w + t * v, b + t * v_b, sample_weight=sw, l2=l2,
                                          backend=backend)
        return np.append(gw, gb)

    numeric = (grad(h) - grad(-h)) / (2 * h)
    assert_gradient_matches(np.append(hv, hv_b), numeric, f"logistic_hessp[{backend}]")


def test_softmax_hessp_finite_differences(backend, multinomial_data, rng):
    X, labels, W, b, sw = multinomial_data
    l2 = 0.1
    V, v_b = rng.standard_normal(W.shape), rng.standard_normal(b.shape)
    hv, hv_b = fl.softmax_hessp(X, W, b, V, v_b, sample_weight=sw, l2=l2, backend=backend)
    assert hv.shape == W.shape and hv_b.shape == b.shape
    h = FD_STEP

    def grad(t):
        _, gW, gb = fl.softmax_loss_grad(X, labels, W + t * V, b + t * v_b, sample_weight=sw, l2=l2,
                                         backend=backend)
        return np.concatenate([gW.ravel(), gb])

    numeric = (grad(h) - grad(-h)) / (2 * h)
    assert_gradient_matches(np.concatenate([hv.ravel(), hv_b]), numeric, f"softmax_hessp[{backend}]")


def test_hessp_is_symmetric_and_linear(backend, multinomial_data, rng):
    """u' H v = v' H u, and H (2 v) = 2 H v exactly (a power-of-two scale is exact)."""
    X, _, W, b, sw = multinomial_data
    U, u_b = rng.standard_normal(W.shape), rng.standard_normal(b.shape)
    V, v_b = rng.standard_normal(W.shape), rng.standard_normal(b.shape)
    hu, hu_b = fl.softmax_hessp(X, W, b, U, u_b, sample_weight=sw, backend=backend)
    hv, hv_b = fl.softmax_hessp(X, W, b, V, v_b, sample_weight=sw, backend=backend)
    lhs = np.vdot(U, hv) + u_b @ hv_b
    rhs = np.vdot(V, hu) + v_b @ hu_b
    magnitude = np.linalg.norm(np.append(U, u_b)) * np.linalg.norm(np.append(hv, hv_b))
    assert abs(lhs - rhs) <= 1e3 * EPS64 * magnitude  # n * (d + C) rounding steps, n = 60
    h2v, h2v_b = fl.softmax_hessp(X, W, b, 2 * V, 2 * v_b, sample_weight=sw, backend=backend)
    np.testing.assert_array_equal(h2v, 2 * hv)
    np.testing.assert_array_equal(h2v_b, 2 * hv_b)
    X1, w1, v1 = X, W[0], V[0]
    g1, g1_b = fl.logistic_hessp(X1, w1, 0.1, v1, 0.5, sample_weight=sw, backend=backend)
    g2, g2_b = fl.logistic_hessp(X1, w1, 0.1, 2 * v1, 1.0, sample_weight=sw, backend=backend)
    np.testing.assert_array_equal(g2, 2 * g1)
    assert g2_b == 2 * g1_b


# ----------------------------------------------------------------------------- objective definition
def _binary_objective_plain(X, y, w, b, sw, l2, link):
    """The README's formulas with Python's math module, one sample at a time."""
    X = np.asarray(X, dtype=np.float64)
    total, weight_sum = 0.0, 0.0
    grad_w, grad_b = np.zeros(X.shape[1]), 0.0
    for x_i, y_i, sw_i in zip(X, y, sw):
        z = float(sum(xj * wj for xj, wj in zip(x_i, w))) + b
        if link == "logit":
            loss = math.log(1.0 + math.exp(z)) - y_i * z
            r = 1.0 / (1.0 + math.exp(-z)) - y_i
        else:
            cdf, sf = 0.5 * math.erfc(-z / math.sqrt(2)), 0.5 * math.erfc(z / math.sqrt(2))
            pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
            loss = -y_i * math.log(cdf) - (1 - y_i) * math.log(sf)
            r = -y_i * pdf / cdf + (1 - y_i) * pdf / sf
        total += sw_i * loss
        weight_sum += sw_i
        grad_w += sw_i * r * x_i
        grad_b += sw_i * r
    penalty = 0.5 * l2 * sum(wj * wj for wj in w)
    return total / weight_sum + penalty, grad_w / weight_sum + l2 * np.asarray(w), grad_b / weight_sum


@pytest.mark.parametrize("link", ["logit", "probit"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_objective_definition(backend, binary_data, link, weighted):
    X, y, w, b, sw = binary_data
    sw_used = sw if weighted else np.ones(X.shape[0])
    l2 = 0.25
    func = fl.logistic_loss_grad if link == "logit" else fl.probit_loss_grad
    loss, grad_w, grad_b = func(X, y, w, b, sample_weight=sw if weighted else None, l2=l2, backend=backend)
    exp_loss, exp_gw, exp_gb = _binary_objective_plain(X, y, w, b, sw_used, l2, link)
    assert abs(loss - exp_loss) <= OBJECTIVE_RTOL * abs(exp_loss)
    scale = OBJECTIVE_RTOL * np.linalg.norm(np.append(exp_gw, exp_gb))
    assert_close_to(np.append(grad_w, grad_b), np.append(exp_gw, exp_gb), scale,
                    f"{func.__name__}[{backend}]")


def test_float32_objective_is_float32(backend, binary_data):
    """float32 X with float32 w: float32 loss and gradient, the float64 values rounded."""
    X, y, w, b, sw = binary_data
    X32, w32 = X.astype(np.float32), w.astype(np.float32)
    loss, gw, gb = fl.logistic_loss_grad(X32, y, w32, np.float32(b), sample_weight=sw, l2=0.1,
                                         backend=backend)
    assert np.asarray(loss).dtype == gw.dtype == np.asarray(gb).dtype == np.float32
    exp_loss, exp_gw, exp_gb = _binary_objective_plain(X32, y, w32.astype(np.float64), float(np.float32(b)),
                                                       sw, 0.1, "logit")
    assert abs(float(loss) - exp_loss) <= OBJECTIVE_RTOL32 * abs(exp_loss)
    assert_close_to(np.append(gw, gb), np.append(exp_gw, exp_gb),
                    OBJECTIVE_RTOL32 * np.linalg.norm(np.append(exp_gw, exp_gb)), "float32 gradient")


@pytest.mark.parametrize("target", ["labels", "one-hot", "probabilities"])
def test_softmax_objective_definition(backend, multinomial_data, rng, target):
    X, labels, W, b, sw = multinomial_data
    n, C = X.shape[0], W.shape[0]
    Y = np.eye(C)[labels] if target != "probabilities" else rng.dirichlet(np.ones(C), n)
    y = labels if target == "labels" else Y
    l2 = 0.25
    loss, grad_W, grad_b = fl.softmax_loss_grad(X, y, W, b, sample_weight=sw, l2=l2, backend=backend)
    total, grad = 0.0, np.zeros((C, X.shape[1] + 1))
    for x_i, Y_i, sw_i in zip(X, Y, sw):
        z = [float(x_i @ W[k]) + b[k] for k in range(C)]
        lse = math.log(sum(math.exp(v) for v in z))
        total += sw_i * sum(Y_i[k] * (lse - z[k]) for k in range(C))
        for k in range(C):
            r = sw_i * (math.exp(z[k] - lse) - Y_i[k])
            grad[k, :-1] += r * x_i
            grad[k, -1] += r
    exp_loss = total / sw.sum() + 0.5 * l2 * float(np.sum(W * W))
    exp_grad = grad / sw.sum()
    exp_grad[:, :-1] += l2 * W
    assert abs(loss - exp_loss) <= OBJECTIVE_RTOL * exp_loss
    assert_close_to(np.concatenate([grad_W, grad_b[:, None]], axis=1), exp_grad,
                    OBJECTIVE_RTOL * np.linalg.norm(exp_grad), f"softmax_loss_grad[{backend}]")


def test_intercept_is_not_penalized(backend, binary_data, multinomial_data):
    """l2 adds exactly l2/2 ||w||^2 to the loss and l2 w to grad_w, nothing to grad_b."""
    X, y, w, b, sw = binary_data
    base = fl.logistic_loss_grad(X, y, w, b, sample_weight=sw, backend=backend)
    pen = fl.logistic_loss_grad(X, y, w, b, sample_weight=sw, l2=3.0, backend=backend)
    assert pen[2] == base[2]
    assert abs(pen[0] - (base[0] + 1.5 * float(w @ w))) <= 4 * EPS64 * pen[0]
    np.testing.assert_allclose(pen[1], base[1] + 3.0 * w, rtol=4 * EPS64,
                               atol=4 * EPS64 * np.abs(3 * w).max())
    X, labels, W, b, sw = multinomial_data
    base = fl.softmax_loss_grad(X, labels, W, b, sample_weight=sw, backend=backend)
    pen = fl.softmax_loss_grad(X, labels, W, b, sample_weight=sw, l2=3.0, backend=backend)
    np.testing.assert_array_equal(pen[2], base[2])
    assert abs(pen[0] - (base[0] + 1.5 * float(np.sum(W * W)))) <= 4 * EPS64 * pen[0]


def test_softmax_default_intercept_is_zero(backend, multinomial_data):
    X, labels, W, b, sw = multinomial_data
    a = fl.softmax_loss_grad(X, labels, W, sample_weight=sw, backend=backend)
    z = fl.softmax_loss_grad(X, labels, W, np.zeros(W.shape[0]), sample_weight=sw, backend=backend)
    assert a[0] == z[0]
    np.testing.assert_array_equal(a[1], z[1])
    np.testing.assert_array_equal(a[2], z[2])


def test_fused_loss_equals_per_sample_losses(backend, binary_data, multinomial_data):
    """The fused objective (l2 = 0) is the weighted mean of binary_cross_entropy /
    cross_entropy at the same logits (two layers of the API, one definition)."""
    X, y, w, b, sw = binary_data
    loss = fl.logistic_loss_grad(X, y, w, b, sample_weight=sw, backend=backend)[0]
    per = fl.binary_cross_entropy(X @ w + b, y, sample_weight=sw, backend=backend)
    assert abs(loss - per) <= OBJECTIVE_RTOL * loss
    X, labels, W, b, sw = multinomial_data
    loss = fl.softmax_loss_grad(X, labels, W, b, sample_weight=sw, backend=backend)[0]
    per = fl.cross_entropy(X @ W.T + b, labels, sample_weight=sw, backend=backend)
    assert abs(loss - per) <= OBJECTIVE_RTOL * loss


def test_reductions(backend, rng):
    """"mean" is sum(sw l) / sum(sw), "sum" is sum(sw l), "none" is sw_i l_i (per docstring)."""
    n, C = 20, 3
    z = rng.standard_normal(n)
    y = rng.integers(0, 2, n)
    sw = rng.uniform(0.1, 2.0, n)
    plain = np.array([math.log1p(math.exp(v)) - t * v for v, t in zip(z, y)])
    none = fl.binary_cross_entropy(z, y, sample_weight=sw, reduction="none", backend=backend)
    np.testing.assert_allclose(none, sw * plain, rtol=OBJECTIVE_RTOL)
    total = fl.binary_cross_entropy(z, y, sample_weight=sw, reduction="sum", backend=backend)
    assert abs(total - np.sum(sw * plain)) <= OBJECTIVE_RTOL * total
    mean = fl.binary_cross_entropy(z, y, sample_weight=sw, backend=backend)
    assert abs(mean - np.sum(sw * plain) / np.sum(sw)) <= OBJECTIVE_RTOL * mean
    Z = rng.standard_normal((n, C))
    labels = rng.integers(0, C, n)
    plain = np.array([math.log(sum(math.exp(v) for v in row)) - row[k] for row, k in zip(Z, labels)])
    np.testing.assert_allclose(fl.cross_entropy(Z, labels, reduction="none", backend=backend), plain,
                               rtol=OBJECTIVE_RTOL)
    assert abs(fl.cross_entropy(Z, labels, reduction="sum", backend=backend) - plain.sum()) <= \
        OBJECTIVE_RTOL * plain.sum()
    mean = fl.cross_entropy(Z, labels, sample_weight=sw, backend=backend)
    assert abs(mean - np.sum(sw * plain) / np.sum(sw)) <= OBJECTIVE_RTOL * mean


# ----------------------------------------------------------------------------- residuals vs mpmath
RESIDUAL_Z = np.concatenate([-np.logspace(-2, 10, 37)[::-1], [0.0], np.logspace(-2, 10, 37)])


def _single_sample_residual(func, z, y, backend):
    """grad_b of one sample with x = 1, w = 0, b = z: exactly the residual dl/dz (and the loss)."""
    loss, _, grad_b = func(np.ones((1, 1)), [y], [0.0], z, backend=backend)
    return float(loss), float(grad_b)


def _mp_softplus(x):
    return x + mpmath.log1p(mpmath.exp(-x)) if x > 0 else mpmath.log1p(mpmath.exp(x))


def test_logistic_single_sample_loss_vs_mpmath(backend):
    """The fused kernel's pointwise loss keeps the tails too: softplus(z) for y = 0 and
    softplus(-z) for y = 1, 4 eps relative (below the smallest normal: absolute)."""
    tiny = np.finfo(np.float64).tiny
    failures = []
    for y in (0.0, 1.0):
        for z in RESIDUAL_Z:
            got, _ = _single_sample_residual(fl.logistic_loss_grad, z, y, backend)
            t = _mp_softplus(mpmath.mpf(z) if y == 0.0 else -mpmath.mpf(z))
            err = float(abs(mpmath.mpf(got) - t))
            if not (err <= 4 * EPS64 * float(t) or (t < tiny and err < tiny)):
                failures.append(f"  y={y:.0f}, z={z:.6g}: got {got!r}, true {float(t)!r}")
    assert not failures, f"logistic_loss_grad[{backend}] loss:\n" + "\n".join(failures[:12])


def test_probit_single_sample_loss_vs_mpmath(backend):
    """-log Phi(z) for y = 1 and -log Phi(-z) for y = 0: 4 eps relative in every backend,
    the tail -log Phi(u) ~ Q(u) included (see test_accuracy.test_log_ndtr_vs_mpmath)."""
    tiny = np.finfo(np.float64).tiny
    failures = []
    for y in (0.0, 1.0):
        for z in RESIDUAL_Z:
            got, _ = _single_sample_residual(fl.probit_loss_grad, z, y, backend)
            u = mpmath.mpf(z) if y == 1.0 else -mpmath.mpf(z)  # loss = -log Phi(u)
            t = -(mpmath.log1p(-mpmath.ncdf(-u)) if u > 0 else mpmath.log(mpmath.ncdf(u)))
            err = float(abs(mpmath.mpf(got) - t))
            if not (err <= 4 * EPS64 * float(t) or (t < tiny and err < tiny)):
                failures.append(f"  y={y:.0f}, z={z:.6g}: got {got!r}, true {float(t)!r}")
    assert not failures, f"probit_loss_grad[{backend}] loss:\n" + "\n".join(failures[:12])


def _check_residuals(func, truth, backend, labels=(0.0, 1.0)):
    """``truth(z, y)`` returns the exact residual and the sum of the magnitudes of its
    terms (the two terms of a soft label may cancel; the error is relative to that sum)."""
    tiny = np.finfo(np.float64).tiny
    failures = []
    for y in labels:
        for z in RESIDUAL_Z:
            _, got = _single_sample_residual(func, z, y, backend)
            t, magnitude = truth(mpmath.mpf(z), y)
            err = float(abs(mpmath.mpf(got) - t))
            tol = 16 * EPS64 * float(magnitude)
            if not (err <= tol or (abs(t) < tiny and err < tiny)):
                failures.append(f"  y={y:g}, z={z:.6g}: got {got!r}, true {float(t)!r} "
                                f"({err / max(float(abs(t)), tiny) / EPS64:.3g} eps relative)")
    assert not failures, f"{func.__name__}[{backend}] residual dl/dz:\n" + "\n".join(failures[:12])


def test_logistic_residual_vs_mpmath(backend):
    """dl/dz = s(z) - y for hard labels, to 16 eps relative over z in +-[1e-2, 1e10] (for
    y = 1 the kernels form -s(-z), exact where s(z) rounds to 1)."""
    def truth(z, y):  # s(z) - 1 = -s(-z): no cancellation in the oracle either
        t = -1 / (1 + mpmath.exp(z)) if y == 1.0 else 1 / (1 + mpmath.exp(-z))
        return t, abs(t)

    _check_residuals(fl.logistic_loss_grad, truth, backend)


def test_probit_residual_vs_mpmath(backend):
    """dl/dz = -y phi(z)/Phi(z) + (1 - y) phi(z)/Phi(-z), |z| up to 1e10, labels 0, 1, 0.3.

    16 eps of the terms' magnitudes (4 for each of phi, Phi, the division, and margin) on
    both sides. On the wrong side (y = 0, z > 0) the residual is ~ z, well conditioned
    (condition number ~ 1). On the right side of a hard label it is ~ e^{-z^2/2}, which
    would pass on the rounding of the exponent z^2/2 (z^2 epsilons): every backend forms
    z^2/2 exactly, as for log_ndtr. A kernel that forms exp(log phi - log Phi) with
    log phi ~ -z^2/2 cancels catastrophically on the wrong side: at z = 1e9 it returns 1
    instead of 1e9.
    """
    def truth(z, y):
        pdf = mpmath.npdf(z)
        a, b = y * pdf / mpmath.ncdf(z), (1 - y) * pdf / mpmath.ncdf(-z)
        return b - a, a + b

    _check_residuals(fl.probit_loss_grad, truth, backend, labels=(0.0, 1.0, 0.3))


# ----------------------------------------------------------------------------- far-out parameters
def test_unpenalized_loss_with_huge_weights_is_finite(backend):
    """l2 = 0 adds nothing, even when ||w||^2 overflows: 0 * inf must not turn a finite
    loss into NaN. Here x = 0, so z = 0 and the loss is log 2 whatever w is."""
    X = np.zeros((2, 1))
    w = np.array([1e200])
    loss, grad_w, grad_b = fl.logistic_loss_grad(X, [0.0, 1.0], w, backend=backend)
    assert abs(loss - math.log(2.0)) <= 4 * EPS64 * math.log(2.0), loss
    assert grad_w[0] == 0.0 and grad_b == 0.0
    loss, _, _ = fl.softmax_loss_grad(X, [0, 1], np.array([[1e200], [-1e200]]), backend=backend)
    assert abs(loss - math.log(2.0)) <= 4 * EPS64 * math.log(2.0), loss


def test_probit_gradient_finite_for_huge_logits(backend):
    """At z = 1e160 the probit loss overflows (z^2 / 2 > max float, so +inf is right) but
    its gradient (the residual ~ z) is finite: it must not be NaN."""
    for z, y in ((1e160, 0.0), (-1e160, 1.0)):
        loss, grad_w, grad_b = fl.probit_loss_grad(np.ones((1, 1)), [y], [0.0], z, backend=backend)
        assert loss == np.inf
        assert abs(grad_b - z) <= 16 * EPS64 * abs(z), (z, y, grad_b)
