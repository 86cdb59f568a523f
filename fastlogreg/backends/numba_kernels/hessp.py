"""Fused Hessian-vector products: one pass over X, partial sums per static chunk.

Stateless: the scores at (w, b) are recomputed in the same pass that computes
``X v``, so a Newton-CG step never stores an n-sized array.
"""

import math

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit_fused


@jit_fused
def logistic_hessp(X, w, b, sample_weight, v, v_b, hv, n_threads):
    n, d = X.shape
    weighted = sample_weight.shape[0] > 0
    chunk_hv = np.empty((n_threads, d))
    chunk_hv_b = np.empty(n_threads)
    for c in prange(n_threads):
        acc_hv = np.zeros(d)
        acc_hv_b = 0.0
        for i in range(n * c // n_threads, n * (c + 1) // n_threads):
            z = 0.0
            u = 0.0
            for j in range(d):
                z += X[i, j] * w[j]
                u += X[i, j] * v[j]
            z += b
            # s(z) s(-z) = e / (1 + e)^2 with e = exp(-|z|): exact in the tails.
            ez = math.exp(-abs(z))
            h = ez / ((1.0 + ez) * (1.0 + ez))
            if weighted:
                h *= sample_weight[i]
            hu = h * (u + v_b)
            acc_hv_b += hu
            for j in range(d):
                acc_hv[j] += hu * X[i, j]
        chunk_hv[c] = acc_hv
        chunk_hv_b[c] = acc_hv_b
    hv[:] = 0.0
    hv_b = 0.0
    for c in range(n_threads):
        hv += chunk_hv[c]
        hv_b += chunk_hv_b[c]
    return hv_b


@jit_fused
def softmax_hessp(X, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    n, d = X.shape
    C = W.shape[0]
    weighted = sample_weight.shape[0] > 0
    chunk_hv = np.empty((n_threads, C, d))
    chunk_hv_b = np.empty((n_threads, C))
    for c in prange(n_threads):
        acc_hv = np.zeros((C, d))
        acc_hv_b = np.zeros(C)
        p = np.empty(C)
        u = np.empty(C)
        for i in range(n * c // n_threads, n * (c + 1) // n_threads):
            for k in range(C):
                zk = 0.0
                uk = 0.0
                for j in range(d):
                    zk += X[i, j] * W[k, j]
                    uk += X[i, j] * V[k, j]
                p[k] = zk + b[k]
                u[k] = uk + v_b[k]
            m = p[0]
            argmax = 0
            for k in range(1, C):
                if p[k] > m:
                    m = p[k]
                    argmax = k
            s = 0.0
            for k in range(C):
                p[k] = math.exp(scalar.shift(p[k], m))
                if k != argmax:
                    s += p[k]
            inv = 1.0 / (1.0 + s)
            pu = 0.0
            for k in range(C):
                p[k] *= inv
                pu += p[k] * u[k]
            sw = sample_weight[i] if weighted else 1.0
            for k in range(C):
                r = sw * p[k] * (u[k] - pu)
                acc_hv_b[k] += r
                for j in range(d):
                    acc_hv[k, j] += r * X[i, j]
        chunk_hv[c] = acc_hv
        chunk_hv_b[c] = acc_hv_b
    hv[:] = 0.0
    hv_b[:] = 0.0
    for c in range(n_threads):
        hv += chunk_hv[c]
        hv_b += chunk_hv_b[c]
