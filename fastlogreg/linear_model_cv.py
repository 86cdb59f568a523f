"""``LogisticRegressionCV``: ``C`` (and ``l1_ratio``) chosen by cross-validation on warm-started paths.

For each fold and each ``l1_ratio``, the models of all ``Cs`` are fitted in the order
given, each starting from the previous one's solution (a path), on the same validated
training problem: the problem is built once and only the penalty strengths change along
the path. Binary dense data with an L2 penalty, fitted by L-BFGS on a fast backend, fit
all folds side by side without copying their rows (:mod:`fastlogreg._fold_batch`: one
pass over X evaluates every fold's objective); otherwise each fold's training rows are
copied once and the folds are fitted one after the other. The default accuracy score is
computed after each path, for all ``Cs`` at once. With an L1 part, the proximal Newton
solver reuses one Hessian row sample along the path and screens features by the
sequential strong rule (:mod:`fastlogreg._proximal`). Attributes and selection follow
scikit-learn's ``LogisticRegressionCV`` (its legacy attribute layout: ``scores_`` and
``coefs_paths_`` are dicts keyed by class).
"""

import functools
import inspect
import numbers
import sys
import time

import numpy as np
from sklearn.metrics import get_scorer, make_scorer
from sklearn.model_selection import check_cv

from . import _fold_batch, _proximal, solvers
from ._validation import check_sample_weight
from .linear_model import (
    LogisticRegression,
    _all_or_nothing,
    _check_finite_X,
    _encode_labels,
    _unique_labels,
)


def _check_Cs(Cs):
    if isinstance(Cs, numbers.Integral) and not isinstance(Cs, bool):
        if Cs < 1:
            raise ValueError(f"Cs must be an integer >= 1 or a list of positive numbers, got {Cs!r}")
        return np.logspace(-4, 4, int(Cs))
    try:
        values = np.asarray(Cs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"Cs must be an integer >= 1 or a list of positive numbers, got {Cs!r}") from None
    if values.ndim != 1 or values.shape[0] == 0 or not np.all(values > 0) or np.any(np.isnan(values)):
        raise ValueError(f"Cs must be an integer >= 1 or a non-empty list of positive numbers, got {Cs!r}")
    return values


def _fold_scorer(scoring, classes):
    """A scorer ``(estimator, X, y, sample_weight) -> float``; None: accuracy (weighted)."""
    if scoring is None:
        return lambda est, X, y, sw: est.score(X, y, sample_weight=sw)
    scorer = get_scorer(scoring)
    # As scikit-learn's LogisticRegressionCV: a metric with a "labels" argument is told
    # every class, so that a test fold missing a class scores on the same columns.
    func = getattr(scorer, "_score_func", None)
    if func is not None and "labels" in inspect.signature(func).parameters:
        kwargs = dict(getattr(scorer, "_kwargs", {}))
        if len(classes) <= 2 and "pos_label" in inspect.signature(func).parameters:
            kwargs["pos_label"] = classes[-1]
        scorer = make_scorer(func, greater_is_better=scorer._sign == 1,
                             response_method=scorer._response_method, labels=classes, **kwargs)
    return lambda est, X, y, sw: scorer(est, X, y)


class _PathObjective(solvers.Objective):
    """An Objective that remembers its last evaluation, so that the next point of a path
    starts without a pass over X: at the same ``theta`` only the L2 term changes,
    ``f' = f + (l2' - l2) ||w||^2 / 2`` and ``g' = g + (l2' - l2) w``."""

    _last = None

    def loss_grad(self, theta):
        loss, grad = super().loss_grad(theta)
        self._last = (np.array(theta, dtype=np.float64), loss, grad.copy(), self.l2)
        return loss, grad

    def set_l2(self, l2, theta):
        """Change the L2 strength; prime the next ``loss_grad(theta)`` when ``theta`` was the
        last point evaluated."""
        last = self._last
        self.l2 = float(l2)
        if last is None or not np.array_equal(last[0], theta):
            return
        w = theta[: self.n_coef]
        change = self.l2 - last[3]
        grad = last[2].copy()
        grad[: self.n_coef] += change * w
        self.prime(theta, last[1] + 0.5 * change * float(w @ w), grad)


