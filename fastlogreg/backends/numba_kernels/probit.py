"""Probit-link Numba kernels: ``log_ndtr`` (elementwise) and the fused ``probit_loss_grad``.

Stable ``log Phi(x)``, ``Phi`` the standard normal CDF, in float64 (scipy's
``special.log_ndtr`` is the oracle):

* ``x > -1``: ``log1p(-erfc(x / sqrt 2) / 2)`` (``Phi`` close to 1: no cancellation);
* ``-20 < x <= -1``: ``log(erfc(-x / sqrt 2) / 2)`` (``erfc`` is accurate and far from
  underflow there: ``erfc(14.2) ~ 1e-89``);
* ``x <= -20``: the asymptotic expansion
  ``log Phi(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 + sum_k (-1)^k (2k-1)!! / x^(2k))``,
  summed until the terms stop mattering (at ``x = -20`` the tenth term is ``< 1e-17``).

The probit loss and residual use ``log Phi`` on both sides, and the Mills ratio as
``phi(z) / Phi(z) = exp(log phi(z) - log Phi(z))``, finite in both tails.
"""

import math

import numpy as np
from numba import prange

from ._jit import jit, jit_fused, jit_parallel

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@jit
def log_ndtr_scalar(x):
    """log Phi(x) in float64, accurate in both tails (see the module docstring)."""
    if x != x:
        return x
    if x > -1.0:
        return math.log1p(-0.5 * math.erfc(x * _SQRT1_2))
    if x > -20.0:
        return math.log(0.5 * math.erfc(-x * _SQRT1_2))
    if x == -math.inf:
        return -math.inf
    inv_x2 = 1.0 / (x * x)
    term = 1.0
    total = 0.0
    k = 1
    while k < 40:
        term *= -(2.0 * k - 1.0) * inv_x2
        total += term
        if abs(term) < 1e-17 * abs(1.0 + total):
            break
        k += 1
    return -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI + math.log1p(total)


@jit
def probit_nll_residual(z, y):
    """Pointwise ``l = -y log Phi(z) - (1-y) log Phi(-z)`` and ``dl/dz``."""
    if z != z:
        return z, z
    log_pdf = -0.5 * z * z - _LOG_SQRT_2PI
    if y == 1.0:
        log_cdf = log_ndtr_scalar(z)
        return -log_cdf, -math.exp(log_pdf - log_cdf)
    if y == 0.0:
        log_sf = log_ndtr_scalar(-z)
        return -log_sf, math.exp(log_pdf - log_sf)
    log_cdf = log_ndtr_scalar(z)
    log_sf = log_ndtr_scalar(-z)
    loss = -y * log_cdf - (1.0 - y) * log_sf
    return loss, -y * math.exp(log_pdf - log_cdf) + (1.0 - y) * math.exp(log_pdf - log_sf)


@jit_parallel
def log_ndtr(x, out, n_threads):
    rows, cols = x.shape
    total = rows * cols
    for c in prange(n_threads):
        # static chunks of the flat index, walked row segment by row segment
        k = (total * c) // n_threads
        stop = (total * (c + 1)) // n_threads
        while k < stop:
            i = k // cols
            j0 = k - i * cols
            j1 = min(cols, j0 + stop - k)
            for j in range(j0, j1):
                out[i, j] = log_ndtr_scalar(np.float64(x[i, j]))
            k += j1 - j0


@jit_fused
def probit_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
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
            loss_i, r = probit_nll_residual(z + b, y[i])
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
    grad_w[:] = 0.0
    loss = 0.0
    grad_b = 0.0
    for c in range(n_threads):
        grad_w += chunk_grad[c]
        loss += chunk_loss[c]
        grad_b += chunk_grad_b[c]
    return loss, grad_b


# What the backend module exports (wrapped there with its thread-count setter).
KERNELS = (log_ndtr, probit_loss_grad)
