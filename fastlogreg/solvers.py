"""Solvers: minimise a validated problem's objective through its fused kernels only.

Every solver sees the model through an :class:`Objective`, a flat float64 parameter
vector ``theta`` (``[w, b]`` for the binary model, ``[W.ravel(), b]`` for softmax, the
intercept left out when it is not fitted) and two calls into the backend:
``loss_grad(theta)`` (one fused pass over ``X``) and ``hessp(theta, v)`` (one fused pass).
Nothing here touches ``X`` itself: no validation per iteration, no n-sized arrays.

dtypes: ``theta``, gradients, Hessian-vector products and every solver's state are
float64 whatever the dtype of ``X`` (SciPy's L-BFGS-B works in float64 only, and the
kernels return float64 sums for float32 ``X`` too: one precision for all three solvers,
so "lbfgs", "newton" and "sgd" reach the same optimum to ``tol``). float32 ``X`` is
passed to the kernels as it is, never converted: they read it in float32 and sum in
float64; row subsets (Newton's Hessian sample, the SGD mini-batches) keep its dtype.
The estimator rounds the returned ``theta`` to the dtype of ``X``.

Solvers
-------
``lbfgs``
    SciPy's L-BFGS-B on ``loss_grad``, stopped when the gradient's max-norm is at most
    ``tol`` (SciPy's ``pgtol``), as scikit-learn's "lbfgs".
``newton``
    Inexact Newton: the Newton system is solved by conjugate gradients on fused
    Hessian-vector products with the forcing term ``min(0.5, sqrt(|g|)) |g|``
    (superlinear convergence), then an Armijo backtracking line search whose accepted
    point's gradient is reused. One ``loss_grad`` plus a few ``hessp`` per iteration.
    With many rows per parameter the Hessian-vector products run on a row sample only
    (every 20th row or sparser, a contiguous copy of at most 1/20 of X and at most 128
    rows per parameter; Byrd, Chin, Neveitt and Nocedal, SIAM J. Optim. 21(3), 2011;
    :func:`~fastlogreg.solvers.hessian_sample_stride`): the gradient, the line search and the
    stopping test stay exact, so the optimum is the same; the rate becomes linear, at
    about the relative error of the sampled Hessian per iteration. An iteration whose
    step the line search cuts back, or which leaves more than half the gradient,
    switches to the full Hessian for the rest of the run.
``sgd``
    Mini-batch SVRG (stochastic variance-reduced gradient): each epoch takes the full
    gradient at a snapshot (which is also the exact convergence test), then one pass of
    mini-batch steps ``theta -= eta (g_B(theta) - g_B(snapshot) + g(snapshot))``. The
    step ``eta = 1 / (2 L)`` comes from ``L``, the largest Hessian eigenvalue at the
    point of maximal curvature estimated by power iteration on Hessian-vector products
    of a row subsample; an epoch that raises the objective is undone and halves ``eta``.
    No step size to tune, and linear convergence to the exact optimum.

Each returns a :class:`SolverResult`.

On sparse X, "lbfgs" and "newton" are preconditioned by the diagonal of the Hessian at
0 (``Objective.diagonal_scale``): L-BFGS-B runs on the rescaled parameters and CG
is the Jacobi-preconditioned one; the stopping test is unchanged.
"""

import functools
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from . import _chunks
from ._problems import BinaryProblem, MultinomialProblem, _penalty

SOLVERS = ("lbfgs", "newton", "sgd")


@dataclass
class SolverResult:
    """What a solver returns.

    Attributes
    ----------
    theta : ndarray of float64, the final flat parameter vector
    n_iter : int, iterations (L-BFGS / Newton) or epochs (SGD)
    loss : float, objective at ``theta``
    grad_max : float, max-norm of the gradient at ``theta``
    converged : bool, ``grad_max <= tol``, or L-BFGS's relative-decrease stop with a
        gradient at float64's resolution (``sqrt(eps max(1, |loss|))``)
    hit_max_iter : bool, stopped because ``max_iter`` was reached
    message : str
    n_loss_grad, n_hessp : float, kernel calls made, in full-data passes (``sgd``'s
        mini-batch calls and ``newton``'s sampled Hessian products count as fractions)
    """

    theta: np.ndarray
    n_iter: int
    loss: float
    grad_max: float
    converged: bool
    hit_max_iter: bool
    message: str
    n_loss_grad: float = 0
    n_hessp: float = 0


