"""Public functions: validate once, pick the backend, call its kernel.

Every function takes float32 or float64 input of any memory layout (integers become
float64), returns the input's float dtype, and takes ``backend=None`` (the current
default, see :func:`fastlogreg.get_backend`). The math is in README.md ("The math") and
in each docstring; the kernel contract is in :mod:`fastlogreg.backends`.
"""

import numpy as np

from . import _backend
from ._design import as_design
from ._problems import BinaryProblem, MultinomialProblem
from ._validation import (
    as_float_array,
    as_scalar,
    check_binary_targets,
    check_class_targets,
    check_reduction,
    check_sample_weight,
)


def _kernel_call(backend, name, first, *args):
    # never more chunks than elements of the first input (a chunk count is a thread count)
    n_threads = min(_backend.get_num_threads(), max(1, first.size))
    return getattr(_backend.resolve(backend), name)(first, *args, n_threads)


# ----------------------------------------------------------------------------- array plumbing
def _as_2d(a):
    """A 2-D view of ``a`` (0-d and 1-d become one row, N-d fold their leading axes)."""
    if a.ndim == 2:
        return a
    if a.ndim < 2:
        return a.reshape(1, -1)
    return a.reshape(-1, a.shape[-1])


def _prepare_out(out, like, name="out", shape=None, dtype=None):
    shape = like.shape if shape is None else shape
    dtype = like.dtype if dtype is None else dtype
    if out is None:
        if shape == like.shape:
            return np.empty_like(like, dtype=dtype)  # keeps C or Fortran order, as ufuncs do
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def _apply(backend, name, x, out, *extra, elementwise=True):
    """Run elementwise or row-wise kernel ``name`` from ``x`` into ``out``.

    Both are viewed as 2-D. An ``out`` that cannot be viewed so without a copy, or
    that overlaps ``x`` without being exactly ``x``, is written through a temporary.
    """
    x2 = _as_2d(x)
    out2 = _as_2d(out)
    is_view = out.size == 0 or np.may_share_memory(out2, out)
    in_place = out.ctypes.data == x.ctypes.data and out.strides == x.strides
    if not is_view or (np.may_share_memory(x, out) and not in_place):
        out2 = np.empty(x2.shape, dtype=out.dtype)
    fortran = x2.flags.f_contiguous and not x2.flags.c_contiguous and out2.flags.f_contiguous
    if elementwise and fortran:
        x2, out2 = x2.T, out2.T  # the same map on C-ordered views: one specialisation
    _kernel_call(backend, name, x2, *extra, out2)
    if not np.may_share_memory(out2, out):
        out[...] = out2.reshape(out.shape)
    return out


def _scalar_or_array(result, input_ndim, out=None):
    """A NumPy scalar for 0-d input, as ufuncs return; ``out`` itself when one was passed."""
    return result[()] if input_ndim == 0 and out is None else result


# ----------------------------------------------------------------------------- elementwise
def sigmoid(z, scale=1.0, *, out=None, backend=None):
    r"""Logistic sigmoid of ``scale * z``, elementwise.

    .. math:: s(c z) = \frac{1}{1 + e^{-c z}}

    Computed as ``1 / (1 + e)`` or ``e / (1 + e)`` with ``e = exp(-|c z|)``, so it
    never overflows and keeps full relative precision in both tails.

    Parameters
    ----------
    z : array_like, any shape
    scale : float, default 1.0
        The scale ``c`` of the scaled sigmoid ``s(c z)``.
    out : ndarray, optional
        Same shape and float dtype as ``z``; may be ``z`` itself.
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray (or scalar for scalar input), dtype of ``z``
        Values in [0, 1].

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.sigmoid(0.0))
    0.5
    """
    z = as_float_array(z, "z")
    scale = as_scalar(scale, "scale")
    result = _apply(backend, "sigmoid", z, _prepare_out(out, z), scale)
    return _scalar_or_array(result, z.ndim, out)


