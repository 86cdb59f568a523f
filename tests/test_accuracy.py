"""Accuracy against a 60-digit oracle (mpmath) evaluated at the very same float inputs.

The documented accuracy bounds: sigmoid (scale 1), log_sigmoid and binary_cross_entropy (hard labels,
both conventions) have a relative error of at most 4 epsilons of the dtype over the whole
finite domain, tails included; where the true value is below the smallest normal number
of the dtype, the absolute error is below that number instead. The row-wise functions
(logsumexp, softmax, log_softmax, cross_entropy) meet the same bound plus the error caused
by rounding the differences ``z_k - max(z)`` (see :func:`rowwise_tolerance`). float32 input
is held to 4 float32 epsilons.

The oracle value ``t`` of every input is kept as a pair of float64 numbers ``hi + lo``
(``hi = float(t)``, ``lo = float(t - hi)``), so the error ``(got - hi) - lo`` of a float64
result is computed to about 1e-32 relative: the rounding of the oracle itself never eats
into the 4-epsilon budget.
"""

import functools
import math

import mpmath
import numpy as np
import pytest

import fastlogreg as fl

from conftest import assert_specials_exact

mpmath.mp.dps = 60  # 60 significant digits: 1e-60 relative, far below any tolerance here

#: The documented bound: relative error of at most 4 units of the dtype's epsilon.
ULPS = 4
#: The difference ``z_k - max(z)`` and the log-normaliser are computed in float64 for both
#: dtypes (kernel contract: "transcendental parts and every sum in float64"), so the extra
#: allowance of the row-wise functions is counted in float64 epsilons.
EPS64 = np.finfo(np.float64).eps
DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["float64", "float32"]


# ----------------------------------------------------------------------------- oracle helpers
def _mp(x):
    return mpmath.mpf(float(x))  # float32 -> float64 is exact, so this is the input exactly


def _split(t):
    """An mpmath value as float64 hi + lo (hi carries +-inf/0 when t over/underflows)."""
    hi = float(t)
    lo = float(t - hi) if math.isfinite(hi) else 0.0
    return hi, lo


def _mp_softplus(x):
    """log(1 + e^x), exact to 60 digits for every float x (also +-1e308)."""
    return x + mpmath.log1p(mpmath.exp(-x)) if x > 0 else mpmath.log1p(mpmath.exp(x))


def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _mp_log_sigmoid(x):
    return -_mp_softplus(-x)


def _mp_log_ndtr(x):
    # log Phi(x); for x > 0 as log1p(-Q(x)) so that Phi(x) = 1 - 1e-300 is not rounded to 1.
    return mpmath.log1p(-mpmath.ncdf(-x)) if x > 0 else mpmath.log(mpmath.ncdf(x))


MP_ELEMENTWISE = {
    "sigmoid": _mp_sigmoid,
    "log_sigmoid": _mp_log_sigmoid,
    "log_ndtr": _mp_log_ndtr,
    "bce_y0": _mp_softplus,  # -log(1 - s(z)) = softplus(z)
    "bce_y1": lambda x: _mp_softplus(-x),  # -log s(z) = softplus(-z)
}


def sweep(dtype):
    """Inputs over the whole finite domain: dense log-spaced magnitudes where the
    functions bend and their tails underflow, sparse up to the largest float, the
    smallest subnormal and normal numbers, 0 and the documented +-40; both signs."""
    info = np.finfo(dtype)
    top = 750.0 if dtype == np.float64 else 120.0  # past the underflow of e^-|x|
    dense = np.logspace(-4, np.log10(top), 161)
    with np.errstate(over="ignore"):  # the last power may round past the largest float
        sparse = np.logspace(np.log10(info.tiny), np.log10(info.max), 61)
    special = np.array([info.smallest_subnormal, info.tiny, 40.0, 36.7, 745.2, 1e3, info.max],
                       dtype=np.float64)
    mags = np.unique(np.concatenate([dense, sparse, special]).astype(dtype))
    mags = mags[np.isfinite(mags) & (mags > 0)]
    return np.concatenate([-mags[::-1], np.zeros(1, dtype), mags]).astype(dtype)


