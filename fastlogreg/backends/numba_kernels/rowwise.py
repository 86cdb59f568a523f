"""Row-wise Numba kernels over the last axis of (n, C) arrays: one row per iteration.

Each row: m = max, k* = first argmax, e_k = exp(z_k - m) (infinite-m rule in
:func:`.scalar.shift`), s = sum_{k != k*} e_k; then logsumexp = m + log1p(s),
softmax_k = e_k / (1 + s), log_softmax_k = (z_k - m) - log1p(s). NaN propagates
through s.
"""

import math

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit, jit_parallel


@jit
def _row_max(Z, i):
    m = np.float64(Z[i, 0])
    argmax = 0
    for k in range(1, Z.shape[1]):
        v = np.float64(Z[i, k])
        if v > m:
            m = v
            argmax = k
    return m, argmax


@jit
def _row_log1p_s(Z, i, m, argmax):
    s = 0.0
    for k in range(Z.shape[1]):
        if k != argmax:
            s += math.exp(scalar.shift(np.float64(Z[i, k]), m))
    return math.log1p(s)


@jit_parallel
def logsumexp(Z, out, n_threads):
    for i in prange(Z.shape[0]):
        m, argmax = _row_max(Z, i)
        out[i] = m + _row_log1p_s(Z, i, m, argmax)


@jit_parallel
def softmax(Z, out, n_threads):
    n, C = Z.shape
    for i in prange(n):
        m, argmax = _row_max(Z, i)
        e = np.empty(C)
        s = 0.0
        for k in range(C):
            e[k] = math.exp(scalar.shift(np.float64(Z[i, k]), m))
            if k != argmax:
                s += e[k]
        inv = 1.0 / (1.0 + s)
        for k in range(C):
            out[i, k] = e[k] * inv


@jit_parallel
def log_softmax(Z, out, n_threads):
    n, C = Z.shape
    for i in prange(n):
        m, argmax = _row_max(Z, i)
        log1p_s = _row_log1p_s(Z, i, m, argmax)
        for k in range(C):
            out[i, k] = scalar.shift(np.float64(Z[i, k]), m) - log1p_s


@jit_parallel
def cross_entropy(Z, labels, Y, out, n_threads):
    n, C = Z.shape
    use_labels = labels.shape[0] > 0
    for i in prange(n):
        m, argmax = _row_max(Z, i)
        log1p_s = _row_log1p_s(Z, i, m, argmax)
        if use_labels:
            # (m - z_y) + log1p(s): two non-negative terms, no cancellation.
            out[i] = log1p_s - scalar.shift(np.float64(Z[i, labels[i]]), m)
        else:
            loss = 0.0
            for k in range(C):
                if Y[i, k] > 0.0:
                    loss += Y[i, k] * (log1p_s - scalar.shift(np.float64(Z[i, k]), m))
            out[i] = loss


@jit_parallel
def inner(U, V, out, n_threads):
    n, d = U.shape
    for i in prange(n):
        acc = 0.0
        for j in range(d):
            acc += np.float64(U[i, j]) * np.float64(V[i, j])
        out[i] = acc


@jit
def _abs_max(A, i):
    top = 0.0
    for j in range(A.shape[1]):
        a = abs(np.float64(A[i, j]))
        if a > top or a != a:
            top = a
    return top


@jit_parallel
def cosine_similarity(U, V, out, n_threads):
    n, d = U.shape
    for i in prange(n):
        # Scale by the largest magnitude so the squared norms cannot overflow.
        su = _abs_max(U, i)
        sv = _abs_max(V, i)
        if su == 0.0 or sv == 0.0:
            out[i] = 0.0
            continue
        uv = 0.0
        uu = 0.0
        vv = 0.0
        for j in range(d):
            u = np.float64(U[i, j]) / su
            v = np.float64(V[i, j]) / sv
            uv += u * v
            uu += u * u
            vv += v * v
        out[i] = uv / (math.sqrt(uu) * math.sqrt(vv))
