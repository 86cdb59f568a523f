r"""Proximal Newton for the L1 and elastic-net penalties (the "prox-newton" solver).

Minimises the composite objective

.. math:: F(\theta) = f(\theta) + \lambda_1 \|w\|_1

where ``f`` is the smooth objective of a :class:`~fastlogreg.solvers.Objective` (the
weighted mean negative log-likelihood plus ``l2/2 ||w||^2``), ``w`` the coefficients
(all classes; the intercepts are not penalised) and ``theta = [w, b]`` the flat
parameter vector of :mod:`fastlogreg.solvers`.

Each outer iteration (Lee, Sun and Saunders, SIAM J. Optim. 24(3), 2014; Yuan, Ho and
Lin, "newGLMNET", JMLR 13, 2012):

1. the exact gradient of ``f`` comes from one fused loss+gradient pass over ``X``;
2. the working set: the features with a nonzero coefficient or whose gradient violates
   the optimality conditions (``|g_j| > lambda_1``), for all classes of such a feature,
   plus the intercepts; along a path, the first iteration also takes the features kept
   by the sequential strong rule (Tibshirani et al., JRSS B 74(2), 2012): ``|g_j| >
   2 lambda_1 - lambda_1^prev``. The exact gradient checks every feature at every
   iteration, so a wrongly screened feature enters at the next one;
3. the Hessian of ``f`` restricted to the working set, ``X_A^T D X_A / sum(sw)`` (softmax:
   the blocks ``X_A^T diag(sw p_k (delta_kl - p_l)) X_A``), formed from a row sample of
   ``X`` (every ``stride``-th row, as the "newton" solver's Hessian sample;
   :func:`~fastlogreg.solvers.hessian_sample_stride`) in row blocks; for CSR X of two
   classes, by the pairwise products of each row's entries in the working set
   (:func:`_csr_gram`: ``k^2 / 2`` updates for a row with ``k`` of them);
4. coordinate descent with soft-thresholding on the quadratic model
   ``g.d + d^T H d / 2 + lambda_1 ||w + d||_1`` (:func:`coordinate_descent`), which
   puts exact zeros where the model's minimiser has them;
5. a backtracking line search on ``F`` with the sufficient decrease
   ``F(theta + t d) <= F(theta) + sigma t Delta``,
   ``Delta = g.d + lambda_1 (||w + d||_1 - ||w||_1)``.

The stopping test is the one of the smooth solvers applied to the minimum-norm
subgradient of ``F`` (:func:`min_norm_subgradient`): its max-norm at most ``tol``. With
``lambda_1 = 0`` it is the gradient, so "converged" means the same for every penalty.
A sampled Hessian that misleads (a step the line search cuts back, or less than halving
the subgradient) is replaced by the full one for the rest of the run: the gradient and
the stopping test are always exact, so the optimum does not depend on the sample.
"""

import math

import numba
import numpy as np

from .solvers import SolverResult, _Printer, hessian_sample_stride

#: Armijo constant of the line search on F (newGLMNET's).
SIGMA = 0.01
#: Coordinate descent stops when no coordinate moves the model's gradient by more than
#: ``INNER_FORCING min(1, sqrt(s)) s``, ``s`` the minimum-norm subgradient's max-norm:
#: an inexact Newton step accurate enough for a superlinear rate.
INNER_FORCING = 0.1
MAX_SWEEPS = 1000


def min_norm_subgradient(grad, theta, l1, n_coef):
    """The element of least norm of the subdifferential of ``F`` at ``theta``, (n_params,).

    For a coefficient ``w_j != 0``: ``g_j + l1 sign(w_j)``; for ``w_j = 0``:
    ``sign(g_j) max(|g_j| - l1, 0)``; for an intercept: ``g_j``. ``grad`` is the gradient
    of the smooth part ``f`` (its L2 term included).
    """
    out = np.array(grad, dtype=np.float64)
    if l1 == 0.0:
        return out
    g = out[:n_coef]
    w = theta[:n_coef]
    shrunk = np.sign(g) * np.maximum(np.abs(g) - l1, 0.0)
    out[:n_coef] = np.where(w != 0.0, g + l1 * np.sign(w), shrunk)
    return out


