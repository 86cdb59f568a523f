"""Fused Hessian-vector products: one pass over X, partial sums per static chunk.

Stateless: the scores at (w, b) are recomputed in the same pass that computes
``X v``, so a Newton-CG step never stores an n-sized array. The row blocks, register
blocked scores / updates and vectorised pointwise loops are those of :mod:`.fused`.
"""

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit_block, jit_fused, jit_register_block
from .fused import (
    block_rows,
    class_scores,
    class_update,
    far_window,
    next_block_window,
    pad_classes,
    padded,
    prefetch_ahead,
    prefetch_far,
    rank_update,
    row_weights,
    shifted_exp,
    weight_rows,
)


@jit_register_block
def _score_pairs4(X, i, w, b, z, v, v_b, u):
    """z[i:i+4] = X[i:i+4] @ w + b and u[i:i+4] = X[i:i+4] @ v + v_b: each load of a
    row (and its float32 -> float64 conversion) serves both."""
    x0 = X[i]
    x1 = X[i + 1]
    x2 = X[i + 2]
    x3 = X[i + 3]
    z0 = 0.0
    z1 = 0.0
    z2 = 0.0
    z3 = 0.0
    u0 = 0.0
    u1 = 0.0
    u2 = 0.0
    u3 = 0.0
    for j in range(w.shape[0]):
        wj = w[j]
        vj = v[j]
        a0 = np.float64(x0[j])
        a1 = np.float64(x1[j])
        a2 = np.float64(x2[j])
        a3 = np.float64(x3[j])
        z0 += a0 * wj
        z1 += a1 * wj
        z2 += a2 * wj
        z3 += a3 * wj
        u0 += a0 * vj
        u1 += a1 * vj
        u2 += a2 * vj
        u3 += a3 * vj
    z[i] = z0 + b
    z[i + 1] = z1 + b
    z[i + 2] = z2 + b
    z[i + 3] = z3 + b
    u[i] = u0 + v_b
    u[i + 1] = u1 + v_b
    u[i + 2] = u2 + v_b
    u[i + 3] = u3 + v_b


@jit_block
def score_pairs(X, w, b, z, v, v_b, u, pf, streams):
    """z[:m] = X @ w + b and u[:m] = X @ v + v_b for the m rows of the block X in one
    sweep (four rows at a time), prefetching like :func:`.fused.scores`: ``streams`` is
    ``(pf_end, pf_count, far)``."""
    scalar.prefer_512_bit_vectors()
    pf_end, pf_count, far = streams
    m = X.shape[0]
    m4 = m - m % 4
    for i in range(0, m4, 4):
        _score_pairs4(X, i, w, b, z, v, v_b, u)
        pf = prefetch_ahead(pf, pf_end, pf_count)
        prefetch_far(X, i, far)
    for i in range(m4, m):
        xi = X[i]
        zi = 0.0
        ui = 0.0
        for j in range(w.shape[0]):
            zi += xi[j] * w[j]
            ui += xi[j] * v[j]
        z[i] = zi + b
        u[i] = ui + v_b
    return pf


@jit_block
def logistic_hessp_pointwise(z, u, sw, weighted, hv_b):
    """The pointwise part of the logistic Hessian-vector product over a block of rows:
    h_i = sw_i s(z_i) s(-z_i) u_i. z (m,) holds the scores, u (m,) the products x_i . v + v_b
    on entry and h on exit. Returns ``hv_b`` plus the sum of h, added row by row."""
    for i in range(z.shape[0]):
        # s(z) s(-z) = e / (1 + e)^2 with e = exp(-|z|): exact in the tails.
        e = scalar.exp_nonpositive(-abs(z[i]))
        h = e / ((1.0 + e) * (1.0 + e))
        if weighted:
            h *= sw[i]
        hu = h * u[i]
        hv_b += hu
        u[i] = hu
    return hv_b


@jit_block
def softmax_hessp_pointwise(Et, Ut, n, row_buffers, weights):
    """The pointwise part of the softmax Hessian-vector product over the n rows of a block
    (class-major, vectorised over rows): Et (C, >= n) holds exp(z - max) on entry
    (:func:`.fused.shifted_exp`) and r = sw p * (u - p . u) on exit; Ut (C, >= n) holds
    u = V x + v_b. ``row_buffers`` is ``(m, s, pu)``, each (>= n,), with s the non-argmax
    sum of :func:`.fused.shifted_exp`; m and pu are scratch. ``weights`` is the block's
    ``(sw, weighted)``."""
    m, s, pu = row_buffers
    sw, weighted = weights
    C = Et.shape[0]
    for i in range(n):
        m[i] = 1.0 / (1.0 + s[i])  # m now holds 1 / (1 + s)
        pu[i] = 0.0
    for k in range(C):
        ek = Et[k]
        uk = Ut[k]
        for i in range(n):
            p = ek[i] * m[i]
            ek[i] = p
            pu[i] += p * uk[i]
    for k in range(C):
        ek = Et[k]
        uk = Ut[k]
        for i in range(n):
            wi = sw[i] if weighted else 1.0
            ek[i] = wi * ek[i] * (uk[i] - pu[i])


