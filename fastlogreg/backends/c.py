"""The C backend ("c"): the kernel contract in C99/C11 through cffi (API mode).

The kernels live in ``csrc/`` and are compiled by ``pip install`` into the extension
module ``fastlogreg._c_kernels`` (float32 and float64 variants of every kernel, OpenMP
over rows when the compiler supports it). cffi releases the GIL during every call, so
Python threads can run kernels concurrently. This module only adapts NumPy arrays to
the C signatures: data pointers plus strides counted in elements (any strides, also 0,
negative or read-only; a stride that is not a multiple of the item size is copied
first), ``NULL`` for absent optional arrays. It does no validation: the public layer
already did (the kernel contract, :mod:`fastlogreg.backends`).

Importing it raises ImportError when the extension was not built; the backend registry
then lists "c" as unavailable with that message as the reason.
"""

import os

import numpy as np

from .. import _fork
from .contract import KERNELS

try:
    from fastlogreg._c_kernels import ffi, lib
except ImportError as exc:
    from .. import _source_tree

    _why = str(exc)
    _error_file = os.path.join(os.path.dirname(os.path.dirname(__file__)), "_c_build_error.txt")
    _checkout = _source_tree.unbuilt_checkout()
    # A checkout with no build attempted is not a compiler problem: the wrong fastlogreg was imported.
    if _checkout is not None and not os.path.exists(_error_file):
        raise ImportError(f"C kernel not built: {_source_tree.explanation(_checkout)}") from exc
    if os.path.exists(_error_file):
        with open(_error_file, encoding="utf-8") as _f:
            _why = "the build failed: " + _f.read().strip()
    raise ImportError(
        f"C kernel not built ({_why}); reinstall fastlogreg with a working C compiler "
        "(set FASTLOGREG_REQUIRE_C=1 to make a failed build an error)"
    ) from exc

__all__ = [*KERNELS, "openmp_enabled", "instruction_set", "parallel_started", "run_serially"]

_SUFFIX = {np.dtype(np.float64): ("f64", "double *"), np.dtype(np.float32): ("f32", "float *")}
_NULL = ffi.NULL


def parallel_started():
    """True once a kernel of this library has run a parallel region in this process."""
    return bool(lib.flr_parallel_started())


def run_serially():
    """Run every later parallel region on the calling thread (same chunks, same results).

    For a child forked after OpenMP's thread pool started; see :mod:`fastlogreg._fork`.
    """
    lib.flr_run_serially()


def openmp_enabled():
    """True when the C kernel was compiled with OpenMP (else its kernels run serially)."""
    return bool(lib.flr_openmp_enabled())


def instruction_set():
    """The code path of the C kernel's hot loops in this process, e.g.
    ``"x86-64-v4 (AVX-512)"``, ``"x86-64-v3 (AVX2+FMA)"`` or ``"baseline (SSE2)"``.

    A portable build picks the best level the CPU supports when it is loaded; the
    environment variable ``FASTLOGREG_C_ISA`` (``"x86-64-v3"`` or ``"baseline"``, read at
    that moment) caps it, to run a lower level's code for tests and comparisons. A build
    with ``-march=...`` flags has one path: ``"native (AVX-512)"`` (``FASTLOGREG_NATIVE=1``)
    or ``"fixed at build time (AVX2)"`` and the like.
    """
    return ffi.string(lib.flr_instruction_set()).decode("ascii")


def _kernel(name, dtype):
    return getattr(lib, f"flr_{name}_{_SUFFIX[np.dtype(dtype)][0]}")


