"""dtype and memory-layout matrix: every layout gives the contiguous result.

Layouts: C and Fortran order, strided views (``X[::2, ::3]``), negative strides, a
Fortran-ordered strided view, read-only arrays, read-only ``np.memmap`` files, stride-0
broadcasts and nested lists. dtypes: float32 and float64 are preserved, integers (and
booleans) become float64, float16 becomes float32.

Elementwise and row-wise results must be bit-identical to the C-contiguous call (each
element is one formula on one row, whatever the strides). The fused kernels may sum in
a different order on a different layout (a vectorised C-contiguous loop), so they are
held to the backend-equality bound (conftest ``assert_fused_close``).
"""

import numpy as np
import pytest

import fastlogreg as fl
from fastlogreg import _backend

from conftest import EPS64, assert_close_to, assert_fused_close, binary_error_scales, softmax_error_scales

DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["float64", "float32"]
LAYOUTS = ["C", "F", "strided", "negative", "F-strided", "readonly", "memmap", "list"]
#: The fused kernels' documented relative bound for float64 and float32 data.
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def with_layout(A, layout, tmp_path):
    """An array-like with the values of 2-D ``A`` in the given layout."""
    n, m = A.shape
    if layout == "C":
        return np.ascontiguousarray(A)
    if layout == "F":
        return np.asfortranarray(A)
    if layout in ("strided", "F-strided"):
        big = np.zeros((2 * n, 3 * m), dtype=A.dtype, order="F" if layout == "F-strided" else "C")
        big[::2, ::3] = A
        view = big[::2, ::3]
        assert not view.flags.c_contiguous and not view.flags.f_contiguous
        return view
    if layout == "negative":
        flipped = np.ascontiguousarray(A[::-1, ::-1])
        view = flipped[::-1, ::-1]
        assert view.strides[0] < 0 and view.strides[1] < 0
        return view
    if layout == "readonly":
        ro = A.copy()
        ro.flags.writeable = False
        return ro
    if layout == "memmap":
        path = tmp_path / f"data_{len(list(tmp_path.iterdir()))}.bin"  # a new file per array
        mm = np.memmap(path, dtype=A.dtype, mode="w+", shape=A.shape)
        mm[...] = A
        mm.flush()
        del mm
        ro = np.memmap(path, dtype=A.dtype, mode="r", shape=A.shape)
        assert not ro.flags.writeable
        return ro
    if layout == "list":
        return A.tolist()
    raise AssertionError(layout)


def _expected_dtype(layout, dtype):
    return np.dtype(np.float64) if layout == "list" else np.dtype(dtype)  # lists hold Python floats


def _logits(rng, dtype, n=9, m=5):
    A = rng.standard_normal((n, m)) * 20
    A[0, :2] = [40.0, -40.0]
    A[1, 0] = 700.0 if dtype == np.float64 else 80.0
    return A.astype(dtype)


