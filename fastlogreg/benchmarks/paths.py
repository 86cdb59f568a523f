"""Regularization paths: the L1 path and ``LogisticRegressionCV`` of ``fastlogreg bench --full``.

Shared by the command (the ``"path"`` and ``"cv"`` cases of :mod:`.cases`, built by
:func:`build_l1_path` and :func:`build_cv`) and by ``bench/bench_path.py``.

**L1 path**: a binary path of :data:`PATH_POINTS` values of ``C``, log-spaced from
``C_min`` (the smallest ``C`` whose model is all zeros without intercept, :func:`path_Cs`)
up to :data:`PATH_SPAN` times it, on X of standard normals with a planted sparse model
(:func:`make_planted`). Each method walks the path (:func:`path_methods`): fastlogreg's
``LogisticRegression(penalty="l1", warm_start=True)`` with ``C`` set per point,
scikit-learn's liblinear (no warm start: it refits each point; without intercept it
solves the same problem), scikit-learn's saga with ``warm_start=True`` (only when asked:
11 minutes at 500,000 x 200) and glum's ``alpha_search`` when glum imports. A path
point's objective is :func:`l1_objective`, a NumPy formula (not the code under test); a
method reaches the common optimum when every point is within :data:`OBJECTIVE_RTOL`
relative of the best objective any method reached there (:func:`objective_gaps`).

**LogisticRegressionCV**: ``Cs=10``, 5 stratified folds (the same for both libraries),
L2, accuracy scoring, each library at its default ``tol``; what is compared is the
chosen ``C_``.
"""

import functools
import warnings

import numpy as np

from .cases import _optional, _with_threads

PATH_POINTS = 20
PATH_SPAN = 100.0
#: Largest relative objective gap, at any path point, of a path that reaches the optimum.
OBJECTIVE_RTOL = 1e-8
#: ``tol`` of each method's walk: fastlogreg's gradient max-norm, liblinear's and glum's
#: own tests; saga's 1e-6 (tighter takes far longer than its 11 minutes).
PATH_TOLS = {"fastlogreg": 1e-8, "sklearn liblinear": 1e-8, "sklearn saga": 1e-6, "glum": 1e-8}
#: Rows of the untimed warm-up walk over the whole path (JIT compilation of the kernels
#: every support size needs, first touches).
WARMUP_ROWS = 5_000
CV_FOLDS = 5
CV_CS = 10


def make_binary(n, d, seed=0, dtype=np.float64, offset=0.5):
    """X (n, d) standard normal, y ~ Bernoulli(s(X w + offset)), w ~ N(0, 4 / d), in blocks."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d), dtype=dtype)
    y = np.empty(n, dtype=np.int64)
    w = rng.standard_normal(d) / np.sqrt(d) * 2.0
    step = 1 << 16
    for start in range(0, n, step):
        block = rng.standard_normal((min(step, n - start), d))
        X[start:start + step] = block
        z = block @ w + offset
        y[start:start + step] = rng.random(block.shape[0]) < 1.0 / (1.0 + np.exp(-z))
    return X, y


def make_planted(n, d, informative=20, seed=0, sparse_density=None):
    """X (n, d) standard normal (or CSR with ``sparse_density``), y from a planted sparse
    model: ``informative`` coefficients of magnitude U(0.3, 1) and random sign, no intercept."""
    if not 0 < informative <= d:
        raise ValueError(f"informative must be in [1, d={d}], got {informative}")
    rng = np.random.default_rng(seed)
    w = np.zeros(d)
    w[rng.choice(d, informative, replace=False)] = rng.choice([-1.0, 1.0], informative) * rng.uniform(
        0.3, 1.0, informative)
    if sparse_density is not None:
        from scipy import sparse

        X = sparse.random(n, d, density=sparse_density, format="csr", random_state=seed,
                          data_rvs=rng.standard_normal)
        z = X @ w / np.sqrt(sparse_density)
    else:
        X = np.empty((n, d))
        z = np.empty(n)
        step = 1 << 15
        for start in range(0, n, step):
            block = rng.standard_normal((min(step, n - start), d))
            X[start:start + step] = block
            z[start:start + step] = block @ w
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return X, y


def path_Cs(X, y, points=PATH_POINTS, span=PATH_SPAN):
    """``points`` values of ``C`` log-spaced from ``C_min = 1 / (n max_j |X_j^T (y - 1/2)|)``
    (the smallest ``C`` whose L1 model without intercept is all zeros) to ``span * C_min``."""
    n = X.shape[0]
    g = np.abs(X.T @ (y - 0.5)) / n  # gradient at w = 0 without intercept
    c_min = 1.0 / (n * float(np.max(g)))
    return c_min * np.logspace(0, np.log10(span), points)


def l1_objective(X, y, coef, C):
    """mean softplus loss + ||w||_1 / (C n), by NumPy."""
    z = np.asarray(X @ coef).ravel()
    loss = np.logaddexp(0.0, z) - y * z
    return float(loss.mean() + np.abs(coef).sum() / (C * X.shape[0]))


def path_objectives(X, y, coefs, Cs):
    """:func:`l1_objective` at every point of a path (coefficients per ``C``)."""
    return np.array([l1_objective(X, y, c, C) for c, C in zip(coefs, Cs)])


def objective_gaps(objectives):
    """Each method's largest relative gap over the path points to the best objective any
    method reached there. ``objectives``: label -> array (one value per path point)."""
    best = np.min(np.vstack(list(objectives.values())), axis=0)
    return {label: float(np.max((obj - best) / np.abs(best))) for label, obj in objectives.items()}


def fastlogreg_path(X, y, Cs, tol=PATH_TOLS["fastlogreg"], backend=None):
    """fastlogreg's warm-started walk: ``LogisticRegression(penalty="l1", warm_start=True)``."""
    from ..linear_model import LogisticRegression

    model = LogisticRegression(penalty="l1", fit_intercept=False, warm_start=True, tol=tol,
                               max_iter=1000, backend=backend)
    coefs = []
    for C in Cs:
        model.set_params(C=C).fit(X, y)
        coefs.append(model.coef_[0].astype(np.float64).copy())
    return coefs