@functools.cache
def elementwise_oracle(name, dtype_name):
    """(x, hi, lo) for oracle ``name`` over :func:`sweep` of the dtype (computed once)."""
    x = sweep(np.dtype(dtype_name))
    if name == "log_ndtr":
        x = x[np.abs(x) < 1e150]  # log Phi(x) ~ -x^2/2 overflows any float beyond ~1.9e154
    pairs = np.array([_split(MP_ELEMENTWISE[name](_mp(v))) for v in x])
    return x, pairs[:, 0], pairs[:, 1]


def assert_within(got, x, hi, lo, tol, dtype, what):
    """|got - t| <= tol, or, where |t| is below the smallest normal of ``dtype``,
    |got - t| < smallest normal. Reports the worst offenders in units of eps."""
    got = np.asarray(got, dtype=np.float64)
    tiny, huge = np.finfo(dtype).tiny, float(np.finfo(dtype).max)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs((got - hi) - lo)
        exact = got == hi
        # A true value beyond the dtype's largest number rounds to +-inf (or +-max).
        overflow = (np.abs(hi) > huge) & (np.sign(got) == np.sign(hi)) & (np.abs(got) >= huge)
        ok = exact | overflow | (err <= tol) | ((np.abs(hi) < tiny) & (err < tiny))
    if not np.all(ok):
        bad = np.flatnonzero(~ok)
        eps = np.finfo(dtype).eps
        worst = bad[np.argsort(-(err[bad] / np.maximum(np.abs(hi[bad]), tiny)))][:6]
        lines = [f"  x={np.ravel(x)[i]!r}: got {got[i]!r}, true {hi[i]!r} "
                 f"(error {err[i] / max(abs(hi[i]), tiny) / eps:.3g} eps relative, "
                 f"tolerance {tol[i] / max(abs(hi[i]), tiny) / eps:.3g} eps)" for i in worst]
        pytest.fail(f"{what}: {bad.size} of {got.size} values outside the bound\n" + "\n".join(lines))


def relative_tolerance(hi, dtype, ulps=ULPS):
    return ulps * np.finfo(dtype).eps * np.abs(hi)


# ----------------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid"])
def test_elementwise_vs_mpmath(backend, name, dtype):
    x, hi, lo = elementwise_oracle(name, np.dtype(dtype).name)
    got = getattr(fl, name)(x, backend=backend)
    assert got.dtype == dtype
    assert_within(got, x, hi, lo, relative_tolerance(hi, dtype), dtype, f"{name}[{backend}]")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("signed", [False, True], ids=["y01", "signed"])
def test_binary_cross_entropy_vs_mpmath(backend, label, signed, dtype):
    x, hi, lo = elementwise_oracle(f"bce_y{label}", np.dtype(dtype).name)
    y = np.full(x.shape, (2 * label - 1) if signed else label)
    got = fl.binary_cross_entropy(x, y, reduction="none", signed=signed, backend=backend)
    assert got.dtype == dtype
    assert_within(got, x, hi, lo, relative_tolerance(hi, dtype), dtype,
                  f"binary_cross_entropy(y={label}, signed={signed})[{backend}]")


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_log_ndtr_vs_mpmath(backend, dtype):
    """log Phi(x): 4 eps in every backend, the right tail included.

    There log Phi(x) = log1p(-Q(x)) ~ -Q(x), and Q(x) ~ e^{-x^2/2} / (x sqrt(2 pi))
    amplifies an error in its exponent: rounding x^2/2 would cost up to x^2/2 epsilons
    relative. Every backend forms x^2/2 exactly (Dekker products; a Veltkamp split in
    the reference). Beyond |x| ~ 1.9e19 log Phi(x) overflows float32, and the result
    must then be -inf.
    """
    x, hi, lo = elementwise_oracle("log_ndtr", np.dtype(dtype).name)
    got = fl.log_ndtr(x, backend=backend)
    assert got.dtype == dtype
    assert_within(got, x, hi, lo, relative_tolerance(hi, dtype), dtype, f"log_ndtr[{backend}]")