# ----------------------------------------------------------------------------- elementwise & row-wise
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_elementwise_layouts(backend, rng, layout, dtype, tmp_path):
    A = _logits(rng, dtype)
    x = with_layout(A, layout, tmp_path)
    base = A.astype(_expected_dtype(layout, dtype))
    for name in ("sigmoid", "log_sigmoid", "log_ndtr"):
        expected = getattr(fl, name)(base, backend=backend)
        got = getattr(fl, name)(x, backend=backend)
        assert got.dtype == expected.dtype == _expected_dtype(layout, dtype), name
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}, {layout}")
    np.testing.assert_array_equal(fl.sigmoid(x, 0.5, backend=backend), fl.sigmoid(base, 0.5, backend=backend))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_rowwise_layouts(backend, rng, layout, dtype, tmp_path):
    """Row-wise functions reduce over the last axis in every layout (also Fortran order,
    where the last axis is the strided one)."""
    A = _logits(rng, dtype)
    Z = with_layout(A, layout, tmp_path)
    base = A.astype(_expected_dtype(layout, dtype))
    for name in ("logsumexp", "softmax", "log_softmax"):
        expected = getattr(fl, name)(base, backend=backend)
        got = getattr(fl, name)(Z, backend=backend)
        assert got.dtype == _expected_dtype(layout, dtype) and got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}, {layout}")
    labels = np.arange(A.shape[0]) % A.shape[1]
    np.testing.assert_array_equal(fl.cross_entropy(Z, labels, reduction="none", backend=backend),
                                  fl.cross_entropy(base, labels, reduction="none", backend=backend))
    one_hot = with_layout(np.eye(A.shape[1])[labels], "F" if layout == "C" else layout, tmp_path)
    np.testing.assert_array_equal(fl.cross_entropy(Z, one_hot, reduction="none", backend=backend),
                                  fl.cross_entropy(base, labels, reduction="none", backend=backend))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_inner_cosine_bce_layouts(backend, rng, layout, tmp_path):
    """inner and cosine_similarity are sums over a row: a contiguous row may be summed in
    another (vectorised) order, so they agree to the summation bound d eps sum |u_j v_j|
    (cosine: (3 d + 8) eps), not bit for bit."""
    U = rng.standard_normal((9, 5))
    V = rng.standard_normal((9, 5))
    d = U.shape[1]
    for func, tol in ((fl.inner, d * EPS64 * np.sum(np.abs(U * V), axis=1)),
                      (fl.cosine_similarity, (3 * d + 8) * EPS64)):
        expected = func(U, V, backend=backend)
        for U_l, V_l in ((with_layout(U, layout, tmp_path), V), (U, with_layout(V, layout, tmp_path))):
            assert_close_to(func(U_l, V_l, backend=backend), expected, tol, func.__name__)
        # A single vector against every row (stride-0 broadcast inside).
        V0 = np.tile(V[0], (9, 1))
        tol0 = tol if func is fl.cosine_similarity else d * EPS64 * np.sum(np.abs(U * V0), axis=1)
        assert_close_to(func(with_layout(U, layout, tmp_path), V[0], backend=backend),
                        func(U, V0, backend=backend), tol0, f"{func.__name__} broadcast")
    z = rng.standard_normal(9) * 30
    y = rng.integers(0, 2, 9)
    col = with_layout(z[:, None], layout, tmp_path)
    z_layout = np.asarray(col)[:, 0] if layout != "list" else [v[0] for v in col]
    np.testing.assert_array_equal(
        fl.binary_cross_entropy(z_layout, y, reduction="none", backend=backend),
        fl.binary_cross_entropy(z, y.astype(float), reduction="none", backend=backend))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_dimensions(backend, rng, dtype):
    """0-d gives a scalar of the dtype, 1-d one row, 3-d folds its leading axes."""
    A = _logits(rng, dtype, n=6, m=4)
    A3 = A.reshape(2, 3, 4)
    for name in ("sigmoid", "log_sigmoid", "log_ndtr"):
        f = getattr(fl, name)
        got = f(A3, backend=backend)
        assert got.shape == A3.shape and got.dtype == dtype
        np.testing.assert_array_equal(got, f(A, backend=backend).reshape(A3.shape))
        np.testing.assert_array_equal(f(A[0], backend=backend), f(A, backend=backend)[0])
        scalar = f(A[0, 0], backend=backend)  # a NumPy scalar of the dtype
        assert np.ndim(scalar) == 0 and np.asarray(scalar).dtype == dtype, (name, type(scalar))
        assert scalar == f(A, backend=backend)[0, 0]
        assert np.asarray(f(float(A[0, 0]), backend=backend)).dtype == np.float64
    A3F = np.asfortranarray(A3)
    for name in ("sigmoid", "softmax", "log_softmax", "logsumexp"):
        f = getattr(fl, name)
        np.testing.assert_array_equal(f(A3F, backend=backend), f(A3, backend=backend),
                                      err_msg=f"{name} 3-D F")
    for name in ("softmax", "log_softmax"):
        f = getattr(fl, name)
        np.testing.assert_array_equal(f(A3, backend=backend), f(A, backend=backend).reshape(A3.shape))
        np.testing.assert_array_equal(f(A[2], backend=backend), f(A, backend=backend)[2])
    lse = fl.logsumexp(A3, backend=backend)
    assert lse.shape == (2, 3) and lse.dtype == dtype
    np.testing.assert_array_equal(lse, fl.logsumexp(A, backend=backend).reshape(2, 3))
    one = fl.logsumexp(A[1], backend=backend)
    assert np.ndim(one) == 0 and one == fl.logsumexp(A, backend=backend)[1]
    assert np.ndim(fl.inner(A[0], A[1], backend=backend)) == 0


