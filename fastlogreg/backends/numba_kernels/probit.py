"""Probit-link Numba kernels: the scalar ``log Phi`` and the fused ``probit_loss_grad``.

Stable ``log Phi(x)``, ``Phi`` the standard normal CDF, in float64 (scipy's
``special.log_ndtr`` is the oracle):

* ``x > -1``: ``log1p(-erfc(x / sqrt 2) / 2)`` (``Phi`` close to 1: no cancellation);
* ``-20 < x <= -1``: ``log(erfc(-x / sqrt 2) / 2)`` (``erfc`` is accurate and far from
  underflow there: ``erfc(14.2) ~ 1e-89``);
* ``x <= -20``: the asymptotic expansion
  ``log Phi(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 + sum_k (-1)^k (2k-1)!! / x^(2k))``,
  summed until the terms stop mattering (at ``x = -20`` the tenth term is ``< 1e-17``).

The erfc arguments and phi's exponent are corrected for the rounding of ``x / sqrt 2``
and ``x^2`` (Dekker's exact products), as the C kernel does with fma. The probit
residual uses the inverse Mills ratio ``phi(z) / Phi(z)``, from the asymptotic series
below -20 and ``phi / (erfc / 2)`` above: finite and accurate in both tails.
"""

import math

import numpy as np
from numba import prange

from ._jit import jit, jit_fused

_SQRT1_2 = math.sqrt(0.5)  # correctly rounded (sqrt is); _SQRT1_2_LO is relative to it
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


_SQRT1_2_LO = -4.8336466567264565e-17  # 1/sqrt(2) - _SQRT1_2, the constant's rounding error
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SPLITTER = 134217729.0  # 2^27 + 1, Dekker's splitting constant


@jit
def _product_error(a, b, p):
    """The exact rounding error a * b - p of p = fl(a * b) (Dekker's two-product, no fma)."""
    c = _SPLITTER * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = _SPLITTER * b
    b_hi = c - (c - b)
    b_lo = b - b_hi
    return ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


@jit
def _erfc_scaled_arg(x):
    """erfc(x / sqrt 2) without the error of rounding t = x / sqrt 2.

    That rounding error dt costs a relative 2 t^2 eps in erfc(t) (1e-13 at x = 30);
    erfc(t + dt) = erfc(t) - dt 2/sqrt(pi) exp(-t^2) to first order.
    """
    t = x * _SQRT1_2
    if not math.isfinite(t) or abs(x) > 1e150:
        return math.erfc(t)
    dt = _product_error(x, _SQRT1_2, t) + x * _SQRT1_2_LO
    return math.erfc(t) - dt * _TWO_OVER_SQRT_PI * math.exp(-t * t)


@jit
def _npdf(z):
    """phi(z) with z^2 split exactly into hi + lo, so the exponent is not rounded."""
    hi = z * z
    if not hi < math.inf:
        return 0.0 if hi == math.inf else hi  # |z| huge: 0; NaN propagates
    lo = _product_error(z, z, hi) if hi < 1e300 else 0.0
    return math.exp(-0.5 * hi) * (1.0 - 0.5 * lo) * _INV_SQRT_2PI


@jit
def _mills_series(x):
    """S(x) = sum_k (-1)^k (2k-1)!! / x^(2k) for x < -20: Phi(x) = phi(x) / (-x) (1 + S(x))."""
    inv_x2 = 1.0 / (x * x)
    term = 1.0
    series = 0.0
    for k in range(1, 40):
        term *= -(2.0 * k - 1.0) * inv_x2
        following = series + term
        if following == series:
            break
        series = following
    return series


@jit
def log_ndtr_scalar(x):
    """log Phi(x) in float64, accurate in both tails (see the module docstring)."""
    if x >= -1.0:
        return math.log1p(-0.5 * _erfc_scaled_arg(x))
    if x >= -20.0:
        return math.log(0.5 * _erfc_scaled_arg(-x))
    if x < -20.0:
        return -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI + math.log1p(_mills_series(x))
    return x  # NaN


@jit
def _npdf_over_ndtr(z):
    """phi(z) / Phi(z), the inverse Mills ratio, accurate on both sides.

    For z < -20 from the asymptotic series, -z / (1 + S(z)): exp(log phi - log Phi)
    would cancel there (both ~ -z^2/2; at z = -1e9 it gives 1 instead of 1e9).
    """
    if z < -20.0:
        return -z / (1.0 + _mills_series(z))
    return _npdf(z) / (0.5 * _erfc_scaled_arg(-z))


@jit
def probit_nll_residual(z, y):
    """Pointwise ``l = -y log Phi(z) - (1-y) log Phi(-z)`` and ``dl/dz``."""
    if z != z:
        return z, z
    if y == 1.0:
        return -log_ndtr_scalar(z), -_npdf_over_ndtr(z)
    if y == 0.0:
        return -log_ndtr_scalar(-z), _npdf_over_ndtr(-z)
    loss = -y * log_ndtr_scalar(z) - (1.0 - y) * log_ndtr_scalar(-z)
    return loss, -y * _npdf_over_ndtr(z) + (1.0 - y) * _npdf_over_ndtr(-z)


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

