"""Compile every Numba kernel ahead of first use: ``fastlogreg warmup``.

The Numba kernels compile on their first call for each argument type (5-30 s per
kernel and dtype) and keep the machine code in Numba's on-disk cache (``cache=True``),
so later processes load it in a fraction of a second. :func:`run` calls each public
function once on tiny arrays, for each dtype, which compiles (or loads) exactly the
specialisations that the public functions and :class:`fastlogreg.LogisticRegression`
use on C-contiguous data; ``fortran=True`` adds the fused and Hessian-vector kernels on
Fortran-ordered ``X`` (what ``validate_data`` keeps from, e.g., a pandas DataFrame).
The CSR kernels (``<kernel>_csr``) are called directly on the backend, with int32 and
int64 indices for each data dtype, and so are the Numba loops of the solvers
(``LogisticRegressionCV``'s side-by-side folds, the L1 solver's Hessian on CSR X).

The C backend is compiled when the package is built and needs no warm-up.
"""

import time

import numpy as np

from . import _backend
from . import functions as F

DTYPES = ("float64", "float32")


def _elementwise(dtype, backend, fortran):
    z = np.linspace(-3.0, 3.0, 6, dtype=dtype).reshape(2, 3)
    F.sigmoid(z, backend=backend)
    F.log_sigmoid(z, backend=backend)
    F.log_ndtr(z, backend=backend)
    F.binary_cross_entropy(z[0], [0.0, 1.0, 1.0], backend=backend)


def _rowwise(dtype, backend, fortran):
    Z = np.linspace(-3.0, 3.0, 6, dtype=dtype).reshape(2, 3)
    F.logsumexp(Z, backend=backend)
    F.softmax(Z, backend=backend)
    F.log_softmax(Z, backend=backend)
    F.cross_entropy(Z, [0, 2], backend=backend)
    F.cross_entropy(Z, np.full((2, 3), 1.0 / 3.0), backend=backend)  # probability rows
    F.inner(Z, Z, backend=backend)
    F.inner(Z, Z[0], backend=backend)  # one row against every row (a stride-0 view)
    F.cosine_similarity(Z, Z, backend=backend)
    F.cosine_similarity(Z, Z[0], backend=backend)


def _design(dtype, fortran):
    X = np.linspace(-1.0, 1.0, 12, dtype=dtype).reshape(4, 3)
    return np.asfortranarray(X) if fortran else X


def _binary(dtype, backend, fortran):
    X = _design(dtype, fortran)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    w = np.zeros(3)
    F.logistic_loss_grad(X, y, w, backend=backend)
    F.probit_loss_grad(X, y, w, backend=backend)
    F.logistic_hessp(X, w, 0.0, np.ones(3), backend=backend)


def _softmax(dtype, backend, fortran):
    X = _design(dtype, fortran)
    W = np.zeros((3, 3))
    F.softmax_loss_grad(X, [0, 1, 2, 0], W, backend=backend)
    F.softmax_hessp(X, W, None, np.ones((3, 3)), backend=backend)


def _csr(dtype, backend, fortran):
    """The CSR kernels on a 4 x 3 matrix (an empty row, a repeated column), int32 and int64
    indices: each index dtype is a specialisation of its own."""
    kernels = _backend.resolve(backend)
    n_threads = _backend.get_num_threads()
    data = np.array([0.5, -1.0, 2.0, 1.5, -0.5], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    w, v = np.zeros(3), np.ones(3)
    W, V, b = np.zeros((3, 3)), np.ones((3, 3)), np.zeros(3)
    labels, no_Y = np.array([0, 1, 2, 0]), np.empty((0, 0))
    no_weights = np.empty(0)
    for itype in (np.int32, np.int64):
        X = (data, np.array([0, 2, 2, 1, 0], dtype=itype), np.array([0, 2, 2, 4, 5], dtype=itype))
        kernels.logistic_loss_grad_csr(*X, y, w, 0.0, no_weights, np.empty(3), n_threads)
        kernels.probit_loss_grad_csr(*X, y, w, 0.0, no_weights, np.empty(3), n_threads)
        kernels.logistic_hessp_csr(*X, w, 0.0, no_weights, v, 0.0, np.empty(3), n_threads)
        kernels.softmax_loss_grad_csr(*X, labels, no_Y, W, b, no_weights, np.empty((3, 3)),
                                      np.empty(3), n_threads)
        kernels.softmax_hessp_csr(*X, W, b, no_weights, V, b, np.empty((3, 3)), np.empty(3),
                                  n_threads)


def _solver_kernels(dtype, backend, fortran):
    """The Numba loops the estimators call besides a backend's kernels (whatever the
    backend): LogisticRegressionCV's side-by-side folds and the L1 solver's Hessian on CSR
    X. Compiled only for ``backend="numba"``, the backend that compiles."""
    if backend != "numba":
        return
    from ._proximal import _csr_gram
    from .backends.numba_kernels import folds
    from .backends.numba_kernels.fused import LOGIT, PROBIT

    X = _design(dtype, False)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    weights = np.ones((2, 4))
    W, B = np.zeros((2, 3)), np.zeros(2)
    for link in (LOGIT, PROBIT):
        folds.binary_folds_loss_grad(link, X, y, weights, np.ones(2, dtype=bool), (W, B),
                                     (np.empty(2), np.empty((2, 3)), np.empty(2)),
                                     _backend.get_num_threads())
    data = np.array([0.5, -1.0, 2.0], dtype=dtype)
    for itype in (np.int32, np.int64):
        _csr_gram(data, np.array([0, 2, 1], dtype=itype), np.array([0, 2, 3], dtype=itype),
                  np.ones(2), np.arange(3), True, np.zeros((4, 4)), 1)


# (name, function): one line of output per group and dtype.
GROUPS = (
    ("elementwise (sigmoid, log_sigmoid, log_ndtr, binary_cross_entropy)", _elementwise),
    ("row-wise (logsumexp, softmax, log_softmax, cross_entropy, inner, cosine)", _rowwise),
    ("binary fused (logistic/probit_loss_grad, logistic_hessp)", _binary),
    ("softmax fused (softmax_loss_grad, softmax_hessp)", _softmax),
    ("CSR (the five <kernel>_csr; int32 and int64 indices)", _csr),
    ("solver loops (CV folds side by side, the L1 solver's CSR Hessian)", _solver_kernels),
)


def run(dtypes=DTYPES, backend="numba", fortran=False, report=print):
    """Call every kernel of ``backend`` once per dtype; return the total seconds.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}
    backend : str
        The backend whose kernels are called ("numba": the one that compiles).
    fortran : bool
        Also call the fused and Hessian-vector kernels on Fortran-ordered ``X``.
    report : callable
        Receives one line per group and dtype (elapsed seconds), then the total.

    Returns
    -------
    float
        Seconds for all groups.
    """
    start = time.perf_counter()
    for dtype in dtypes:
        for name, group in GROUPS:
            layouts = (False, True) if fortran and group in (_binary, _softmax) else (False,)
            for layout in layouts:
                t0 = time.perf_counter()
                group(np.dtype(dtype), backend, layout)
                label = name + (", Fortran-ordered X" if layout else "")
                report(f"{backend} {dtype:<7} {label:<76} {time.perf_counter() - t0:7.1f} s")
    total = time.perf_counter() - start
    report(f"total {total:.1f} s")
    return total