def test_integer_bool_float16_inputs(backend):
    ints = np.arange(-6, 6).reshape(3, 4)
    for name in ("sigmoid", "log_sigmoid", "softmax", "log_softmax", "logsumexp"):
        f = getattr(fl, name)
        got = f(ints, backend=backend)
        assert got.dtype == np.float64, name
        np.testing.assert_array_equal(got, f(ints.astype(np.float64), backend=backend))
        np.testing.assert_array_equal(f(ints.tolist(), backend=backend), got)
    got = fl.sigmoid(np.array([True, False]), backend=backend)
    np.testing.assert_array_equal(got, fl.sigmoid(np.array([1.0, 0.0]), backend=backend))
    half = np.array([0.5, -3.0, 7.0], dtype=np.float16)
    got = fl.log_sigmoid(half, backend=backend)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, fl.log_sigmoid(half.astype(np.float32), backend=backend))


# ----------------------------------------------------------------------------- out=
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_out_argument(backend, rng, dtype):
    A = _logits(rng, dtype)
    for name in ("sigmoid", "log_sigmoid", "log_ndtr", "softmax", "log_softmax"):
        f = getattr(fl, name)
        expected = f(A, backend=backend)
        out = np.empty_like(A)
        assert f(A, out=out, backend=backend) is out
        np.testing.assert_array_equal(out, expected, err_msg=f"{name} out=")
        # in place
        z = A.copy()
        assert f(z, out=z, backend=backend) is z
        np.testing.assert_array_equal(z, expected, err_msg=f"{name} out=z")
        # in place on a strided and on a Fortran view
        big = np.zeros((2 * A.shape[0], 3 * A.shape[1]), dtype=dtype)
        view = big[::2, ::3]
        view[...] = A
        f(view, out=view, backend=backend)
        np.testing.assert_array_equal(view, expected, err_msg=f"{name} strided out=z")
        assert np.all(big[1::2] == 0) and np.all(big[:, 1::3] == 0), f"{name} wrote outside the view"
        fz = np.asfortranarray(A)
        f(fz, out=fz, backend=backend)
        np.testing.assert_array_equal(fz, expected, err_msg=f"{name} Fortran out=z")
        # out of another layout than the input
        out_f = np.empty(A.shape, dtype=dtype, order="F")
        f(A, out=out_f, backend=backend)
        np.testing.assert_array_equal(out_f, expected, err_msg=f"{name} Fortran out")
        # out overlapping the input without being it: computed as if from a copy
        buf = np.concatenate([A.ravel(), np.zeros(A.shape[1], dtype)])
        src = buf[: A.size].reshape(A.shape)
        dst = buf[A.shape[1]:].reshape(A.shape)
        f(src, out=dst, backend=backend)
        np.testing.assert_array_equal(dst, expected, err_msg=f"{name} overlapping out")
    out = np.empty(5, dtype=dtype)
    fl.sigmoid(A[0], 2.0, out=out, backend=backend)
    np.testing.assert_array_equal(out, fl.sigmoid(A[0], 2.0, backend=backend))


@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid", "log_ndtr"])
def test_zero_dim_input(backend, name):
    """0-d input gives a NumPy scalar, as ufuncs do, unless ``out`` is passed: then ``out``."""
    f = getattr(fl, name)
    z = np.array(0.75)
    scalar = f(z, backend=backend)
    assert isinstance(scalar, np.float64)
    out = np.full((), np.nan)
    assert f(z, out=out, backend=backend) is out
    assert out[()] == scalar == f(np.array([0.75]), backend=backend)[0]


def test_out_keeps_fortran_order(backend, rng):
    """Outputs keep the input's memory order, as ufuncs do."""
    A = np.asfortranarray(_logits(rng, np.float64))
    for name in ("sigmoid", "log_sigmoid", "softmax", "log_softmax"):
        assert getattr(fl, name)(A, backend=backend).flags.f_contiguous, name