def log_sigmoid(z, *, out=None, backend=None):
    r"""Log of the logistic sigmoid, elementwise, exact in both tails.

    .. math:: \log s(z) = -\mathrm{softplus}(-z) = -\max(-z, 0) - \log(1 + e^{-|z|})

    Parameters
    ----------
    z : array_like, any shape
    out : ndarray, optional
        Same shape and float dtype as ``z``; may be ``z`` itself.
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray (or scalar for scalar input), dtype of ``z``
        Values <= 0; :math:`-e^{-z}` to full precision for large ``z``, :math:`z` for
        very negative ``z``.

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.log_sigmoid(40.0))  # not 0
    -4.248354255291589e-18
    >>> fastlogreg.log_sigmoid([-800.0, 0.0]).round(6).tolist()
    [-800.0, -0.693147]
    """
    z = as_float_array(z, "z")
    result = _apply(backend, "log_sigmoid", z, _prepare_out(out, z))
    return _scalar_or_array(result, z.ndim, out)


def log_ndtr(z, *, out=None, backend=None):
    r"""Log of the standard normal CDF (the probit link), elementwise, stable in both tails.

    .. math:: \log \Phi(z) = \log \tfrac{1}{2} \mathrm{erfc}(-z / \sqrt{2})

    Parameters
    ----------
    z : array_like, any shape
    out : ndarray, optional
        Same shape and float dtype as ``z``; may be ``z`` itself.
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray (or scalar for scalar input), dtype of ``z``
        Values <= 0, finite for every finite ``z``.

    Examples
    --------
    >>> import fastlogreg
    >>> round(float(fastlogreg.log_ndtr(0.0)), 12)
    -0.69314718056
    >>> round(float(fastlogreg.log_ndtr(-40.0)), 6)  # finite far in the lower tail
    -804.608442
    """
    z = as_float_array(z, "z")
    result = _apply(backend, "log_ndtr", z, _prepare_out(out, z))
    return _scalar_or_array(result, z.ndim, out)


# ----------------------------------------------------------------------------- row-wise
def _as_logits(Z, name="Z"):
    Z = as_float_array(Z, name, min_ndim=1)
    if Z.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one entry along its last axis, got shape {Z.shape}")
    return Z


def logsumexp(Z, *, backend=None):
    r"""Log-sum-exp over the last axis.

    .. math:: \mathrm{lse}(z) = m + \log\bigl(1 + \sum_{k \ne k^*} e^{z_k - m}\bigr),
              \quad m = z_{k^*} = \max_k z_k

    The ``log1p`` form keeps ``logsumexp([0, -40]) = 4.25e-18`` (not 0).

    Parameters
    ----------
    Z : array_like of shape (..., C), C >= 1
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray of shape ``Z.shape[:-1]`` (a scalar for 1-D input), dtype of ``Z``

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.logsumexp([0.0, -40.0]))
    4.248354255291589e-18
    """
    Z = _as_logits(Z)
    out = np.empty(Z.shape[:-1], dtype=Z.dtype)
    _kernel_call(backend, "logsumexp", _as_2d(Z), out.reshape(-1))
    return _scalar_or_array(out, out.ndim)


def softmax(Z, *, out=None, backend=None):
    r"""Softmax over the last axis: :math:`\mathrm{softmax}(z)_k = e^{z_k - \mathrm{lse}(z)}`.

    Parameters
    ----------
    Z : array_like of shape (..., C), C >= 1
    out : ndarray, optional
        Same shape and float dtype as ``Z``; may be ``Z`` itself.
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray of the shape and dtype of ``Z``
        Each row sums to 1 (within rounding); never overflows.

    Examples
    --------
    >>> import fastlogreg
    >>> fastlogreg.softmax([0.0, 0.0]).tolist()
    [0.5, 0.5]
    >>> fastlogreg.softmax([[1000.0, 0.0]]).tolist()
    [[1.0, 0.0]]
    """
    Z = _as_logits(Z)
    out = _prepare_out(out, Z)
    return _apply(backend, "softmax", Z, out, elementwise=False)


def log_softmax(Z, *, out=None, backend=None):
    r"""Log-softmax over the last axis: :math:`z_k - m - \log(1 + \sum_{j \ne k^*} e^{z_j - m})`.

    Parameters
    ----------
    Z : array_like of shape (..., C), C >= 1
    out : ndarray, optional
        Same shape and float dtype as ``Z``; may be ``Z`` itself.
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray of the shape and dtype of ``Z``
        Values <= 0.

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.log_softmax([0.0, -40.0])[0])
    -4.248354255291589e-18
    """
    Z = _as_logits(Z)
    out = _prepare_out(out, Z)
    return _apply(backend, "log_softmax", Z, out, elementwise=False)


