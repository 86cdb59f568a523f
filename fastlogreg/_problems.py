"""Validated training problems: data checked once, objective evaluated many times.

:class:`BinaryProblem` and :class:`MultinomialProblem` hold the design matrix ``X``
(dense or CSR, :mod:`fastlogreg._design`), the targets and the sample weights after one
round of validation, and evaluate the objective of
README.md, "The math" (weighted mean negative log-likelihood plus ``l2/2 ||w||^2``,
intercept not penalized) and its Hessian-vector products through a backend's fused
kernels. The public functions build one per call; solvers build one per fit.
"""

import numpy as np

from . import _backend
from ._design import as_design
from ._validation import (
    as_float64,
    check_binary_targets,
    check_class_targets,
    check_l2,
    check_sample_weight,
)

_LINKS = ("logit", "probit")


def _result_dtype(X, *params):
    """dtype of the returned loss and gradient: NumPy's ``X @ w`` promotion rule."""
    dtypes = [X.dtype]
    for p in params:
        if isinstance(p, (int, float)) and not isinstance(p, np.generic):
            continue  # Python scalars are "weak" in NumPy's promotion (NEP 50)
        dt = np.asarray(p).dtype
        dtypes.append(dt if dt in (np.float32, np.float64) else np.float64)
    return np.result_type(*dtypes)


# Below this many entries of X a pass takes microseconds: waking a second thread costs
# more than it saves (and on a loaded machine can cost milliseconds).
_PARALLEL_MIN_ENTRIES = 1 << 16


def _threads_for(design):
    """Thread count of a fused call on X: 1 for small X, else the configured count
    (at most one chunk per row).

    A function of X's stored entries and the setting only, so results stay reproducible.
    """
    if design.n_stored < _PARALLEL_MIN_ENTRIES:
        return 1
    return min(_backend.get_num_threads(), design.shape[0])


def _penalty(l2, w):
    """(l2 / 2) ||w||^2, and exactly 0 when l2 is 0 (even if ||w||^2 overflows)."""
    return 0.5 * l2 * float(np.vdot(w, w)) if l2 else 0.0


class BinaryProblem:
    """Binary (logit or probit link) problem on ``X`` (n, d) with targets ``y`` (n,).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features), or a design matrix
        from :func:`fastlogreg._design.as_design`
        float32 or float64 data are never copied; sparse input other than CSR is
        converted to CSR once.
    y : array-like of shape (n_samples,)
        Labels in {0, 1} or probabilities in [0, 1]; with ``signed=True``, labels in {-1, +1}.
    sample_weight : array-like of shape (n_samples,), optional
    signed : bool
    link : {"logit", "probit"}
    """

    def __init__(self, X, y, sample_weight=None, *, signed=False, link="logit"):
        if link not in _LINKS:
            raise ValueError(f"link must be one of {_LINKS}, got {link!r}")
        self.X = as_design(X)
        self.n_samples, self.n_features = self.X.shape
        self.y = check_binary_targets(y, self.n_samples, signed=signed)
        self.sample_weight, self.weight_sum = check_sample_weight(sample_weight, self.n_samples)
        self.link = link

    def _params(self, w, b):
        w_arr = as_float64(w, "w", shape=(self.n_features,))
        b_val = as_float64(b, "b", shape=())
        return w_arr, float(b_val)

    n_classes = 1  # parameter blocks of the flat layout: one coefficient vector, one intercept

    def loss_grad_sums(self, w, b, grad_w, grad_b, backend=None):
        """Unnormalised, unpenalised partial sums over this problem's rows (one fused pass).

        ``sum_i sw_i l_i`` is returned; ``grad_w`` (n_features,) float64 receives
        ``sum_i sw_i dl_i/dz_i x_i`` and ``grad_b`` (1,) float64 ``sum_i sw_i dl_i/dz_i``.
        ``w`` is a float64 (n_features,) array and ``b`` a float, as the kernels take them
        (not validated: the caller's flat parameter vector provides them).
        """
        fused = "logistic_loss_grad" if self.link == "logit" else "probit_loss_grad"
        loss_sum, grad_b[0] = self.X.call(_backend.resolve(backend), fused, self.y, w, b,
                                          self.sample_weight, grad_w, _threads_for(self.X))
        return loss_sum

    def hessp_sums(self, w, b, v, v_b, hv, hv_b, backend=None):
        """Unnormalised, unpenalised Hessian-vector partial sums (one fused pass, logit link):
        ``hv`` (n_features,) receives ``X^T diag(sw s (1 - s)) (X v + v_b)`` and ``hv_b``
        (1,) the sum of the same weights times ``X v + v_b``."""
        if self.link != "logit":
            raise NotImplementedError("hessp is implemented for the logit link only")
        hv_b[0] = self.X.call(_backend.resolve(backend), "logistic_hessp", w, b, self.sample_weight,
                              v, v_b, hv, _threads_for(self.X))

    def loss_grad(self, w, b=0.0, *, l2=0.0, backend=None):
        """Objective, gradient in w and gradient in b at ``(w, b)``.

        Returns
        -------
        loss : scalar, grad_w : ndarray (n_features,), grad_b : scalar
            In the dtype NumPy gives ``X @ w`` (float32 only when both are float32).
        """
        l2 = check_l2(l2)
        dtype = _result_dtype(self.X, w, b)
        w_arr, b_val = self._params(w, b)
        grad_w = np.empty(self.n_features)
        grad_b = np.empty(1)
        loss_sum = self.loss_grad_sums(w_arr, b_val, grad_w, grad_b, backend)
        scale = 1.0 / self.weight_sum
        loss = loss_sum * scale + _penalty(l2, w_arr)
        grad_w *= scale
        grad_w += l2 * w_arr
        return dtype.type(loss), grad_w.astype(dtype, copy=False), dtype.type(grad_b[0] * scale)

    def hessp(self, w, b, v, v_b=0.0, *, l2=0.0, backend=None):
        """Hessian of the objective at ``(w, b)`` times the direction ``(v, v_b)``.

        .. math:: H v = X^T \\mathrm{diag}(sw \\, s (1 - s)) (X v + v_b) / \\sum sw + l_2 v

        Returns
        -------
        hv : ndarray (n_features,), hv_b : scalar
        """
        if self.link != "logit":
            raise NotImplementedError("hessp is implemented for the logit link only")
        l2 = check_l2(l2)
        dtype = _result_dtype(self.X, w, b, v)
        w_arr, b_val = self._params(w, b)
        v_arr = as_float64(v, "v", shape=(self.n_features,))
        v_b = float(as_float64(v_b, "v_b", shape=()))
        hv = np.empty(self.n_features)
        hv_b = np.empty(1)
        self.hessp_sums(w_arr, b_val, v_arr, v_b, hv, hv_b, backend)
        scale = 1.0 / self.weight_sum
        hv *= scale
        hv += l2 * v_arr
        return hv.astype(dtype, copy=False), dtype.type(hv_b[0] * scale)