def _cd_body(G, g, u, w, penalized, l1, tol, max_sweeps):
    m = g.shape[0]
    Gd = np.zeros(m)
    for j in range(m):
        dj = u[j] - w[j]
        if dj != 0.0:
            for i in range(m):
                Gd[i] += G[i, j] * dj
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        largest = 0.0
        for j in range(m):
            Gjj = G[j, j]
            if Gjj <= 0.0:
                continue
            z = u[j] - (g[j] + Gd[j]) / Gjj
            new = z
            if penalized[j]:
                t = l1 / Gjj
                if z > t:
                    new = z - t
                elif z < -t:
                    new = z + t
                else:
                    new = 0.0
            delta = new - u[j]
            if delta != 0.0:
                u[j] = new
                for i in range(m):
                    Gd[i] += delta * G[i, j]
                change = abs(delta) * Gjj
                if change > largest:
                    largest = change
        if largest <= tol:
            break
    return sweeps


def _csr_gram_rows(data, indices, indptr, h, position, intercept, G, lo, hi):
    """The upper triangle of ``X_A^T diag(h) X_A`` over rows ``[lo, hi)`` of a CSR block,
    added to ``G`` (see :func:`_csr_gram`)."""
    last = G.shape[0] - 1
    longest = 0
    for i in range(lo, hi):
        longest = max(longest, indptr[i + 1] - indptr[i])
    slots = np.empty(longest, dtype=np.int64)
    values = np.empty(longest)
    for i in range(lo, hi):
        hi_weight = h[i]
        if hi_weight == 0.0:
            continue
        k = 0
        for p in range(indptr[i], indptr[i + 1]):
            q = position[indices[p]]
            if q >= 0:
                slots[k] = q
                values[k] = data[p]
                k += 1
        for a in range(k):
            va = hi_weight * values[a]
            qa = slots[a]
            for c in range(k):
                qc = slots[c]
                if qc >= qa:  # the upper triangle (a row's slots need not be sorted)
                    G[qa, qc] += va * values[c]
            if intercept:
                G[qa, last] += va
        if intercept:
            G[last, last] += hi_weight