class Objective:
    r"""An L2-penalised objective over row chunks, as a function of flat ``theta``.

    .. math::
        L(\theta) = \frac{\sum_k S_k(w, b)}{\sum_k W_k} + \frac{l_2}{2} \|w\|^2

    with ``S_k`` the weighted loss sum of chunk ``k`` and ``W_k`` its weight sum. Each
    evaluation asks the source for every chunk's partial sums (loss, gradient or
    Hessian-vector product: one fused pass over the chunk,
    :func:`fastlogreg._chunks.loss_grad_partials`), adds them in chunk order, then
    divides by the weight sum and adds the penalty once. The solvers see this object
    only, so they run unchanged on one in-memory array (one chunk), a list of chunks, a
    stream read from disk or a Dask array (:mod:`fastlogreg._sources`).

    Parameters
    ----------
    problem : BinaryProblem, MultinomialProblem or a source of :mod:`fastlogreg._sources`
        A problem is the in-memory source of one chunk.
    l2 : float >= 0
    fit_intercept : bool
    backend : str or None
    """

    def __init__(self, problem, l2, fit_intercept=True, backend=None):
        from ._sources import ProblemSource

        in_memory = isinstance(problem, (BinaryProblem, MultinomialProblem))
        source = ProblemSource(problem) if in_memory else problem
        self.source = source
        self.problem = source.problem  # the in-memory problem, or None for chunked data
        self.l2 = float(l2)
        self.fit_intercept = bool(fit_intercept)
        self.backend = backend
        self.multinomial = source.multinomial
        self.link = source.link
        self.dtype = source.dtype
        self.is_sparse = source.is_sparse
        self.n_samples = source.n_samples
        self.n_features = source.n_features
        self.n_classes = source.n_classes
        self.n_coef = self.n_classes * self.n_features
        self.n_params = self.n_coef + (self.n_classes if self.fit_intercept else 0)
        self.n_loss_grad = 0
        self.n_hessp = 0
        self._zero_b = np.zeros(self.n_classes)

    def split(self, theta):
        """``(w, b)``: views of ``theta`` (``w`` (d,) or (C, d); ``b`` scalar or (C,))."""
        w = theta[: self.n_coef]
        if self.multinomial:
            W = w.reshape(self.n_classes, self.n_features)
            b = theta[self.n_coef:] if self.fit_intercept else self._zero_b
            return W, b
        return w, (float(theta[self.n_coef]) if self.fit_intercept else 0.0)

    def join(self, w, b):
        theta = np.empty(self.n_params, dtype=np.float64)  # float32 coefficients are widened
        theta[: self.n_coef] = np.ravel(w)
        if self.fit_intercept:
            theta[self.n_coef:] = b
        return theta

    def prime(self, theta, loss, grad):
        """Remember ``(loss, grad)`` at ``theta``: the next ``loss_grad(theta)`` returns it
        without a pass over X (the estimator evaluates the start point itself)."""
        self._primed = (np.array(theta, dtype=np.float64), float(loss),
                        np.array(grad, dtype=np.float64))

    def _params(self, theta):
        """``(w, b)`` as the kernels take them: float64 contiguous arrays and a float."""
        w, b = self.split(np.ascontiguousarray(theta, dtype=np.float64))
        return w, b

    def loss_grad(self, theta):
        """Objective and flat gradient at ``theta`` (one fused pass over every chunk)."""
        primed = getattr(self, "_primed", None)
        if primed is not None:
            self._primed = None
            if np.array_equal(primed[0], theta):
                return primed[1], primed[2].copy()
        self.n_loss_grad += 1
        w, b = self._params(theta)
        total = _sum_in_order(self.source.map(_chunks.loss_grad_partials, w, b, self.backend))
        scale = 1.0 / self.source.weight_sum
        grad = total[1:1 + self.n_params]
        grad *= scale
        grad[: self.n_coef] += self.l2 * w.ravel()
        loss = total[0] * scale + _penalty(self.l2, w)
        return float(loss), grad

    def hessp(self, theta, v):
        """Hessian at ``theta`` times the flat direction ``v`` (one fused pass over every chunk)."""
        self.n_hessp += 1
        w, b = self._params(theta)
        vw, vb = self._params(v)
        total = _sum_in_order(self.source.map(_chunks.hessp_partials, w, b, vw, vb, self.backend))
        out = total[: self.n_params]
        out *= 1.0 / self.source.weight_sum
        out[: self.n_coef] += self.l2 * vw.ravel()
        return out

    def diagonal_scale(self):
        """``sqrt`` of the Hessian's diagonal at ``theta = 0`` for the logit link, (n_params,):
        ``(1/4) sum_i sw_i x_ij^2 / sum_i sw_i + l2`` for a coefficient of column j (the same
        for every class) and ``1/4`` for an intercept; 1 where that is 0 (an all-zero
        column without penalty, whose gradient is always 0). The solvers' diagonal
        preconditioner: on sparse data the columns' frequencies, hence these curvatures,
        span orders of magnitude."""
        squares = _sum_in_order(self.source.map(_chunks.column_square_sums))
        curvature = 0.25 * squares / self.source.weight_sum + self.l2
        scale = np.empty(self.n_params)
        scale[: self.n_coef] = np.tile(np.sqrt(curvature), self.n_classes)
        scale[self.n_coef:] = 0.5
        scale[scale == 0.0] = 1.0
        return scale

    def max_abs(self):
        """Largest |x| of the data (for error messages)."""
        return self.source.max_abs()

    def sample(self, stride):
        """The same objective on the rows whose index is a multiple of ``stride`` (a
        contiguous copy, held where the data is), or None when those rows hold no
        positive weight."""
        sub = self.source.sample(stride)
        return None if sub is None else Objective(sub, self.l2, self.fit_intercept, self.backend)

    def rows(self, rows, copy=False):
        """The same objective on a subset of rows (a slice or an index array), by
        :meth:`take_rows` of the design matrix: with ``copy=True`` a contiguous copy of the
        rows of a dense X (the kernels' fast path), else a view where one exists.
        In-memory data only (``self.problem`` set)."""
        p = self.problem
        if p is None:
            raise ValueError("row subsets need the data in memory (this objective reads chunks)")
        X = p.X.take_rows(rows, contiguous=copy)
        sw = p.sample_weight[rows] if p.sample_weight.shape[0] else None
        if self.multinomial:
            target = p.labels[rows] if p.labels.shape[0] else p.Y[rows]
            sub = MultinomialProblem(X, target, p.n_classes, sw)
        else:
            sub = BinaryProblem(X, p.y[rows], sw, link=p.link)
        return Objective(sub, self.l2, self.fit_intercept, self.backend)