#: Bound of the dense log_ndtr sweep of the reference, in float64 epsilons (it measures
#: below 4 on this host).
REFERENCE_LOG_NDTR_ULPS = 8


def test_reference_log_ndtr_dense_vs_mpmath():
    """The reference's log Phi(x) is the oracle of the fast kernels: on a dense sweep of
    (0, 38.5], of [37.6, 38.5] (where -Q(x) is subnormal and from x ~ 38.4856 on rounds to
    -0.0) and of [-1e3, 0], within 8 eps relative plus one rounding onto the subnormal
    grid (2^-1074), and never 0 where the true value does not round to 0."""
    x = np.unique(np.concatenate([
        np.linspace(0.0, 38.5, 3001)[1:], np.linspace(37.6, 38.5, 901),
        -np.logspace(-4, 3, 701), np.linspace(-40.0, 0.0, 401)]))
    pairs = np.array([_split(_mp_log_ndtr(_mp(v))) for v in x])
    hi, lo = pairs[:, 0], pairs[:, 1]
    got = fl.log_ndtr(x, backend="numpy")
    err = np.abs((got - hi) - lo)
    tol = REFERENCE_LOG_NDTR_ULPS * EPS64 * np.abs(hi) + np.finfo(np.float64).smallest_subnormal
    bad = np.flatnonzero(err > tol)
    assert bad.size == 0, [(x[i], got[i], hi[i], err[i] / EPS64 / abs(hi[i])) for i in bad[:6]]
    zero = got == 0.0
    # the bound already forbids 0 where |true| >= 2^-1073; this names the failure
    assert not np.any(zero & (np.abs(hi) > np.finfo(np.float64).smallest_subnormal)), x[zero].min()
    assert np.all(np.signbit(got[zero])) and np.all(x[zero] > 38.48)
    assert zero.any() and np.all(got[x < 38.48] < 0.0)


def test_sigmoid_power_of_two_scale_is_exact(backend):
    """sigmoid(z, scale=c) is s(c z): with c a power of two the product is exact, so the
    scaled call must equal the unscaled call at c z bit for bit (float64 and float32)."""
    for dtype in DTYPES:
        x = sweep(dtype)
        x = x[np.abs(x) < np.finfo(dtype).max / 4]
        for scale in (2.0, 0.5, -1.0, -4.0):
            scaled = fl.sigmoid(x, scale, backend=backend)
            direct = fl.sigmoid((scale * x).astype(dtype), backend=backend)
            np.testing.assert_array_equal(scaled, direct, err_msg=f"scale={scale}, {dtype}")


# ----------------------------------------------------------------------------- named values
#: log s(40) = -log1p(e^-40) to 17 digits (the documented and the docstrings' value).
LOG_SIGMOID_40 = -4.248354255291589e-18


def _assert_named(got, expected_mp, dtype, what):
    hi, lo = _split(expected_mp)
    assert_within(np.atleast_1d(got), np.array([np.nan]), np.array([hi]), np.array([lo]),
                  relative_tolerance(np.array([hi]), dtype), dtype, what)


