"""Fused Hessian-vector products: one pass over X, partial sums per static chunk.

Stateless: the scores at (w, b) are recomputed in the same pass that computes
``X v``, so a Newton-CG step never stores an n-sized array. The row blocks, register
blocked scores / updates and vectorised pointwise loops are those of :mod:`.fused`.
"""

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit_block, jit_fused
from .fused import (
    block_rows,
    class_scores,
    class_update,
    next_block_window,
    pad_classes,
    padded,
    rank_update,
    row_weights,
    scores,
    shifted_exp,
)


@jit_block
def _logistic_hessp_chunk(X, w, b, sw, weighted, v, v_b, hv, z, u):
    n = X.shape[0]
    rows = z.shape[0]
    hv_b = 0.0
    pf = 0
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        Xb = X[lo:hi]
        zb = z[:hi - lo]
        ub = u[:hi - lo]
        swb = sw[lo:hi] if weighted else sw
        pf, pf_end, group_lines = next_block_window(X, hi, rows, pf)
        pf = scores(Xb, w, b, zb, pf, pf_end, group_lines // 3)
        scores(Xb, v, v_b, ub, 0, 0, 0)
        for i in range(hi - lo):
            # s(z) s(-z) = e / (1 + e)^2 with e = exp(-|z|): exact in the tails.
            e = scalar.exp_nonpositive(-abs(zb[i]))
            h = e / ((1.0 + e) * (1.0 + e))
            if weighted:
                h *= swb[i]
            hu = h * ub[i]
            hv_b += hu
            ub[i] = hu
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
def _softmax_hessp_chunk(X, C, W, b, sw, weighted, V, v_b, G, gb, Zt, Et, Ut, m, s, argmax, pu):
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
        for i in range(nb):
            m[i] = 1.0 / (1.0 + s[i])  # m now holds 1 / (1 + s)
            pu[i] = 0.0
        for k in range(C):
            ek = Et[k]
            uk = Ut[k]
            for i in range(nb):
                p = ek[i] * m[i]
                ek[i] = p
                pu[i] += p * uk[i]
        for k in range(C):
            ek = Et[k]
            uk = Ut[k]
            for i in range(nb):
                wi = swb[i] if weighted else 1.0
                ek[i] = wi * ek[i] * (uk[i] - pu[i])
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
            X[lo:hi], C, Wp, bp, sw_rows[lo:hi] if weighted else sw_rows, weighted,
            Vp, v_bp, chunk_hv[c], chunk_hv_b[c], Zt, Et, Ut, m, s, argmax, pu,
        )
    hv[:] = 0.0
    hv_b[:] = 0.0
    for c in range(n_threads):
        for k in range(C):
            for j in range(d):
                hv[k, j] += chunk_hv[c, k, j]
            hv_b[k] += chunk_hv_b[c, k]
