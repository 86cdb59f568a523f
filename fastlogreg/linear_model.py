"""``LogisticRegression``: a scikit-learn estimator on the fused kernels.

The estimator is thin: it maps labels through ``classes_``, validates the data once,
picks a solver from :mod:`fastlogreg.solvers` and reports convergence. All numerics of
the fit go through the validated problems of :mod:`fastlogreg._problems` (fused
``loss_grad`` / ``hessp`` kernels of the chosen backend); predictions use the public
``sigmoid`` / ``log_sigmoid`` / ``softmax`` / ``log_softmax`` / ``log_ndtr`` functions.

scikit-learn is imported here (``BaseEstimator``, ``ClassifierMixin``,
``ConvergenceWarning``, ``validate_data``), so it is a runtime dependency of this
module only; ``import fastlogreg`` loads it lazily.
"""

import functools
import numbers
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _dask, _proximal, _sources, functions, solvers
from ._class_weight import check_class_weight, weighted_samples
from ._design import as_design, count_nonfinite
from ._problems import BinaryProblem, MultinomialProblem
from ._validation import check_sample_weight

_SOLVERS = ("auto", "lbfgs", "newton", "sgd", "prox-newton")
_PENALTIES = ("l2", "l1", "elasticnet", None)
# scikit-learn's checks of X: float32/float64 kept as they are (no copy), CSR kept (other
# sparse formats converted to CSR once), int64 sparse indices accepted; NaN and inf are
# counted by this module (or by as_design for sparse X), with the counts in the message.
_X_CHECKS = dict(dtype=[np.float64, np.float32], ensure_all_finite=False, order=None, copy=False,
                 accept_sparse="csr", accept_large_sparse=True)
_LINKS = ("logit", "probit")


def _check_finite_X(design, name="X"):
    if design.is_sparse:
        return  # as_design has scanned the stored values
    n_nan, n_inf = count_nonfinite(design)
    if n_nan or n_inf:
        raise ValueError(
            f"{name} contains {n_nan + n_inf} non-finite value(s): {n_nan} NaN and {n_inf} "
            f"infinity; remove or impute them before fitting or predicting"
        )


def _first_pass(obj, theta0, check_finite):
    """Check X for NaN and inf, by the solver's first fused pass where possible, and give
    that pass's loss and gradient to ``obj`` (:meth:`fastlogreg.solvers.Objective.prime`).

    At w = 0 every score is ``b + sum_j x_ij * 0``, NaN exactly when its row holds a NaN
    or an inf (``inf * 0`` is NaN), so the first pass from w = 0 doubles as the scan of X:
    ``check_finite()`` (which raises on NaN or inf, naming where) runs only when that pass
    is not finite. A warm start (w != 0) runs ``check_finite()`` up front.

    Raises
    ------
    ValueError
        NaN or inf in X (from ``check_finite``); a finite X whose objective or gradient
        overflows at ``theta0``.
    """
    if np.any(theta0[: obj.n_coef]):
        check_finite()
        return
    loss0, grad0 = obj.loss_grad(theta0)
    if not (np.isfinite(loss0) and np.all(np.isfinite(grad0))):
        check_finite()
        raise ValueError(
            "the objective or its gradient overflows float64 at the starting point although X "
            f"is finite (largest |X|: {obj.max_abs():.3g}). Standardize the features."
        )
    obj.prime(theta0, loss0, grad0)


def _check_finite_y(y):
    if y.dtype.kind == "f":
        n_nan = int(np.count_nonzero(np.isnan(y)))
        n_inf = int(np.count_nonzero(np.isinf(y)))
        if n_nan or n_inf:
            raise ValueError(f"y contains {n_nan + n_inf} non-finite value(s): {n_nan} NaN and "
                             f"{n_inf} infinity")


def _all_or_nothing(fit_method):
    """Run ``fit_method`` so that it changes the estimator only if it returns.

    On any exception, KeyboardInterrupt included, the instance's attributes are put
    back as they were (the SGD state dict, updated in place, is restored from a copy):
    a failed or interrupted fit never leaves new ``classes_`` beside old coefficients.
    """

    @functools.wraps(fit_method)
    def wrapper(self, *args, **kwargs):
        saved = {key: dict(value) if key == "_sgd_state" else value
                 for key, value in self.__dict__.items()}
        try:
            return fit_method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


_LABEL_BLOCK = 1 << 14  # labels per block in the chunked label scans


def _label_blocks(n):
    return (slice(start, start + _LABEL_BLOCK) for start in range(0, n, _LABEL_BLOCK))