def _sum_in_order(parts):
    """The element-wise sum of the chunks' partial vectors, added in chunk order (a fixed
    order: the result does not depend on which chunk finished first)."""
    total = parts[0]
    if len(parts) > 1 or not total.flags.writeable:
        total = np.array(total, dtype=np.float64)
        for part in parts[1:]:
            total += part
    return total


class _Printer:
    """``verbose`` output: one line per iteration (objective, gradient max-norm, time)."""

    def __init__(self, verbose, solver, stream=None):
        self.verbose = int(verbose)
        self.solver = solver
        self.stream = stream if stream is not None else sys.stdout
        self.start = time.perf_counter()
        if self.verbose:
            print(f"[fastlogreg {solver}] {'iter':>5} {'objective':>22} {'grad_max':>10} "
                  f"{'time_s':>8}", file=self.stream)

    def line(self, k, loss, grad_max, extra=""):
        if self.verbose:
            t = time.perf_counter() - self.start
            print(f"[fastlogreg {self.solver}] {k:5d} {loss:22.15e} {grad_max:10.3e} {t:8.3f}{extra}",
                  file=self.stream, flush=True)


def _max_abs(g):
    return float(np.max(np.abs(g))) if g.size else 0.0


# ----------------------------------------------------------------------------- L-BFGS
def lbfgs(obj, theta0, *, tol=1e-6, max_iter=100, verbose=0, memory=20, scale=None):
    """Minimise ``obj`` with SciPy's L-BFGS-B from ``theta0``.

    Stops when the gradient max-norm is at most ``tol``, after ``max_iter``
    iterations, or when the relative decrease of the objective falls below
    ``64 * eps`` (scikit-learn's ``ftol``: no further progress is possible in float64).
    ``scale`` (n_params,), positive, preconditions: L-BFGS-B then runs on
    ``u = scale * theta`` (its first steps are scaled-gradient steps instead of plain
    gradient steps), with the same stopping test on the gradient in ``theta``.
    """
    from scipy.optimize import minimize

    printer = _Printer(verbose, "lbfgs")
    last = {}
    s = np.ones_like(theta0, dtype=np.float64) if scale is None else np.asarray(scale, dtype=np.float64)

    def fun(u):
        loss, grad = obj.loss_grad(u / s)
        last["loss"], last["grad"] = loss, grad
        return loss, grad / s

    count = [0]

    def callback(intermediate_result):
        count[0] += 1
        # L-BFGS-B's accepted point is the last one its line search evaluated.
        printer.line(count[0], float(intermediate_result.fun), _max_abs(last["grad"]))
        if scale is not None and _max_abs(last["grad"]) <= tol:
            raise StopIteration  # SciPy's own gtol would test the scaled gradient

    res = minimize(
        fun, np.asarray(theta0, dtype=np.float64) * s, jac=True, method="L-BFGS-B",
        callback=callback if verbose or scale is not None else None,
        options={"maxiter": int(max_iter), "maxls": 50, "gtol": float(tol) if scale is None else 0.0,
                 "ftol": 64 * np.finfo(float).eps, "maxcor": int(memory)},
    )
    grad_max = _max_abs(res.jac * s)
    stopped = res.status == 99  # the callback's gradient test
    hit = res.status == 1 or (res.nit >= max_iter and grad_max > tol)
    # The relative-decrease stop is a convergence only where the gradient is as small as
    # float64 can resolve at a minimum (a decrease of g^2 / 2 is lost below eps |f| when
    # g < sqrt(eps |f|), for unit curvature); beyond that it means the line search found
    # no decrease: a failure.
    floor = math.sqrt(np.finfo(float).eps * max(1.0, abs(float(res.fun))))
    converged = stopped or (res.status == 0 and grad_max <= max(tol, floor))
    message = f"gradient max-norm {grad_max:.3e} <= tol" if stopped else str(res.message)
    if res.status == 0 and not converged:
        message = f"no decrease of the objective found in float64 ({message})"
    return SolverResult(
        theta=res.x / s, n_iter=int(res.nit), loss=float(res.fun), grad_max=grad_max,
        converged=bool(converged), hit_max_iter=bool(hit),
        message=message, n_loss_grad=obj.n_loss_grad, n_hessp=obj.n_hessp,
    )