def test_named_tail_values(backend):
    """The documented tail values, which SciPy, PyTorch or scikit-learn round to 0."""
    assert abs(float(fl.log_sigmoid(40.0, backend=backend)) - LOG_SIGMOID_40) <= \
        ULPS * EPS64 * abs(LOG_SIGMOID_40)
    tail = mpmath.log1p(mpmath.exp(-40))  # 4.25e-18
    cases = {
        "log_sigmoid(40)": (fl.log_sigmoid(40.0, backend=backend), -tail),
        "bce(y=0, z=-40)": (fl.binary_cross_entropy([-40.0], [0.0], reduction="none", backend=backend), tail),
        "bce(y=1, z=40)": (fl.binary_cross_entropy([40.0], [1.0], reduction="none", backend=backend), tail),
        "bce(t=-1, z=-40)": (fl.binary_cross_entropy([-40.0], [-1.0], reduction="none", signed=True,
                                                     backend=backend), tail),
        "bce(t=+1, z=40)": (fl.binary_cross_entropy([40.0], [1.0], reduction="none", signed=True,
                                                    backend=backend), tail),
        "bce mean(y=1, z=40)": (fl.binary_cross_entropy([40.0, 40.0], [1, 1], backend=backend), tail),
        "logsumexp([0, -40])": (fl.logsumexp([0.0, -40.0], backend=backend), tail),
        "log_softmax([0, -40])[0]": (fl.log_softmax([0.0, -40.0], backend=backend)[0], -tail),
        "cross_entropy([[40, 0]], [0])": (fl.cross_entropy([[40.0, 0.0]], [0], reduction="none",
                                                           backend=backend), tail),
        "cross_entropy([[0, -40]], one-hot)": (fl.cross_entropy([[0.0, -40.0]], [[1.0, 0.0]],
                                                                reduction="sum", backend=backend), tail),
    }
    for what, (got, expected) in cases.items():
        _assert_named(got, expected, np.float64, f"{what}[{backend}]")
    # softmax([0, -40]) = [1 - 4.25e-18, 4.25e-18]: the small entry keeps full precision.
    _assert_named(fl.softmax([0.0, -40.0], backend=backend)[1],
                  mpmath.exp(-40) / (1 + mpmath.exp(-40)), np.float64, "softmax([0, -40])[1]")


def test_named_tail_values_float32(backend):
    """The same tails in float32: 4.25e-18 is a normal float32, so it keeps 4 eps too."""
    f32 = np.float32
    tail = mpmath.log1p(mpmath.exp(-40))
    z = np.array([40.0], dtype=f32)
    cases = {
        "log_sigmoid(40)": (fl.log_sigmoid(z, backend=backend), -tail),
        "bce(y=1, z=40)": (fl.binary_cross_entropy(z, [1.0], reduction="none", backend=backend), tail),
        "bce(y=0, z=-40)": (fl.binary_cross_entropy(-z, [0.0], reduction="none", backend=backend), tail),
        "logsumexp([0, -40])": (fl.logsumexp(np.array([0, -40], f32), backend=backend), tail),
        "log_softmax([0, -40])[0]": (fl.log_softmax(np.array([0, -40], f32), backend=backend)[0], -tail),
        "cross_entropy([[40, 0]], [0])": (fl.cross_entropy(np.array([[40, 0]], f32), [0], reduction="none",
                                                           backend=backend), tail),
    }
    for what, (got, expected) in cases.items():
        assert np.asarray(got).dtype == f32, what
        _assert_named(got, expected, f32, f"{what}[{backend}, float32]")


# ----------------------------------------------------------------------------- row-wise
def _named_rows(dtype):
    big = 1e300 if dtype == np.float64 else 1e37
    return [
        [0.0, -40.0], [-40.0, 0.0], [40.0, 0.0], [0.0, -700.0], [0.0, -745.5], [0.0, -750.0],
        [0.0, 0.0], [1.0, 1.0, 1.0], [0.0, -40.0, -40.0], [-0.7, -0.7], [-1e-3, -1e-3, -1e-3],
        [big, -big], [big, big], [-big, -big], [5.0], [-1e3, -1e3 - 1e-10], [1e3, 999.0, 990.0],
        [0.0, -1e-20], [0.0, -36.7, -36.8, -37.0, -38.0],
    ]