def _check_label_type(y):
    """Class labels must be discrete: reject continuous float targets (block by block)."""
    if y.dtype.kind == "f":
        for rows in _label_blocks(y.shape[0]):
            block = y[rows]
            if np.any(block != np.floor(block)):
                raise ValueError(
                    "Unknown label type: continuous. y holds non-integer floats; "
                    "LogisticRegression needs class labels"
                )
    elif y.dtype.kind not in "biuUS":
        check_classification_targets(y)  # object arrays: strings, mixed types


def _countable_range(y):
    """``(lo, hi)``, the smallest and largest label, when ``y`` holds integer or bool labels
    in a range small enough to count them with ``np.bincount`` (at most ``max(n, 65536)``
    values, each shift ``y - lo`` fitting int64); else None."""
    if y.dtype.kind not in "biu" or not y.shape[0]:
        return None
    lo, hi = int(y.min()), int(y.max())
    if hi - lo < max(y.shape[0], 1 << 16) and -(1 << 62) < lo and hi < (1 << 62):
        return lo, hi
    return None


def _unique_labels(y):
    """Sorted distinct labels, without an n-sized sort for numeric labels.

    Integer and bool labels spanning a small range are counted (``np.bincount`` block
    by block, a linear pass) instead of sorted.
    """
    n = y.shape[0]
    if n > _LABEL_BLOCK:
        span = _countable_range(y)
        if span is not None:
            lo, hi = span
            counts = np.zeros(hi - lo + 1, dtype=np.int64)
            for rows in _label_blocks(n):
                block = y[rows].astype(np.int64)
                block -= lo
                counts += np.bincount(block, minlength=counts.shape[0])
            return (np.flatnonzero(counts) + lo).astype(y.dtype)
    if y.dtype.kind in "biuf" and n > _LABEL_BLOCK:
        return np.unique(np.concatenate([np.unique(y[rows]) for rows in _label_blocks(n)]))
    return np.unique(y)


def _encode_labels(y, classes):
    """Targets as the kernels take them, written block by block (no n-sized temporaries).

    Two classes: float64 (n,) in {0, 1}; more: int64 (n,) class indices. Raises a
    ValueError counting the labels that are not in ``classes``.
    """
    binary = len(classes) == 2
    out = np.empty(y.shape[0], dtype=np.float64 if binary else np.int64)
    unknown = 0
    example = None
    for rows in _label_blocks(y.shape[0]):
        block = y[rows]
        if binary:  # two comparisons instead of a binary search per label
            index = block == classes[1]
            bad = ~(index | (block == classes[0]))
        else:
            index = np.searchsorted(classes, block)
            np.minimum(index, len(classes) - 1, out=index)
            bad = classes[index] != block
        if np.any(bad):
            unknown += int(np.count_nonzero(bad))
            example = block[bad][0] if example is None else example
        out[rows] = index
    if unknown:
        raise ValueError(
            f"y contains {unknown} label(s) not in classes_ {classes.tolist()}, e.g. {example!r}"
        )
    return out


