"""The NumPy/SciPy reference backend ("numpy"): the oracle of every test and benchmark.

Plain, vectorised and obviously correct rather than fast. It follows the kernel
contract of :mod:`fastlogreg.backends` and the stable formulas of README.md ("The math").
Everything is computed in float64 and rounded to the data dtype only when stored.
The fused functions read X twice per row block (``X @ w``, then ``X.T @ r``): this
is the "naive" cost the fused kernels are measured against.
"""

import math

import numpy as np
from scipy import sparse, special

_BLOCK_ROWS = 1 << 15
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_HALF_OVER_PI = math.sqrt(0.5 / math.pi)  # 1 / sqrt(2 pi)


def _row_blocks(n):
    for start in range(0, n, _BLOCK_ROWS):
        yield slice(start, min(start + _BLOCK_ROWS, n))


def _dense_blocks(X):
    """``(rows, X[rows] in float64)`` for consecutive row blocks of a dense X."""
    for rows in _row_blocks(X.shape[0]):
        yield rows, np.asarray(X[rows], dtype=np.float64)


def _csr_blocks(data, indices, indptr, n_features):
    """``(rows, block)`` for consecutive row blocks of the CSR matrix (data, indices, indptr)
    with ``n_features`` columns; ``block`` is a float64 SciPy CSR matrix, so ``block @ w``
    and ``r @ block`` sum duplicate entries of a row as SciPy does. ``indptr[0]`` need not
    be 0 (a row range of a larger matrix)."""
    for rows in _row_blocks(indptr.shape[0] - 1):
        ptr = indptr[rows.start:rows.stop + 1]
        lo, hi = int(ptr[0]), int(ptr[-1])
        block = sparse.csr_matrix(
            (np.asarray(data[lo:hi], dtype=np.float64), indices[lo:hi], ptr - ptr[0]),
            shape=(rows.stop - rows.start, n_features),
        )
        yield rows, block


def _weights(sample_weight, rows):
    return sample_weight[rows] if sample_weight.shape[0] else 1.0


def _softplus(z):
    """softplus(z) = log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|))."""
    return np.logaddexp(0.0, z)


def _expit(z):
    """s(z) from e = exp(-|z|): 1 / (1 + e) for z >= 0, e / (1 + e) below, so that
    s(z) ~ exp(z) keeps its subnormal values down to z ~ -745 (``special.expit``
    computes 1 / (1 + exp(-z)), which is 0 below z ~ -709.8 where exp(-z) overflows)."""
    e = np.exp(-np.abs(z))
    with np.errstate(invalid="ignore"):
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# ----------------------------------------------------------------------------- elementwise
def sigmoid(x, scale, out, n_threads):
    with np.errstate(invalid="ignore"):  # scale * x is NaN for 0 * inf, as in the fast kernels
        out[...] = _expit(scale * np.asarray(x, dtype=np.float64))


def log_sigmoid(x, out, n_threads):
    out[...] = special.log_expit(np.asarray(x, dtype=np.float64))


def _exp_neg_half_square(x):
    """exp(-x^2/2) to a few eps for |x| <= 40, and its scale: returns (e, s) with
    e * exp(-s) = exp(-x^2/2), e normal, s in {0, 512}.

    x^2 = p + c exactly (Veltkamp split of x into 26-bit halves; no FMA in NumPy), so
    exp(-x^2/2) = exp(-p/2) * exp(-c/2) ~ exp(-p/2) * (1 - c/2). Rounding x^2 instead would
    cost x^2/2 eps relative (~700 eps at x = 37). Where p/2 >= 512 the factor exp(-512) is
    kept apart (p/2 - 512 is exact there) so that e stays normal: multiplied in last, it
    rounds once, also when the product is subnormal (x > 37.5).
    """
    xh = x * 134217729.0  # 2^27 + 1
    xh = xh - (xh - x)
    xl = x - xh
    p = x * x
    c = ((xh * xh - p) + 2.0 * xh * xl) + xl * xl
    h = 0.5 * p
    s = np.where(h >= 512.0, 512.0, 0.0)
    return np.exp(s - h) * (1.0 - 0.5 * c), s


def _normal_sf_parts(x):
    """Q(x) = Phi(-x) = erfc(x / sqrt 2) / 2 = erfcx(x / sqrt 2) / 2 * exp(-x^2/2) as
    (q, e, s) with q * exp(-s) = Q(x) and e * exp(-s) = exp(-x^2/2), for 0 <= x <= 40
    (see :func:`_exp_neg_half_square`).

    erfcx is well conditioned for x >= 0 (relative condition number <= 1), so the rounding
    of x / sqrt 2 costs at most 1 eps; the exponential is formed from the exact x^2/2.
    """
    e, s = _exp_neg_half_square(x)
    return 0.5 * special.erfcx(x * _SQRT_HALF) * e, e, s