def row_sweep(dtype):
    """Rows of C in {1, 2, 3, 5, 12} logits: random logits at spreads from 1e-3 to 1e3 (and
    the float range) around offsets 0 and +-1e3, plus hand-picked tail rows."""
    rng = np.random.default_rng(2611)
    big = np.finfo(dtype).max / 8
    rows = [np.array(r, dtype=dtype) for r in _named_rows(dtype)]
    for C in (1, 2, 3, 5, 12):
        for spread in (1e-3, 1.0, 10.0, 40.0, 100.0, 1e3, big):
            for offset in (0.0, 1e3, -1e3):
                for _ in range(2):
                    z = offset + spread * rng.standard_normal(C) if spread < big else \
                        rng.uniform(-spread, spread, C)
                    rows.append(z.astype(dtype))
    return rows


@functools.cache
def row_oracle(dtype_name):
    """Per row: z, and float64 (hi, lo) pairs of lse, log_softmax, softmax, plus the
    allowance terms L = log1p(s) and kappa = sum_j p_j |z_j - m|."""
    result = []
    for z in row_sweep(np.dtype(dtype_name)):
        zm = [_mp(v) for v in z]
        k_star = int(np.argmax(z))
        m = zm[k_star]
        d = [v - m for v in zm]
        s = mpmath.fsum(mpmath.exp(dj) for j, dj in enumerate(d) if j != k_star)
        L = mpmath.log1p(s)
        lse = m + L
        log_p = [dj - L for dj in d]
        p = [mpmath.exp(v) for v in log_p]
        kappa = float(mpmath.fsum(pj * abs(dj) for pj, dj in zip(p, d)))
        result.append(dict(
            z=z, lse=np.array(_split(lse)), log_p=np.array([_split(v) for v in log_p]),
            p=np.array([_split(v) for v in p]), L=float(L), kappa=kappa,
            d=np.array([float(abs(v)) for v in d]),
        ))
    return result


def rowwise_tolerance(kind, true, row, k=None, dtype=np.float64):
    """Absolute tolerance of one row-wise value (``k`` the class for per-class values).

    ``ULPS`` epsilons of the dtype, relative, as for the elementwise functions, plus the
    issue's allowance for rounding the differences ``d_j = z_j - max(z)``, to first order
    and counted in float64 epsilons (the kernels compute them in float64):

    * the exponent of ``softmax_k`` is ``d_k - L`` (``L = log1p(sum_{j != argmax} e^{d_j})``):
      rounding it costs ``|d_k| + L`` epsilons relative;
    * rounding ``d_j`` inside the sum costs ``p_j |d_j|`` epsilons of ``L``, in all
      ``kappa = sum_j p_j |d_j|`` (<= (C - 1) / e, the condition number of ``L``);
    * ``logsumexp = max(z) + L`` adds two numbers of opposite sign when ``max(z) < 0``:
      that cancellation costs ``ULPS`` epsilons of ``L`` on top of ``ULPS`` of the result.
    """
    eps = np.finfo(dtype).eps
    if kind == "lse":
        return ULPS * eps * (abs(true) + row["L"]) + EPS64 * row["kappa"]
    allowance = EPS64 * (row["d"][k] + row["L"] + row["kappa"])
    if kind == "softmax":
        return abs(true) * (ULPS * eps + allowance)
    return ULPS * eps * abs(true) + allowance  # log_softmax, cross_entropy (absolute terms)