class MultinomialProblem:
    """Softmax problem on ``X`` (n, d) with ``n_classes`` classes.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
        As in :class:`BinaryProblem`.
    y : array-like of shape (n_samples,) int class indices in [0, n_classes), or
        (n_samples, n_classes) one-hot / probability rows.
    n_classes : int >= 2
    sample_weight : array-like of shape (n_samples,), optional
    """

    def __init__(self, X, y, n_classes, sample_weight=None):
        self.X = as_design(X)
        self.n_samples, self.n_features = self.X.shape
        if n_classes < 1:
            raise ValueError(f"n_classes must be >= 1, got {n_classes}")
        self.n_classes = int(n_classes)
        self.labels, self.Y = check_class_targets(y, self.n_samples, self.n_classes)
        self.sample_weight, self.weight_sum = check_sample_weight(sample_weight, self.n_samples)

    def _params(self, W, b):
        C, d = self.n_classes, self.n_features
        W_arr = as_float64(W, "W", shape=(C, d))
        b_arr = np.zeros(C) if b is None else as_float64(b, "b", shape=(C,))
        return W_arr, b_arr

    def loss_grad_sums(self, W, b, grad_W, grad_b, backend=None):
        """Unnormalised, unpenalised partial sums over this problem's rows (one fused pass):
        returns ``sum_i sw_i l_i``; ``grad_W`` (n_classes, n_features) and ``grad_b``
        (n_classes,), float64, receive the weighted sums of the per-row gradients.
        ``W`` and ``b`` are float64 arrays of those shapes (not validated)."""
        return self.X.call(_backend.resolve(backend), "softmax_loss_grad", self.labels, self.Y, W, b,
                           self.sample_weight, grad_W, grad_b, _threads_for(self.X))

    def hessp_sums(self, W, b, V, v_b, hv, hv_b, backend=None):
        """Unnormalised, unpenalised Hessian-vector partial sums (one fused pass) into
        ``hv`` (n_classes, n_features) and ``hv_b`` (n_classes,)."""
        self.X.call(_backend.resolve(backend), "softmax_hessp", W, b, self.sample_weight,
                    V, v_b, hv, hv_b, _threads_for(self.X))

    def loss_grad(self, W, b=None, *, l2=0.0, backend=None):
        """Objective and gradients at ``(W, b)``.

        Returns
        -------
        loss : scalar, grad_W : ndarray (n_classes, n_features), grad_b : ndarray (n_classes,)
        """
        l2 = check_l2(l2)
        dtype = _result_dtype(self.X, W, *(() if b is None else (b,)))
        W_arr, b_arr = self._params(W, b)
        grad_W = np.empty_like(W_arr)
        grad_b = np.empty_like(b_arr)
        loss_sum = self.loss_grad_sums(W_arr, b_arr, grad_W, grad_b, backend)
        scale = 1.0 / self.weight_sum
        loss = loss_sum * scale + _penalty(l2, W_arr)
        grad_W *= scale
        grad_W += l2 * W_arr
        grad_b *= scale
        return dtype.type(loss), grad_W.astype(dtype, copy=False), grad_b.astype(dtype, copy=False)

    def hessp(self, W, b, V, v_b=None, *, l2=0.0, backend=None):
        """Hessian of the objective at ``(W, b)`` times the direction ``(V, v_b)``.

        Returns
        -------
        hv : ndarray (n_classes, n_features), hv_b : ndarray (n_classes,)
        """
        l2 = check_l2(l2)
        dtype = _result_dtype(self.X, W, V)
        W_arr, b_arr = self._params(W, b)
        V_arr = as_float64(V, "V", shape=(self.n_classes, self.n_features))
        vb_arr = np.zeros(self.n_classes) if v_b is None else as_float64(v_b, "v_b", shape=(self.n_classes,))
        hv = np.empty_like(V_arr)
        hv_b = np.empty_like(vb_arr)
        self.hessp_sums(W_arr, b_arr, V_arr, vb_arr, hv, hv_b, backend)
        scale = 1.0 / self.weight_sum
        hv *= scale
        hv += l2 * V_arr
        hv_b *= scale
        return hv.astype(dtype, copy=False), hv_b.astype(dtype, copy=False)