@jit_block
def _logistic_hessp_chunk(X, w, b, sw, weighted, v, v_b, hv, z, u):
    n = X.shape[0]
    rows = z.shape[0]
    hv_b = 0.0
    pf = 0
    far = far_window(X, rows)
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        Xb = X[lo:hi]
        zb = z[:hi - lo]
        ub = u[:hi - lo]
        swb = sw[lo:hi] if weighted else sw
        pf, pf_end, group_lines = next_block_window(X, hi, rows, pf)
        pf = score_pairs(Xb, w, b, zb, v, v_b, ub, pf, (pf_end, group_lines // 3, far))
        hv_b = logistic_hessp_pointwise(zb, ub, swb, weighted, hv_b)
        rank_update(Xb, ub, hv, pf, pf_end, group_lines - group_lines // 3)
    return hv_b


@jit_fused
def logistic_hessp(X, w, b, sample_weight, v, v_b, hv, n_threads):
    n, d = X.shape
    weighted = sample_weight.shape[0] > 0
    rows = block_rows(d, X.itemsize)
    sw_rows = row_weights(sample_weight, rows)
    chunk_hv = np.zeros((n_threads, padded(d)))
    chunk_hv_b = np.empty(n_threads)
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        z = np.empty(rows)
        u = np.empty(rows)
        chunk_hv_b[c] = _logistic_hessp_chunk(
            X[lo:hi], w, b, sw_rows[lo:hi] if weighted else sw_rows, weighted,
            v, v_b, chunk_hv[c], z, u,
        )
    hv[:] = 0.0
    hv_b = 0.0
    for c in range(n_threads):
        for j in range(d):
            hv[j] += chunk_hv[c, j]
        hv_b += chunk_hv_b[c]
    return hv_b


@jit_block
def _softmax_hessp_chunk(X, C, W, b, weights, V, v_b, G, gb, buffers):
    """Partial sums of the rows of X (a chunk), block by block: G (Cp, >= d) and gb get
    the chunk's part of the product. ``weights`` is the chunk's (:func:`.fused.weight_rows`);
    ``buffers`` is ``(Zt, Et, Ut, m, s, argmax, pu)``, Zt, Et and Ut (Cp, rows), the
    others (rows,). Padded to Cp classes as in :func:`.fused._softmax_chunk`."""
    sw, weighted = weights
    Zt, Et, Ut, m, s, argmax, pu = buffers
    n = X.shape[0]
    rows = m.shape[0]
    pf = 0
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        nb = hi - lo
        Xb = X[lo:hi]
        swb = sw[lo:hi] if weighted else sw
        # the next block is prefetched a third at a time over the three passes over Xb
        pf, pf_end, group_lines = next_block_window(X, hi, rows, pf)
        pf = class_scores(Xb, W, b, Zt, pf, pf_end, group_lines // 3)
        pf = class_scores(Xb, V, v_b, Ut, pf, pf_end, group_lines // 3)
        shifted_exp(Zt[:C], nb, m, s, argmax, Et[:C])
        softmax_hessp_pointwise(Et[:C], Ut[:C], nb, (m, s, pu), (swb, weighted))
        pf = class_update(Xb, Et, G, gb, pf, pf_end, group_lines - 2 * (group_lines // 3))


@jit_fused
def softmax_hessp(X, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    n, d = X.shape
    C = W.shape[0]
    weighted = sample_weight.shape[0] > 0
    rows = block_rows(d, X.itemsize)
    sw_rows = row_weights(sample_weight, rows)
    Wp, bp = pad_classes(W, b)
    Vp, v_bp = pad_classes(V, v_b)
    Cp = Wp.shape[0]
    chunk_hv = np.zeros((n_threads, Cp, padded(d)))
    chunk_hv_b = np.zeros((n_threads, padded(Cp)))
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        Zt = np.empty((Cp, rows))
        Et = np.zeros((Cp, rows))
        Ut = np.empty((Cp, rows))
        m = np.empty(rows)
        s = np.empty(rows)
        argmax = np.empty(rows, dtype=np.int64)
        pu = np.empty(rows)
        _softmax_hessp_chunk(
            X[lo:hi], C, Wp, bp, weight_rows((sw_rows, weighted), lo, hi),
            Vp, v_bp, chunk_hv[c], chunk_hv_b[c], (Zt, Et, Ut, m, s, argmax, pu),
        )
    hv[:] = 0.0
    hv_b[:] = 0.0
    for c in range(n_threads):
        for k in range(C):
            for j in range(d):
                hv[k, j] += chunk_hv[c, k, j]
            hv_b[k] += chunk_hv_b[c, k]