def _stack_rows(dtype):
    """Group the oracle rows by length so each backend call gets a 2-D array."""
    groups = {}
    for row in row_oracle(np.dtype(dtype).name):
        groups.setdefault(row["z"].shape[0], []).append(row)
    return groups


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_rowwise_vs_mpmath(backend, dtype):
    for C, rows in _stack_rows(dtype).items():
        Z = np.stack([r["z"] for r in rows])
        lse = fl.logsumexp(Z, backend=backend)
        log_p = fl.log_softmax(Z, backend=backend)
        p = fl.softmax(Z, backend=backend)
        assert lse.dtype == log_p.dtype == p.dtype == dtype
        assert lse.shape == (len(rows),) and p.shape == log_p.shape == Z.shape
        hi = np.array([r["lse"][0] for r in rows])
        lo = np.array([r["lse"][1] for r in rows])
        tol = np.array([rowwise_tolerance("lse", r["lse"][0], r, dtype=dtype) for r in rows])
        assert_within(lse, Z.max(axis=1), hi, lo, tol, dtype, f"logsumexp C={C} [{backend}]")
        for kind, got in (("log_softmax", log_p), ("softmax", p)):
            key = "log_p" if kind == "log_softmax" else "p"
            hi = np.array([r[key][:, 0] for r in rows])
            lo = np.array([r[key][:, 1] for r in rows])
            tol = np.array([[rowwise_tolerance(kind, r[key][k, 0], r, k, dtype) for k in range(C)]
                            for r in rows])
            assert_within(got.ravel(), Z.ravel(), hi.ravel(), lo.ravel(), tol.ravel(), dtype,
                          f"{kind} C={C} [{backend}]")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_cross_entropy_vs_mpmath(backend, dtype):
    """Per-sample cross-entropy -log_softmax(z)[y] for every class y of every sweep row,
    with integer labels and with the same labels as one-hot rows."""
    for C, rows in _stack_rows(dtype).items():
        Z = np.repeat(np.stack([r["z"] for r in rows]), C, axis=0)
        labels = np.tile(np.arange(C), len(rows))
        hi = np.array([-r["log_p"][k, 0] for r in rows for k in range(C)])
        lo = np.array([-r["log_p"][k, 1] for r in rows for k in range(C)])
        tol = np.array([rowwise_tolerance("ce", -r["log_p"][k, 0], r, k, dtype)
                        for r in rows for k in range(C)])
        got = fl.cross_entropy(Z, labels, reduction="none", backend=backend)
        assert got.dtype == dtype
        assert_within(got, Z.max(axis=1), hi, lo, tol, dtype, f"cross_entropy C={C} [{backend}]")
        one_hot = np.eye(C)[labels]
        got = fl.cross_entropy(Z, one_hot, reduction="none", backend=backend)
        assert_within(got, Z.max(axis=1), hi, lo, tol, dtype, f"cross_entropy one-hot C={C} [{backend}]")


# ----------------------------------------------------------------------------- inner, cosine
def _vector_pairs(dtype):
    rng = np.random.default_rng(77)
    pairs = []
    for d in (1, 2, 5, 33):
        for scale in (1e-300, 1e-150, 1e-3, 1.0, 1e3, 1e150, 1e300):  # squares over/underflow at the ends
            for _ in range(4):
                u = scale * rng.standard_normal(d) * np.exp(rng.uniform(-5, 5, d))
                v = rng.standard_normal(d) * np.exp(rng.uniform(-5, 5, d))
                pairs.append((u, v))
            u = rng.standard_normal(d)  # nearly orthogonal: v = w - (w.u / u.u) u
            w = rng.standard_normal(d)
            pairs.append((scale * u, w - (w @ u) / (u @ u) * u))
    if dtype == np.float32:
        pairs = [(np.clip(u, -1e30, 1e30), np.clip(v, -1e30, 1e30)) for u, v in pairs]
        pairs = [(u.astype(dtype), v.astype(dtype)) for u, v in pairs]
    return pairs


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_inner_and_cosine_vs_mpmath(backend, dtype):
    """inner: a sum of d products in float64 is within d float64 epsilons of sum_j |u_j v_j|
    (the sum's condition), plus the final rounding to the dtype (ULPS eps relative).
    cosine: the same for <u, v> / (|u| |v|) (|u_j v_j| sums to at most |u| |v|), plus the
    two norms (2 d float64 epsilons), so (3 d + 8) float64 epsilons absolute."""
    eps = np.finfo(dtype).eps
    for u, v in _vector_pairs(dtype):
        d = u.shape[0]
        um, vm = [_mp(a) for a in u], [_mp(a) for a in v]
        dot = mpmath.fsum(a * b for a, b in zip(um, vm))
        mag = float(mpmath.fsum(abs(a * b) for a, b in zip(um, vm)))
        nu, nv = mpmath.sqrt(mpmath.fsum(a * a for a in um)), mpmath.sqrt(mpmath.fsum(b * b for b in vm))
        cos = dot / (nu * nv) if nu and nv else mpmath.mpf(0)
        if abs(dot) < np.finfo(dtype).max:
            got = fl.inner(u, v, backend=backend)
            assert np.asarray(got).dtype == dtype
            hi, lo = _split(dot)
            tol = ULPS * eps * abs(hi) + d * EPS64 * mag
            assert_within(np.atleast_1d(got), u[:1], np.array([hi]), np.array([lo]), np.array([tol]),
                          dtype, f"inner d={d} [{backend}]")
        got = fl.cosine_similarity(u, v, backend=backend)
        hi, lo = _split(cos)
        tol = ULPS * eps * abs(hi) + (3 * d + 8) * EPS64
        assert_within(np.atleast_1d(got), u[:1], np.array([hi]), np.array([lo]), np.array([tol]),
                      dtype, f"cosine_similarity d={d} [{backend}]")