def _path_accuracy(X, test, target, sample_weight, coefs, d, block=16384):
    """Weighted accuracy of each model of a path on the held-out rows ``test`` of ``X``
    (rows already validated): ``LogisticRegression.score`` for every ``C`` at once, reading
    the held-out rows once, in blocks, without a copy of them all.

    Parameters
    ----------
    X : ndarray or sparse matrix (n, d)
    test : (m,) int, the held-out rows
    target : (m,) their targets: float {0, 1} for two classes, class indices otherwise
    sample_weight : (m,) or None
    coefs : (n_cs, K, n_dof) the path's models (``n_dof = d + 1`` with an intercept)

    Returns
    -------
    (n_cs,) float64
    """
    n_cs, K, n_dof = coefs.shape
    W = coefs[:, :, :d].reshape(n_cs * K, d)
    correct = np.zeros(n_cs)
    for start in range(0, len(test), block):
        rows = test[start:start + block]
        scores = np.asarray(X[rows] @ W.T, dtype=np.float64).reshape(len(rows), n_cs, K)
        if n_dof > d:
            scores += coefs[:, :, d]
        predicted = (scores[:, :, 0] > 0) if K == 1 else np.argmax(scores, axis=2)
        hits = (predicted == target[start:start + block, None]).astype(np.float64)
        correct += hits.sum(axis=0) if sample_weight is None else sample_weight[start:start + block] @ hits
    total = float(len(test)) if sample_weight is None else float(np.sum(sample_weight))
    return correct / total