def _broadcast_rows(U, V):
    U = as_float_array(U, "U", ndim=(1, 2))
    V = as_float_array(V, "V", ndim=(1, 2))
    if U.shape[-1] != V.shape[-1]:
        raise ValueError(f"U and V must have the same number of columns, got shapes {U.shape} and {V.shape}")
    if U.ndim == 2 and V.ndim == 2 and U.shape[0] != V.shape[0] and 1 not in (U.shape[0], V.shape[0]):
        raise ValueError(f"U and V must have the same number of rows (or one row), got {U.shape} and "
                         f"{V.shape}")
    dtype = np.result_type(U.dtype, V.dtype)
    rows_u, rows_v = _as_2d(U).shape[0], _as_2d(V).shape[0]
    n = rows_u if rows_v == 1 else rows_v  # one row broadcasts, also against zero rows
    d = U.shape[-1]
    scalar = U.ndim == 1 and V.ndim == 1
    # Stride-0 views: a single vector against every row, without copying it n times.
    U2 = np.broadcast_to(_as_2d(U), (n, d))
    V2 = np.broadcast_to(_as_2d(V), (n, d))
    if U2.dtype != V2.dtype:
        U2, V2 = U2.astype(dtype), V2.astype(dtype)
    return U2, V2, dtype, scalar


def inner(U, V, *, backend=None):
    r"""Row-wise inner product :math:`\langle u_i, v_i \rangle = \sum_j u_{ij} v_{ij}`.

    Parameters
    ----------
    U, V : array_like of shape (n, d) or (d,)
        A 1-D argument is broadcast against every row of the other.
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray of shape (n,), or a scalar when both are 1-D
        Sums are accumulated in float64.

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.inner([1.0, 2.0], [3.0, 4.0]))
    11.0
    """
    U2, V2, dtype, scalar = _broadcast_rows(U, V)
    out = np.empty(U2.shape[0], dtype=dtype)
    _kernel_call(backend, "inner", U2, V2, out)
    return out[0] if scalar else out


def cosine_similarity(U, V, *, backend=None):
    r"""Row-wise cosine of the angle, :math:`\langle u, v \rangle / (\|u\| \|v\|)`.

    Rows with a zero norm give 0 (as scikit-learn's ``cosine_similarity``), never NaN.
    Norms are computed after scaling each row by its largest magnitude, so huge
    entries do not overflow.

    Parameters
    ----------
    U, V : array_like of shape (n, d) or (d,)
        A 1-D argument is broadcast against every row of the other.
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    ndarray of shape (n,), or a scalar when both are 1-D
        Values in [-1, 1].

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.cosine_similarity([1.0, 0.0], [0.0, 2.0]))
    0.0
    >>> fastlogreg.cosine_similarity([[1.0, 1.0], [2.0, 0.0]], [1.0, 0.0]).round(6).tolist()
    [0.707107, 1.0]
    """
    U2, V2, dtype, scalar = _broadcast_rows(U, V)
    out = np.empty(U2.shape[0], dtype=dtype)
    _kernel_call(backend, "cosine_similarity", U2, V2, out)
    return out[0] if scalar else out


# ----------------------------------------------------------------------------- losses
def _reduce(per_sample, sample_weight, weight_sum, reduction, dtype):
    if reduction == "none":
        return per_sample if not sample_weight.shape[0] else (per_sample * sample_weight).astype(dtype)
    total = float(np.sum(per_sample, dtype=np.float64) if not sample_weight.shape[0]
                  else np.dot(per_sample.astype(np.float64, copy=False), sample_weight))
    return dtype.type(total if reduction == "sum" else total / weight_sum)


