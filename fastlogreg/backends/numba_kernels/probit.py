"""Probit-link Numba functions: the scalar ``log Phi`` and the pointwise part of the fused
``probit_loss_grad`` (:mod:`.fused` has the blocked kernel).

Stable ``log Phi(x)`` (``log_ndtr_scalar``, the elementwise ``log_ndtr``), ``Phi`` the
standard normal CDF, in float64 (scipy's ``special.log_ndtr`` is the oracle):

* ``x > -1``: ``log1p(-erfc(x / sqrt 2) / 2)`` (``Phi`` close to 1: no cancellation);
* ``-20 < x <= -1``: ``log(erfc(-x / sqrt 2) / 2)`` (``erfc`` is accurate and far from
  underflow there: ``erfc(14.2) ~ 1e-89``);
* ``x <= -20``: the asymptotic expansion
  ``log Phi(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 + sum_k (-1)^k (2k-1)!! / x^(2k))``,
  summed until the terms stop mattering (at ``x = -20`` the tenth term is ``< 1e-17``).

The erfc arguments and phi's exponent are corrected for the rounding of ``x / sqrt 2``
and ``x^2`` (Dekker's exact products), as the C kernel does with fma. The fused
kernel's pointwise part takes log Phi and the inverse Mills ratio ``phi(z) / Phi(z)``
together from one erfc (:func:`log_ndtr_and_mills`): the asymptotic series below -20,
``Phi = erfc(-z / sqrt 2) / 2`` up to 0 and ``1 - erfc(z / sqrt 2) / 2`` above; finite
and accurate in both tails.
"""

import math

from ._jit import jit

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
    """erfc(x / sqrt 2) without the error of rounding t = x / sqrt 2 (see
    :func:`_erfc_scaled_arg_given`)."""
    t = x * _SQRT1_2
    return _erfc_scaled_arg_given(x, math.exp(-t * t))


@jit
def _erfc_scaled_arg_given(x, gauss):
    """erfc(x / sqrt 2) without the error of rounding t = x / sqrt 2, given
    ``gauss`` = exp(-x^2 / 2).

    That rounding error dt costs a relative 2 t^2 eps in erfc(t) (1e-13 at x = 30);
    erfc(t + dt) = erfc(t) - dt 2/sqrt(pi) exp(-t^2) to first order. The correction is
    tiny against erfc(t), so exp(-t^2) may be any accurate form of exp(-x^2 / 2).
    """
    t = x * _SQRT1_2
    if not math.isfinite(t) or abs(x) > 1e150:
        return math.erfc(t)
    dt = _product_error(x, _SQRT1_2, t) + x * _SQRT1_2_LO
    return math.erfc(t) - dt * _TWO_OVER_SQRT_PI * gauss


@jit
def _gauss(z):
    """exp(-z^2 / 2) with z^2 split exactly into hi + lo, so the exponent is not rounded."""
    hi = z * z
    if not hi < math.inf:
        return 0.0 if hi == math.inf else hi  # |z| huge: 0; NaN propagates
    lo = _product_error(z, z, hi) if hi < 1e300 else 0.0
    return math.exp(-0.5 * hi) * (1.0 - 0.5 * lo)


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
def _log_ndtr_asymptotic(x, series):
    """log Phi(x) for x < -20 given series = S(x): -x^2/2 - log(-x) - log(2 pi)/2 + log1p(S)."""
    return -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI + math.log1p(series)


@jit
def log_ndtr_scalar(x):
    """log Phi(x) in float64, accurate in both tails (see the module docstring)."""
    if x >= -1.0:
        return math.log1p(-0.5 * _erfc_scaled_arg(x))
    if x >= -20.0:
        return math.log(0.5 * _erfc_scaled_arg(-x))
    if x < -20.0:
        return _log_ndtr_asymptotic(x, _mills_series(x))
    return x  # NaN


@jit
def log_ndtr_and_mills(x):
    """``(log Phi(x), phi(x) / Phi(x))`` from one erfc, one exp and one log.

    * x < -20: the asymptotic series S(x): ``-x^2/2 - log(-x) - log(2 pi)/2 + log1p(S)``
      and ``-x / (1 + S)`` (exp(log phi - log Phi) would cancel there: both ~ -x^2/2);
    * -20 <= x <= 0: P = Phi(x) = erfc(-x / sqrt 2) / 2: ``log P`` and ``phi / P``;
    * x > 0: Q = 1 - Phi(x) = erfc(x / sqrt 2) / 2: ``log1p(-Q)`` (no cancellation as
      Phi -> 1) and ``phi / (1 - Q)``, where 1 - Q >= 1/2 is rounded once.

    exp(-x^2 / 2) serves both phi and the erfc argument's rounding correction. The two
    sides meet at x = 0, where P = 1 - Q = 1/2.
    """
    if x < -20.0:
        series = _mills_series(x)
        return _log_ndtr_asymptotic(x, series), -x / (1.0 + series)
    gauss = _gauss(x)  # NaN x: NaN here and in erfc, so both results are NaN
    pdf = gauss * _INV_SQRT_2PI
    if x <= 0.0:
        cdf = 0.5 * _erfc_scaled_arg_given(-x, gauss)
        return math.log(cdf), pdf / cdf
    tail = 0.5 * _erfc_scaled_arg_given(x, gauss)
    return math.log1p(-tail), pdf / (1.0 - tail)


@jit
def probit_nll_residual(z, y):
    """Pointwise ``l = -y log Phi(z) - (1-y) log Phi(-z)`` and ``dl/dz``
    ``= -y phi(z)/Phi(z) + (1-y) phi(z)/Phi(-z)`` (phi is even)."""
    if z != z:
        return z, z
    if y == 1.0:
        log_cdf, mills = log_ndtr_and_mills(z)
        return -log_cdf, -mills
    if y == 0.0:
        log_cdf, mills = log_ndtr_and_mills(-z)
        return -log_cdf, mills
    log_cdf, mills = log_ndtr_and_mills(z)
    log_sf, mills_neg = log_ndtr_and_mills(-z)
    return -y * log_cdf - (1.0 - y) * log_sf, -y * mills + (1.0 - y) * mills_neg


@jit
def probit_pointwise(z, y, sw, weighted):
    """Loss and residual of each row of a block of the fused kernel (libm's erfc, exp
    and log per row: this loop does not vectorise).

    z (m,) holds the scores on entry and the weighted residuals on exit; returns the
    block's weighted loss sum and residual sum.
    """
    loss = 0.0
    grad_b = 0.0
    for i in range(z.shape[0]):
        li, ri = probit_nll_residual(z[i], y[i])
        if weighted:
            li *= sw[i]
            ri *= sw[i]
        loss += li
        grad_b += ri
        z[i] = ri
    return loss, grad_b