class LogisticRegression(ClassifierMixin, BaseEstimator):
    r"""Logistic (two classes) and softmax (more) regression by penalised maximum likelihood.

    Minimises, as scikit-learn's ``LogisticRegression``,

    .. math::
        L(W, b) = \frac{\sum_i sw_i\, l_i}{\sum_i sw_i}
                + \frac{1}{C \sum_i sw_i} \Big( r \|W\|_1 + \frac{1 - r}{2} \|W\|_2^2 \Big)

    with ``l_i`` the negative log-likelihood of sample ``i`` (sigmoid for two classes,
    softmax otherwise), ``sw_i`` its weight (``sample_weight`` times the weight of its
    class), ``r`` the L1 share of the penalty (0 for "l2", 1 for "l1", ``l1_ratio`` for
    "elasticnet"; no penalty for ``penalty=None``) and ``||W||_1`` the sum of
    ``|W_kj|`` over every class and feature. The intercept is not penalised. Every evaluation of ``L``, its
    gradient and Hessian-vector products is one fused pass over ``X`` in the chosen
    backend; ``X`` is never copied when it is float32 or float64 (float32 trains in
    float32 storage, sums in float64).

    dtypes, as scikit-learn's ``LogisticRegression``: ``coef_`` and ``intercept_`` take
    the dtype of the ``X`` of the last :meth:`fit` or :meth:`partial_fit` call (float32
    for float32 ``X``, float64 for float64, integer or boolean ``X``), whatever the
    solver and also when ``warm_start`` or :meth:`partial_fit` continues from a model of
    the other dtype. The solvers keep their state (the coefficients, gradients, L-BFGS
    memory) in float64 and round the solution to float32 once at the end; the kernels
    read float32 ``X`` as it is and sum in float64. :meth:`decision_function`,
    :meth:`predict_proba` and :meth:`predict_log_proba` return NumPy's promotion of the
    dtypes of ``X`` and ``coef_``: float32 for float32 ``X`` on a float32 model, float64
    when either is float64; they compute in float64 and round the result once.
    :meth:`save` and :func:`fastlogreg.load` keep the dtype of ``coef_`` and ``intercept_``.

    Parameters
    ----------
    C : float > 0 or ``np.inf``, default=1.0
        Inverse penalty strength; ``np.inf`` fits without penalty.
    penalty : {"l2", "l1", "elasticnet", None}, default="l2"
        The norm of the penalty. "l1" and "elasticnet" (with ``l1_ratio > 0``) give
        sparse coefficients, exact zeros included, and need the "prox-newton" solver
        ("auto" picks it). None: no penalty (``C`` is ignored).
    l1_ratio : float in [0, 1] or None, default=None
        The L1 share ``r`` of the elastic net; required with ``penalty="elasticnet"``, and
        None with every other penalty.
    fit_intercept : bool, default=True
    class_weight : dict, "balanced" or None, default=None
        Multiplies the weight of each sample of class ``k`` by ``class_weight[k]`` (1 for
        a class the dict does not name; a key that is not a class of ``y`` is an error).
        "balanced": ``sum(sw) / (n_classes * sum(sw[y == k]))``, from the weighted class
        counts of the data passed to :meth:`fit`. Combined with ``sample_weight`` as in
        scikit-learn: ``C`` is scaled by the sum of the products.
    solver : {"auto", "lbfgs", "newton", "sgd", "prox-newton"}, default="auto"
        "lbfgs": SciPy's L-BFGS-B. "newton": inexact Newton with conjugate gradients on
        fused Hessian-vector products (logit link only), taken on every 20th row (or
        sparser: at most 128 rows per parameter) when that leaves at least 16 rows per
        parameter (a copy of at most 1/20 of X; the gradient and the stopping test
        stay exact). "sgd": mini-batch SVRG with a step
        size from the curvature bound (no tuning). "auto": "newton" for more than two
        classes when its Hessian is sampled (1.2-1.8x faster than "lbfgs" there),
        "newton" when ``tol < 1e-9`` (below which L-BFGS-B stops on its
        relative-decrease test), otherwise "lbfgs"; "lbfgs" for probit; "prox-newton"
        whenever the penalty has an L1 part. "prox-newton": proximal Newton (coordinate
        descent on the quadratic model over a working set of features, with a sampled
        Hessian; the user guide, "Penalties"), for every penalty and both links.
    tol : float >= 0, default=1e-6
        Stop when the gradient's max-norm is at most ``tol``; with an L1 part, the
        max-norm of the minimum-norm subgradient (the same test: that subgradient is the
        gradient wherever the objective is differentiable).
    max_iter : int >= 1, default=100
        Iterations (epochs for "sgd").
    link : {"logit", "probit"}, default="logit"
        "probit" (two classes only): ``P(y=1|x) = Phi(x.w + b)``.
    backend : {None, "numba", "c", "numpy"}, default=None
        Kernel backend (None: the current default, see :func:`fastlogreg.get_backend`).
    warm_start : bool, default=False
        Start from the previous ``coef_`` / ``intercept_`` when their shapes fit.
    verbose : int, default=0
        > 0 prints one line per iteration (objective, gradient max-norm, time); "sgd"
        draws a progress bar over each epoch's mini-batches on a terminal.
    random_state : int, Generator or None, default=None
        Mini-batch order of "sgd" and ``partial_fit``.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coef_ : ndarray (1, n_features) for two classes, (n_classes, n_features) otherwise,
        float32 or float64 as the ``X`` it was fitted on
    intercept_ : ndarray (1,) or (n_classes,), of the dtype of ``coef_``
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when ``X`` had string column names
    n_iter_ : ndarray (1,) of int, iterations (or epochs) run
    objective_ : float, the objective at the solution (the solver's float64 coefficients,
        before a float32 ``coef_`` is rounded), its L1 term included
    gradient_max_norm_ : float, the gradient's max-norm at the same point (the minimum-norm
        subgradient's with an L1 part)
    solver_ : str, the solver used
    n_passes_ : (float, float), fused loss+gradient and Hessian-vector passes over ``X``

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogreg import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> clf = LogisticRegression(backend="numpy").fit(X, ["a", "a", "b", "b"])
    >>> clf.predict([[0.2], [2.8]]).tolist()
    ['a', 'b']
    """

    def __init__(self, C=1.0, *, penalty="l2", l1_ratio=None, fit_intercept=True, class_weight=None,
                 solver="auto", tol=1e-6, max_iter=100, link="logit", backend=None, warm_start=False,
                 verbose=0, random_state=None):
        self.C = C
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.class_weight = class_weight
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.link = link
        self.backend = backend
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.link != "probit"
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        C = self.C
        if isinstance(C, bool) or not isinstance(C, numbers.Real) or not (C > 0):
            raise ValueError(f"C must be a positive number or np.inf, got {C!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")
        if (isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral)
                or self.max_iter < 1):
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS}, got {self.solver!r}")
        self._check_penalty()
        check_class_weight(self.class_weight)
        if self.link not in _LINKS:
            raise ValueError(f"link must be one of {_LINKS}, got {self.link!r}")
        for name in ("fit_intercept", "warm_start"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        verbose = self.verbose
        if not isinstance(verbose, (numbers.Integral, np.bool_)) or verbose < 0:
            raise ValueError(f"verbose must be an integer >= 0, got {verbose!r}")
        random_state = self.random_state
        if not (random_state is None or isinstance(random_state, (np.random.Generator,
                                                                  np.random.RandomState))
                or isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
                and random_state >= 0):
            raise ValueError("random_state must be None, an integer >= 0 or a numpy Generator, "
                             f"got {random_state!r}")
        if self.link == "probit" and self.solver == "newton":
            raise ValueError("solver='newton' needs Hessian-vector products, which exist for the "
                             "logit link only; use solver='lbfgs' or 'sgd' with link='probit'")

    def _check_penalty(self):
        penalty, l1_ratio = self.penalty, self.l1_ratio
        if not (penalty is None or isinstance(penalty, str) and penalty in _PENALTIES):
            raise ValueError(f"penalty must be one of 'l2', 'l1', 'elasticnet' or None, got {penalty!r}")
        if penalty == "elasticnet":
            if (isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real)
                    or not 0.0 <= l1_ratio <= 1.0):
                raise ValueError("penalty='elasticnet' needs l1_ratio, a number in [0, 1] (0: the L2 "
                                 f"penalty, 1: the L1 penalty), got l1_ratio={l1_ratio!r}")
        elif l1_ratio is not None:
            raise ValueError(f"l1_ratio is used with penalty='elasticnet' only; got l1_ratio={l1_ratio!r} "
                             f"with penalty={penalty!r}. Set penalty='elasticnet' or l1_ratio=None")
        if self._l1_fraction() > 0.0 and self.solver in ("lbfgs", "newton", "sgd"):
            raise ValueError(f"solver={self.solver!r} needs a smooth penalty; penalty={penalty!r} "
                             f"(with an L1 part) needs solver='prox-newton' or 'auto'")

    def _l1_fraction(self):
        """The share of the penalty ``1 / (C sum(sw))`` that is L1 (the rest is L2)."""
        if self.penalty == "l1":
            return 1.0
        if self.penalty == "elasticnet":
            return float(self.l1_ratio)
        return 0.0

    def _validate_X(self, X, reset):
        """X as a design matrix (:mod:`fastlogreg._design`), checked for NaN and inf."""
        X = validate_data(self, X, reset=reset, **_X_CHECKS)
        design = as_design(X)
        _check_finite_X(design)
        return design

    def _validate_X_y(self, X, y, reset=True):
        """``(design, y)``; X is not yet scanned for NaN and inf (see :meth:`fit`)."""
        if y is not None and np.asarray(y).dtype.kind == "f":
            _check_finite_y(np.asarray(y))  # before scikit-learn's check, which does not count
        X, y = validate_data(self, X, y, reset=reset, y_numeric=False, multi_output=False, **_X_CHECKS)
        y = np.asarray(y)
        _check_finite_y(y)
        _check_label_type(y)
        return as_design(X), y

    def _strengths(self, weight_sum):
        """``(l1, l2)``: the penalty ``l1 ||w||_1 + l2/2 ||w||^2`` added to the weighted mean
        loss, ``l1 = r / (C sum(sw))`` and ``l2 = (1 - r) / (C sum(sw))`` with ``r`` the L1
        share (1 for "l1", ``l1_ratio`` for "elasticnet", 0 for "l2"); (0, 0) without penalty."""
        if np.isinf(self.C) or self.penalty is None:
            return 0.0, 0.0
        strength = 1.0 / (float(self.C) * weight_sum)
        if not np.isfinite(strength):
            raise ValueError(
                f"C * sum(sample_weight) = {float(self.C) * weight_sum:.3g} is too small: the "
                "penalty 1 / (C * sum(sample_weight)) overflows float64. Use a larger C or "
                "larger sample weights (the model depends on their product only)."
            )
        share = self._l1_fraction()
        return share * strength, (1.0 - share) * strength

    def _l2(self, weight_sum):
        return self._strengths(weight_sum)[1]

    def _sample_weight(self, target, sample_weight):
        """``sample_weight`` times the class weights of ``class_weight`` (None: unit weights)."""
        class_index = target.astype(np.intp) if target.dtype.kind == "f" else target
        return weighted_samples(self.class_weight, self.classes_, class_index, sample_weight)

    def _problem(self, X, target, sample_weight):
        """The validated problem for targets from :func:`_encode_labels`."""
        n_classes = len(self.classes_)
        if n_classes == 2:
            return BinaryProblem(X, target, sample_weight, link=self.link)
        return MultinomialProblem(X, target, n_classes, sample_weight)

    def _check_weighted_classes(self, target, sample_weight):
        if len(self.classes_) == 2:
            total = float(target.shape[0] if sample_weight is None else np.sum(sample_weight))
            positive = float(np.sum(target) if sample_weight is None else target @ sample_weight)
            class_weight = np.array([total - positive, positive])
        elif sample_weight is None:
            class_weight = np.bincount(target, minlength=len(self.classes_)).astype(np.float64)
        else:
            class_weight = np.bincount(target, weights=sample_weight, minlength=len(self.classes_))
        self._check_positive_classes(class_weight)
        return class_weight

    def _check_classes(self):
        """``classes_`` can be fitted: at least two, and two for the probit link."""
        if len(self.classes_) < 2:
            raise ValueError(
                "this solver needs samples of at least 2 classes in the data, but the data "
                f"contain only one class: {self.classes_[0]!r}"
            )
        if self.link == "probit" and len(self.classes_) > 2:
            raise ValueError("Only binary classification is supported. link='probit' is for "
                             f"two classes; y has {len(self.classes_)} classes")

    def _check_positive_classes(self, class_weight):
        """At least two classes of ``classes_`` have a positive total weight (n_classes,)."""
        present = class_weight > 0
        if np.count_nonzero(present) < 2:
            raise ValueError(
                "this solver needs samples of at least 2 classes with positive weight in the data, "
                f"but the data contain only one class: {self.classes_[np.argmax(present)]!r}"
            )

    def _solver_for(self, obj, l1):
        """The solver to run on the objective ``obj`` with L1 strength ``l1``: ``solver``, or
        what "auto" picks for them."""
        if self.solver != "auto":
            return self.solver
        if l1 > 0.0:
            return "prox-newton"
        if self.link == "probit":
            return "lbfgs"
        n_classes = obj.n_classes if obj.multinomial else 2
        return solvers.choose_solver(obj.n_samples, obj.n_features, n_classes, float(self.tol))

    def _solve(self, obj, theta0, solver, l1, start):
        """Run ``solver`` on ``obj`` from ``theta0`` and store the model; ``start`` is the
        ``time.perf_counter()`` that ``fit_time_`` counts from."""
        if solver == "prox-newton":
            # a warm start from a stronger L1 penalty (a path walked by the caller) screens
            # by the sequential strong rule, as LogisticRegressionCV's paths do
            previous = getattr(self, "_fitted_l1", None) if self.warm_start else None
            screen = previous if previous is not None and previous > l1 else None
            result = _proximal.minimize(obj, theta0, l1=l1, tol=float(self.tol),
                                        max_iter=int(self.max_iter), verbose=self.verbose,
                                        screen_l1=screen)
        else:
            result = solvers.minimize(
                obj, theta0, solver, tol=float(self.tol), max_iter=int(self.max_iter),
                verbose=self.verbose, random_state=self.random_state,
            )
        self._store(obj, result, solver, l1=l1)
        self._fitted_l1 = l1
        self.fit_time_ = time.perf_counter() - start
        for attr in ("_sgd_state", "_rng"):
            self.__dict__.pop(attr, None)
        return self

    def _initial_theta(self, obj, class_weight=None):
        if (self.warm_start and hasattr(self, "coef_")
                and self.coef_.shape == (obj.n_classes, obj.n_features)
                and self.intercept_.shape == (obj.n_classes,)):
            w = self.coef_.ravel() if obj.n_classes > 1 else self.coef_[0]
            return obj.join(w, self.intercept_ if obj.n_classes > 1 else self.intercept_[0])
        theta = np.zeros(obj.n_params)
        if (obj.fit_intercept and self.link == "logit" and class_weight is not None
                and np.all(class_weight > 0)):
            # Start at the optimum over the intercept alone for w = 0: the log-odds of
            # the (weighted) class frequencies. Saves the first iterations of every solver.
            log_prior = np.log(class_weight / class_weight.sum())
            if obj.n_classes == 1:
                theta[obj.n_coef] = log_prior[1] - log_prior[0]
            else:
                theta[obj.n_coef:] = log_prior - log_prior.mean()
        return theta

    def _store(self, obj, result, solver, *, warn_unconverged=True, l1=0.0):
        if not (np.isfinite(result.loss) and np.all(np.isfinite(result.theta))):
            raise ValueError(
                f"{solver} ended on a non-finite objective ({result.loss}) or coefficients: "
                "the scores X @ coef_ overflow float64. Standardize the features (largest "
                f"|X| seen by the fit: {obj.max_abs():.3g})."
            )
        w, b = obj.split(result.theta)
        C, d = obj.n_classes, obj.n_features
        coef = np.array(w, dtype=np.float64).reshape(C, d)
        intercept = np.zeros(C) if not obj.fit_intercept else np.array(b, dtype=np.float64).reshape(C)
        if C > 1:
            # Softmax intercepts are defined up to a common shift (and so are the rows of
            # coef without penalty): report the centred representative, which leaves the
            # objective and the predictions unchanged.
            if obj.fit_intercept:
                intercept -= intercept.mean()
            if obj.l2 == 0.0 and l1 == 0.0:
                coef -= coef.mean(axis=0)
        # The optimizer's float64 solution, rounded once to the dtype of the X it was fitted on
        dtype = obj.dtype
        with np.errstate(over="ignore"):
            coef, intercept = coef.astype(dtype, copy=False), intercept.astype(dtype, copy=False)
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise ValueError(
                f"{solver} found coefficients beyond the range of {dtype} (X is {dtype}; largest "
                f"|coefficient| {np.max(np.abs(result.theta)):.3g}). Standardize the features or "
                "fit on float64 X."
            )
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.objective_ = float(result.loss)
        self.gradient_max_norm_ = float(result.grad_max)
        self.solver_ = solver
        self.n_passes_ = (float(result.n_loss_grad), float(result.n_hessp))
        if not warn_unconverged:
            return
        if result.hit_max_iter:
            warnings.warn(
                f"{solver} did not converge in max_iter={self.max_iter} iterations: "
                f"{'minimum-norm subgradient' if l1 else 'gradient'} max-norm "
                f"{result.grad_max:.3e} > tol={self.tol:g}. Increase max_iter, "
                "standardize the features or lower C.",
                ConvergenceWarning, stacklevel=4,  # user code -> _all_or_nothing -> fit -> _store
            )
        elif not result.converged:
            warnings.warn(
                f"{solver} stopped before reaching tol={self.tol:g}: {result.message} (gradient "
                f"max-norm {result.grad_max:.3e}). The data may be badly scaled: standardize the "
                "features or lower C.",
                ConvergenceWarning, stacklevel=4,  # user code -> _all_or_nothing -> fit -> _store
            )

    # ------------------------------------------------------------------ fit
    @_all_or_nothing
    def fit(self, X, y=None, sample_weight=None):
        """Fit by maximum likelihood with L2 penalty.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), Dask array or \
DataFrame, or :class:`fastlogreg.Chunks`
            float32 or float64 (kept as is: float32 data train without a float64 copy);
            SciPy CSR used as is, other sparse formats converted to CSR once. A memory
            map (``np.load(path, mmap_mode="r")``) is read in place. A Dask collection
            (row chunks; on the current ``dask.distributed`` client) is trained on where
            its chunks are: each evaluation runs the kernels on every chunk on its worker
            and brings back the partial sums only. A :class:`fastlogreg.Chunks` stream is
            read once per evaluation ("lbfgs" and "newton"; "sgd" needs in-memory data).
        y : array-like of shape (n_samples,), any labels (two or more classes)
            A Dask array or Series with the row chunks of a Dask ``X``; None (and no
            ``sample_weight``) for :class:`fastlogreg.Chunks`, whose chunks carry them.
        sample_weight : array-like of shape (n_samples,), optional, >= 0

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> clf = LogisticRegression(backend="numpy").fit(X, ["a", "a", "b", "b"])
        >>> clf.solver_, clf.coef_.shape
        ('lbfgs', (1, 1))
        >>> bool(clf.gradient_max_norm_ <= clf.tol)
        True
        """
        self._check_params()
        if isinstance(X, _sources.Chunks) or _dask.is_dask_collection(X):
            return self._fit_chunked(X, y, sample_weight)
        X, y = self._validate_X_y(X, y)
        sw, weight_sum = check_sample_weight(sample_weight, X.shape[0])
        self.classes_ = _unique_labels(y)
        self._check_classes()
        target = _encode_labels(y, self.classes_)
        sw = self._sample_weight(target, sw if sw.shape[0] else None)
        sw, weight_sum = check_sample_weight(sw, X.shape[0])
        class_weight = self._check_weighted_classes(target, sw if sw.shape[0] else None)
        problem = self._problem(X, target, sw if sw.shape[0] else None)
        l1, l2 = self._strengths(weight_sum)
        obj = solvers.Objective(problem, l2, self.fit_intercept, self.backend)
        solver = self._solver_for(obj, l1)
        start = time.perf_counter()
        theta0 = self._initial_theta(obj, class_weight)
        _first_pass(obj, theta0, lambda: _check_finite_X(X))
        return self._solve(obj, theta0, solver, l1, start)

    def _fit_chunked(self, X, y, sample_weight):
        """:meth:`fit` on chunked data (:class:`fastlogreg.Chunks` or Dask collections): a
        scan of every chunk finds the labels and checks the data, then the solver runs on
        the objective over the chunks (:mod:`fastlogreg._sources`, :mod:`fastlogreg._dask`)."""
        if self._l1_fraction() > 0.0:
            raise ValueError(f"penalty={self.penalty!r} (with an L1 part) needs the data in memory: "
                             "chunked data (Chunks, Dask) trains with penalty='l2' or None")
        if self.class_weight is not None:
            raise ValueError("class_weight needs the data in memory: for chunked data (Chunks, Dask), "
                             "multiply the class weights into the chunks' sample_weight")
        columns = None
        if isinstance(X, _sources.Chunks):
            if y is not None or sample_weight is not None:
                raise ValueError("y and sample_weight come from the chunks when X is a Chunks: call "
                                 "fit(chunks) without them")
            source, info = _sources.open_chunks(X, self.link)
        else:
            source, info, columns = _dask.open_dask(X, y, sample_weight, self.link)
        class_weight, weight_sum = info["class_weight"], info["weight_sum"]
        self.classes_ = info["classes"]
        self._check_classes()
        if not (0 < weight_sum < np.inf):
            raise ValueError(f"sample_weight sums to {weight_sum}; the sum must be positive and finite")
        self._check_positive_classes(class_weight)
        self.n_features_in_ = info["n_features"]
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        obj = solvers.Objective(source, self._l2(weight_sum), self.fit_intercept, self.backend)
        solver = self._solver_for(obj, 0.0)
        start = time.perf_counter()
        try:
            theta0 = self._initial_theta(obj, class_weight)
            _first_pass(obj, theta0, source.check_finite)
            return self._solve(obj, theta0, solver, 0.0, start)
        finally:
            source.close()

    def _smooth_streamable(self):
        """partial_fit exists for the smooth penalties and without "balanced" class weights."""
        l1_part = self.penalty == "l1" or (self.penalty == "elasticnet" and self.l1_ratio != 0)
        return not l1_part and not isinstance(self.class_weight, str)

    @available_if(_smooth_streamable)
    @_all_or_nothing
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of mini-batch SGD (SVRG) on this batch, from the current coefficients.

        Each call reduces the objective of its own data (with ``C`` scaled by that data's
        weight sum, as in :meth:`fit`); repeated calls on the same data converge to the
        :meth:`fit` solution. ``classes`` (all labels the stream will contain) is required
        on the first call and must not change afterwards. Available for the smooth
        penalties ("l2", None) and without ``class_weight="balanced"`` only.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), labels among ``classes``
        classes : array-like of shape (n_classes,), optional
            Every label of the stream; required on the first call only.
        sample_weight : array-like of shape (n_samples,), optional, >= 0

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegression
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> clf = LogisticRegression(backend="numpy", random_state=0)
        >>> for _ in range(20):
        ...     clf = clf.partial_fit(X, [0, 0, 1, 1], classes=[0, 1])
        >>> clf.predict([[-1.5], [1.5]]).tolist()
        [0, 1]
        """
        first = not hasattr(self, "coef_")  # after fit, partial_fit continues from its solution
        self._check_params()
        if isinstance(X, _sources.Chunks) or _dask.is_dask_collection(X):
            raise TypeError("partial_fit takes one in-memory batch: call it on each chunk of the "
                            "stream (one SVRG epoch per call), or fit the whole Chunks / Dask "
                            "collection with fit")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(f"partial_fit needs at least 2 classes, got classes={classes!r}")
            if self.link == "probit" and len(classes) > 2:
                raise ValueError("Only binary classification is supported. link='probit' is for "
                                 f"two classes; classes has {len(classes)}")
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes={classes!r} is not the same as on the first call to "
                             f"partial_fit: {self.classes_!r}")
        X, y = self._validate_X_y(X, y, reset=first)
        _check_finite_X(X)
        if first:
            self.classes_ = classes
        target = _encode_labels(np.asarray(y), self.classes_)
        sw, _ = check_sample_weight(sample_weight, X.shape[0])
        sw = self._sample_weight(target, sw if sw.shape[0] else None)
        sw, weight_sum = check_sample_weight(sw, X.shape[0])
        problem = self._problem(X, target, sw if sw.shape[0] else None)
        obj = solvers.Objective(problem, self._l2(weight_sum), self.fit_intercept, self.backend)
        if first or not hasattr(self, "_sgd_state"):
            self._sgd_state = {}
        if first:
            theta0 = np.zeros(obj.n_params)
        else:
            theta0 = obj.join(self.coef_.ravel() if obj.n_classes > 1 else self.coef_[0],
                              self.intercept_ if obj.n_classes > 1 else self.intercept_[0])
        if not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(self.random_state)
        result = solvers.sgd(obj, theta0, tol=float(self.tol), max_iter=1, verbose=self.verbose,
                             random_state=self._rng, state=self._sgd_state)
        # one epoch per call is the contract: stopping short of tol is not a failure
        self._store(obj, result, "sgd", warn_unconverged=False)
        return self

    # ------------------------------------------------------------------ predict
    def _scores(self, X):
        """``(scores, dtype)``: float64 scores ``X @ coef_.T + intercept_`` (n, C or 1), and
        the dtype the public methods return (NumPy's promotion of X's and ``coef_``'s)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        dtype = np.result_type(X.dtype, self.coef_.dtype, self.intercept_.dtype)
        coef_t = self.coef_.T.astype(np.float64, copy=False)
        if X.dtype == np.float64 and not X.is_sparse:
            scores = X.X @ coef_t
        else:  # score row blocks in float64 (no float64 copy of float32 or sparse X)
            scores = np.empty((X.shape[0], coef_t.shape[1]))
            for rows, block in X.row_blocks():
                scores[rows] = block.astype(np.float64, copy=False) @ coef_t
        scores += self.intercept_
        return scores, dtype

    def decision_function(self, X):
        """Scores ``X @ coef_.T + intercept_``: (n,) for two classes, (n, n_classes) otherwise.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            float32 when ``X`` and the model are float32 (products summed in float64,
            rounded once), float64 otherwise.

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> clf = LogisticRegression(backend="numpy").fit(X, ["a", "a", "b", "b"])
        >>> scores = clf.decision_function([[0.0], [3.0]])
        >>> scores.shape, bool(scores[0] < 0 < scores[1])
        ((2,), True)
        """
        scores, dtype = self._scores(X)
        scores = scores.astype(dtype, copy=False)
        return scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X):
        """Class labels: argmax of the scores (``score > 0`` for two classes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), labels from ``classes_``

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> clf = LogisticRegression(backend="numpy").fit(X, ["a", "a", "b", "b"])
        >>> clf.predict([[0.2], [2.8]]).tolist()
        ['a', 'b']
        """
        scores, _ = self._scores(X)  # float64: no ties or zeros made by rounding to float32
        if len(self.classes_) == 2:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_log_proba(self, X):
        """Log class probabilities from log-sigmoid / log-softmax (log Phi for probit): exact in the tails.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), columns in the order of ``classes_``
            Computed from float64 scores; float32 when ``X`` and the model are float32.

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> clf = LogisticRegression(backend="numpy").fit(X, ["a", "a", "b", "b"])
        >>> logp = clf.predict_log_proba([[1.5]])
        >>> bool(np.allclose(np.exp(logp).sum(), 1.0))
        True
        """
        scores, dtype = self._scores(X)
        if len(self.classes_) > 2:
            logp = functions.log_softmax(scores, backend=self.backend)
        else:
            both = np.column_stack([-scores[:, 0], scores[:, 0]])
            if self.link == "probit":
                logp = functions.log_ndtr(both, backend=self.backend)
            else:
                logp = functions.log_sigmoid(both, backend=self.backend)
        return logp.astype(dtype, copy=False)

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), columns in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1. Computed from float64 scores; float32 when ``X`` and the
            model are float32.

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> clf = LogisticRegression(backend="numpy").fit(X, ["a", "a", "b", "b"])
        >>> p = clf.predict_proba([[1.5]])  # the middle of the two classes
        >>> p.shape, bool(np.allclose(p, 0.5, atol=1e-4))
        ((1, 2), True)
        """
        scores, dtype = self._scores(X)
        if len(self.classes_) > 2:
            proba = functions.softmax(scores, backend=self.backend)
        else:
            both = np.column_stack([-scores[:, 0], scores[:, 0]])
            if self.link == "probit":
                proba = np.exp(functions.log_ndtr(both, backend=self.backend))
            else:
                proba = functions.sigmoid(both, backend=self.backend)
        return proba.astype(dtype, copy=False)

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted model to ``path`` (.npz + JSON metadata, no pickle): see :func:`fastlogreg.load`.

        Parameters
        ----------
        path : str or path-like
            Written exactly there (no suffix is added).

        Returns
        -------
        None

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> clf = LogisticRegression(backend="numpy").fit(X, ["a", "a", "b", "b"])
        >>> import os, tempfile
        >>> from fastlogreg import load
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> clf.save(path)
        >>> load(path).predict([[0.2], [2.8]]).tolist()
        ['a', 'b']
        """
        from .persistence import save

        save(self, path)