def binary_cross_entropy(logits, y, *, sample_weight=None, reduction="mean", signed=False, backend=None):
    r"""Binary cross-entropy of logits, the negative log-likelihood of the logistic model.

    .. math:: l_i = -y_i \log s(z_i) - (1 - y_i) \log(1 - s(z_i))
                  = y_i \,\mathrm{softplus}(-z_i) + (1 - y_i)\,\mathrm{softplus}(z_i)

    With ``signed=True`` the labels are :math:`t_i \in \{-1, +1\}` and
    :math:`l_i = \mathrm{softplus}(-t_i z_i)`.

    Parameters
    ----------
    logits : array_like of shape (n,)
    y : array_like of shape (n,)
        Labels in {0, 1} or probabilities in [0, 1] (signed: labels in {-1, +1}).
    sample_weight : array_like of shape (n,), optional
        Non-negative weights :math:`sw_i`.
    reduction : {"mean", "sum", "none"}
        "mean" is :math:`\sum_i sw_i l_i / \sum_i sw_i`; "none" returns :math:`sw_i l_i`.
    signed : bool
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    scalar, or ndarray (n,) for ``reduction="none"``; dtype of ``logits``

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.binary_cross_entropy([40.0], [1.0], reduction="sum"))
    4.248354255291589e-18
    """
    reduction = check_reduction(reduction)
    z = as_float_array(logits, "logits", ndim=1)
    y = check_binary_targets(y, z.shape[0], signed=signed)
    n = z.shape[0]
    if reduction == "mean" and not n:
        raise ValueError("logits is empty; the mean of no samples is undefined")
    sw, weight_sum = check_sample_weight(sample_weight, n) if n else (np.empty(0), 0.0)
    out = np.empty(n, dtype=z.dtype)
    if n:
        _kernel_call(backend, "binary_cross_entropy", z, y, out)
    return _reduce(out, sw, weight_sum, reduction, z.dtype)


def cross_entropy(logits, y, *, sample_weight=None, reduction="mean", backend=None):
    r"""Multinomial cross-entropy of logits (the softmax negative log-likelihood).

    .. math:: l_i = \mathrm{lse}(z_i) - z_{i, y_i}
              \quad\text{or, with probability rows } Y:\quad
              l_i = \sum_k Y_{ik} (\mathrm{lse}(z_i) - z_{ik})

    Parameters
    ----------
    logits : array_like of shape (n, C)
    y : array_like of shape (n,) integer class indices in [0, C), or (n, C) one-hot /
        probability rows
    sample_weight : array_like of shape (n,), optional
    reduction : {"mean", "sum", "none"}
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    scalar, or ndarray (n,) for ``reduction="none"``; dtype of ``logits``

    Examples
    --------
    >>> import fastlogreg
    >>> float(fastlogreg.cross_entropy([[40.0, 0.0]], [0], reduction="sum"))
    4.248354255291589e-18
    """
    reduction = check_reduction(reduction)
    Z = as_float_array(logits, "logits", ndim=2)
    n, C = Z.shape
    if C == 0:
        raise ValueError(f"logits must have at least one class column, got shape {Z.shape}")
    labels, Y = check_class_targets(y, n, C)
    if reduction == "mean" and not n:
        raise ValueError("logits is empty; the mean of no samples is undefined")
    sw, weight_sum = check_sample_weight(sample_weight, n) if n else (np.empty(0), 0.0)
    out = np.empty(n, dtype=Z.dtype)
    if n:  # with no rows, "no labels" would read as "probability rows" in the contract
        _kernel_call(backend, "cross_entropy", Z, labels, Y, out)
    return _reduce(out, sw, weight_sum, reduction, Z.dtype)


# ----------------------------------------------------------------------------- fused
def logistic_loss_grad(X, y, w, b=0.0, *, sample_weight=None, l2=0.0, backend=None):
    r"""Binary logistic regression objective and its gradient, in one pass over ``X``.

    .. math::
        L(w, b) = \frac{\sum_i sw_i\, l_i}{\sum_i sw_i} + \frac{l_2}{2}\|w\|^2, \quad
        l_i = \mathrm{softplus}(z_i) - y_i z_i, \quad z = X w + b

        \nabla_w L = X^T (sw \odot (s(z) - y)) / \textstyle\sum sw + l_2 w, \quad
        \partial_b L = \textstyle\sum_i sw_i (s(z_i) - y_i) / \sum sw

    This is scikit-learn's ``LinearModelLoss(HalfBinomialLoss())`` objective.

    Parameters
    ----------
    X : array_like or sparse matrix of shape (n, d)
        Dense (float32 or float64 used as is, any strides) or SciPy sparse: CSR
        (``csr_matrix`` or ``csr_array``, int32 or int64 indices, unsorted and repeated
        column indices allowed, repeats adding up) is used as is; other sparse formats
        are converted to CSR once (a copy). Sparse data must be finite.
    y : array_like of shape (n,), labels in {0, 1} or probabilities in [0, 1]
    w : array_like of shape (d,)
    b : float
    sample_weight : array_like of shape (n,), optional
    l2 : float >= 0
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    loss : scalar
    grad_w : ndarray of shape (d,)
    grad_b : scalar

    Examples
    --------
    >>> import numpy as np, fastlogreg
    >>> X = np.array([[1.0, 2.0], [3.0, -1.0]])
    >>> loss, gw, gb = fastlogreg.logistic_loss_grad(X, [0, 1], np.zeros(2))
    >>> round(float(loss), 12)  # log 2 at w = 0
    0.69314718056
    """
    return BinaryProblem(X, y, sample_weight).loss_grad(w, b, l2=l2, backend=backend)