_EXP_NEG_512 = math.exp(-512.0)
#: From here on Q(x) ~ phi(x) / x is far below 2^-1075 (it is from x ~ 38.47 on), so
#: log Phi(x) = -0.0; below, -Q(x) is computed down to the smallest subnormal.
_LOG_NDTR_ZERO = 40.0


def _log_ndtr(x):
    """log Phi(x) in float64, to a few eps everywhere (the oracle of the fast kernels).

    x > 1: log Phi(x) = log1p(-Q(x)) with Q(x) from :func:`_normal_sf_parts`, so the right
    tail -Q(x) keeps its relative accuracy down to the subnormals; -0.0 only from
    x ~ 38.47 on, where -Q(x) itself rounds to -0.0 (also at +inf, as before).
    0 < x <= 1: log1p(-ndtr(-x)); ndtr(-x) is within ~2 eps there, better than the
    erfcx product (~4 eps). x <= 0: scipy.special.log_ndtr (log of erfc, or an asymptotic
    series below -20), where the error of Phi(x) is divided by |log Phi(x)|: ~3 eps.
    """
    x = np.asarray(x, dtype=np.float64)
    tail = x > 1.0
    q, _, s = _normal_sf_parts(np.where(tail, np.minimum(x, _LOG_NDTR_ZERO), 1.0))
    with np.errstate(under="ignore"):
        q = np.where(s > 0.0, q * _EXP_NEG_512, q)
    q = np.where(x >= _LOG_NDTR_ZERO, 0.0, q)
    with np.errstate(invalid="ignore", divide="ignore"):  # np.where evaluates every branch
        return np.where(tail, np.log1p(-q),
                        np.where(x > 0.0, np.log1p(-special.ndtr(-x)), special.log_ndtr(x)))


def log_ndtr(x, out, n_threads):
    out[...] = _log_ndtr(x)


def _shifted(Z):
    """Return (D, E, s, m) per row: m = max(Z), D = Z - m with the infinite-max rule,
    E = exp(D), and s the sum of E over every entry but the first argmax."""
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    m = Z.max(axis=1)
    with np.errstate(invalid="ignore"):
        D = Z - m[:, None]
    infinite = np.isinf(m)
    D[infinite] = np.where(Z[infinite] == m[infinite, None], 0.0, -np.inf)
    E = np.exp(D)
    others = E.copy()
    others[np.arange(n), np.argmax(Z, axis=1)] = 0.0
    return D, E, others.sum(axis=1), m


def logsumexp(Z, out, n_threads):
    _, _, s, m = _shifted(Z)
    out[...] = m + np.log1p(s)


def _log_softmax_parts(Z):
    """Return (D, log1p(s), softmax(Z)) with softmax = exp(D) / (1 + s).

    Not exp(D - log1p(s)): the quotient rounds once after exp, so a row of equal
    entries (exp(D) = 1 and s = C - 1, both exact) gives the correctly rounded 1/C
    whatever the host's exp, and a large |D| does not amplify the rounding of
    D - log1p(s)."""
    D, E, s, _ = _shifted(Z)
    return D, np.log1p(s), E / (1.0 + s)[:, None]


def softmax(Z, out, n_threads):
    out[...] = _log_softmax_parts(Z)[2]


def log_softmax(Z, out, n_threads):
    D, log1p_s, _ = _log_softmax_parts(Z)
    out[...] = D - log1p_s[:, None]


def inner(U, V, out, n_threads):
    out[...] = np.einsum("ij,ij->i", np.asarray(U, np.float64), np.asarray(V, np.float64))


def cosine_similarity(U, V, out, n_threads):
    U = np.asarray(U, np.float64)
    V = np.asarray(V, np.float64)
    # Scale each row by its largest magnitude first so the norms cannot overflow.
    su = np.abs(U).max(axis=1, initial=0.0)
    sv = np.abs(V).max(axis=1, initial=0.0)
    nonzero = ~((su == 0) | (sv == 0))  # NaN rows go through, and give NaN
    Us = U[nonzero] / su[nonzero, None]
    Vs = V[nonzero] / sv[nonzero, None]
    cos = np.einsum("ij,ij->i", Us, Vs) / (np.linalg.norm(Us, axis=1) * np.linalg.norm(Vs, axis=1))
    result = np.zeros(U.shape[0])
    result[nonzero] = cos
    out[...] = result