# ----------------------------------------------------------------------------- Newton
def _conjugate_gradient(hessp, g, rtol_abs, max_cg, inverse_diagonal=None):
    """Approximately solve ``H p = -g`` (H symmetric positive semi-definite) by CG,
    preconditioned by the diagonal matrix ``inverse_diagonal`` (n,) when given."""
    p = np.zeros_like(g)
    r = -g.copy()  # residual -g - H p
    z = r if inverse_diagonal is None else r * inverse_diagonal
    d = z.copy()
    rr = float(r @ z)
    for _ in range(max_cg):
        if math.sqrt(float(r @ r)) <= rtol_abs:
            break
        Hd = hessp(d)
        dHd = float(d @ Hd)
        if dHd <= 1e-300 * max(1.0, float(d @ d)):
            # no (or negative) curvature along d: take what we have, or steepest descent
            if not p.any():
                p = r.copy()
            break
        alpha = rr / dHd
        p += alpha * d
        r -= alpha * Hd
        z = r if inverse_diagonal is None else r * inverse_diagonal
        rr_new = float(r @ z)
        d *= rr_new / rr
        d += z
        rr = rr_new
    return p


#: Newton's Hessian-vector products use every HESSIAN_STRIDE-th row (a contiguous copy)
#: when that sample keeps at least HESSIAN_ROWS_PER_PARAM rows per parameter, and a
#: larger stride where that keeps it to HESSIAN_MAX_ROWS_PER_PARAM rows per parameter
#: (so the copy is at most 1/20 of X, and ~1% of a 1.6 GB X). Measured (interleaved,
#: passes of loss_grad + hessp): 200,000 x 50 x 10 (10,000 sampled rows, 19 per
#: parameter) 13 + 2.1 against L-BFGS's 27, 1.8x faster; every 10th row 1.55x, every
#: 40th 1.4x; 2,000,000 x 50 x 10 (stride 30) 9 + 1.0 against 28, 2.6x; 1,000,000 x
#: 10 x 3 1.5x. Wide data with fewer rows per parameter (150,000 x 200 x 3: 12) lost.
HESSIAN_STRIDE = 20
HESSIAN_ROWS_PER_PARAM = 16
HESSIAN_MAX_ROWS_PER_PARAM = 128
# Forcing term of CG on the sampled Hessian: solving beyond its ~10% error buys nothing.
_SAMPLED_FORCING = 0.1
# Gradient reduction of a full Newton step above which the sample is abandoned.
_SAMPLED_MIN_PROGRESS = 0.5