def probit_loss_grad(X, y, w, b=0.0, *, sample_weight=None, l2=0.0, backend=None):
    r"""Binary probit regression objective and gradient (the alternative to the logit link).

    .. math:: l_i = -y_i \log\Phi(z_i) - (1 - y_i)\log\Phi(-z_i), \quad z = X w + b

    with the same weighted mean and L2 penalty as :func:`logistic_loss_grad`.

    Parameters
    ----------
    X : array_like or sparse matrix of shape (n, d)
        Dense (float32 or float64 used as is, any strides) or SciPy sparse: CSR
        (``csr_matrix`` or ``csr_array``, int32 or int64 indices, unsorted and repeated
        column indices allowed, repeats adding up) is used as is; other sparse formats
        are converted to CSR once (a copy). Sparse data must be finite.
    y : array_like of shape (n,), labels in {0, 1} or probabilities in [0, 1]
    w : array_like of shape (d,)
    b : float
    sample_weight : array_like of shape (n,), optional
    l2 : float >= 0
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    loss : scalar
    grad_w : ndarray of shape (d,)
    grad_b : scalar

    Examples
    --------
    >>> import numpy as np, fastlogreg
    >>> X = np.array([[1.0, 2.0], [3.0, -1.0]])
    >>> loss, gw, gb = fastlogreg.probit_loss_grad(X, [0, 1], np.zeros(2))
    >>> round(float(loss), 12)  # -log Phi(0) = log 2 at w = 0
    0.69314718056
    >>> gw.shape
    (2,)
    """
    return BinaryProblem(X, y, sample_weight, link="probit").loss_grad(w, b, l2=l2, backend=backend)


def softmax_loss_grad(X, y, W, b=None, *, sample_weight=None, l2=0.0, backend=None):
    r"""Multinomial (softmax) regression objective and its gradient, one pass over ``X``.

    .. math::
        L(W, b) = \frac{\sum_i sw_i (\mathrm{lse}(z_i) - z_{i,y_i})}{\sum_i sw_i}
                  + \frac{l_2}{2}\|W\|_F^2, \quad Z = X W^T + b

        \nabla_W L = (sw \odot (\mathrm{softmax}(Z) - Y))^T X / \textstyle\sum sw + l_2 W

    Parameters
    ----------
    X : array_like or sparse matrix of shape (n, d)
        Dense (float32 or float64 used as is, any strides) or SciPy sparse: CSR
        (``csr_matrix`` or ``csr_array``, int32 or int64 indices, unsorted and repeated
        column indices allowed, repeats adding up) is used as is; other sparse formats
        are converted to CSR once (a copy). Sparse data must be finite.
    y : array_like of shape (n,) class indices in [0, C), or (n, C) one-hot rows
    W : array_like of shape (C, d), as scikit-learn's ``coef_``
    b : array_like of shape (C,), optional (zeros)
    sample_weight : array_like of shape (n,), optional
    l2 : float >= 0
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    loss : scalar
    grad_W : ndarray of shape (C, d)
    grad_b : ndarray of shape (C,)

    Examples
    --------
    >>> import numpy as np, fastlogreg
    >>> loss, gW, gb = fastlogreg.softmax_loss_grad(np.eye(3), [0, 1, 2], np.zeros((3, 3)))
    >>> round(float(loss), 12)  # log 3 at W = 0
    1.098612288668
    """
    W_shape = np.shape(W)
    if len(W_shape) != 2:
        raise ValueError(f"W must be 2-D of shape (n_classes, n_features), got shape {W_shape}")
    problem = MultinomialProblem(X, y, W_shape[0], sample_weight)
    return problem.loss_grad(W, b, l2=l2, backend=backend)