# ----------------------------------------------------------------------------- inf and NaN
INF, NAN = np.inf, np.nan


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_elementwise_infinite_and_nan(backend, dtype):
    x = np.array([INF, -INF, NAN], dtype=dtype)
    expected = {
        "sigmoid": [1.0, 0.0, NAN],
        "log_sigmoid": [0.0, -INF, NAN],
        "log_ndtr": [0.0, -INF, NAN],
    }
    for name, values in expected.items():
        got = getattr(fl, name)(x, backend=backend)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, np.array(values, dtype=dtype), err_msg=f"{name}[{backend}]")
    got = fl.sigmoid(x, -2.0, backend=backend)
    np.testing.assert_array_equal(got, np.array([0.0, 1.0, NAN], dtype=dtype), err_msg="sigmoid scale -2")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_binary_cross_entropy_infinite_and_nan(backend, dtype):
    z = np.array([INF, -INF, INF, -INF, NAN, NAN, INF, -INF], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.5, 0.5])
    expected = np.array([0.0, 0.0, INF, INF, NAN, NAN, INF, INF], dtype=dtype)
    got = fl.binary_cross_entropy(z, y, reduction="none", backend=backend)
    np.testing.assert_array_equal(got, expected)
    signed = fl.binary_cross_entropy(z[:6], 2 * y[:6] - 1, reduction="none", signed=True, backend=backend)
    np.testing.assert_array_equal(signed, expected[:6])
    assert np.isnan(fl.binary_cross_entropy(z[4:6], y[4:6], backend=backend))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_rowwise_infinite_logits(backend, dtype):
    """The contract's rule: where max(z) is infinite, the entries equal to it share the
    mass equally and the others get 0; an all -inf row is uniform. NaN propagates to the
    whole row (as scipy.special.softmax) and leaves the other rows alone."""
    log2 = math.log(2.0)
    cases = [  # row, logsumexp, softmax, log_softmax
        ([INF, 0.0], INF, [1.0, 0.0], [0.0, -INF]),
        ([0.0, INF], INF, [0.0, 1.0], [-INF, 0.0]),
        ([INF, INF], INF, [0.5, 0.5], [-log2, -log2]),
        ([INF, -INF], INF, [1.0, 0.0], [0.0, -INF]),
        ([-INF, 0.0], 0.0, [0.0, 1.0], [-INF, 0.0]),
        ([-INF, -INF], -INF, [0.5, 0.5], [-log2, -log2]),
        ([3.0, -INF], 3.0, [1.0, 0.0], [0.0, -INF]),
    ]
    for row, lse, p, log_p in cases:
        z = np.array(row, dtype=dtype)
        assert fl.logsumexp(z, backend=backend) == lse, f"logsumexp({row})"
        np.testing.assert_array_equal(fl.softmax(z, backend=backend), np.array(p, dtype),
                                      err_msg=f"softmax({row})")
        # -log 2 comes from libm's log1p, so it is promised to 1 ulp, not to the bit.
        assert_specials_exact(fl.log_softmax(z, backend=backend), np.array(log_p, dtype), 1,
                              f"log_softmax({row})")
    three = np.array([[INF, INF, 0.0], [-INF, -INF, -INF]], dtype=dtype)
    np.testing.assert_array_equal(fl.softmax(three, backend=backend),
                                  np.array([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], dtype))
    for single in (INF, -INF):
        assert fl.logsumexp(np.array([single], dtype), backend=backend) == single
        assert fl.softmax(np.array([single], dtype), backend=backend)[0] == 1.0
    Z = np.array([[NAN, 0.0, 1.0], [0.0, 1.0, 2.0], [1.0, NAN, INF]], dtype=dtype)
    lse = fl.logsumexp(Z, backend=backend)
    assert np.isnan(lse[0]) and np.isnan(lse[2]) and np.isfinite(lse[1])
    for name in ("softmax", "log_softmax"):
        got = getattr(fl, name)(Z, backend=backend)
        assert np.all(np.isnan(got[[0, 2]])), f"{name}: NaN must fill its row, got {got}"
        assert np.all(np.isfinite(got[1])), name


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_cross_entropy_infinite_logits(backend, dtype):
    Z = np.array([[INF, 0.0], [INF, 0.0], [-INF, 0.0], [-INF, 0.0], [-INF, -INF], [NAN, 0.0]], dtype)
    labels = np.array([0, 1, 1, 0, 0, 1])
    expected = np.array([0.0, INF, 0.0, INF, math.log(2.0), NAN], dtype)
    got = fl.cross_entropy(Z, labels, reduction="none", backend=backend)
    assert_specials_exact(got, expected, 1, "cross_entropy")  # log 2 from libm: 1 ulp; the rest exact
    # Probability rows: a zero target times an infinite -log p contributes 0, not NaN.
    got = fl.cross_entropy(Z[:5], np.eye(2)[labels[:5]], reduction="none", backend=backend)
    assert_specials_exact(got, expected[:5], 1, "cross_entropy, probability rows")
    assert fl.cross_entropy(np.array([[-INF, 0.0]], dtype), [[0.0, 1.0]], reduction="sum",
                            backend=backend) == 0.0