# ----------------------------------------------------------------------------- losses
def _binary_nll_and_residual(z, y):
    """Pointwise l = y softplus(-z) + (1-y) softplus(z) and dl/dz = s(z) - y."""
    with np.errstate(invalid="ignore"):
        loss = np.where(
            y == 1.0, _softplus(-z),
            np.where(y == 0.0, _softplus(z), y * _softplus(-z) + (1.0 - y) * _softplus(z)),
        )
    p = _expit(z)
    # s(z) - 1 = -s(-z): exact for y = 1 where p rounds to 1.
    residual = np.where(y == 1.0, -_expit(-z), p - y)
    return loss, residual


def binary_cross_entropy(z, y, out, n_threads):
    out[...] = _binary_nll_and_residual(np.asarray(z, np.float64), y)[0]


def _cross_entropy_rows(Z, labels, Y):
    """Pointwise l_i = sum_k Y_ik (logsumexp(z_i) - z_ik) and softmax(Z)."""
    D, log1p_s, P = _log_softmax_parts(Z)
    neg_log_p = log1p_s[:, None] - D
    if labels.shape[0]:
        loss = neg_log_p[np.arange(D.shape[0]), labels]
    else:
        with np.errstate(invalid="ignore"):
            loss = np.where(Y > 0, Y * neg_log_p, 0.0).sum(axis=1)
    return loss, P


def cross_entropy(Z, labels, Y, out, n_threads):
    out[...] = _cross_entropy_rows(Z, labels, Y)[0]


def _one_hot(labels, Y, rows, n_classes):
    if not labels.shape[0]:
        return Y[rows]
    block = labels[rows]
    T = np.zeros((block.shape[0], n_classes))
    T[np.arange(block.shape[0]), block] = 1.0
    return T


# ----------------------------------------------------------------------------- fused
def _binary_loss_grad(pointwise_nll_and_residual, blocks, y, w, b, sample_weight, grad_w):
    """Partial sums of a binary model over the row ``blocks`` of X: weighted loss,
    X.T @ r into grad_w, sum of r."""
    loss = 0.0
    grad_b = 0.0
    grad_w[:] = 0.0
    for rows, Xb in blocks:
        sw = _weights(sample_weight, rows)
        pointwise, residual = pointwise_nll_and_residual(Xb @ w + b, y[rows])
        r = sw * residual
        loss += np.sum(sw * pointwise)
        grad_b += np.sum(r)
        grad_w += Xb.T @ r
    return loss, grad_b


def logistic_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
    return _binary_loss_grad(_binary_nll_and_residual, _dense_blocks(X), y, w, b, sample_weight, grad_w)


def _softmax_loss_grad(blocks, labels, Y, W, b, sample_weight, grad_W, grad_b):
    loss = 0.0
    grad_W[...] = 0.0
    grad_b[...] = 0.0
    for rows, Xb in blocks:
        sw = _weights(sample_weight, rows)
        sw_col = sw[:, None] if np.ndim(sw) else sw
        block_labels = labels[rows] if labels.shape[0] else labels
        block_Y = Y if labels.shape[0] else Y[rows]
        pointwise, P = _cross_entropy_rows(Xb @ W.T + b, block_labels, block_Y)
        R = sw_col * (P - _one_hot(labels, Y, rows, W.shape[0]))
        loss += np.sum(sw * pointwise)
        grad_W += R.T @ Xb
        grad_b += R.sum(axis=0)
    return loss


def softmax_loss_grad(X, labels, Y, W, b, sample_weight, grad_W, grad_b, n_threads):
    return _softmax_loss_grad(_dense_blocks(X), labels, Y, W, b, sample_weight, grad_W, grad_b)


def _mills_ratio(z):
    """phi(z) / Phi(-z), finite for every finite z (~ z for large z, ~ phi(z) below -1).

    z >= -1: sqrt(2/pi) / erfcx(z / sqrt 2), no cancellation of -z^2/2 terms; erfcx has a
    relative condition number of at most ~2 there. z < -1: erfcx(t) ~ 2 exp(t^2) would pass
    on the rounding of t^2 (~z^2/2 eps), so phi(z) is formed from the exact z^2/2 of
    :func:`_exp_neg_half_square` and divided by Phi(-z) = 1 - Q(-z), with Q(-z) < 0.16.
    """
    z = np.asarray(z, dtype=np.float64)
    left = z < -1.0
    a = np.where(left, np.minimum(-z, _LOG_NDTR_ZERO), 1.0)
    q, e, s = _normal_sf_parts(a)  # Q(a) and exp(-a^2/2), both scaled by exp(s)
    with np.errstate(under="ignore"):
        scale = np.where(s > 0.0, _EXP_NEG_512, 1.0)
        phi_over_cdf = e * _SQRT_HALF_OVER_PI / (1.0 - q * scale) * scale
    phi_over_cdf = np.where(-z >= _LOG_NDTR_ZERO, 0.0, phi_over_cdf)
    with np.errstate(divide="ignore"):
        return np.where(left, phi_over_cdf, _SQRT_2_OVER_PI / special.erfcx(z * _SQRT_HALF))


