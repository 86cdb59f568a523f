"""The fit on a Dask array: fastlogreg on a ``distributed.LocalCluster`` against the
in-memory fit and dask-ml.

Shared by ``fastlogreg bench`` (the ``"dask"`` case of :mod:`.cases`, built by
:func:`build`) and ``bench/bench_dask.py``. One :func:`local_cluster` of
:data:`N_WORKERS` worker processes with one thread each holds X and y persisted in row
chunks; its startup and the persist are not timed, and it is closed when the case ends.

The same objective: dask-ml minimises ``sum_i l_i + ||beta||^2 / (2 C)`` with its
intercept inside ``beta`` (penalised), fastlogreg ``mean_i l_i + ||w||^2 / (2 C n)`` with
an unpenalised intercept. Without intercepts the two are the same function up to the
factor n, so every fit here has ``fit_intercept=False``, and dask-ml's ``tol`` (L-BFGS-B's
``pgtol`` on its sum) is fastlogreg's times n (:func:`dask_ml_fit`).
"""

import contextlib
import os
from pathlib import Path

import numpy as np

from .cases import _optional, _with_threads
from .paths import make_binary

N_WORKERS = 2
THREADS_PER_WORKER = 1
#: Rows of the untimed warm-up fit on the cluster (the workers load the kernels).
WARMUP_ROWS = 10_000


def available():
    """True when ``dask.array`` and ``distributed`` import (the ``[dask]`` extra)."""
    return _optional("dask.array") is not None and _optional("distributed") is not None


def make_data(n, d, seed=0):
    """X (n, d) standard normal float64, y ~ Bernoulli(s(X w)), w ~ N(0, 4 / d): no intercept."""
    return make_binary(n, d, seed, offset=0.0)


def objective(X, y, w, C):
    """``mean softplus(z) - y z + ||w||^2 / (2 C n)``, z = X w, in row blocks (NumPy)."""
    n = X.shape[0]
    step = 1 << 18
    total = 0.0
    for start in range(0, n, step):
        z = X[start:start + step] @ w
        total += float(np.sum(np.logaddexp(0.0, z) - y[start:start + step] * z))
    return total / n + float(w @ w) / (2 * C * n)


@contextlib.contextmanager
def local_cluster(n_workers=N_WORKERS, threads_per_worker=THREADS_PER_WORKER):
    """A ``LocalCluster`` of worker processes and a ``Client`` on it, closed on exit.

    The workers get this process's ``fastlogreg`` first on their ``PYTHONPATH``, so they
    run the same code as the client (a source checkout, not another installed copy).
    """
    from distributed import Client, LocalCluster

    import fastlogreg

    root = str(Path(fastlogreg.__file__).resolve().parents[1])
    path = os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    with LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                      dashboard_address=None, env={"PYTHONPATH": path}) as cluster, \
            Client(cluster) as client:
        yield client


def persist(X, y, chunks):
    """X and y as Dask arrays of ``chunks`` row chunks, persisted on the current client."""
    import dask.array as da

    rows = -(-X.shape[0] // chunks)
    Xd = da.from_array(X, chunks=(rows, X.shape[1])).persist()
    yd = da.from_array(y, chunks=rows).persist()
    return Xd, yd


def fastlogreg_fit(X, y, C, tol, max_iter=10_000, backend=None, solver="auto"):
    """``fastlogreg.LogisticRegression(fit_intercept=False).fit(X, y)`` (NumPy or Dask X)."""
    from ..linear_model import LogisticRegression

    return LogisticRegression(C=C, fit_intercept=False, solver=solver, tol=tol, max_iter=max_iter,
                              backend=backend).fit(X, y)


def dask_ml_fit(Xd, yd, C, tol, max_iter=10_000):
    """``dask_ml.linear_model.LogisticRegression(solver="lbfgs")`` on the same objective:
    no intercept, ``tol`` times n (dask-ml's objective is n times fastlogreg's)."""
    import warnings

    from dask_ml.linear_model import LogisticRegression

    model = LogisticRegression(C=C, fit_intercept=False, solver="lbfgs", tol=tol * Xd.shape[0],
                               max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(Xd, yd)
    return model


def build(case, n_threads, backends, comparisons, chunks):
    """The ``"dask"`` case: binary :func:`make_data` of ``case.shape`` in ``chunks`` row chunks
    on a :func:`local_cluster` started here and closed by ``Prepared.close``.

    The reference is the in-memory fit of the same data in this process on ``n_threads``
    kernel threads; the candidate is the same estimator's fit on the persisted Dask
    arrays, both on the first of ``backends`` (default backend when empty); the
    comparison is dask-ml's lbfgs when ``comparisons`` and dask-ml imports. ``C=1``,
    ``fit_intercept=False``, ``tol`` :data:`.cases.FIT_TOL`. Each result is
    ``(coef, intercept)``; objectives by :func:`.cases._fit_objective`.
    """
    import functools

    from .cases import FIT_TOL, Prepared, _fit_objective, _fit_result

    n, d = case.shape
    X, y = make_data(n, d)
    backend = backends[0] if backends else None
    name = backend or "default"
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(local_cluster())
        Xd, yd = persist(X, y, chunks)
    except BaseException:
        stack.close()
        raise
    in_memory = _with_threads(n_threads, lambda: _fit_result(fastlogreg_fit(X, y, 1.0, FIT_TOL,
                                                                            backend=backend)))

    def on_dask():
        return _fit_result(fastlogreg_fit(Xd, yd, 1.0, FIT_TOL, backend=backend))

    def warmup():  # load (or compile) the kernels here and on the workers, on the first rows
        rows = min(WARMUP_ROWS, n)
        fastlogreg_fit(X[:rows], y[:rows], 1.0, FIT_TOL, backend=backend)
        fastlogreg_fit(Xd[:rows], yd[:rows], 1.0, FIT_TOL, backend=backend)

    comps = {}
    if comparisons and _optional("dask_ml.linear_model") is not None:
        def dask_ml():  # its binary coef_ is (d,), without intercept_ when fit_intercept=False
            coef = np.asarray(dask_ml_fit(Xd, yd, 1.0, FIT_TOL).coef_, dtype=np.float64)
            return (coef.reshape(1, -1), np.zeros(1))

        comps["dask-ml lbfgs"] = dask_ml
    return Prepared(X, in_memory, {f"Dask ({name})": on_dask}, comps, "norm", X.nbytes,
                    objective=functools.partial(_fit_objective, X, y, 1.0),
                    reference_label=f"in memory ({name})", warmup=warmup, close=stack.close,
                    max_repeat=3)