def _csr_gram(data, indices, indptr, h, position, intercept, G, n_threads):
    """``G += X_A^T diag(h) X_A`` for a CSR block, with ``X_A`` its columns ``j`` of
    ``position[j] >= 0`` in that order, then (``intercept``) a column of ones.

    Each row's entries in A are gathered once and their pairwise products added to an
    upper triangle (``k (k + 1) / 2`` updates for a row with ``k`` entries in A). The rows
    are split into ``n_threads`` chunks, each on a Python thread (the compiled loop
    releases the GIL) with a triangle of its own; the triangles are added in chunk order
    and mirrored, so the result does not depend on the threads' timing.
    """
    n = indptr.shape[0] - 1
    n_threads = max(1, min(n_threads, n))
    parts = np.zeros((n_threads,) + G.shape)
    bounds = [(n * t // n_threads, n * (t + 1) // n_threads) for t in range(n_threads)]

    def run(t):
        _csr_gram_rows(data, indices, indptr, h, position, intercept, parts[t], *bounds[t])

    if n_threads == 1:
        run(0)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(run, range(n_threads)))
    upper = parts.sum(axis=0) if n_threads > 1 else parts[0]
    G += upper
    G += np.triu(upper, 1).T


# scalar loops: compiled, ~100x faster than in Python
_cd_body = numba.njit(cache=True, nogil=True, error_model="numpy")(_cd_body)
_csr_gram_rows = numba.njit(cache=True, nogil=True, error_model="numpy")(_csr_gram_rows)


def coordinate_descent(G, g, w, penalized, l1, tol, max_sweeps=MAX_SWEEPS):
    r"""Minimise the quadratic model :math:`g^T d + \frac12 d^T G d + l_1 \sum_{j \in P} |w_j + d_j|`
    by cyclic coordinate descent with soft-thresholding.

    Parameters
    ----------
    G : ndarray of shape (m, m), symmetric positive semi-definite
    g : ndarray of shape (m,), the gradient at ``w``
    w : ndarray of shape (m,), the current parameters
    penalized : ndarray of shape (m,), bool: the coordinates in ``P``
    l1 : float >= 0
    tol : float
        Stop after a sweep in which no coordinate changed the model's gradient by more
        than ``tol`` (``|delta_j| G_jj``).
    max_sweeps : int

    Returns
    -------
    u : ndarray of shape (m,)
        The new parameters ``w + d``; a penalised coordinate the soft-threshold sets to
        zero is exactly 0.
    sweeps : int
    """
    u = np.array(w, dtype=np.float64)
    sweeps = _cd_body(np.ascontiguousarray(G, dtype=np.float64), np.asarray(g, dtype=np.float64), u,
                      np.asarray(w, dtype=np.float64), np.asarray(penalized, dtype=np.bool_),
                      float(l1), float(tol), int(max_sweeps))
    return u, int(sweeps)


# ----------------------------------------------------------------------------- Hessian
def _second_derivative_probit(z, y):
    """d^2/dz^2 of ``-y log Phi(z) - (1 - y) log Phi(-z)``, (n,), stable in the tails."""
    from scipy import special

    log_phi = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
    r_pos = np.exp(log_phi - special.log_ndtr(z))   # phi(z) / Phi(z)
    r_neg = np.exp(log_phi - special.log_ndtr(-z))  # phi(z) / Phi(-z)
    return y * r_pos * (z + r_pos) + (1.0 - y) * r_neg * (r_neg - z)


class HessianModel:
    """The Hessian of an objective's smooth part on a set of features, from a row sample.

    Parameters
    ----------
    obj : :class:`~fastlogreg.solvers.Objective`
    stride : int or None
        Every ``stride``-th row (a contiguous copy); None: the "newton" solver's choice
        for this problem's number of parameters; 1: every row (no copy).

    Reused along a path of penalties (the sample depends on the data only).
    """

    def __init__(self, obj, stride=None):
        self.obj = obj
        p = obj.problem
        if stride is None:
            stride = hessian_sample_stride(p.n_samples, obj.n_params)
        self._use(stride)

    def _use(self, stride):
        p = self.obj.problem
        sw = p.sample_weight
        if stride > 1:
            rows = slice(None, None, stride)
            sample_sw = sw[rows] if sw.shape[0] else None
            if sample_sw is None or np.any(sample_sw > 0):
                self.stride = stride
                self.design = p.X.take_rows(rows, contiguous=True)
                self.sw = sample_sw
                self.target = self._target(rows)
                self.weight_sum = (float(np.sum(sample_sw)) if sample_sw is not None
                                   else float(self.design.shape[0]))
                return
        self.stride = 1
        self.design = p.X
        self.sw = sw if sw.shape[0] else None
        self.target = self._target(slice(None))
        self.weight_sum = p.weight_sum

    def _target(self, rows):
        p = self.obj.problem
        if not self.obj.multinomial:
            return p.y[rows]
        if p.labels.shape[0]:
            labels = p.labels[rows]
            return labels  # class indices; the Hessian does not depend on them
        return None

    def use_full(self):
        """Every row from now on."""
        if self.stride > 1:
            self._use(1)

    def _row_weights(self, Z, sw, rows):
        """Binary: the per-row second derivatives times the weights, (nb,)."""
        z = Z[:, 0]
        if self.obj.problem.link == "logit":
            s = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow
            h = s * (1.0 - s)
        else:
            h = _second_derivative_probit(z, self.target[rows])
        return h if sw is None else h * sw

    def _add_csr_binary(self, G, h, position):
        """``G += X_A^T diag(h) X_A`` over all rows of a CSR X of the binary model (``h``: the
        rows' weighted second derivatives), without forming ``X_A``."""
        from ._problems import _threads_for

        X = self.design
        _csr_gram(X.data, X.indices, X.indptr, h, position,
                  bool(self.obj.fit_intercept), G, _threads_for(X))

    def _add_sparse(self, G, XA, Z, sw, K, cols, rows):
        """``G += X_A^T D X_A`` for a CSR block (softmax: every pair of class blocks)."""
        from scipy import sparse

        XA = XA.astype(np.float64)
        if self.obj.fit_intercept:
            XA = sparse.hstack([XA, np.ones((XA.shape[0], 1))], format="csr")
        if K == 1:
            h = self._row_weights(Z, sw, rows)
            G += (XA.T @ sparse.diags(h) @ XA).toarray()
            return
        Z = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        weight = np.ones(P.shape[0]) if sw is None else sw
        for k in range(K):
            for m in range(k, K):
                h = weight * P[:, k] * ((1.0 if k == m else 0.0) - P[:, m])
                block = (XA.T @ sparse.diags(h) @ XA).toarray()
                G[k * cols:(k + 1) * cols, m * cols:(m + 1) * cols] += block
                if m != k:
                    G[m * cols:(m + 1) * cols, k * cols:(k + 1) * cols] += block.T

    def matrix(self, theta, features):
        """The Hessian of the smooth part on the working set.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
        features : ndarray of int, shape (m,), sorted feature indices

        Returns
        -------
        G : ndarray of shape (q, q)
            ``q = K (m + i)`` with ``K`` the number of coefficient rows (1 for two classes)
            and ``i = 1`` with an intercept: class-major, each class's ``m`` coefficients
            then (with an intercept) its intercept.
        index : ndarray of int, shape (q,)
            The position in ``theta`` of each row of ``G``.
        """
        obj = self.obj
        K, d = obj.n_classes, obj.n_features
        w, b = obj.split(theta)
        W = np.asarray(w, dtype=np.float64).reshape(K, d)
        m = features.shape[0]
        cols = m + int(obj.fit_intercept)
        G = np.zeros((K * cols, K * cols))
        csr_binary = K == 1 and self.design.is_sparse
        if csr_binary:  # the rows' weights first, then one pass over the entries
            h = np.empty(self.design.shape[0])
        for rows, block in self.design.row_blocks():
            Z = block @ W.T  # (nb, K), float64 (W is)
            Z = np.asarray(Z, dtype=np.float64) + np.asarray(b, dtype=np.float64)
            sw = None if self.sw is None else self.sw[rows]
            if csr_binary:
                h[rows] = self._row_weights(Z, sw, rows)
                continue
            XA = block[:, features]
            if hasattr(XA, "toarray"):  # CSR block: sparse products cost nnz^2 / n, not m^2 n
                self._add_sparse(G, XA, Z, sw, K, cols, rows)
                continue
            XA = np.asarray(XA, dtype=np.float64)
            if obj.fit_intercept:
                XA = np.hstack([XA, np.ones((XA.shape[0], 1))])
            if K == 1:
                h = self._row_weights(Z, sw, rows)
                G += XA.T @ (XA * h[:, None])
            else:
                Z -= Z.max(axis=1, keepdims=True)
                P = np.exp(Z)
                P /= P.sum(axis=1, keepdims=True)
                if sw is not None:
                    Pw = P * sw[:, None]
                else:
                    Pw = P
                # diag blocks X^T diag(sw p_k) X, minus U^T diag(sw) U with U_(k,j) = p_k x_j
                for k in range(K):
                    sl = slice(k * cols, (k + 1) * cols)
                    G[sl, sl] += XA.T @ (XA * Pw[:, k:k + 1])
                U = (P[:, :, None] * XA[:, None, :]).reshape(XA.shape[0], K * cols)
                Uw = U if sw is None else U * sw[:, None]
                G -= U.T @ Uw
        if csr_binary:
            position = np.full(d, -1, dtype=np.int64)
            position[features] = np.arange(m)
            self._add_csr_binary(G, h, position)
        G /= self.weight_sum
        coef_index = (np.arange(K)[:, None] * d + features[None, :])
        if obj.fit_intercept:
            index = np.hstack([coef_index, obj.n_coef + np.arange(K)[:, None]]).ravel()
        else:
            index = coef_index.ravel()
        if obj.l2:
            G[np.diag_indices_from(G)] += np.where(index < obj.n_coef, obj.l2, 0.0)
        return G, index


# ----------------------------------------------------------------------------- solver
def _working_set(theta, grad, obj, threshold):
    """Features (sorted) with a nonzero coefficient in some class or some class's
    ``|g| > threshold``."""
    K, d = obj.n_classes, obj.n_features
    W = theta[: obj.n_coef].reshape(K, d)
    Gw = grad[: obj.n_coef].reshape(K, d)
    keep = np.any(W != 0.0, axis=0) | np.any(np.abs(Gw) > threshold, axis=0)
    return np.flatnonzero(keep)


def prox_newton(obj, theta0, *, l1, tol=1e-6, max_iter=100, verbose=0, model=None,
                screen_l1=None):
    """Minimise ``F = f + l1 ||w||_1`` from ``theta0`` (see the module docstring).

    Parameters
    ----------
    obj : :class:`~fastlogreg.solvers.Objective`
        The smooth part ``f`` (its ``l2`` is the elastic net's L2 strength).
    theta0 : ndarray of shape (n_params,)
    l1 : float >= 0
    tol : float >= 0
        Stop when the minimum-norm subgradient's max-norm is at most ``tol``.
    max_iter : int
        Outer (Newton) iterations.
    verbose : int
    model : HessianModel, optional
        Reuse a row sample (along a path); a new one otherwise.
    screen_l1 : float, optional
        The previous ``l1`` of a path: the first working set also takes the features of
        the sequential strong rule, ``|g_j| > 2 l1 - screen_l1``.

    Returns
    -------
    :class:`~fastlogreg.solvers.SolverResult`
        ``loss`` is ``F``; ``grad_max`` the max-norm of the minimum-norm subgradient.
    """
    l1 = float(l1)
    printer = _Printer(verbose, "prox-newton")
    model = HessianModel(obj) if model is None else model
    n_coef = obj.n_coef
    theta = np.array(theta0, dtype=np.float64)
    smooth, grad = obj.loss_grad(theta)

    def composite(smooth_value, th):
        return smooth_value + l1 * float(np.sum(np.abs(th[:n_coef])))

    F = composite(smooth, theta)
    sub_max = float(np.max(np.abs(min_norm_subgradient(grad, theta, l1, n_coef)), initial=0.0))
    eps = np.finfo(float).eps
    message = "maximum number of iterations reached"
    converged = hit = False
    n_hessian = 0.0
    k = 0
    printer.line(0, F, sub_max)
    threshold = l1 if screen_l1 is None else max(0.0, 2.0 * l1 - float(screen_l1))
    while True:
        if sub_max <= tol:
            converged, message = True, f"minimum-norm subgradient max-norm {sub_max:.3e} <= tol"
            break
        if k >= max_iter:
            hit = True
            break
        k += 1
        features = _working_set(theta, grad, obj, threshold)
        threshold = l1
        G, index = model.matrix(theta, features)
        n_hessian += 1.0 / model.stride
        penalized = index < n_coef
        target, _ = coordinate_descent(G, grad[index], theta[index], penalized, l1,
                                       INNER_FORCING * min(1.0, math.sqrt(sub_max)) * sub_max)
        direction = np.zeros_like(theta)
        direction[index] = target - theta[index]
        # term by term: the sums of |w| cancel to far below their rounding near the optimum
        change = grad[index] * (target - theta[index])
        change[penalized] += l1 * (np.abs(target[penalized]) - np.abs(theta[index][penalized]))
        delta = float(np.sum(change))
        if not delta < 0.0:
            if model.stride > 1:
                model.use_full()
                continue
            message = "no descent direction: the quadratic model predicts no decrease in float64"
            break
        t = 1.0
        accepted = False
        while t > 1e-12:
            if t == 1.0:  # the model's minimiser itself, exact zeros included
                candidate = theta.copy()
                candidate[index] = target
            else:
                candidate = theta + t * direction
            smooth_new, grad_new = obj.loss_grad(candidate)
            F_new = composite(smooth_new, candidate)
            if F_new <= F + SIGMA * t * delta:
                accepted = True
                break
            # At the optimum the decrease is below float64's resolution of F: accept a
            # step that changes F by rounding only and reduces the subgradient.
            if F_new - F <= 16 * eps * abs(F):
                new_max = float(np.max(np.abs(min_norm_subgradient(grad_new, candidate, l1, n_coef)),
                                       initial=0.0))
                if new_max < sub_max:
                    accepted = True
                    break
            t *= 0.5
        if not accepted:
            message = "line search failed: no decrease possible in float64"
            break
        theta, smooth, grad, F = candidate, smooth_new, grad_new, F_new
        previous = sub_max
        sub_max = float(np.max(np.abs(min_norm_subgradient(grad, theta, l1, n_coef)), initial=0.0))
        printer.line(k, F, sub_max, f"  step {t:.3g}  working set {features.shape[0]}")
        if model.stride > 1 and (t < 1.0 or sub_max > 0.5 * previous):
            model.use_full()
    return SolverResult(theta=theta, n_iter=k, loss=F, grad_max=sub_max, converged=converged,
                        hit_max_iter=hit, message=message, n_loss_grad=obj.n_loss_grad,
                        n_hessp=obj.n_hessp + n_hessian)


def minimize(obj, theta0, **kwargs):
    """:func:`prox_newton` with the BLAS pools limited to one thread, as
    :func:`fastlogreg.solvers.minimize` runs the smooth solvers (the fused passes use
    every core; the Hessian sample's products are small)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return prox_newton(obj, theta0, **kwargs)
