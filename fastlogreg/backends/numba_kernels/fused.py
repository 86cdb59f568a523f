"""Fused loss + gradient Numba kernels: one pass over X, partial sums per chunk.

Rows are split into ``n_threads`` static chunks (``prange`` over chunk indices). Each
chunk walks its rows once: the row ``x_i`` is read for the score(s), stays in L1 for
the gradient update, and is never read again. Each chunk accumulates into its own
float64 buffers; the buffers are then added in chunk order, so repeated calls with
the same ``n_threads`` give bit-identical results.
"""

import math

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit_fused


@jit_fused
def logistic_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
    n, d = X.shape
    weighted = sample_weight.shape[0] > 0
    chunk_grad = np.empty((n_threads, d))
    chunk_loss = np.empty(n_threads)
    chunk_grad_b = np.empty(n_threads)
    for c in prange(n_threads):
        g = np.zeros(d)
        loss_c = 0.0
        grad_b_c = 0.0
        for i in range(n * c // n_threads, n * (c + 1) // n_threads):
            z = 0.0
            for j in range(d):
                z += X[i, j] * w[j]
            loss_i, r = scalar.binary_nll_residual(z + b, y[i])
            if weighted:
                loss_i *= sample_weight[i]
                r *= sample_weight[i]
            loss_c += loss_i
            grad_b_c += r
            for j in range(d):
                g[j] += r * X[i, j]
        chunk_grad[c] = g
        chunk_loss[c] = loss_c
        chunk_grad_b[c] = grad_b_c
    return _reduce_binary(chunk_grad, chunk_loss, chunk_grad_b, grad_w)


@jit_fused
def _reduce_binary(chunk_grad, chunk_loss, chunk_grad_b, grad_w):
    grad_w[:] = 0.0
    loss = 0.0
    grad_b = 0.0
    for c in range(chunk_grad.shape[0]):
        grad_w += chunk_grad[c]
        loss += chunk_loss[c]
        grad_b += chunk_grad_b[c]
    return loss, grad_b


@jit_fused
def softmax_loss_grad(X, labels, Y, W, b, sample_weight, grad_W, grad_b, n_threads):
    n, d = X.shape
    C = W.shape[0]
    weighted = sample_weight.shape[0] > 0
    use_labels = labels.shape[0] > 0
    chunk_grad_W = np.empty((n_threads, C, d))
    chunk_grad_b = np.empty((n_threads, C))
    chunk_loss = np.empty(n_threads)
    for c in prange(n_threads):
        gW = np.zeros((C, d))
        gb = np.zeros(C)
        z = np.empty(C)
        e = np.empty(C)
        loss_c = 0.0
        for i in range(n * c // n_threads, n * (c + 1) // n_threads):
            for k in range(C):
                acc = 0.0
                for j in range(d):
                    acc += X[i, j] * W[k, j]
                z[k] = acc + b[k]
            m = z[0]
            argmax = 0
            for k in range(1, C):
                if z[k] > m:
                    m = z[k]
                    argmax = k
            s = 0.0
            for k in range(C):
                z[k] = scalar.shift(z[k], m)  # z now holds z_k - m
                e[k] = math.exp(z[k])
                if k != argmax:
                    s += e[k]
            log1p_s = math.log1p(s)
            inv = 1.0 / (1.0 + s)
            sw = sample_weight[i] if weighted else 1.0
            if use_labels:
                label = labels[i]
                loss_c += sw * (log1p_s - z[label])
                for k in range(C):
                    e[k] *= sw * inv
                # p_y - 1 = -s / (1 + s) when y is the argmax: no cancellation.
                e[label] = -sw * s * inv if label == argmax else e[label] - sw
            else:
                loss_i = 0.0
                for k in range(C):
                    if Y[i, k] > 0.0:
                        loss_i += Y[i, k] * (log1p_s - z[k])
                    e[k] = sw * (e[k] * inv - Y[i, k])
                loss_c += sw * loss_i
            for k in range(C):  # e now holds the residual row r_ik
                r = e[k]
                gb[k] += r
                for j in range(d):
                    gW[k, j] += r * X[i, j]
        chunk_grad_W[c] = gW
        chunk_grad_b[c] = gb
        chunk_loss[c] = loss_c
    grad_W[:] = 0.0
    grad_b[:] = 0.0
    loss = 0.0
    for c in range(n_threads):
        grad_W += chunk_grad_W[c]
        grad_b += chunk_grad_b[c]
        loss += chunk_loss[c]
    return loss
