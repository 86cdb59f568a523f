"""The CSR kernels (``<kernel>_csr``) of every backend, called directly.

Hypothesis draws random CSR structures: empty rows, unsorted and repeated column
indices within a row, explicit zeros, int32 and int64 indices, float32 and float64
data, and row ranges of a larger matrix (``indptr[0] > 0``). Each fast backend's CSR
kernel is compared with the reference's CSR kernel (to the fused tolerances of
``test_backend_equality``), and the reference's CSR kernel with its dense kernel on the
densified matrix, repeated entries summed. Per backend, the results are bit-identical
from call to call, for int32 and int64 indices, and for a row range passed as a slice
of ``indptr`` or as a copied matrix.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastlogreg import _backend

from conftest import EPS64, safe_norm

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


class CSR:
    """A CSR matrix as the kernels take it, with its dense float64 form (repeated entries
    summed) and the dense form of |entries| (for rounding bounds)."""

    def __init__(self, data, indices, indptr, n_features):
        self.data, self.indices, self.indptr, self.n_features = data, indices, indptr, n_features
        n = indptr.shape[0] - 1
        self.dense = np.zeros((n, n_features))
        self.magnitude = np.zeros((n, n_features))
        for i in range(n):
            for p in range(indptr[i], indptr[i + 1]):
                self.dense[i, indices[p]] += data[p]
                self.magnitude[i, indices[p]] += abs(float(data[p]))

    @property
    def parts(self):
        return self.data, self.indices, self.indptr

    def with_index_dtype(self, itype):
        return CSR(self.data, self.indices.astype(itype), self.indptr.astype(itype), self.n_features)


@st.composite
def csr_matrices(draw, max_rows=30, max_features=8):
    """A random CSR matrix; sometimes a row range of a larger one (``indptr[0] > 0``)."""
    dtype = np.dtype(draw(st.sampled_from([np.float64, np.float32])))
    itype = np.dtype(draw(st.sampled_from([np.int32, np.int64])))
    n = draw(st.integers(1, max_rows))
    d = draw(st.integers(1, max_features))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lengths = rng.integers(0, 2 * d + 2, n) * (rng.random(n) > draw(st.sampled_from([0.0, 0.3])))
    if draw(st.booleans()):
        lengths[rng.integers(n)] = d  # a row with about every column
    offset = int(draw(st.sampled_from([0, 0, 5])))  # entries before the first row
    nnz = offset + int(lengths.sum())
    indptr = (offset + np.concatenate([[0], np.cumsum(lengths)])).astype(itype)
    indices = rng.integers(0, d, nnz).astype(itype)  # unsorted, with repeats
    data = rng.uniform(-4, 4, nnz)
    data[rng.random(nnz) < 0.1] = 0.0  # explicit zeros
    return CSR(data.astype(dtype), indices, indptr, d)


def _weights(draw, rng, n):
    if not draw(st.booleans()):
        return np.empty(0)
    sw = rng.uniform(0, 3, n) * (rng.random(n) > 0.2)
    sw[rng.integers(n)] = 1.5
    return sw


def _scale_bound(X, sw, per_row):
    """Float64 epsilons times this bound the rounding difference of two summation orders:
    ``per_row`` (n,) bounds the error of each row's contribution, the sum adds n
    epsilons of the total, and the gradient carries |x_i| along."""
    n, d = X.magnitude.shape
    e = (n + d + 8) * (np.ones(n) if sw.shape[0] == 0 else sw) * per_row
    return e.sum(), safe_norm(np.append(X.magnitude.T @ e, e.sum()))


def _close(got, ref, rtol, bound, what):
    got = [np.ravel(np.asarray(g, dtype=np.float64)) for g in got]
    ref = [np.ravel(np.asarray(r, dtype=np.float64)) for r in ref]
    for g, r in zip(got, ref):
        assert g.shape == r.shape, what
        err = np.abs(g - r)
        tol = rtol * max(safe_norm(r), 1e-300) + EPS64 * bound
        assert np.all(err <= tol), f"{what}: error {err.max():.3g} > {tol:.3g}\ngot {g}\nref {r}"


def _call(backend, name, X, *args, n_threads=1):
    """Run kernel ``name`` on the CSR X; returns the outputs (and the scalar results)."""
    return getattr(_backend.resolve(backend), name)(*X.parts, *args, n_threads)


def _binary_case(draw):
    X = draw(csr_matrices())
    n, d = X.dense.shape
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 30.0, 1e3]))
    w = rng.standard_normal(d) * scale / np.sqrt(d)
    b = float(rng.standard_normal() * draw(st.sampled_from([0.0, 1.0, 1e3])))
    y = rng.integers(0, 2, n).astype(np.float64) if draw(st.booleans()) else rng.uniform(0, 1, n)
    return X, y, w, b, _weights(draw, rng, n), rng


def _binary_run(backend, name, X, y, w, b, sw, n_threads=1):
    grad = np.empty(X.n_features)
    loss, grad_b = _call(backend, name, X, y, w, b, sw, grad, n_threads=n_threads)
    return float(loss), grad, float(grad_b)


@pytest.mark.parametrize("name", ["logistic_loss_grad_csr", "probit_loss_grad_csr"])
@given(data=st.data())
def test_binary_loss_grad_csr(backend, name, data):
    X, y, w, b, sw, _ = _binary_case(data.draw)
    got = _binary_run(backend, name, X, y, w, b, sw)
    ref = _binary_run("numpy", name, X, y, w, b, sw)
    a = X.magnitude @ np.abs(w) + abs(b)  # bounds |z_i| and its rounding
    slope = 2 + a if name.startswith("probit") else np.ones_like(a)  # |dl/dz| and |d2l/dz2|
    bound = _scale_bound(X, sw, slope * (1 + a))
    _close(got, ref, RTOL[X.data.dtype], max(bound), f"{name}[{backend}]")
    # the CSR reference against the dense reference on the densified matrix
    grad = np.empty(X.n_features)
    dense = getattr(_backend.resolve("numpy"), name[:-4])(X.dense, y, w, b, sw, grad, 1)
    _close(ref, (dense[0], grad, dense[1]), 1e-12, max(bound), f"{name} against dense")
    _check_reproducible(backend, name, X, got, lambda Xv, t: _binary_run(backend, name, Xv, y, w, b, sw, t))


def _check_reproducible(backend, name, X, got, run):
    """Bit-identical on a repeat, with the other index dtype; threads within tolerance."""
    again = run(X, 1)
    for g, a in zip(got, again):
        np.testing.assert_array_equal(g, a, err_msg=f"{name}[{backend}] repeat")
    other = np.int64 if X.indices.dtype == np.int32 else np.int32
    for g, a in zip(got, run(X.with_index_dtype(other), 1)):
        np.testing.assert_array_equal(g, a, err_msg=f"{name}[{backend}] index dtype")


@given(data=st.data())
def test_softmax_loss_grad_csr(backend, data):
    X = data.draw(csr_matrices())
    n, d = X.dense.shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    C = data.draw(st.integers(2, 5))
    W = rng.standard_normal((C, d)) * data.draw(st.sampled_from([1.0, 30.0])) / np.sqrt(d)
    b = rng.standard_normal(C)
    if data.draw(st.booleans()):
        labels, Y = rng.integers(0, C, n), np.empty((0, 0))
    else:
        labels, Y = np.empty(0, np.int64), rng.dirichlet(np.ones(C), n)
    sw = _weights(data.draw, rng, n)

    def run(backend, Xv, t=1):
        grad_W, grad_b = np.empty((C, d)), np.empty(C)
        loss = _call(backend, "softmax_loss_grad_csr", Xv, labels, Y, W, b, sw, grad_W, grad_b, n_threads=t)
        return float(loss), grad_W, grad_b

    got, ref = run(backend, X), run("numpy", X)
    a = (X.magnitude @ np.abs(W).T + np.abs(b)).max(axis=1)
    bound = _scale_bound(X, sw, 4 * C * (1 + a))
    _close(got, ref, RTOL[X.data.dtype], max(bound), f"softmax_loss_grad_csr[{backend}]")
    grad_W, grad_b = np.empty((C, d)), np.empty(C)
    loss = _backend.resolve("numpy").softmax_loss_grad(X.dense, labels, Y, W, b, sw, grad_W, grad_b, 1)
    _close(ref, (loss, grad_W, grad_b), 1e-12, max(bound), "softmax_loss_grad_csr against dense")
    _check_reproducible(backend, "softmax_loss_grad_csr", X, got, lambda Xv, t: run(backend, Xv, t))


@given(data=st.data())
def test_logistic_hessp_csr(backend, data):
    X, _, w, b, sw, rng = _binary_case(data.draw)
    v, v_b = rng.standard_normal(X.n_features), float(rng.standard_normal())

    def run(backend, Xv, t=1):
        hv = np.empty(X.n_features)
        hv_b = _call(backend, "logistic_hessp_csr", Xv, w, b, sw, v, v_b, hv, n_threads=t)
        return hv, float(hv_b)

    got, ref = run(backend, X), run("numpy", X)
    a = X.magnitude @ np.abs(w) + abs(b)
    bound = _scale_bound(X, sw, (X.magnitude @ np.abs(v) + abs(v_b) + 1) * (1 + a))
    _close(got, ref, RTOL[X.data.dtype], max(bound), f"logistic_hessp_csr[{backend}]")
    hv = np.empty(X.n_features)
    hv_b = _backend.resolve("numpy").logistic_hessp(X.dense, w, b, sw, v, v_b, hv, 1)
    _close(ref, (hv, hv_b), 1e-12, max(bound), "logistic_hessp_csr against dense")
    _check_reproducible(backend, "logistic_hessp_csr", X, got, lambda Xv, t: run(backend, Xv, t))


@given(data=st.data())
def test_softmax_hessp_csr(backend, data):
    X = data.draw(csr_matrices())
    n, d = X.dense.shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    C = data.draw(st.integers(2, 5))
    W, V = rng.standard_normal((C, d)), rng.standard_normal((C, d))
    b, v_b = rng.standard_normal(C), rng.standard_normal(C)
    sw = _weights(data.draw, rng, n)

    def run(backend, Xv, t=1):
        hv, hv_b = np.empty((C, d)), np.empty(C)
        _call(backend, "softmax_hessp_csr", Xv, W, b, sw, V, v_b, hv, hv_b, n_threads=t)
        return hv, hv_b

    got, ref = run(backend, X), run("numpy", X)
    a = (X.magnitude @ np.abs(W).T + np.abs(b)).max(axis=1)
    u = (X.magnitude @ np.abs(V).T + np.abs(v_b)).max(axis=1)
    bound = _scale_bound(X, sw, 4 * C * (1 + u) * (1 + a))
    _close(got, ref, RTOL[X.data.dtype], max(bound), f"softmax_hessp_csr[{backend}]")
    hv, hv_b = np.empty((C, d)), np.empty(C)
    _backend.resolve("numpy").softmax_hessp(X.dense, W, b, sw, V, v_b, hv, hv_b, 1)
    _close(ref, (hv, hv_b), 1e-12, max(bound), "softmax_hessp_csr against dense")
    _check_reproducible(backend, "softmax_hessp_csr", X, got, lambda Xv, t: run(backend, Xv, t))


@pytest.mark.parametrize("n_threads", [1, 2, 3, 7])
def test_csr_threads_and_row_ranges(backend, n_threads):
    """Larger matrix: thread counts agree to the tolerance, repeats bit-identically, and a
    row range given as a slice of ``indptr`` equals the same rows copied out."""
    rng = np.random.default_rng(7)
    n, d = 3001, 257
    lengths = rng.integers(0, 40, n)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = rng.integers(0, d, indptr[-1])
    X = CSR(rng.standard_normal(indptr[-1]), indices, indptr, d)
    y = rng.integers(0, 2, n).astype(np.float64)
    w = rng.standard_normal(d) * 0.1
    one = _binary_run(backend, "logistic_loss_grad_csr", X, y, w, 0.5, np.empty(0), n_threads=1)
    many = _binary_run(backend, "logistic_loss_grad_csr", X, y, w, 0.5, np.empty(0), n_threads=n_threads)
    _close(many, one, 1e-12, 0.0, f"threads[{backend}]")
    again = _binary_run(backend, "logistic_loss_grad_csr", X, y, w, 0.5, np.empty(0), n_threads=n_threads)
    for a, b in zip(many, again):
        np.testing.assert_array_equal(a, b)
    lo, hi = 1000, 2500
    view = CSR(X.data, X.indices, X.indptr[lo:hi + 1], d)
    p, q = indptr[lo], indptr[hi]
    copy = CSR(X.data[p:q].copy(), X.indices[p:q].copy(), X.indptr[lo:hi + 1] - p, d)
    for a, b in zip(_binary_run(backend, "logistic_loss_grad_csr", view, y[lo:hi], w, 0.5, np.empty(0), 2),
                    _binary_run(backend, "logistic_loss_grad_csr", copy, y[lo:hi], w, 0.5, np.empty(0), 2)):
        np.testing.assert_array_equal(a, b)
