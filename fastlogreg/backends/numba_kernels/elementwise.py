"""Elementwise Numba kernels on 2-D views (any strides), parallel over flat chunks.

Each of the ``n_threads`` static chunks of the flat index is walked row segment by
row segment; every segment is a 1-D view whose loop starts at 0 (no negative-index
wraparound check), so on contiguous data the loop vectorises with the branch-free
exp / log1p of :mod:`.scalar` instead of calling libm element by element, 8 doubles wide
(:func:`.scalar.prefer_512_bit_vectors`).
"""

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit, jit_parallel
from .probit import log_ndtr_scalar

# Which function :func:`elementwise` applies (a run-time argument: one compiled walker).
SIGMOID, LOG_SIGMOID, LOG_NDTR = 0, 1, 2


@jit
def _segment(op, x, scale, out):
    """out[j] = f(x[j]) on one 1-D segment; the branch on ``op`` stays outside the loops."""
    scalar.prefer_512_bit_vectors()
    if op == SIGMOID:
        for j in range(x.shape[0]):
            z = scale * np.float64(x[j])
            e = scalar.exp_nonpositive(-abs(z))
            inv = 1.0 / (1.0 + e)
            out[j] = inv if z >= 0.0 else e * inv  # NaN: e is NaN, so is e * inv
    elif op == LOG_SIGMOID:
        for j in range(x.shape[0]):
            z = np.float64(x[j])
            e = scalar.exp_nonpositive(-abs(z))
            value = -(max(-z, 0.0) + scalar.log1p_nonnegative(e))
            out[j] = value if z == z else z
    else:
        for j in range(x.shape[0]):
            out[j] = log_ndtr_scalar(np.float64(x[j]))


@jit_parallel
def elementwise(op, x, scale, out, n_threads):
    """out = f(x) for 2-D x and out of any strides, f chosen by ``op``."""
    rows, cols = x.shape
    total = rows * cols
    for c in prange(n_threads):
        k = (total * c) // n_threads
        stop = (total * (c + 1)) // n_threads
        while k < stop:
            i = k // cols
            j0 = k - i * cols
            j1 = min(cols, j0 + stop - k)
            _segment(op, x[i, j0:j1], scale, out[i, j0:j1])
            k += j1 - j0


def sigmoid(x, scale, out, n_threads):
    elementwise(SIGMOID, x, scale, out, n_threads)


def log_sigmoid(x, out, n_threads):
    elementwise(LOG_SIGMOID, x, 1.0, out, n_threads)


def log_ndtr(x, out, n_threads):
    elementwise(LOG_NDTR, x, 1.0, out, n_threads)


@jit
def _bce_segment(z, y, out):
    scalar.prefer_512_bit_vectors()
    for i in range(z.shape[0]):
        zi = np.float64(z[i])
        e = scalar.exp_nonpositive(-abs(zi))
        log1p_e = scalar.log1p_nonnegative(e)
        positive = zi >= 0.0
        softplus_pos = zi + log1p_e if positive else log1p_e  # softplus(z)
        softplus_neg = log1p_e if positive else log1p_e - zi  # softplus(-z)
        yi = y[i]
        li = yi * softplus_neg + (1.0 - yi) * softplus_pos
        li = softplus_neg if yi == 1.0 else li  # hard labels: one term vanishes exactly
        li = softplus_pos if yi == 0.0 else li
        out[i] = li if zi == zi else zi


@jit_parallel
def binary_cross_entropy(z, y, out, n_threads):
    n = z.shape[0]
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        _bce_segment(z[lo:hi], y[lo:hi], out[lo:hi])