class LogisticRegressionCV(LogisticRegression):
    r"""Logistic / softmax regression with ``C`` (and ``l1_ratio``) picked by cross-validation.

    The objective of each candidate is that of :class:`~fastlogreg.LogisticRegression`
    with ``C`` from ``Cs`` and the penalty ``penalty`` (``l1_ratio`` from ``l1_ratios`` for
    "elasticnet"). Every fold fits the whole path of ``Cs`` warm-started, scores each
    model on its held-out rows, and the candidate with the best score summed over the
    folds is refitted on all the data (``refit=True``), as scikit-learn's
    ``LogisticRegressionCV`` does.

    Parameters
    ----------
    Cs : int or array-like of float > 0, default=10
        The values of ``C``, fitted in this order; an integer ``n`` means
        ``np.logspace(-4, 4, n)``.
    l1_ratios : array-like of float in [0, 1] or None, default=None
        The ``l1_ratio`` values for ``penalty="elasticnet"`` (required there); None otherwise.
    fit_intercept : bool, default=True
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn: None means 5-fold stratified; an integer, that many
        stratified folds.
    penalty : {"l2", "l1", "elasticnet"}, default="l2"
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or callable ``scorer(estimator, X, y)``; None: accuracy
        (weighted by ``sample_weight``).
    solver : {"auto", "lbfgs", "newton", "prox-newton"}, default="auto"
    tol : float >= 0, default=1e-6
    max_iter : int >= 1, default=100
    class_weight : dict, "balanced" or None, default=None
        As in :class:`~fastlogreg.LogisticRegression`; "balanced" weights come from the
        whole ``y`` (then the same in every fold).
    refit : bool, default=True
        True: refit on all the data with the best ``C`` (from the average of the folds'
        coefficients there). False: average the folds' best coefficients and ``C``.
    link : {"logit", "probit"}, default="logit"
    backend : {None, "numba", "c", "numpy"}, default=None
    verbose : int, default=0
        > 0 prints one line per fitted path point (fold, ``l1_ratio``, ``C``, iterations,
        score, time); > 1 also the solver's iterations.
    random_state : None
        Accepted for scikit-learn compatibility; the solvers are deterministic.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coef_ : ndarray (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray (1,) or (n_classes,)
    Cs_ : ndarray (n_cs,)
    l1_ratios_ : ndarray (n_l1_ratios,); ``[None]`` unless the penalty is "elasticnet"
    C_ : ndarray (1,) for two classes, else (n_classes,): the chosen ``C``, repeated
    l1_ratio_ : ndarray of the shape of ``C_``
    scores_ : dict {class: ndarray (n_folds, n_cs) or (n_folds, n_cs, n_l1_ratios)}
        The same array for every class; two classes: one key, ``classes_[1]``.
    coefs_paths_ : dict {class: ndarray (n_folds, n_cs, n_dof) or (n_folds, n_cs, n_l1_ratios, n_dof)}
        ``n_dof = n_features + 1`` with an intercept (last). Two classes: one key,
        ``classes_[1]``; more: one per class, its row of the softmax coefficients.
    n_iter_ : ndarray (1, n_folds, n_cs) or (1, n_folds, n_cs, n_l1_ratios)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogreg import LogisticRegressionCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> y = (X[:, 0] + 0.5 * rng.standard_normal(200) > 0).astype(int)
    >>> clf = LogisticRegressionCV(Cs=5, cv=3, backend="numpy").fit(X, y)
    >>> clf.Cs_.shape, clf.scores_[1].shape, clf.coefs_paths_[1].shape
    ((5,), (3, 5), (3, 5, 4))
    """

    def __init__(self, *, Cs=10, l1_ratios=None, fit_intercept=True, cv=None, penalty="l2",
                 scoring=None, solver="auto", tol=1e-6, max_iter=100, class_weight=None, refit=True,
                 link="logit", backend=None, verbose=0, random_state=None):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.refit = refit
        self.link = link
        self.backend = backend
        self.verbose = verbose
        self.random_state = random_state

    def _smooth_streamable(self):
        return False  # no partial_fit: it fits whole paths

    # LogisticRegression's methods read these; the path sets them per candidate
    C = 1.0
    l1_ratio = None
    warm_start = False

    def _estimator(self, C, l1_ratio, **changes):
        params = dict(C=C, penalty=self.penalty, l1_ratio=l1_ratio, fit_intercept=self.fit_intercept,
                      class_weight=self.class_weight, solver=self.solver, tol=self.tol,
                      max_iter=self.max_iter, link=self.link, backend=self.backend,
                      verbose=max(0, int(self.verbose) - 1))
        params.update(changes)
        return LogisticRegression(**params)

    def _check_params(self):
        self._Cs = _check_Cs(self.Cs)
        if self.penalty not in ("l2", "l1", "elasticnet"):
            raise ValueError(f"penalty must be 'l2', 'l1' or 'elasticnet', got {self.penalty!r}")
        if self.penalty == "elasticnet":
            ratios = self.l1_ratios
            try:
                values = [float(r) for r in ratios] if ratios is not None else []
            except (TypeError, ValueError):
                values = []
            if (not values or any(isinstance(r, bool) for r in ratios)
                    or not all(0.0 <= r <= 1.0 for r in values)):
                raise ValueError("penalty='elasticnet' needs l1_ratios, a non-empty list of numbers in "
                                 f"[0, 1], got l1_ratios={ratios!r}")
            self._l1_ratios = values
        else:
            if self.l1_ratios is not None:
                raise ValueError(f"l1_ratios is used with penalty='elasticnet' only; got "
                                 f"l1_ratios={self.l1_ratios!r} with penalty={self.penalty!r}")
            self._l1_ratios = [None]
        if self.solver == "sgd":
            raise ValueError("solver='sgd' is not available in LogisticRegressionCV; use 'auto', "
                             "'lbfgs', 'newton' or 'prox-newton'")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"refit must be True or False, got {self.refit!r}")
        for l1_ratio in self._l1_ratios:  # the parameters shared with LogisticRegression
            self._estimator(self._Cs[0], l1_ratio)._check_params()

    def _fold_objective(self, X, target, sw, train, source=None):
        """``(objective, class weights)`` of the training rows ``train``: the rows copied into
        a problem of their own, or ``source`` (a fold of :mod:`fastlogreg._fold_batch`)."""
        est = self._estimator(self._Cs[0], None)
        est.classes_ = self.classes_
        sw_train = None if sw is None else sw[train]
        class_counts = est._check_weighted_classes(target[train], sw_train)
        if source is None:
            source = est._problem(X.take_rows(train, contiguous=True), target[train], sw_train)
        return _PathObjective(source, 0.0, self.fit_intercept, self.backend), class_counts

    def _fit_path(self, obj, class_counts, test, target, y, sw_test, l1_ratio, fold_label):
        """The warm-started path of ``Cs`` on the objective ``obj`` of a fold's training
        rows (:meth:`_fold_objective`); scores on the rows ``test``.

        Returns coefs (n_cs, K, n_dof), scores (n_cs,), n_iter (n_cs,)."""
        Cs = self._Cs
        est = self._estimator(Cs[0], l1_ratio)
        est.classes_ = self.classes_
        weight_sum = obj.source.weight_sum
        theta = est._initial_theta(obj, class_counts)
        model = None
        previous_l1 = None
        K, d = obj.n_classes, obj.n_features
        n_dof = d + int(self.fit_intercept)
        coefs = np.zeros((len(Cs), K, n_dof))
        scores = np.zeros(len(Cs))
        n_iter = np.zeros(len(Cs), dtype=np.int32)
        X_test = None if self.scoring is None else self._X_input[test]
        scorer_est = self._estimator(Cs[0], l1_ratio)
        scorer_est.classes_ = self.classes_
        scorer_est.n_features_in_ = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            scorer_est.feature_names_in_ = self.feature_names_in_
        for i, C in enumerate(Cs):
            est.C = C
            scorer_est.C = C
            l1, l2 = est._strengths(weight_sum)
            obj.set_l2(l2, theta)
            solver = self._solver_for(obj, l1)
            start = time.perf_counter()
            if solver == "prox-newton":
                if model is None:
                    model = _proximal.HessianModel(obj)
                screen = previous_l1 if previous_l1 is not None and previous_l1 > l1 else None
                result = _proximal.prox_newton(obj, theta, l1=l1, tol=float(self.tol),
                                               max_iter=int(self.max_iter), model=model,
                                               screen_l1=screen, verbose=max(0, int(self.verbose) - 1))
            else:  # the BLAS pools are limited around all the paths (see fit)
                result = solvers._run_solver(obj, theta, solver, tol=float(self.tol),
                                             max_iter=int(self.max_iter),
                                             verbose=max(0, int(self.verbose) - 1))
            previous_l1 = l1
            theta = result.theta
            scorer_est._store(obj, result, solver, warn_unconverged=False, l1=l1)
            coefs[i, :, :d] = scorer_est.coef_
            if self.fit_intercept:
                coefs[i, :, d] = scorer_est.intercept_
            n_iter[i] = result.n_iter
            if X_test is not None:
                scores[i] = self._scorer(scorer_est, X_test, y[test], sw_test)
            if self.verbose:
                score = "" if X_test is None else f"  score {scores[i]:.6g}"
                print(f"[fastlogreg cv] {fold_label} C {i + 1:3d}/{len(Cs)} = {C:.4g}  iterations "
                      f"{result.n_iter:4d}{score}  {time.perf_counter() - start:.3f} s",
                      file=sys.stdout, flush=True)
        if X_test is None:  # accuracy: every C at once
            scores[:] = _path_accuracy(self._X_input, test, target[test], sw_test, coefs, d)
            if self.verbose:
                print(f"[fastlogreg cv] {fold_label} accuracy per C: "
                      + " ".join(f"{score:.6g}" for score in scores), file=sys.stdout, flush=True)
        return coefs, scores, n_iter

    def _fold_batch(self, X, target, sw, folds):
        """A :class:`fastlogreg._fold_batch.FoldBatch` when the folds can be fitted side by
        side (binary dense data, an L2 penalty and L-BFGS on a fast backend), else None."""
        if self.penalty != "l2" or not _fold_batch.usable(X, len(self.classes_), self.link,
                                                          self.backend):
            return None
        batch = _fold_batch.FoldBatch(X, target, folds, sw, self.link)
        if self._solver_for(_PathObjective(batch.source(0), 0.0, self.fit_intercept), 0.0) != "lbfgs":
            return None
        return batch

    @_all_or_nothing
    def fit(self, X, y, sample_weight=None):
        """Fit every path, choose ``C`` (and ``l1_ratio``), refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional, >= 0

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegressionCV
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((300, 4))
        >>> y = (X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(300) > 0).astype(int)
        >>> clf = LogisticRegressionCV(Cs=[0.01, 0.1, 1.0], cv=3, penalty="l1", backend="numpy").fit(X, y)
        >>> bool(clf.C_[0] in clf.Cs_), clf.coef_.shape
        (True, (1, 4))
        """
        self._check_params()
        X_design, y = self._validate_X_y(X, y)
        _check_finite_X(X_design)
        self._X_input = X_design.to_scipy() if X_design.is_sparse else X_design.X
        sw_given, _ = check_sample_weight(sample_weight, X_design.shape[0])
        sw_given = sw_given if sw_given.shape[0] else None
        self.classes_ = _unique_labels(y)
        self._check_classes()
        target = _encode_labels(y, self.classes_)
        base = self._estimator(self._Cs[0], self._l1_ratios[0])
        base.classes_ = self.classes_
        sw = base._sample_weight(target, sw_given)  # class weights from the whole y
        folds = list(check_cv(self.cv, y, classifier=True).split(self._X_input, y))
        self._scorer = _fold_scorer(self.scoring, self.classes_)
        n_folds, n_cs, n_l1 = len(folds), len(self._Cs), len(self._l1_ratios)
        K = 1 if len(self.classes_) == 2 else len(self.classes_)
        n_dof = X_design.shape[1] + int(self.fit_intercept)
        paths = np.zeros((n_folds, n_l1, n_cs, K, n_dof))
        scores = np.zeros((n_folds, n_l1, n_cs))
        n_iter = np.zeros((n_folds, n_l1, n_cs), dtype=np.int32)
        from threadpoolctl import threadpool_limits

        # One BLAS limit around every path, as solvers.minimize sets per fit: entering
        # threadpool_limits costs milliseconds, as much as a whole fit on small folds.
        limits = threadpool_limits(limits=1, user_api="blas")
        try:
            batch = self._fold_batch(X_design, target, sw, folds)

            def fit_fold(f):
                train, test = folds[f]
                obj, class_counts = self._fold_objective(
                    X_design, target, sw, train, None if batch is None else batch.source(f))
                sw_test = None if sw_given is None else sw_given[test]
                for r, l1_ratio in enumerate(self._l1_ratios):
                    label = f"fold {f + 1}/{n_folds}"
                    if l1_ratio is not None:
                        label += f" l1_ratio {l1_ratio:g}"
                    paths[f, r], scores[f, r], n_iter[f, r] = self._fit_path(
                        obj, class_counts, test, target, y, sw_test, l1_ratio, label)

            if batch is None:
                for f in range(n_folds):
                    fit_fold(f)
            else:
                batch.run([functools.partial(fit_fold, f) for f in range(n_folds)])
        finally:
            limits.restore_original_limits()
            del self._X_input, self._scorer
        self.Cs_ = self._Cs.copy()
        self.l1_ratios_ = np.asarray(self._l1_ratios)
        # (n_folds, n_cs, n_l1) as scikit-learn
        scores_t = np.swapaxes(scores, 1, 2)
        paths_t = np.swapaxes(paths, 1, 2)  # (n_folds, n_cs, n_l1, K, n_dof)
        if self.refit:
            total = scores_t.sum(axis=0)
            best_c, best_r = np.unravel_index(np.argmax(total), total.shape)
            C_best = float(self.Cs_[best_c])
            l1_best = self._l1_ratios[best_r]
            start = paths_t[:, best_c, best_r].mean(axis=0)  # (K, n_dof)
            est = self._estimator(C_best, l1_best, warm_start=True)
            est.coef_ = start[:, : X_design.shape[1]].copy()
            est.intercept_ = start[:, X_design.shape[1]].copy() if self.fit_intercept else np.zeros(K)
            est.fit(X, y, sample_weight=sample_weight)
            self.coef_, self.intercept_ = est.coef_, est.intercept_
            self.objective_, self.gradient_max_norm_ = est.objective_, est.gradient_max_norm_
            self.solver_, self.n_passes_ = est.solver_, est.n_passes_
            C_value, l1_value = C_best, l1_best
        else:
            flat = scores_t.reshape(n_folds, -1)
            best = [np.unravel_index(np.argmax(flat[f]), (n_cs, n_l1)) for f in range(n_folds)]
            w = np.mean([paths_t[f, c, r] for f, (c, r) in enumerate(best)], axis=0)
            dtype = X_design.dtype
            self.coef_ = w[:, : X_design.shape[1]].astype(dtype)
            self.intercept_ = (w[:, X_design.shape[1]] if self.fit_intercept else np.zeros(K)).astype(dtype)
            C_value = float(np.mean([self.Cs_[c] for c, _ in best]))
            l1_value = (float(np.mean([self._l1_ratios[r] for _, r in best]))
                        if self.penalty == "elasticnet" else 0.0)
            self.solver_, self.objective_, self.gradient_max_norm_ = None, None, None
        self.C_ = np.full(K, C_value)
        self.l1_ratio_ = np.asarray([l1_value] * K)
        keys = self.classes_[1:] if K == 1 else self.classes_
        elastic = self.penalty == "elasticnet"
        self.scores_ = {key: (scores_t.copy() if elastic else scores_t[:, :, 0].copy()) for key in keys}
        self.coefs_paths_ = {}
        for k, key in enumerate(keys):
            p = paths_t[:, :, :, k, :]
            self.coefs_paths_[key] = p if elastic else p[:, :, 0, :]
        self.n_iter_ = (n_iter.swapaxes(1, 2) if elastic else n_iter[:, 0, :])[None]
        return self

    def save(self, path):
        """Write the chosen model as a :class:`~fastlogreg.LogisticRegression` with ``C = C_[0]``
        (see :meth:`fastlogreg.LogisticRegression.save`); needs ``refit=True``.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        None

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from fastlogreg import LogisticRegressionCV, load
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [0.5], [2.5]])
        >>> clf = LogisticRegressionCV(Cs=3, cv=2, backend="numpy").fit(X, [0, 0, 1, 1, 0, 1])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> clf.save(path)
        >>> model = load(path)
        >>> type(model).__name__, bool(model.C == clf.C_[0])
        ('LogisticRegression', True)
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if not self.refit:
            raise ValueError("save needs refit=True: the averaged coefficients of refit=False are "
                             "not the solution of one LogisticRegression")
        l1_ratio = float(self.l1_ratio_[0]) if self.penalty == "elasticnet" else None
        est = self._estimator(float(self.C_[0]), l1_ratio)
        for name in ("classes_", "coef_", "intercept_", "n_features_in_", "objective_",
                     "gradient_max_norm_", "solver_", "feature_names_in_"):
            if hasattr(self, name):
                setattr(est, name, getattr(self, name))
        est.n_iter_ = np.array([0], dtype=np.int32)
        est.save(path)