def test_inner_cosine_special_cases(backend):
    """Zero rows have cosine 0 (not NaN); huge and tiny rows do not over/underflow; a single
    row, 1-D or (1, d), broadcasts against every row."""
    U = np.array([[0.0, 0.0], [1e300, 1e300], [1e-300, -1e-300], [3.0, 4.0]])
    V = np.array([[1.0, 2.0], [1e300, 1e300], [-1e-300, 1e-300], [0.0, 0.0]])
    cos = fl.cosine_similarity(U, V, backend=backend)
    expected = np.array([0.0, 1.0, -1.0, 0.0])
    assert np.all(np.abs(cos - expected) <= ULPS * EPS64), cos
    v = np.array([1.0, -2.0])
    one = fl.inner(U[1:], v, backend=backend)
    np.testing.assert_array_equal(fl.inner(U[1:], v[None, :], backend=backend), one)
    np.testing.assert_array_equal(fl.inner(v, U[1:], backend=backend), one)
    assert one[2] == -5.0 and one[1] == 3e-300


def test_sigmoid_keeps_its_subnormal_tail(backend):
    """s(z) ~ exp(z) is subnormal for z in (-745, -708.4): every backend, the reference
    oracle included, returns it to the dtype's rounding, not 0 (1 / (1 + exp(-z)) gives 0
    once exp(-z) overflows at z ~ -709.8)."""
    z = np.linspace(-745.0, -705.0, 81)
    expected = np.array([float(1 / (1 + mpmath.exp(-_mp(v)))) for v in z])
    got = fl.sigmoid(z, backend=backend)
    smallest = np.finfo(np.float64).smallest_subnormal
    assert np.all(got > 0), f"{backend}: sigmoid underflows to 0 at z = {z[got == 0]}"
    assert np.all(np.abs(got - expected) <= ULPS * EPS64 * expected + smallest), backend
