"""Stable scalar formulas shared by the Numba kernels (compiled without fastmath).

All take and return float64.
"""

import math

from ._jit import jit

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@jit
def sigmoid(z):
    """s(z) = 1 / (1 + exp(-z)) from e = exp(-|z|): no overflow, full precision in both tails."""
    e = math.exp(-abs(z))
    if z >= 0.0:
        return 1.0 / (1.0 + e)
    return e / (1.0 + e)


@jit
def log_sigmoid(z):
    """log s(z) = -softplus(-z) = -(max(-z, 0) + log1p(exp(-|z|)))."""
    return -(max(-z, 0.0) + math.log1p(math.exp(-abs(z)))) if z == z else z


@jit
def binary_nll_residual(z, y):
    """Pointwise loss y softplus(-z) + (1 - y) softplus(z) and residual s(z) - y.

    One exp and one log1p. For hard labels one term vanishes exactly, so the loss
    keeps full relative precision (y = 1, z = 40 gives 4.25e-18, not 0) and the
    residual for y = 1 is -s(-z), not the cancelling s(z) - 1.
    """
    e = math.exp(-abs(z))
    log1p_e = math.log1p(e)
    inv = 1.0 / (1.0 + e)
    if z >= 0.0:
        softplus_pos = z + log1p_e  # softplus(z)
        softplus_neg = log1p_e  # softplus(-z)
        s_pos = inv
        s_neg = e * inv
    else:
        softplus_pos = log1p_e
        softplus_neg = log1p_e - z
        s_pos = e * inv
        s_neg = inv
    if z != z:  # NaN logit: propagate
        return z, z
    if y == 1.0:
        return softplus_neg, -s_neg
    if y == 0.0:
        return softplus_pos, s_pos
    return y * softplus_neg + (1.0 - y) * softplus_pos, s_pos - y


@jit
def shift(v, m):
    """v - m, with the contract's rule for an infinite row maximum m."""
    if math.isinf(m):
        return 0.0 if v == m else -math.inf
    return v - m
