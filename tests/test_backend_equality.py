"""Every fast backend ("numba", "c") against the NumPy reference, on random problems
drawn by hypothesis: random shapes including n = 1, d = 1 and C = 2, and logits up to
+-1e3 and across the float range.

Tolerances (the documented accuracy bounds):

* elementwise functions: ``ELEMENTWISE_ULPS`` units in the last place. Both sides compute
  the same stable formula in float64 and round once; measured differences are 0 or 1 ulp.
* row-wise functions: twice the accuracy bound of ``test_accuracy.rowwise_tolerance`` (each
  side is within it of the exact value), which allows |z_k - max z| epsilons for
  rounding the differences d_k = z_k - max z: a log-softmax d_k - log1p(s) may be formed
  in either order, and exp turns an absolute error of |d_k| epsilons in its argument into
  that relative error.
* fused loss+gradient and Hessian-vector products: float64 a relative ``RTOL64 = 1e-12`` of
  the loss and of the gradient norm, float32 ``RTOL32 = 1e-5``, plus the rounding error
  that two correct summation orders may make near cancellation (conftest's
  ``*_error_scales``: float64 epsilons times sums of magnitudes).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastlogreg as fl

from conftest import (
    EPS64,
    assert_close_to,
    assert_fused_close,
    assert_ulp_close,
    binary_error_scales,
    safe_norm,
    softmax_error_scales,
)

#: Elementwise results of two backends may differ by this many units in the last place:
#: each is the float64 formula rounded once (<= 1 ulp apart), with margin for libm's exp/log1p.
ELEMENTWISE_ULPS = 4
#: The documented relative bounds for the fused kernels: float64 and float32 data.
RTOL64 = 1e-12
RTOL32 = 1e-5
RTOL = {np.dtype(np.float64): RTOL64, np.dtype(np.float32): RTOL32}

DTYPE = st.sampled_from([np.dtype(np.float64), np.dtype(np.float32)])
#: Scale of the weights (so of the logits): ordinary, past exp's float64 underflow, and far
#: out. Kept below 1e150 so that ||w||^2 stays finite (see test_gradients for what
#: happens beyond); logits across the whole float range come from the intercept.
WEIGHT_SCALE = st.sampled_from([1.0, 30.0, 1e3, 1e30, 1e100])
INTERCEPT_SCALE = st.sampled_from([0.0, 1.0, 1e3, 1e300])


def _floats(dtype, bound=None, nan=False):
    width = 64 if dtype == np.float64 else 32
    if bound is None:
        return st.floats(width=width, allow_nan=nan, allow_infinity=nan)
    return st.floats(-bound, bound, width=width)


# ----------------------------------------------------------------------------- elementwise
@pytest.mark.filterwarnings("ignore:overflow encountered in multiply:RuntimeWarning")  # scale * x -> inf
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # float32 log_ndtr -> -inf
@given(data=st.data(), dtype=DTYPE)
def test_elementwise_equal(fast_backend, data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=25), label="shape")
    x = data.draw(hnp.arrays(dtype, shape, elements=_floats(dtype, nan=True)), label="x")
    for name in ("sigmoid", "log_sigmoid"):
        ref = getattr(fl, name)(x, backend="numpy")
        got = getattr(fl, name)(x, backend=fast_backend)
        assert_ulp_close(got, ref, ELEMENTWISE_ULPS, f"{name}[{fast_backend}]")
    # log_ndtr: each side is within 4 eps of the truth (test_accuracy's bound, the right
    # tail included), so twice that.
    ref = fl.log_ndtr(x, backend="numpy")
    got = fl.log_ndtr(x, backend=fast_backend)
    with np.errstate(over="ignore", invalid="ignore"):
        rel = 2 * 4 * np.finfo(dtype).eps
        tol = np.maximum(rel * np.abs(ref.astype(np.float64)), np.finfo(dtype).tiny)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    assert_close_to(got, ref, tol, f"log_ndtr[{fast_backend}]")
    scale = data.draw(st.floats(-1e3, 1e3), label="scale")
    assert_ulp_close(fl.sigmoid(x, scale, backend=fast_backend), fl.sigmoid(x, scale, backend="numpy"),
                     ELEMENTWISE_ULPS, f"sigmoid(scale={scale})[{fast_backend}]")


@given(data=st.data(), dtype=DTYPE, signed=st.booleans(), hard=st.booleans())
def test_binary_cross_entropy_equal(fast_backend, data, dtype, signed, hard):
    n = data.draw(st.integers(1, 30), label="n")
    z = data.draw(hnp.arrays(dtype, n, elements=_floats(dtype, nan=True)), label="z")
    if signed:
        y = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 1.0])), label="t")
    elif hard:
        y = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0])), label="y")
    else:
        y = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0, 1)), label="y")
    ref = fl.binary_cross_entropy(z, y, reduction="none", signed=signed, backend="numpy")
    got = fl.binary_cross_entropy(z, y, reduction="none", signed=signed, backend=fast_backend)
    if signed or hard:
        assert_ulp_close(got, ref, ELEMENTWISE_ULPS, f"binary_cross_entropy[{fast_backend}]")
    else:
        # Soft labels add y softplus(-z) + (1 - y) softplus(z): a few eps of the larger term.
        z64 = z.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            terms = np.abs(z64) + 1.0
        tol = 2 * ELEMENTWISE_ULPS * np.finfo(dtype).eps * terms
        assert_close_to(got, ref, tol, f"binary_cross_entropy soft labels[{fast_backend}]")
        assert got.dtype == ref.dtype


# ----------------------------------------------------------------------------- row-wise
def _rowwise_bound(Z, dtype):
    """Twice the per-element accuracy bound of test_accuracy.rowwise_tolerance, computed
    from the reference (softmax, log_softmax) and the row statistics."""
    Z = Z.astype(np.float64)
    eps = np.finfo(dtype).eps
    with np.errstate(invalid="ignore", over="ignore"):
        m = Z.max(axis=1, keepdims=True)
        D = np.abs(np.where(np.isfinite(m), Z - m, 0.0))
        log_p = fl.log_softmax(Z, backend="numpy")
        P = np.exp(log_p)
        L = np.log1p(np.maximum(np.exp(np.where(np.isfinite(Z - m), Z - m, -np.inf)).sum(axis=1) - 1.0, 0.0))
        kappa = np.nansum(P * D, axis=1)
    with np.errstate(invalid="ignore"):
        allowance = EPS64 * (D + L[:, None] + kappa[:, None])
        return dict(
            softmax=2 * np.abs(P) * (4 * eps + allowance),
            log_softmax=2 * (4 * eps * np.abs(log_p) + allowance),
            logsumexp=2 * (4 * eps * (np.abs(fl.logsumexp(Z, backend="numpy")) + L) + EPS64 * kappa),
        )


@given(data=st.data(), dtype=DTYPE)
def test_rowwise_equal(fast_backend, data, dtype):
    n = data.draw(st.integers(1, 12), label="n")
    C = data.draw(st.integers(1, 8), label="C")
    bound = data.draw(st.sampled_from([1.0, 40.0, 1e3, float(np.finfo(dtype).max) / 4]), label="bound")
    Z = data.draw(hnp.arrays(dtype, (n, C), elements=_floats(dtype, bound)), label="Z")
    tol = _rowwise_bound(Z, dtype)
    for name in ("logsumexp", "softmax", "log_softmax"):
        ref = getattr(fl, name)(Z, backend="numpy")
        got = getattr(fl, name)(Z, backend=fast_backend)
        assert got.dtype == ref.dtype == dtype and got.shape == ref.shape
        assert_close_to(got, ref, tol[name], f"{name}[{fast_backend}]")
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, C - 1)), label="labels")
    ref = fl.cross_entropy(Z, labels, reduction="none", backend="numpy")
    got = fl.cross_entropy(Z, labels, reduction="none", backend=fast_backend)
    assert got.dtype == dtype
    assert_close_to(got, ref, tol["log_softmax"][np.arange(n), labels], f"cross_entropy[{fast_backend}]")
    # Probability rows: sum_k Y_k (-log p_k), each term within its bound, plus C float64
    # epsilons of the sum of the terms for the summation order.
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    Y = rng.dirichlet(np.ones(C), n)
    ref = fl.cross_entropy(Z, Y, reduction="none", backend="numpy")
    got = fl.cross_entropy(Z, Y, reduction="none", backend=fast_backend)
    log_p = fl.log_softmax(Z, backend="numpy").astype(np.float64)
    with np.errstate(invalid="ignore"):
        terms = np.where(Y > 0, Y * np.abs(log_p), 0.0)
    bound = np.sum(Y * tol["log_softmax"], axis=1) + 2 * C * EPS64 * terms.sum(axis=1) + \
        2 * np.finfo(dtype).eps * np.abs(ref)
    assert got.dtype == dtype
    assert_close_to(got, ref, bound, f"cross_entropy, probability rows[{fast_backend}]")


@given(data=st.data(), dtype=DTYPE)
def test_rowwise_with_infinities_equal(fast_backend, data, dtype):
    """Rows mixing finite values and +-inf follow the contract's rule identically (NaN is
    left out here: its propagation is pinned in test_accuracy)."""
    n = data.draw(st.integers(1, 6), label="n")
    C = data.draw(st.integers(1, 5), label="C")
    elements = st.one_of(_floats(dtype, 50.0), st.sampled_from([np.inf, -np.inf]))
    Z = data.draw(hnp.arrays(dtype, (n, C), elements=elements), label="Z")
    with np.errstate(invalid="ignore"):
        tol = _rowwise_bound(Z, dtype)  # NaN (never met) where an entry must match exactly
    for name in ("logsumexp", "softmax", "log_softmax"):
        ref = getattr(fl, name)(Z, backend="numpy")
        got = getattr(fl, name)(Z, backend=fast_backend)
        assert_close_to(got, ref, tol[name], f"{name}[{fast_backend}] on {Z.tolist()}")


@given(data=st.data(), dtype=DTYPE)
def test_inner_and_cosine_equal(fast_backend, data, dtype):
    n = data.draw(st.integers(1, 10), label="n")
    d = data.draw(st.integers(1, 12), label="d")
    U = data.draw(hnp.arrays(dtype, (n, d), elements=_floats(dtype, 1e6)), label="U")
    V = data.draw(hnp.arrays(dtype, (n, d), elements=_floats(dtype, 1e6)), label="V")
    V_one = V[0]
    eps = np.finfo(dtype).eps
    mag = np.abs(U.astype(np.float64)) @ np.abs(V.astype(np.float64)).T  # |u_i| . |v_j|
    for other, m in ((V, np.diag(mag)), (V_one, mag[:, 0])):
        ref = fl.inner(U, other, backend="numpy")
        got = fl.inner(U, other, backend=fast_backend)
        assert got.dtype == dtype and got.shape == (n,)
        # Two float64 summation orders: d epsilons of sum |u_j v_j| each, then one rounding.
        assert_close_to(got, ref, 2 * d * EPS64 * m + 2 * eps * np.abs(ref), f"inner[{fast_backend}]")
        ref = fl.cosine_similarity(U, other, backend="numpy")
        got = fl.cosine_similarity(U, other, backend=fast_backend)
        assert got.dtype == dtype
        assert_close_to(got, ref, 2 * ((3 * d + 8) * EPS64 + 4 * eps * np.abs(ref)),
                        f"cosine_similarity[{fast_backend}]")


# ----------------------------------------------------------------------------- fused
@st.composite
def binary_problems(draw, max_scale=np.inf):
    dtype = draw(DTYPE)
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 6))
    scale = min(draw(WEIGHT_SCALE), max_scale)
    X = draw(hnp.arrays(dtype, (n, d), elements=_floats(dtype, 4.0)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.standard_normal(d) * scale / math.sqrt(d)
    b = float(rng.standard_normal() * min(draw(INTERCEPT_SCALE), max_scale))
    y = rng.integers(0, 2, n).astype(np.float64) if draw(st.booleans()) else rng.uniform(0, 1, n)
    sw = None
    if draw(st.booleans()):
        sw = rng.uniform(0, 3, n) * (rng.random(n) > 0.2)
        sw[rng.integers(n)] = 1.5  # at least one positive weight
    l2 = float(draw(st.sampled_from([0.0, 1e-3, 1.0]))) if scale <= 1e3 else 0.0  # ||w||^2 would overflow
    return X, y, w, b, sw, l2


@given(problem=binary_problems())
def test_logistic_fused_equal(fast_backend, problem):
    _check_binary_fused(fast_backend, problem, probit=False)


@given(problem=binary_problems(max_scale=1e3))
def test_probit_fused_equal(fast_backend, problem):
    """Probit logits up to ~1e4 (beyond, z^2 / 2 heads for overflow; test_gradients pins
    the residual up to |z| = 1e10 against mpmath)."""
    _check_binary_fused(fast_backend, problem, probit=True)


def _check_binary_fused(fast_backend, problem, probit):
    X, y, w, b, sw, l2 = problem
    func = fl.probit_loss_grad if probit else fl.logistic_loss_grad
    ref = func(X, y, w, b, sample_weight=sw, l2=l2, backend="numpy")
    got = func(X, y, w, b, sample_weight=sw, l2=l2, backend=fast_backend)
    scales = binary_error_scales(X, y, w, b, sw)
    if probit:
        # dl/dz of the probit loss grows like |z| (Mills ratio) instead of staying below 1.
        scales = tuple(s * (2 + (np.abs(X) @ np.abs(w) + abs(b)).max()) for s in scales)
    assert_fused_close(got, ref, scales, RTOL[X.dtype], f"{func.__name__}[{fast_backend}]")
    assert np.all(np.isfinite(got[1])) or not np.all(np.isfinite(ref[1]))


@st.composite
def multinomial_problems(draw):
    dtype = draw(DTYPE)
    n = draw(st.integers(1, 30))
    d = draw(st.integers(1, 5))
    C = draw(st.integers(2, 5))
    scale = draw(WEIGHT_SCALE)
    X = draw(hnp.arrays(dtype, (n, d), elements=_floats(dtype, 4.0)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W = rng.standard_normal((C, d)) * scale / math.sqrt(d)
    b = rng.standard_normal(C) * draw(INTERCEPT_SCALE) if draw(st.booleans()) else None
    kind = draw(st.sampled_from(["labels", "one-hot", "probabilities"]))
    labels = rng.integers(0, C, n)
    if kind == "labels":
        y = labels
        Y = np.eye(C)[labels]
    elif kind == "one-hot":
        y = Y = np.eye(C)[labels]
    else:
        Y = rng.dirichlet(np.ones(C), n)
        y = Y
    sw = None
    if draw(st.booleans()):
        sw = rng.uniform(0, 3, n) * (rng.random(n) > 0.2)
        sw[rng.integers(n)] = 1.5
    l2 = float(draw(st.sampled_from([0.0, 1e-3, 1.0]))) if scale <= 1e3 else 0.0
    return X, y, Y, W, b, sw, l2


@given(problem=multinomial_problems())
def test_softmax_fused_equal(fast_backend, problem):
    X, y, Y, W, b, sw, l2 = problem
    ref = fl.softmax_loss_grad(X, y, W, b, sample_weight=sw, l2=l2, backend="numpy")
    got = fl.softmax_loss_grad(X, y, W, b, sample_weight=sw, l2=l2, backend=fast_backend)
    b0 = np.zeros(W.shape[0]) if b is None else b
    assert_fused_close(got, ref, softmax_error_scales(X, Y, W, b0, sw), RTOL[X.dtype],
                       f"softmax_loss_grad[{fast_backend}]")


@given(problem=binary_problems(), data=st.data())
def test_logistic_hessp_equal(fast_backend, problem, data):
    X, _, w, b, sw, l2 = problem
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    v = rng.standard_normal(X.shape[1])
    v_b = float(rng.standard_normal())
    ref = fl.logistic_hessp(X, w, b, v, v_b, sample_weight=sw, l2=l2, backend="numpy")
    got = fl.logistic_hessp(X, w, b, v, v_b, sample_weight=sw, l2=l2, backend=fast_backend)
    Xd = X.astype(np.float64)
    n, d = Xd.shape
    swv = np.ones(n) if sw is None else sw
    # h_i u_i is formed to (2 d + 4)(1 + a_i) epsilons (scores, s(1 - s), the direction).
    a = np.abs(Xd) @ np.abs(w) + abs(b)
    with np.errstate(over="ignore"):
        h = np.exp(-np.minimum(np.abs(Xd @ w + b), 700.0))  # >= s(z)(1 - s(z))
    e = (n + 2 * d + 4) * swv * h * (np.abs(Xd) @ np.abs(v) + abs(v_b)) * (1 + a)
    scale = safe_norm(np.append(np.abs(Xd).T @ e, e.sum())) / swv.sum()
    _assert_pair_close(got, ref, scale, RTOL[X.dtype], f"logistic_hessp[{fast_backend}]")


@given(problem=multinomial_problems(), data=st.data())
def test_softmax_hessp_equal(fast_backend, problem, data):
    X, _, _, W, b, sw, l2 = problem
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    V = rng.standard_normal(W.shape)
    v_b = rng.standard_normal(W.shape[0]) if data.draw(st.booleans(), label="v_b") else None
    ref = fl.softmax_hessp(X, W, b, V, v_b, sample_weight=sw, l2=l2, backend="numpy")
    got = fl.softmax_hessp(X, W, b, V, v_b, sample_weight=sw, l2=l2, backend=fast_backend)
    Xd = X.astype(np.float64)
    n, d = Xd.shape
    swv = np.ones(n) if sw is None else sw
    b0 = np.zeros(W.shape[0]) if b is None else b
    vb0 = np.zeros(W.shape[0]) if v_b is None else v_b
    a = (np.abs(Xd) @ np.abs(W).T + np.abs(b0)).max(axis=1)
    U = np.abs(Xd) @ np.abs(V).T + np.abs(vb0)  # >= |u_ik|
    # r_ik = p_ik (u_ik - p_i . u_i): each product to (2 d + 6)(1 + a_i) epsilons, p <= 1.
    E = (n + 2 * d + 6) * swv[:, None] * (U + U.max(axis=1, keepdims=True)) * (1 + a)[:, None]
    scale = safe_norm(np.concatenate([E.T @ np.abs(Xd), E.sum(axis=0)[:, None]], axis=1)) / swv.sum()
    _assert_pair_close(got, ref, scale, RTOL[X.dtype], f"softmax_hessp[{fast_backend}]")


def _assert_pair_close(got, ref, scale, rtol, what):
    hv, hv_b = got
    hv_ref, hv_b_ref = ref
    assert np.asarray(hv).dtype == np.asarray(hv_ref).dtype and np.shape(hv) == np.shape(hv_ref), what
    assert np.shape(hv_b) == np.shape(hv_b_ref), what
    g = np.append(np.ravel(hv), np.ravel(hv_b)).astype(np.float64)
    g_ref = np.append(np.ravel(hv_ref), np.ravel(hv_b_ref)).astype(np.float64)
    err = safe_norm(g - g_ref)
    tol = rtol * safe_norm(g_ref) + EPS64 * scale
    assert err <= tol, f"{what}: differs from the reference by {err:.3g} > {tol:.3g}\ngot {g}\nref {g_ref}"


# ----------------------------------------------------------------------------- blocks
def test_fused_kernels_sum_over_row_blocks(fast_backend, rng):
    """The kernel contract: fused kernels return partial sums, so two row blocks add up
    to the whole (what Dask chunks and out-of-core blocks will rely on)."""
    from fastlogreg import _backend

    kernels = _backend.resolve(fast_backend)
    n, d = 101, 7
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 2, n).astype(np.float64)
    sw = rng.uniform(0.5, 2.0, n)
    w = rng.standard_normal(d)
    whole = np.empty(d)
    loss, gb = kernels.logistic_loss_grad(X, y, w, 0.3, sw, whole, 2)
    parts = [np.empty(d), np.empty(d)]
    l1, gb1 = kernels.logistic_loss_grad(X[:40], y[:40], w, 0.3, sw[:40], parts[0], 2)
    l2_, gb2 = kernels.logistic_loss_grad(X[40:], y[40:], w, 0.3, sw[40:], parts[1], 2)
    scale = (n + d) * EPS64
    assert abs(loss - (l1 + l2_)) <= scale * loss
    assert abs(gb - (gb1 + gb2)) <= scale * np.sum(np.abs(sw))
    np.testing.assert_allclose(whole, parts[0] + parts[1], rtol=0, atol=scale * np.abs(X).sum())


@pytest.mark.parametrize("soft", [False, True], ids=["labels", "soft-labels"])
@pytest.mark.parametrize("d", [3, 100])
def test_softmax_rows_get_the_same_loss_in_a_block_as_alone(fast_backend, rng, soft, d):
    """A row's loss is the same, to a few ulp, whether the kernel computed it inside a
    block of rows (vectorized over the block) or alone (one row at a time). Both paths
    take the same operations in the same order, but where the compiler fuses a multiply
    and an add may differ between them, so equality is promised to a tolerance only.
    Row i's loss in the block is the call's loss with weight 1 on row i and 0 on the
    others (a sum of exact zeros and that loss). Among the rows: one with scores +inf and
    -inf (the infinite-max rule), one with tied maxima, and a NaN row, which must give NaN
    either way."""
    from fastlogreg import _backend

    kernels = _backend.resolve(fast_backend)
    n, C = 13, 5
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((C, d))
    b = rng.standard_normal(C)
    labels = rng.integers(0, C, n)
    W[:, 0] = [1.0, -1.0, -1.0, -1.0, -1.0]
    X[3, 0], labels[3] = np.inf, 0  # scores (+inf, -inf, ...): loss 0
    X[7, :] = 0.0  # scores b: classes 2 and 4 tie at the maximum
    b[2] = b[4] = b.max() + 1.0
    Y = rng.dirichlet(np.ones(C), n)
    Y[3] = np.eye(C)[0]
    labels, Y = (np.empty(0, np.int64), Y) if soft else (labels, np.empty((0, 0)))

    def loss(X, rows, sw):
        gW, gb = np.empty((C, d)), np.empty(C)
        Yr = Y[rows] if soft else Y
        lr = labels if soft else labels[rows]
        return kernels.softmax_loss_grad(X[rows], lr, Yr, W, b, sw, gW, gb, 1)

    everything = np.arange(n)
    for i in range(n):
        alone = loss(X, [i], np.ones(1))
        in_block = loss(X, everything, np.eye(n)[i])
        assert np.isfinite(alone), f"row {i}: {alone!r}"
        np.testing.assert_allclose(in_block, alone, rtol=8 * EPS64, atol=0, err_msg=f"row {i}")
    X[9, 1] = np.nan
    with np.errstate(invalid="ignore"):
        assert np.isnan(loss(X, [9], np.ones(1))) and np.isnan(loss(X, everything, np.ones(n)))


@pytest.mark.parametrize("n, d, C", [(1000, 1, 2), (4099, 7, 3), (2500, 33, 7), (257, 5, 11)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_fused_equal_on_larger_shapes(fast_backend, n, d, C, dtype):
    """Shapes past the kernels' row blocks and unroll widths (d and C not multiples of 4,
    n not a multiple of any block), with weights and l2, against the reference."""
    rng = np.random.default_rng(n * 1000 + d * 10 + C)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, 2, n).astype(np.float64)
    labels = rng.integers(0, C, n)
    w = rng.standard_normal(d)
    W = rng.standard_normal((C, d))
    b = rng.standard_normal(C)
    sw = rng.uniform(0.0, 2.0, n)
    rtol = RTOL[np.dtype(dtype)]
    for func in (fl.logistic_loss_grad, fl.probit_loss_grad):
        got = func(X, y, w, 0.5, sample_weight=sw, l2=0.1, backend=fast_backend)
        ref = func(X, y, w, 0.5, sample_weight=sw, l2=0.1, backend="numpy")
        scales = binary_error_scales(X, y, w, 0.5, sw)
        if func is fl.probit_loss_grad:
            scales = tuple(s * (2 + (np.abs(X) @ np.abs(w) + 0.5).max()) for s in scales)
        assert_fused_close(got, ref, scales, rtol, f"{func.__name__} {n}x{d}")
    got = fl.softmax_loss_grad(X, labels, W, b, sample_weight=sw, l2=0.1, backend=fast_backend)
    ref = fl.softmax_loss_grad(X, labels, W, b, sample_weight=sw, l2=0.1, backend="numpy")
    assert_fused_close(got, ref, softmax_error_scales(X, np.eye(C)[labels], W, b, sw), rtol,
                       f"softmax_loss_grad {n}x{d}x{C}")
    v = rng.standard_normal(d)
    got = fl.logistic_hessp(X, w, 0.5, v, 0.3, sample_weight=sw, backend=fast_backend)
    ref = fl.logistic_hessp(X, w, 0.5, v, 0.3, sample_weight=sw, backend="numpy")
    # h_i u_i x_i summed over rows: (n + d) epsilons of the magnitudes (h <= 1/4, weights <= 2).
    Xd = np.abs(X.astype(np.float64))
    mags = (n + d) * safe_norm(Xd.T @ (sw * (Xd @ np.abs(v) + 0.3))) / sw.sum()
    _assert_pair_close(got, ref, mags, rtol, f"logistic_hessp {n}x{d}")
    V = rng.standard_normal((C, d))
    got = fl.softmax_hessp(X, W, b, V, None, sample_weight=sw, backend=fast_backend)
    ref = fl.softmax_hessp(X, W, b, V, None, sample_weight=sw, backend="numpy")
    U = Xd @ np.abs(V).T
    mags = (n + d + C) * safe_norm((2 * sw[:, None] * U).T @ Xd) / sw.sum()
    _assert_pair_close(got, ref, mags, rtol, f"softmax_hessp {n}x{d}x{C}")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # l2 * inf * 0
@pytest.mark.parametrize("d", [17, 23, 100])
def test_infinite_coefficient_in_the_row_tail(fast_backend, d):
    """An infinite coefficient gives the reference's finite or NaN results in every column,
    also in the columns a vector tail loads twice (a masked x lane once met the unmasked
    coefficient: 0 * inf = NaN where the reference is finite)."""
    X = np.ones((4, d))
    for col in range(d):
        w = np.zeros(d)
        w[col] = np.inf
        got = fl.logistic_loss_grad(X, np.ones(4), w, backend=fast_backend)
        ref = fl.logistic_loss_grad(X, np.ones(4), w, backend="numpy")
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(np.isnan(g), np.isnan(r), err_msg=f"binary, column {col}")
        W = np.zeros((3, d))
        W[1, col] = np.inf
        got = fl.softmax_loss_grad(X, [0, 1, 2, 1], W, backend=fast_backend)
        ref = fl.softmax_loss_grad(X, [0, 1, 2, 1], W, backend="numpy")
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(np.isnan(g), np.isnan(r), err_msg=f"softmax, column {col}")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_one_class_softmax_propagates_a_nan_intercept(fast_backend):
    """With one class the softmax is 1 whatever the score, but a NaN score still makes the
    loss and the gradient NaN, as in the reference (the kernels used to return a zero
    gradient). Rows of more classes and a finite one-class row are unchanged."""
    X = np.ones((4, 3))
    for b, W in (([np.nan], np.zeros((1, 3))), ([0.5], np.zeros((1, 3))),
                 ([np.nan, 0.0], np.zeros((2, 3)))):
        labels = [0, 0, 0, 0]
        got = fl.softmax_loss_grad(X, labels, W, np.array(b), backend=fast_backend)
        ref = fl.softmax_loss_grad(X, labels, W, np.array(b), backend="numpy")
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(np.isnan(g), np.isnan(r), err_msg=f"b={b}")
            np.testing.assert_array_equal(np.nan_to_num(g), np.nan_to_num(r), err_msg=f"b={b}")