# ----------------------------------------------------------------------------- fused
def _binary_problem(rng, dtype):
    n, d = 23, 5
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, 2, n).astype(np.float64)
    w = rng.standard_normal(d)
    sw = rng.uniform(0.5, 2.0, n)
    return X, y, w, 0.25, sw


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_fused_layouts(backend, rng, layout, dtype, tmp_path):
    X, y, w, b, sw = _binary_problem(rng, dtype)
    Xl = with_layout(X, layout, tmp_path)
    Xb = X.astype(_expected_dtype(layout, dtype))
    rtol = RTOL[np.dtype(dtype)]
    scales = binary_error_scales(X, y, w, b, sw)
    for func in (fl.logistic_loss_grad, fl.probit_loss_grad):
        expected = func(Xb, y, w, b, sample_weight=sw, l2=0.1, backend=backend)
        got = func(Xl, y.tolist(), w.tolist(), b, sample_weight=sw.tolist(), l2=0.1, backend=backend)
        assert_fused_close(got, expected, scales, rtol, f"{func.__name__}, {layout}")
    C = 3
    labels = np.arange(X.shape[0]) % C
    W = rng.standard_normal((C, X.shape[1]))
    bC = rng.standard_normal(C)
    expected = fl.softmax_loss_grad(Xb, labels, W, bC, sample_weight=sw, l2=0.1, backend=backend)
    got = fl.softmax_loss_grad(Xl, labels.tolist(), with_layout(W, layout, tmp_path), bC.tolist(),
                               sample_weight=sw, l2=0.1, backend=backend)
    assert_fused_close(got, expected, softmax_error_scales(X, np.eye(C)[labels], W, bC, sw), rtol,
                       f"softmax_loss_grad, {layout}")
    v = rng.standard_normal(X.shape[1])
    hv = fl.logistic_hessp(Xl, w, b, v, 0.5, sample_weight=sw, backend=backend)
    hv_ref = fl.logistic_hessp(Xb, w, b, v, 0.5, sample_weight=sw, backend=backend)
    np.testing.assert_allclose(np.append(*hv), np.append(*hv_ref), rtol=rtol,
                               atol=rtol * np.linalg.norm(np.append(*hv_ref)))
    V = rng.standard_normal(W.shape)
    hv = fl.softmax_hessp(Xl, W, bC, V, None, sample_weight=sw, backend=backend)
    hv_ref = fl.softmax_hessp(Xb, W, bC, V, None, sample_weight=sw, backend=backend)
    np.testing.assert_allclose(hv[0], hv_ref[0], rtol=rtol, atol=rtol * np.linalg.norm(hv_ref[0]))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_fused_dtype_rule(backend, rng, dtype):
    """Results have NumPy's ``X @ w`` dtype: float32 only when X and w are both float32;
    integer X behaves as float64."""
    X, y, w, b, sw = _binary_problem(rng, dtype)
    loss, gw, gb = fl.logistic_loss_grad(X, y, w.astype(dtype), b, backend=backend)
    assert np.asarray(loss).dtype == gw.dtype == np.asarray(gb).dtype == dtype
    loss, gw, gb = fl.logistic_loss_grad(X, y, w, b, backend=backend)
    assert np.asarray(loss).dtype == gw.dtype == np.float64
    loss, gW, gb = fl.softmax_loss_grad(X, y.astype(int), np.zeros((2, X.shape[1]), dtype), backend=backend)
    assert np.asarray(loss).dtype == gW.dtype == gb.dtype == dtype
    Xi = np.arange(12).reshape(4, 3) % 3 - 1
    got = fl.logistic_loss_grad(Xi, [0, 1, 1, 0], [1, -1, 2], 1, backend=backend)
    expected = fl.logistic_loss_grad(Xi.astype(float), [0.0, 1.0, 1.0, 0.0], [1.0, -1.0, 2.0], 1.0,
                                     backend=backend)
    assert got[0] == expected[0] and got[2] == expected[2]
    np.testing.assert_array_equal(got[1], expected[1])