def hessian_sample_stride(n_samples, n_params):
    """Row stride of the Newton Hessian sample: 1 (the full Hessian) when every
    HESSIAN_STRIDE-th row would leave fewer than HESSIAN_ROWS_PER_PARAM rows per
    parameter; otherwise at least HESSIAN_STRIDE, and larger where that keeps the
    sample to HESSIAN_MAX_ROWS_PER_PARAM rows per parameter."""
    if n_samples // HESSIAN_STRIDE < HESSIAN_ROWS_PER_PARAM * n_params:
        return 1
    return max(HESSIAN_STRIDE, n_samples // (HESSIAN_MAX_ROWS_PER_PARAM * n_params))


def _hessian_sample(obj):
    """``(stride, objective)`` for Newton's Hessian-vector products: the sampled rows, or
    ``(1, obj)`` when the data are too small or the sampled weights are all zero."""
    stride = hessian_sample_stride(obj.n_samples, obj.n_params)
    if stride == 1:
        return 1, obj
    if obj.problem is None:  # chunked data: each chunk keeps its sampled rows where it is
        sub = obj.sample(stride)
        return (1, obj) if sub is None else (stride, sub)
    rows = slice(None, None, stride)
    sw = obj.problem.sample_weight
    if sw.shape[0] and not np.any(sw[rows] > 0):
        return 1, obj
    return stride, obj.rows(rows, copy=True)


def newton(obj, theta0, *, tol=1e-6, max_iter=100, verbose=0, scale=None):
    """Minimise ``obj`` by inexact Newton (CG on fused Hessian-vector products + Armijo);
    the products use a row sample when the data is large (see the module docstring).
    ``scale`` (n_params,), positive, preconditions CG with the diagonal ``scale**2``."""
    printer = _Printer(verbose, "newton")
    inverse_diagonal = None if scale is None else 1.0 / np.square(scale)
    theta = np.array(theta0, dtype=np.float64)
    stride, hess_obj = _hessian_sample(obj)
    loss, grad = obj.loss_grad(theta)
    grad_max = _max_abs(grad)
    eps = np.finfo(float).eps
    max_cg = max(20, 2 * obj.n_params)
    message = "maximum number of iterations reached"
    converged = hit = False
    k = 0
    printer.line(0, loss, grad_max)
    while True:
        if grad_max <= tol:
            converged, message = True, f"gradient max-norm {grad_max:.3e} <= tol"
            break
        if k >= max_iter:
            hit = True
            break
        k += 1
        gnorm = float(np.linalg.norm(grad))
        forcing = _SAMPLED_FORCING if stride > 1 else min(0.5, math.sqrt(gnorm))
        step = _conjugate_gradient(functools.partial(hess_obj.hessp, theta), grad, forcing * gnorm, max_cg,
                                   inverse_diagonal)
        slope = float(grad @ step)
        if not slope < 0.0:  # not a descent direction (rounding): fall back to -g
            step = -grad
            slope = -gnorm * gnorm
        t = 1.0
        accepted = False
        while t > 1e-12:
            theta_new = theta + t * step
            loss_new, grad_new = obj.loss_grad(theta_new)
            if loss_new <= loss + 1e-4 * t * slope:
                accepted = True
                break
            # At the optimum the decrease is below float64 resolution of the objective:
            # accept a step that changes the objective by rounding only and reduces
            # the gradient.
            grad_new_max = _max_abs(grad_new)
            if loss_new - loss <= 16 * eps * abs(loss) and grad_new_max < grad_max:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            message = "line search failed: no decrease possible in float64"
            break
        theta, loss, grad = theta_new, loss_new, grad_new
        previous_max, grad_max = grad_max, _max_abs(grad)
        printer.line(k, loss, grad_max, f"  step {t:.3g}")
        if stride > 1 and (t < 1.0 or grad_max > _SAMPLED_MIN_PROGRESS * previous_max):
            # the sample misrepresents the Hessian (a step to cut back, or too little
            # progress from a full one): exact Newton from now on
            obj.n_hessp += hess_obj.n_hessp / stride
            stride, hess_obj = 1, obj
    if stride > 1:
        obj.n_hessp += hess_obj.n_hessp / stride  # each sampled product reads 1/stride of X
    return SolverResult(theta=theta, n_iter=k, loss=loss, grad_max=grad_max, converged=converged,
                        hit_max_iter=hit, message=message, n_loss_grad=obj.n_loss_grad,
                        n_hessp=obj.n_hessp)


# ----------------------------------------------------------------------------- SGD (SVRG)
def _batches(n, batch_size):
    edges = list(range(0, n, batch_size)) + [n]
    if len(edges) > 2 and edges[-1] - edges[-2] < batch_size // 2:
        edges.pop(-2)  # merge a small tail into the previous batch
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def curvature_bound(obj, n_rows=4096, n_blocks=4, n_power=12, seed=0):
    """Estimate ``L``, the largest Hessian eigenvalue where curvature is largest.

    Power iteration with fused Hessian-vector products on ``n_blocks`` contiguous row
    blocks spread evenly over the data (views: no copy of X, and the kernels' contiguous
    fast path). For the logistic model the curvature is largest at ``z = 0``
    (``s(1-s) <= 1/4``), so the Hessian at ``theta = 0`` is the global bound. For
    softmax the Hessian at 0 has ``(I - 11^T/C)/C`` per sample while the bound is
    ``1/2``: scaled by ``C/2``.
    """
    n = obj.n_samples
    if n <= n_rows:
        subs = [obj]
    else:
        size = n_rows // n_blocks
        starts = np.linspace(0, n - size, n_blocks).astype(int)
        subs = [obj.rows(slice(s, s + size)) for s in starts]
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(obj.n_params)
    zero = np.zeros(obj.n_params)
    lam = 0.0
    for _ in range(n_power):
        v /= np.linalg.norm(v)
        hv = sum(_curvature_product(sub, zero, v) for sub in subs) / len(subs)
        lam = float(v @ hv)
        v = hv
        if not np.any(v):
            break
    obj.n_hessp += n_power * min(1.0, n_rows / n)
    if obj.multinomial:
        lam = lam * obj.n_classes / 2.0
    elif obj.link == "probit":
        # probit: d2l/dz2 <= 1 everywhere and 2 phi(0)^2 = 2 / pi at z = 0
        lam = lam * math.pi / 2.0
    return max(lam, 1e-12)


def _curvature_product(obj, theta, v):
    """H v: the fused kernel for the logit/softmax models; for probit (no hessp kernel),
    the central difference of two fused gradients (the bound needs a few digits only)."""
    if obj.multinomial or obj.link == "logit":
        return obj.hessp(theta, v)
    step = 1e-4 / max(1e-300, float(np.linalg.norm(v)))
    return (obj.loss_grad(theta + step * v)[1] - obj.loss_grad(theta - step * v)[1]) / (2 * step)


def sgd(obj, theta0, *, tol=1e-6, max_iter=100, verbose=0, batch_size=None, random_state=None,
        state=None, growth=1.25):
    """Minimise ``obj`` by mini-batch SVRG (see the module docstring). One epoch = one iteration.

    ``state`` (a dict, updated in place) carries the step size between calls
    (:meth:`LogisticRegression.partial_fit` runs one epoch per call).
    """
    printer = _Printer(verbose, "sgd")
    if obj.problem is None:
        raise ValueError("solver='sgd' draws mini-batches from data in memory; for chunked data "
                         "use 'lbfgs' or 'newton', or partial_fit on each chunk (one SVRG epoch "
                         "per call)")
    rng = np.random.default_rng(random_state)
    n = obj.n_samples
    if batch_size is None:
        batch_size = int(min(max(16, n // 64), 4096))
    batches = _batches(n, max(1, min(int(batch_size), n)))
    subs = [obj.rows(b) for b in batches]
    # each mini-batch call reads a fraction of X
    fractions = [(b.stop - b.start) / n for b in batches]
    state = {} if state is None else state
    if "eta" not in state:
        state["eta"] = 1.0 / (2.0 * curvature_bound(obj))
    eta = state["eta"]
    theta = np.array(theta0, dtype=np.float64)
    loss, mu = obj.loss_grad(theta)
    grad_max = _max_abs(mu)
    passes = 1.0
    converged = hit = False
    message = "maximum number of epochs reached"
    k = 0
    printer.line(0, loss, grad_max)
    while True:
        if grad_max <= tol:
            converged, message = True, f"gradient max-norm {grad_max:.3e} <= tol"
            break
        if k >= max_iter:
            hit = True
            break
        k += 1
        snapshot = theta
        x = theta.copy()
        order = rng.permutation(len(subs))
        for count, j in enumerate(order):
            _, g_x = subs[j].loss_grad(x)
            _, g_s = subs[j].loss_grad(snapshot)
            passes += 2 * fractions[j]
            g_x -= g_s
            g_x += mu
            x -= eta * g_x
            if verbose and sys.stdout.isatty():
                done = int(30 * (count + 1) / len(order))
                print(f"\r[fastlogreg sgd] epoch {k:4d} [{'#' * done}{'.' * (30 - done)}]",
                      end="", flush=True)
        loss_new, mu_new = obj.loss_grad(x)
        passes += 1
        if verbose and sys.stdout.isatty():
            print("\r", end="")
        if not np.isfinite(loss_new) or loss_new > loss:
            # too long a step for this data: undo the epoch and halve it
            eta *= 0.5
            state["eta"] = eta
            printer.line(k, loss, grad_max, f"  rejected, eta -> {eta:.3g}")
            if eta < 1e-30:
                message = "step size underflow"
                break
            continue
        theta, loss, mu = x, loss_new, mu_new
        grad_max = _max_abs(mu)
        printer.line(k, loss, grad_max, f"  eta {eta:.3g}  [{'#' * 30}]")
        # the bound L is worst-case; probe a longer step after each accepted epoch
        eta *= growth
        state["eta"] = eta
    return SolverResult(theta=theta, n_iter=k, loss=loss, grad_max=grad_max, converged=converged,
                        hit_max_iter=hit, message=message, n_loss_grad=passes, n_hessp=obj.n_hessp)


def minimize(obj, theta0, solver, **kwargs):
    """Run ``lbfgs``, ``newton`` or ``sgd`` with the BLAS thread pools limited to one thread.

    Every pass over X is a fused kernel; BLAS only sees parameter-sized vectors (SciPy's
    L-BFGS-B, the CG steps), where threads do not pay. An idle multi-threaded OpenBLAS
    pool spin-waits after each call and took cores from the next kernel call: a 500,000 x
    100 binary fit ran 0.51 s with the pool free and 0.33 s with it limited.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _run_solver(obj, theta0, solver, **kwargs)


def _run_solver(obj, theta0, solver, **kwargs):
    if solver in ("lbfgs", "newton"):
        kwargs.pop("random_state", None)
        kwargs.pop("state", None)
        kwargs.pop("batch_size", None)
        # Sparse columns' frequencies, hence curvatures, span orders of magnitude (a
        # Zipf vocabulary): without the diagonal preconditioner L-BFGS took 1,857
        # iterations on 300,000 x 100,000 with 50 entries a row.
        if obj.is_sparse:
            kwargs.setdefault("scale", obj.diagonal_scale())
        return (lbfgs if solver == "lbfgs" else newton)(obj, theta0, **kwargs)
    if solver == "sgd":
        return sgd(obj, theta0, **kwargs)
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")


def choose_solver(n_samples, n_features, n_classes, tol=1e-6):
    """The solver "auto" picks: "newton" for more than two classes when its Hessian
    products can use a row sample (:func:`~fastlogreg.solvers.hessian_sample_stride`) or when
    ``tol < 1e-9``; otherwise "lbfgs".

    Measured (bench/bench_fit.py, passes over X at tol=1e-8): binary 500,000 x 100:
    lbfgs 9 loss+gradient passes; newton 6 + 8 Hessian-vector passes, with the sampled
    Hessian 11 + 0.5 (0.6-1.0x the speed of lbfgs). Multinomial 200,000 x 50 x 10:
    lbfgs 26; newton 7 + 31, with the sampled Hessian 12 + 2.4 (1.6-1.8x faster). Digits
    (ill-conditioned, tol=1e-10): lbfgs 146, newton 11 + 213. Below a gradient of
    ~1e-9, L-BFGS-B stops on its relative-decrease test (64 eps) before reaching
    ``tol``; Newton converges quadratically there, so it takes over.
    """
    if n_classes > 2 and hessian_sample_stride(n_samples, n_classes * (n_features + 1)) > 1:
        return "newton"
    return "newton" if tol < 1e-9 and n_classes >= 2 else "lbfgs"