def _probit_nll_and_residual(z, y):
    """l = -y log Phi(z) - (1-y) log Phi(-z); dl/dz = -y phi/Phi(z) + (1-y) phi/Phi(-z)."""
    log_cdf = _log_ndtr(z)
    log_sf = _log_ndtr(-z)
    with np.errstate(invalid="ignore"):
        loss = np.where(y == 1.0, -log_cdf,
                        np.where(y == 0.0, -log_sf, -y * log_cdf - (1.0 - y) * log_sf))
    with np.errstate(invalid="ignore", divide="ignore"):
        m_neg, m_pos = _mills_ratio(-z), _mills_ratio(z)
        # hard labels take one term only: the other Mills ratio is infinite at z = +-inf,
        # and 0 * inf would make the residual NaN where it is 0 or +-inf
        residual = np.where(y == 1.0, -m_neg, np.where(y == 0.0, m_pos, -y * m_neg + (1.0 - y) * m_pos))
    return loss, residual


def probit_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
    return _binary_loss_grad(_probit_nll_and_residual, _dense_blocks(X), y, w, b, sample_weight, grad_w)


# ----------------------------------------------------------------------------- Hessian-vector
def _logistic_hessp(blocks, w, b, sample_weight, v, v_b, hv):
    hv[:] = 0.0
    hv_b = 0.0
    for rows, Xb in blocks:
        z = Xb @ w + b
        # s(z) (1 - s(z)) written as s(z) s(-z): no cancellation in the tails.
        h = _weights(sample_weight, rows) * _expit(z) * _expit(-z)
        hu = h * (Xb @ v + v_b)
        hv += Xb.T @ hu
        hv_b += np.sum(hu)
    return hv_b


def logistic_hessp(X, w, b, sample_weight, v, v_b, hv, n_threads):
    return _logistic_hessp(_dense_blocks(X), w, b, sample_weight, v, v_b, hv)


def _softmax_hessp(blocks, W, b, sample_weight, V, v_b, hv, hv_b):
    hv[...] = 0.0
    hv_b[...] = 0.0
    for rows, Xb in blocks:
        P = _log_softmax_parts(Xb @ W.T + b)[2]
        U = Xb @ V.T + v_b
        sw = _weights(sample_weight, rows)
        sw_col = sw[:, None] if np.ndim(sw) else sw
        R = sw_col * P * (U - np.sum(P * U, axis=1, keepdims=True))
        hv += R.T @ Xb
        hv_b += R.sum(axis=0)


def softmax_hessp(X, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    _softmax_hessp(_dense_blocks(X), W, b, sample_weight, V, v_b, hv, hv_b)


# ----------------------------------------------------------------------------- CSR
# The same kernels on a CSR matrix: X's rows are the blocks of _csr_blocks.
def logistic_loss_grad_csr(data, indices, indptr, y, w, b, sample_weight, grad_w, n_threads):
    blocks = _csr_blocks(data, indices, indptr, w.shape[0])
    return _binary_loss_grad(_binary_nll_and_residual, blocks, y, w, b, sample_weight, grad_w)


def probit_loss_grad_csr(data, indices, indptr, y, w, b, sample_weight, grad_w, n_threads):
    blocks = _csr_blocks(data, indices, indptr, w.shape[0])
    return _binary_loss_grad(_probit_nll_and_residual, blocks, y, w, b, sample_weight, grad_w)


def softmax_loss_grad_csr(data, indices, indptr, labels, Y, W, b, sample_weight, grad_W, grad_b,
                          n_threads):
    blocks = _csr_blocks(data, indices, indptr, W.shape[1])
    return _softmax_loss_grad(blocks, labels, Y, W, b, sample_weight, grad_W, grad_b)


def logistic_hessp_csr(data, indices, indptr, w, b, sample_weight, v, v_b, hv, n_threads):
    return _logistic_hessp(_csr_blocks(data, indices, indptr, w.shape[0]), w, b, sample_weight, v, v_b, hv)


def softmax_hessp_csr(data, indices, indptr, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    _softmax_hessp(_csr_blocks(data, indices, indptr, W.shape[1]), W, b, sample_weight, V, v_b, hv, hv_b)