def saga_path(X, y, Cs, tol=PATH_TOLS["sklearn saga"]):
    """scikit-learn's saga, warm-started along the path."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(penalty="l1", solver="saga", fit_intercept=False, warm_start=True,
                               tol=tol, max_iter=10_000, random_state=0)
    coefs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for C in Cs:
            model.set_params(C=C).fit(X, y)
            coefs.append(model.coef_[0].copy())
    return coefs


def liblinear_path(X, y, Cs, tol=PATH_TOLS["sklearn liblinear"]):
    """scikit-learn's liblinear, one fit per point (it has no warm start).

    ``random_state`` is fixed because liblinear's coordinate order is random: its time
    varies from seed to seed, and a fixed seed makes a run repeatable."""
    from sklearn.linear_model import LogisticRegression

    coefs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for C in Cs:
            model = LogisticRegression(C=C, penalty="l1", solver="liblinear", fit_intercept=False,
                                       tol=tol, max_iter=10_000, random_state=0)
            coefs.append(model.fit(X, y).coef_[0].copy())
    return coefs


def glum_path(X, y, Cs, tol=PATH_TOLS["glum"]):
    """glum's ``alpha_search`` with ``alpha = 1 / (C n)`` (glum's mean-deviance scaling)."""
    from glum import GeneralizedLinearRegressor

    alphas = 1.0 / (np.asarray(Cs) * X.shape[0])  # decreasing: glum walks from the largest
    model = GeneralizedLinearRegressor(family="binomial", l1_ratio=1.0, alpha_search=True, alphas=alphas,
                                       fit_intercept=False, gradient_tol=tol, max_iter=1000)
    model.fit(X, y)
    return [np.asarray(c, dtype=np.float64) for c in model.coef_path_]


def path_methods(saga=False, glum=True):
    """Label -> ``walk(X, y, Cs)`` of the comparison libraries: liblinear, saga when
    ``saga``, glum when ``glum`` and it imports (fastlogreg's walk is :func:`fastlogreg_path`)."""
    out = {"sklearn liblinear": liblinear_path}
    if saga:
        out["sklearn saga"] = saga_path
    if glum and _optional("glum") is not None:
        out["glum"] = glum_path
    return out


def cv_folds(X, y, n_splits=CV_FOLDS):
    """The stratified, shuffled folds both libraries use (seed 0)."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y))


def fastlogreg_cv(folds, Cs=CV_CS, backend=None, **options):
    """``fastlogreg.LogisticRegressionCV(Cs, cv=folds)`` (default ``tol``, accuracy)."""
    from ..linear_model_cv import LogisticRegressionCV

    return LogisticRegressionCV(Cs=Cs, cv=folds, backend=backend, **options)


def sklearn_cv(folds, Cs=CV_CS, **options):
    """scikit-learn's ``LogisticRegressionCV`` with the same folds, accuracy scoring."""
    from sklearn.linear_model import LogisticRegressionCV

    return LogisticRegressionCV(Cs=Cs, cv=folds, scoring=None, **_sklearn_cv_options(), **options)


def _sklearn_cv_options():
    """``l1_ratios=None, use_legacy_attributes=True`` where scikit-learn has them (1.8:
    without them it warns of changing defaults and returns ``C_`` in a new layout)."""
    import inspect

    from sklearn.linear_model import LogisticRegressionCV

    params = inspect.signature(LogisticRegressionCV).parameters
    return {k: v for k, v in (("l1_ratios", None), ("use_legacy_attributes", True)) if k in params}


def chosen_C(model):
    """The ``C_`` a fitted binary CV model chose, as a float."""
    return float(np.ravel(model.C_)[0])


# ----------------------------------------------------------------------------- bench cases
def _quiet(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes of the comparison libraries
            return fn(*args, **kwargs)
    return run


def build_l1_path(case, n_threads, backends, comparisons, informative=20):
    """The ``"path"`` case: :data:`PATH_POINTS` values of ``C`` on :func:`make_planted` data
    of ``case.shape``. fastlogreg walks the path on each backend of ``backends`` (the
    first is the row named reference), liblinear and glum when ``comparisons``. Each
    candidate's result is its path's objectives; its agreement is its largest relative gap
    to the best objective any candidate reached at a point (:func:`objective_gaps`). One
    repetition (the walk that is checked is the one timed), after an untimed warm-up walk
    of every method on :data:`WARMUP_ROWS` rows."""
    from .cases import Prepared

    n, d = case.shape
    X, y = make_planted(n, d, min(informative, d))
    Cs = path_Cs(X, y)
    backends = list(backends) or ["numpy"]
    walks = {name: functools.partial(fastlogreg_path, backend=name) for name in backends}
    others = path_methods() if comparisons else {}
    supports = {}

    def make(label, walk):
        def run():
            coefs = _with_threads(n_threads, _quiet(functools.partial(walk, X, y, Cs)))()
            supports[label] = [int(np.count_nonzero(c)) for c in coefs]
            return (path_objectives(X, y, coefs, Cs),)
        return run

    def warmup():
        for walk in list(walks.values()) + list(others.values()):
            _with_threads(n_threads, _quiet(functools.partial(
                walk, X[:WARMUP_ROWS], y[:WARMUP_ROWS], Cs)))()

    def agreement(results):
        return objective_gaps({label: result[0] for label, result in results.items()})

    def details(label, result):
        support = supports.get(label, [])
        note = f"support {support[0]}-{support[-1]} of {d}" if support else ""
        return {"Cs": Cs.tolist(), "path_objectives": result[0].tolist(), "support_sizes": support,
                "note": note}

    reference, *rest = backends
    return Prepared(X, make(reference, walks[reference]), {b: make(b, walks[b]) for b in rest},
                    {label: make(label, walk) for label, walk in others.items()}, "norm", X.nbytes,
                    reference_label=reference, agreement=agreement, max_repeat=1, warmup=warmup,
                    details=details)


def build_cv(case, n_threads, backends, comparisons):
    """The ``"cv"`` case: ``LogisticRegressionCV(Cs=10, cv=5)``, L2, on :func:`make_binary`
    data of ``case.shape``; the reference is scikit-learn's ``LogisticRegressionCV`` with
    the same folds (always timed: it is what the chosen ``C_`` is checked against), the
    candidates fastlogreg's on each backend. A candidate's agreement is the relative
    difference of its ``C_`` from scikit-learn's (0: the same ``C_``). One repetition,
    after an untimed warm-up fit on :data:`WARMUP_ROWS` rows."""
    from .cases import Prepared

    n, d = case.shape
    X, y = make_binary(n, d)
    folds = cv_folds(X, y)
    chosen = {}

    def make(label, estimator):
        def run():
            model = _with_threads(n_threads, _quiet(lambda: estimator().fit(X, y)))()
            chosen[label] = chosen_C(model)
            return (np.array([chosen[label]]),)
        return run

    def warmup():
        small = cv_folds(X[:WARMUP_ROWS], y[:WARMUP_ROWS], 2)
        for name in backends:
            _with_threads(n_threads, _quiet(
                lambda name=name: fastlogreg_cv(small, 2, backend=name).fit(X[:WARMUP_ROWS],
                                                                             y[:WARMUP_ROWS])))()

    def details(label, result):
        return {"C_": float(result[0][0]), "note": f"C_ {float(result[0][0]):.6g}"}

    reference = "sklearn LogisticRegressionCV"
    impls = {b: make(b, functools.partial(fastlogreg_cv, folds, backend=b)) for b in backends}
    return Prepared(X, make(reference, functools.partial(sklearn_cv, folds)), impls, {},
                    "elementwise", X.nbytes, reference_label=reference, max_repeat=1,
                    warmup=warmup, details=details)