def logistic_hessp(X, w, b, v, v_b=0.0, *, sample_weight=None, l2=0.0, backend=None):
    r"""Hessian-vector product of the binary logistic objective, one pass over ``X``.

    .. math:: H \binom{v}{v_b} = \binom{X^T h + l_2 v}{\sum_i h_i}, \quad
              h_i = sw_i\, s(z_i)(1 - s(z_i))\,(x_i \cdot v + v_b) / \textstyle\sum sw

    The Hessian does not depend on the labels.

    Parameters
    ----------
    X : array_like or sparse matrix of shape (n, d)
        Dense (float32 or float64 used as is, any strides) or SciPy sparse: CSR
        (``csr_matrix`` or ``csr_array``, int32 or int64 indices, unsorted and repeated
        column indices allowed, repeats adding up) is used as is; other sparse formats
        are converted to CSR once (a copy). Sparse data must be finite.
    w : array_like of shape (d,)
    b : float
        The point :math:`(w, b)` at which the Hessian is taken.
    v : array_like of shape (d,)
    v_b : float
        The vector :math:`(v, v_b)` multiplied by the Hessian.
    sample_weight : array_like of shape (n,), optional
    l2 : float >= 0
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    hv : ndarray of shape (d,)
    hv_b : scalar

    Examples
    --------
    >>> import numpy as np, fastlogreg
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> hv, hv_b = fastlogreg.logistic_hessp(X, np.zeros(2), 0.0, np.array([1.0, 0.0]))
    >>> hv.tolist(), float(hv_b)  # s(0)(1 - s(0)) = 1/4, mean over 2 rows
    ([0.125, 0.0], 0.125)
    """
    X = as_design(X)
    problem = BinaryProblem(X, np.zeros(X.shape[0]), sample_weight)
    return problem.hessp(w, b, v, v_b, l2=l2, backend=backend)


def softmax_hessp(X, W, b, V, v_b=None, *, sample_weight=None, l2=0.0, backend=None):
    r"""Hessian-vector product of the softmax objective, one pass over ``X``.

    .. math:: R_{ik} = sw_i\, p_{ik} (u_{ik} - p_i \cdot u_i), \quad u_i = V x_i + v_b,
              \quad H V = R^T X / \textstyle\sum sw + l_2 V, \quad H v_b = \sum_i R_i / \sum sw

    Parameters
    ----------
    X : array_like or sparse matrix of shape (n, d)
        Dense (float32 or float64 used as is, any strides) or SciPy sparse: CSR
        (``csr_matrix`` or ``csr_array``, int32 or int64 indices, unsorted and repeated
        column indices allowed, repeats adding up) is used as is; other sparse formats
        are converted to CSR once (a copy). Sparse data must be finite.
    W : array_like of shape (C, d)
    b : array_like of shape (C,) or None
        The point :math:`(W, b)` at which the Hessian is taken.
    V : array_like of shape (C, d)
    v_b : array_like of shape (C,), optional (zeros)
        The direction :math:`(V, v_b)` multiplied by the Hessian.
    sample_weight : array_like of shape (n,), optional
    l2 : float >= 0
    backend : {None, "numba", "c", "numpy"}, optional
        Kernel backend (None: the current default, :func:`fastlogreg.get_backend`).

    Returns
    -------
    hv : ndarray of shape (C, d)
    hv_b : ndarray of shape (C,)

    Examples
    --------
    >>> import numpy as np, fastlogreg
    >>> V = np.array([[1.0], [-1.0]])
    >>> hv, hv_b = fastlogreg.softmax_hessp(np.ones((4, 1)), np.zeros((2, 1)), None, V)
    >>> hv.round(12).tolist(), hv_b.round(12).tolist()  # p = (1/2, 1/2): r = (1/2, -1/2)
    ([[0.5], [-0.5]], [0.5, -0.5])
    """
    X = as_design(X)
    W_shape = np.shape(W)
    if len(W_shape) != 2:
        raise ValueError(f"W must be 2-D of shape (n_classes, n_features), got shape {W_shape}")
    problem = MultinomialProblem(X, np.zeros(X.shape[0], dtype=np.int64), W_shape[0], sample_weight)
    return problem.hessp(W, b, V, v_b, l2=l2, backend=backend)