def _data(arr):
    """arr as a data array whose strides are whole elements: (arr, pointer, strides).

    The pointer addresses element [0, ..., 0] (also for negative strides), so C indexes
    ``p[i * s0 + j * s1]``. The caller keeps ``arr`` alive during the call.
    """
    itemsize = arr.dtype.itemsize
    if any(s % itemsize for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    ctype = _SUFFIX[arr.dtype][1]
    ptr = ffi.cast(ctype, arr.__array_interface__["data"][0])
    return arr, ptr, tuple(s // itemsize for s in arr.strides)


class _Out:
    """A writable output handed to C: ``out`` itself when it has element strides and the
    expected dtype, else a temporary copied back by ``finish()``."""

    def __init__(self, out, dtype):
        self.out = out
        itemsize = np.dtype(dtype).itemsize
        if out.dtype != dtype or any(s % itemsize for s in out.strides):
            self.arr = np.empty(out.shape, dtype)
        else:
            self.arr = out
        _, self.ptr, self.strides = _data(self.arr)

    def finish(self):
        if self.arr is not self.out:
            self.out[...] = self.arr


def _f64(arr):
    """A C-contiguous float64 array and its pointer (parameters and labels-like inputs)."""
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    return arr, ffi.cast("double *", arr.__array_interface__["data"][0])


def _i64(arr):
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    return arr, ffi.cast("int64_t *", arr.__array_interface__["data"][0])


def _weights(sample_weight):
    if sample_weight.shape[0] == 0:
        return None, _NULL
    return _f64(sample_weight)


def _check(status):
    if status != 0:
        raise MemoryError("the C kernel could not allocate its scratch memory")


# ----------------------------------------------------------------------------- elementwise
def _elementwise(name, x, out, n_threads, *scale):
    x, px, (xs0, xs1) = _data(x)
    o = _Out(out, x.dtype)
    n, d = x.shape
    _check(_kernel(name, x.dtype)(n, d, px, xs0, xs1, *scale, o.ptr, *o.strides, n_threads))
    o.finish()


def sigmoid(x, scale, out, n_threads):
    _elementwise("sigmoid", x, out, n_threads, float(scale))


def log_sigmoid(x, out, n_threads):
    _elementwise("log_sigmoid", x, out, n_threads)


def log_ndtr(x, out, n_threads):
    _elementwise("log_ndtr", x, out, n_threads)


# ----------------------------------------------------------------------------- row-wise
def logsumexp(Z, out, n_threads):
    Z, pz, (zs0, zs1) = _data(Z)
    o = _Out(out, Z.dtype)
    _check(_kernel("logsumexp", Z.dtype)(Z.shape[0], Z.shape[1], pz, zs0, zs1, o.ptr, o.strides[0],
                                         n_threads))
    o.finish()


def _softmax_like(name, Z, out, n_threads):
    Z, pz, (zs0, zs1) = _data(Z)
    o = _Out(out, Z.dtype)
    _check(_kernel(name, Z.dtype)(Z.shape[0], Z.shape[1], pz, zs0, zs1, o.ptr, *o.strides, n_threads))
    o.finish()


def softmax(Z, out, n_threads):
    _softmax_like("softmax", Z, out, n_threads)


def log_softmax(Z, out, n_threads):
    _softmax_like("log_softmax", Z, out, n_threads)


def _pairwise(name, U, V, out, n_threads):
    if U.dtype != V.dtype:
        U = U.astype(np.result_type(U, V))
        V = V.astype(U.dtype)
    U, pu, (us0, us1) = _data(U)
    V, pv, (vs0, vs1) = _data(V)
    o = _Out(out, U.dtype)
    _check(_kernel(name, U.dtype)(out.shape[0], U.shape[1], pu, us0, us1, pv, vs0, vs1,
                                  o.ptr, o.strides[0], n_threads))
    o.finish()


def inner(U, V, out, n_threads):
    _pairwise("inner", U, V, out, n_threads)


def cosine_similarity(U, V, out, n_threads):
    _pairwise("cosine_similarity", U, V, out, n_threads)


# ----------------------------------------------------------------------------- losses
def binary_cross_entropy(z, y, out, n_threads):
    z, pz, (zs,) = _data(z)
    y, py = _f64(y)
    o = _Out(out, z.dtype)
    _check(_kernel("binary_cross_entropy", z.dtype)(z.shape[0], pz, zs, py, o.ptr, o.strides[0], n_threads))
    o.finish()


def _targets(labels, Y):
    """(keep-alive, labels pointer or NULL, Y pointer or NULL)."""
    if labels.shape[0]:
        labels, pl = _i64(labels)
        return (labels,), pl, _NULL
    Y, py = _f64(Y)
    return (Y,), _NULL, py


def cross_entropy(Z, labels, Y, out, n_threads):
    Z, pz, (zs0, zs1) = _data(Z)
    keep, pl, py = _targets(labels, Y)
    o = _Out(out, Z.dtype)
    _check(_kernel("cross_entropy", Z.dtype)(Z.shape[0], Z.shape[1], pz, zs0, zs1, pl, py,
                                             o.ptr, o.strides[0], n_threads))
    o.finish()
    del keep


# ----------------------------------------------------------------------------- fused
class _Grad:
    """A float64 gradient output: ``out`` itself when C-contiguous, else a temporary."""

    def __init__(self, out):
        self.out = out
        ok = out.dtype == np.float64 and out.flags.c_contiguous and out.flags.writeable
        self.arr = out if ok else np.empty(out.shape, np.float64)
        self.ptr = ffi.cast("double *", self.arr.__array_interface__["data"][0])

    def finish(self):
        if self.arr is not self.out:
            self.out[...] = self.arr


def _binary_fused(name, X, y, w, b, sample_weight, grad_w, n_threads):
    X, px, (xs0, xs1) = _data(X)
    y, py = _f64(y)
    w, pw = _f64(w)
    sw, psw = _weights(sample_weight)
    g = _Grad(grad_w)
    result = ffi.new("double[2]")
    _check(_kernel(name, X.dtype)(X.shape[0], X.shape[1], px, xs0, xs1, py, pw, float(b), psw,
                                  g.ptr, result, n_threads))
    g.finish()
    return result[0], result[1]


def logistic_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
    return _binary_fused("logistic_loss_grad", X, y, w, b, sample_weight, grad_w, n_threads)


def probit_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
    return _binary_fused("probit_loss_grad", X, y, w, b, sample_weight, grad_w, n_threads)


def softmax_loss_grad(X, labels, Y, W, b, sample_weight, grad_W, grad_b, n_threads):
    X, px, (xs0, xs1) = _data(X)
    keep, pl, py = _targets(labels, Y)
    W, pW = _f64(W)
    b, pb = _f64(b)
    sw, psw = _weights(sample_weight)
    gW, gb = _Grad(grad_W), _Grad(grad_b)
    result = ffi.new("double[1]")
    _check(_kernel("softmax_loss_grad", X.dtype)(X.shape[0], X.shape[1], W.shape[0], px, xs0, xs1,
                                                 pl, py, pW, pb, psw, gW.ptr, gb.ptr, result, n_threads))
    gW.finish()
    gb.finish()
    del keep
    return result[0]


# ----------------------------------------------------------------------------- Hessian-vector
def logistic_hessp(X, w, b, sample_weight, v, v_b, hv, n_threads):
    X, px, (xs0, xs1) = _data(X)
    w, pw = _f64(w)
    v, pv = _f64(v)
    sw, psw = _weights(sample_weight)
    h = _Grad(hv)
    result = ffi.new("double[1]")
    _check(_kernel("logistic_hessp", X.dtype)(X.shape[0], X.shape[1], px, xs0, xs1, pw, float(b), psw,
                                              pv, float(v_b), h.ptr, result, n_threads))
    h.finish()
    return result[0]


def softmax_hessp(X, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    X, px, (xs0, xs1) = _data(X)
    W, pW = _f64(W)
    b, pb = _f64(b)
    V, pV = _f64(V)
    v_b, pvb = _f64(v_b)
    sw, psw = _weights(sample_weight)
    h, hb = _Grad(hv), _Grad(hv_b)
    _check(_kernel("softmax_hessp", X.dtype)(X.shape[0], X.shape[1], W.shape[0], px, xs0, xs1, pW, pb, psw,
                                             pV, pvb, h.ptr, hb.ptr, n_threads))
    h.finish()
    hb.finish()


# ----------------------------------------------------------------------------- CSR
_INDEX = {np.dtype(np.int32): ("i32", "int32_t *"), np.dtype(np.int64): ("i64", "int64_t *")}


def _csr(name, data, indices, indptr):
    """``(kernel, n, data pointer, indices pointer, indptr pointer)`` for a CSR matrix: the
    C function ``flr_<name>_<data suffix>_<index suffix>`` (e.g.
    ``flr_logistic_loss_grad_csr_f64_i32``) and the arrays' pointers. The contract gives
    contiguous arrays and one index dtype for ``indices`` and ``indptr``."""
    suffix, data_type = _SUFFIX[data.dtype]
    index_suffix, index_type = _INDEX[indices.dtype]
    kernel = getattr(lib, f"flr_{name}_{suffix}_{index_suffix}")
    return (kernel, indptr.shape[0] - 1,
            ffi.cast(data_type, data.__array_interface__["data"][0]),
            ffi.cast(index_type, indices.__array_interface__["data"][0]),
            ffi.cast(index_type, indptr.__array_interface__["data"][0]))


def _binary_fused_csr(name, data, indices, indptr, y, w, b, sample_weight, grad_w, n_threads):
    kernel, n, pd, pi, pp = _csr(name, data, indices, indptr)
    y, py = _f64(y)
    w, pw = _f64(w)
    sw, psw = _weights(sample_weight)
    g = _Grad(grad_w)
    result = ffi.new("double[2]")
    _check(kernel(n, w.shape[0], pd, pi, pp, py, pw, float(b), psw, g.ptr, result, n_threads))
    g.finish()
    return result[0], result[1]


def logistic_loss_grad_csr(data, indices, indptr, y, w, b, sample_weight, grad_w, n_threads):
    return _binary_fused_csr("logistic_loss_grad_csr", data, indices, indptr, y, w, b, sample_weight, grad_w,
                             n_threads)


def probit_loss_grad_csr(data, indices, indptr, y, w, b, sample_weight, grad_w, n_threads):
    return _binary_fused_csr("probit_loss_grad_csr", data, indices, indptr, y, w, b, sample_weight, grad_w,
                             n_threads)


def softmax_loss_grad_csr(data, indices, indptr, labels, Y, W, b, sample_weight, grad_W, grad_b, n_threads):
    kernel, n, pd, pi, pp = _csr("softmax_loss_grad_csr", data, indices, indptr)
    targets, pl, py = _targets(labels, Y)
    W, pW = _f64(W)
    b, pb = _f64(b)
    sw, psw = _weights(sample_weight)
    gW, gb = _Grad(grad_W), _Grad(grad_b)
    result = ffi.new("double[1]")
    C, d = W.shape
    _check(kernel(n, d, C, pd, pi, pp, pl, py, pW, pb, psw, gW.ptr, gb.ptr, result, n_threads))
    gW.finish()
    gb.finish()
    del targets
    return result[0]


def logistic_hessp_csr(data, indices, indptr, w, b, sample_weight, v, v_b, hv, n_threads):
    kernel, n, pd, pi, pp = _csr("logistic_hessp_csr", data, indices, indptr)
    w, pw = _f64(w)
    v, pv = _f64(v)
    sw, psw = _weights(sample_weight)
    h = _Grad(hv)
    result = ffi.new("double[1]")
    _check(kernel(n, w.shape[0], pd, pi, pp, pw, float(b), psw, pv, float(v_b), h.ptr, result, n_threads))
    h.finish()
    return result[0]


def softmax_hessp_csr(data, indices, indptr, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    kernel, n, pd, pi, pp = _csr("softmax_hessp_csr", data, indices, indptr)
    W, pW = _f64(W)
    b, pb = _f64(b)
    V, pV = _f64(V)
    v_b, pvb = _f64(v_b)
    sw, psw = _weights(sample_weight)
    h, hb = _Grad(hv), _Grad(hv_b)
    C, d = W.shape
    _check(kernel(n, d, C, pd, pi, pp, pW, pb, psw, pV, pvb, h.ptr, hb.ptr, n_threads))
    h.finish()
    hb.finish()


_fork.apply()  # a forked child that loads this backend for the first time