# ----------------------------------------------------------------------------- no copies
def _spy(monkeypatch, backend, name, argument_index, original_array, calls):
    """Replace kernel ``name`` of ``backend`` by a wrapper recording whether argument
    ``argument_index`` shares memory with ``original_array``."""
    module = _backend.resolve(backend)
    kernel = getattr(module, name)

    def spy(*args):
        calls.append(np.shares_memory(args[argument_index], original_array))
        return kernel(*args)

    monkeypatch.setattr(module, name, spy)


@pytest.mark.parametrize("layout", ["C", "F", "strided", "readonly"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_no_copy_of_float_data(backend, rng, monkeypatch, layout, dtype, tmp_path):
    """A float32/float64 X reaches the kernels as a view, never a copy (the fused kernels
    exist to read X once; a copy would read it twice and double the memory)."""
    X, y, w, b, sw = _binary_problem(rng, dtype)
    X = with_layout(X, layout, tmp_path)
    calls = []
    _spy(monkeypatch, backend, "logistic_loss_grad", 0, X, calls)
    _spy(monkeypatch, backend, "probit_loss_grad", 0, X, calls)
    _spy(monkeypatch, backend, "softmax_loss_grad", 0, X, calls)
    _spy(monkeypatch, backend, "logistic_hessp", 0, X, calls)
    _spy(monkeypatch, backend, "softmax_hessp", 0, X, calls)
    _spy(monkeypatch, backend, "sigmoid", 0, X, calls)
    _spy(monkeypatch, backend, "softmax", 0, X, calls)
    fl.logistic_loss_grad(X, y, w, b, sample_weight=sw, backend=backend)
    fl.probit_loss_grad(X, y, w, b, backend=backend)
    fl.softmax_loss_grad(X, y.astype(int), np.zeros((2, X.shape[1])), backend=backend)
    fl.logistic_hessp(X, w, b, w, backend=backend)
    fl.softmax_hessp(X, np.zeros((2, X.shape[1])), None, np.ones((2, X.shape[1])), backend=backend)
    fl.sigmoid(X, backend=backend)
    fl.softmax(X, backend=backend)
    assert calls == [True] * 7, f"kernels saw a copy of X: {calls}"


def test_label_and_weight_encodings(backend, rng):
    """Labels as lists, bools, small integer dtypes or integral floats, and a scalar
    sample_weight, give exactly the results of the canonical encoding."""
    X, y, w, b, _ = _binary_problem(rng, np.float64)
    expected = fl.logistic_loss_grad(X, y, w, b, backend=backend)
    for encoding in (y.astype(bool), y.astype(np.int8), y.astype(np.float32), y.astype(int).tolist()):
        got = fl.logistic_loss_grad(X, encoding, w, b, backend=backend)
        assert got[0] == expected[0] and got[2] == expected[2]
        np.testing.assert_array_equal(got[1], expected[1])
    got = fl.logistic_loss_grad(X, y, w, b, sample_weight=2.5, backend=backend)  # uniform weights: same mean
    assert abs(got[0] - expected[0]) <= 4 * EPS64 * expected[0]
    C = 4
    labels = np.arange(X.shape[0]) % C
    W = rng.standard_normal((C, X.shape[1]))
    expected = fl.softmax_loss_grad(X, labels, W, backend=backend)
    for encoding in (labels.astype(np.int32), labels.astype(np.uint8), labels.astype(np.float64),
                     labels.tolist()):
        got = fl.softmax_loss_grad(X, encoding, W, backend=backend)
        assert got[0] == expected[0], type(encoding)
        np.testing.assert_array_equal(got[1], expected[1])
        np.testing.assert_array_equal(got[2], expected[2])
    # One-hot rows take the probability-row path of the kernel (sum_k Y_k ...): equal to
    # the fused kernels' bound, not bit for bit.
    Y = np.eye(C)[labels]
    scales = softmax_error_scales(X, Y, W, np.zeros(C), None)
    for encoding in (Y, Y.astype(np.float32)):
        got = fl.softmax_loss_grad(X, encoding, W, backend=backend)
        assert_fused_close(got, expected, scales, RTOL[np.dtype(np.float64)], "one-hot rows")


def test_empty_inputs(backend):
    """Zero-size arrays give zero-size results of the right shape (no error, no kernel
    reading out of bounds); a single vector broadcasts against zero rows too."""
    for shape in ((0,), (0, 3), (3, 0), (2, 0, 4)):
        for name in ("sigmoid", "log_sigmoid", "log_ndtr"):
            got = getattr(fl, name)(np.zeros(shape), backend=backend)
            assert got.shape == shape and got.dtype == np.float64, (name, shape)
    for name, shape in (("softmax", (0, 3)), ("log_softmax", (0, 3)), ("logsumexp", (0,))):
        assert getattr(fl, name)(np.zeros((0, 3)), backend=backend).shape == shape, name
    for func in (fl.inner, fl.cosine_similarity):
        assert func(np.zeros((0, 3)), np.zeros((0, 3)), backend=backend).shape == (0,)
        assert func(np.zeros((0, 3)), np.ones(3), backend=backend).shape == (0,), func.__name__


def test_field_views_and_unaligned_data(backend, rng):
    """A field of a structured array (a stride that is not a multiple of the item size)
    and misaligned data (a float64 view at an odd byte offset) are memory layouts too."""
    A = rng.standard_normal((6, 4))
    records = np.zeros(A.shape, dtype=[("a", "f8"), ("b", "f4")])
    records["a"] = A
    field = records["a"]
    assert field.strides[1] % field.itemsize != 0
    raw = np.zeros(A.size * 8 + 1, dtype=np.uint8)
    unaligned = raw[1:].view(np.float64).reshape(A.shape)
    unaligned[...] = A
    assert not unaligned.flags.aligned
    y = (A[:, 0] > 0).astype(np.float64)
    w = rng.standard_normal(A.shape[1])
    expected = fl.logistic_loss_grad(A, y, w, backend=backend)
    scales = binary_error_scales(A, y, w, 0.0, None)
    for what, X in (("field", field), ("unaligned", unaligned)):
        for f in (fl.sigmoid, fl.softmax):
            np.testing.assert_array_equal(f(X, backend=backend), f(A, backend=backend), err_msg=what)
        assert_fused_close(fl.logistic_loss_grad(X, y, w, backend=backend), expected, scales,
                           RTOL[np.dtype(np.float64)], what)


def test_inputs_are_not_modified(backend, rng):
    """No function writes into its inputs (read-only flags set, contents compared after)."""
    X, y, w, b, sw = _binary_problem(rng, np.float64)
    C = 3
    labels = np.arange(X.shape[0]) % C
    W, bC = rng.standard_normal((C, X.shape[1])), rng.standard_normal(C)
    V, v = rng.standard_normal((C, X.shape[1])), rng.standard_normal(X.shape[1])
    Z = rng.standard_normal((X.shape[0], C)) * 30
    arrays = dict(X=X, y=y, w=w, sw=sw, labels=labels, W=W, bC=bC, V=V, v=v, Z=Z)
    saved = {k: a.copy() for k, a in arrays.items()}
    for a in arrays.values():
        a.flags.writeable = False
    fl.logistic_loss_grad(X, y, w, b, sample_weight=sw, l2=0.1, backend=backend)
    fl.probit_loss_grad(X, y, w, b, sample_weight=sw, l2=0.1, backend=backend)
    fl.softmax_loss_grad(X, labels, W, bC, sample_weight=sw, l2=0.1, backend=backend)
    fl.logistic_hessp(X, w, b, v, 0.5, sample_weight=sw, backend=backend)
    fl.softmax_hessp(X, W, bC, V, bC, sample_weight=sw, backend=backend)
    for name in ("sigmoid", "log_sigmoid", "log_ndtr", "softmax", "log_softmax", "logsumexp"):
        getattr(fl, name)(Z, backend=backend)
    fl.binary_cross_entropy(Z[:, 0], y, sample_weight=sw, backend=backend)
    fl.cross_entropy(Z, labels, sample_weight=sw, backend=backend)
    fl.inner(Z, Z, backend=backend)
    fl.cosine_similarity(Z, Z[0], backend=backend)
    for k, a in arrays.items():
        np.testing.assert_array_equal(a, saved[k], err_msg=f"{k} was modified")
