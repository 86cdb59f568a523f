"""Benchmark cases: data, the kernels to time, and the optional comparison libraries.

A :class:`Case` names a kernel, a shape and a dtype. :meth:`Case.prepare` makes its
seeded data and returns :class:`Prepared`: ``X`` (the array the ceiling reads), the
callable of the NumPy reference, one callable per fastlogreg backend and one per
installed comparison library (scipy.special, scikit-learn, PyTorch), and the ceiling of
the case (a read-only pass over the bytes every kernel must read). Every callable
returns its result in one normalised form (a tuple of arrays / scalars), so each can be
compared with the reference before anything is timed.

Kernels are called at the backend level (the contract of :mod:`fastlogreg.backends`)
with preallocated outputs: that is what a solver does on every iteration, and it keeps
validation and allocation out of the figures.

Sparse cases (``Case.index_law`` "uniform" or "zipf") run the CSR kernels
(``<kernel>_csr``) and the estimator on a seeded CSR matrix of :func:`csr_matrix_data`
with :data:`NNZ_PER_ROW` stored entries per row; their ceiling reads ``data`` and
``indices`` once (:func:`.ceiling.read_pass_csr`).
"""

import dataclasses
import functools
import importlib
import zlib

import numpy as np

from .. import _backend
from . import ceiling as _ceiling

#: Relative tolerance against the reference, per data dtype (the fused kernels'
#: documented bound: they agree to 1e-12 in float64 and 1e-5 in float32).
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
#: Fits stop at a gradient max-norm of FIT_TOL, so two fits agree to the optimum's
#: accuracy (coefficients to a relative 1e-6), not to a kernel's.
FIT_TOL = 1e-8
FIT_TOLERANCE = {"float64": 1e-6, "float32": 1e-6}
#: The benchmark's fits: binary 500,000 x 100 and multinomial 200,000 x 50, 10 classes.
FIT_SHAPES = (((500_000, 100), 0), ((200_000, 50), 10))

#: The fit on a Dask array: binary, float64, no intercept, in DASK_CHUNKS row chunks on a
#: LocalCluster of 2 single-threaded worker processes (:mod:`.dask_fit`).
DASK_SHAPE, DASK_CHUNKS = (2_000_000, 50), 8
DASK_KERNEL = "LogisticRegression.fit[dask]"
#: The regularization paths of ``--full`` (:mod:`.paths`): the L1 path (binary, 20
#: informative features) and LogisticRegressionCV (binary, L2). Their agreement: the
#: largest relative objective gap to the best any method reached at a path point, and
#: the relative difference of the chosen C_ from scikit-learn's (0: the same C_).
PATH_SHAPE, CV_SHAPE = (500_000, 200), (500_000, 100)
PATH_KERNEL, CV_KERNEL = "l1_path", "LogisticRegressionCV.fit"
PATH_TOLERANCE, CV_TOLERANCE = 1e-8, 0.0

ELEMENTWISE_N = 10_000_000
ROWWISE_SHAPE = (1_000_000, 10)
FUSED_SHAPES = ((1_000_000, 10), (1_000_000, 100), (100_000, 1_000))
CLASSES = (3, 10, 100)

#: Stored entries per row of the sparse cases, and their column laws.
NNZ_PER_ROW = 50
INDEX_LAWS = ("uniform", "zipf")
#: Exponent of the Zipf law of the "zipf" column indices: p_j proportional to 1/(j+1)^s.
ZIPF_EXPONENT = 1.1
SPARSE_SHAPE = (1_000_000, 100_000)
SPARSE_CLASSES = 10
#: The sparse fits. Smaller than the kernel cases: scikit-learn's lbfgs, unpreconditioned,
#: takes hundreds to thousands of iterations to a gradient max-norm of 1e-8 on the Zipf
#: law's rarely seen columns (857 and about a minute per fit at this size).
SPARSE_FIT_SHAPE = (50_000, 100_000)


@dataclasses.dataclass
class Prepared:
    """A case's data and callables (each returns a tuple of arrays / scalars).

    ``ceiling(n_threads)`` is the read-only pass the kernels are measured against and
    ``ceiling_bytes`` the bytes it reads (by default :func:`.ceiling.read_pass` over
    ``X`` and ``X.nbytes``). ``objective(result)``, when set, maps a candidate's result
    to a float reported next to it (the fits: the penalized mean loss at the returned
    coefficients, evaluated by the NumPy reference for every candidate).

    The fields after ``objective`` serve the cases whose reference is not the NumPy
    backend (the Dask fit, the regularization paths):

    * ``reference_label``: the reference's name in the rows (``"numpy"`` by default);
    * ``agreement(results)``: label -> result (the reference's included) to label ->
      agreement, the value compared with the case's tolerance; by default each
      candidate's :func:`relative_difference` from the reference;
    * ``max_repeat``: at most this many timed repetitions, the first being the call
      that is checked (for cases that take minutes); ``None``: the run's count, after
      the check;
    * ``warmup()``: called once, untimed, before the check (compilation on a slice);
    * ``close()``: called when the case is done, also on error (a cluster's shutdown);
    * ``details(label, result)``: extra fields of that candidate's row (a ``"note"``
      is also shown in the table).
    """

    X: object  # the ndarray, or a scipy.sparse CSR matrix for the sparse cases
    reference: object
    backends: dict  # backend name -> callable
    comparisons: dict  # library label -> callable
    relative: str  # "elementwise" or "norm": how differences are measured
    data_bytes: int = 0  # bytes the kernels must read (the GB/s column)
    ceiling: object = None
    ceiling_bytes: int = 0
    objective: object = None
    reference_label: str = "numpy"
    agreement: object = None
    max_repeat: object = None
    warmup: object = None
    close: object = None
    details: object = None

    def __post_init__(self):
        if self.ceiling is None:
            self.ceiling = functools.partial(_ceiling.read_pass, self.X)
            self.ceiling_bytes = self.X.nbytes


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark case.

    Attributes
    ----------
    kernel : str
        Public function / kernel name, e.g. ``"logistic_loss_grad"``.
    group : str
        ``"elementwise"``, ``"rowwise"``, ``"fused"``, ``"hessp"``, ``"sparse"`` (the
        fused kernels' CSR twins ``<kernel>_csr``), ``"fit"`` (the estimator's
        ``fit``, kernel ``"LogisticRegression.fit"``; ``n_classes`` 0 for two classes),
        ``"dask"`` (that fit on a Dask array, kernel ``"LogisticRegression.fit[dask]"``,
        :mod:`.dask_fit`), ``"path"`` (the L1 path, kernel ``"l1_path"``) or ``"cv"``
        (kernel ``"LogisticRegressionCV.fit"``), both :mod:`.paths`.
    shape : tuple of int
        Shape of X (``(n,)`` for elementwise on n elements).
    dtype : str
        ``"float32"`` or ``"float64"``.
    n_classes : int
        Classes of the multinomial kernels (0 otherwise).
    index_law : str
        ``""``: X dense; ``"uniform"`` or ``"zipf"``: X is CSR with :data:`NNZ_PER_ROW`
        entries per row whose columns follow that law (:func:`csr_matrix_data`).
    fit_intercept : bool
        The fits' ``fit_intercept`` (the kernel cases always have an intercept).
    chunks : int
        Row chunks of X in the ``"dask"`` case (0 otherwise).
    """

    kernel: str
    group: str
    shape: tuple
    dtype: str
    n_classes: int = 0
    index_law: str = ""
    fit_intercept: bool = True
    chunks: int = 0

    @property
    def nnz_per_row(self):
        """Stored entries per row of a sparse case (0 for dense X)."""
        return NNZ_PER_ROW if self.index_law else 0

    @property
    def name(self):
        shape = describe_shape(self.shape, self.n_classes, self.index_law, self.fit_intercept, ", ",
                               self.chunks)
        return f"{self.kernel} [{shape}]"

    @property
    def tolerance(self):
        if self.group == "path":
            return PATH_TOLERANCE
        if self.group == "cv":
            return CV_TOLERANCE
        return (FIT_TOLERANCE if self.group in ("fit", "dask") else TOLERANCE)[self.dtype]

    def prepare(self, n_threads, backends, comparisons=True):
        """Make the data and callables. ``backends``: fastlogreg backend names to time."""
        return _BUILDERS[self.group](self, n_threads, backends, comparisons)


def describe_shape(shape, n_classes=0, index_law="", fit_intercept=True, sep=" ", chunks=0):
    """``"1000000x100000, CSR 50/row zipf, C=10"``: the shape part of a case's name."""
    parts = ["x".join(str(s) for s in shape)]
    if index_law:
        parts.append(f"CSR {NNZ_PER_ROW}/row {index_law}")
    if n_classes:
        parts.append(f"C={n_classes}")
    if not fit_intercept:
        parts.append("no intercept")
    if chunks:
        parts.append(f"{chunks} chunks")
    return sep.join(parts)


# ----------------------------------------------------------------------------- grids
def default_cases():
    """The ~1 minute grid (2-core machine): the documented headline shapes.

    The fused binary kernels run in both dtypes; the elementwise and row-wise examples
    and the multinomial case in float64 only (``--full`` has the rest: the float32
    multinomial reference alone takes several seconds per call). With all of them in
    both dtypes the default took 72-91 s; a case costs 5-10 s, a third of it in the
    pauses that keep one candidate's spinning thread pools out of the next's timing.
    The sparse binary kernel in float64 on 1,000,000 x 100,000 with 50 entries per row,
    uniform and Zipf columns, closes the grid.
    """
    cases = [
        Case("sigmoid", "elementwise", (ELEMENTWISE_N,), "float64"),
        Case("log_softmax", "rowwise", ROWWISE_SHAPE, "float64"),
    ]
    for dtype in ("float64", "float32"):
        cases += [
            Case("logistic_loss_grad", "fused", (1_000_000, 10), dtype),
            Case("logistic_loss_grad", "fused", (1_000_000, 100), dtype),
        ]
    cases.append(Case("softmax_loss_grad", "fused", (1_000_000, 100), "float64", 10))
    for law in INDEX_LAWS:
        cases.append(Case("logistic_loss_grad", "sparse", SPARSE_SHAPE, "float64", index_law=law))
    return cases + dask_cases()


def dask_cases(shape=DASK_SHAPE, chunks=DASK_CHUNKS):
    """The fit on a Dask array (:data:`DASK_KERNEL`), when ``distributed`` imports; else none."""
    from . import dask_fit

    if not dask_fit.available():
        return []
    return [Case(DASK_KERNEL, "dask", shape, "float64", fit_intercept=False, chunks=chunks)]


def path_cases(path_shape=PATH_SHAPE, cv_shape=CV_SHAPE):
    """The L1 path (:data:`PATH_KERNEL`) and LogisticRegressionCV (:data:`CV_KERNEL`)."""
    return [Case(PATH_KERNEL, "path", path_shape, "float64", fit_intercept=False),
            Case(CV_KERNEL, "cv", cv_shape, "float64")]


def sparse_cases(kernel_shape=SPARSE_SHAPE, fit_shape=SPARSE_FIT_SHAPE, n_classes=SPARSE_CLASSES,
                 dtypes=("float64", "float32")):
    """The sparse cases: the CSR binary and softmax kernels for both index laws and
    ``dtypes``, then the float64 fits on Zipf columns (binary, binary without intercept,
    multinomial)."""
    cases = []
    for dtype in dtypes:
        for law in INDEX_LAWS:
            cases.append(Case("logistic_loss_grad", "sparse", kernel_shape, dtype, index_law=law))
            cases.append(Case("softmax_loss_grad", "sparse", kernel_shape, dtype, n_classes,
                              index_law=law))
    fit = "LogisticRegression.fit"
    cases += [
        Case(fit, "fit", fit_shape, "float64", index_law="zipf"),
        Case(fit, "fit", fit_shape, "float64", index_law="zipf", fit_intercept=False),
        Case(fit, "fit", fit_shape, "float64", n_classes, index_law="zipf"),
    ]
    return cases


def full_cases():
    """Every public function, every benchmarked shape and class count, both dtypes."""
    cases = []
    for dtype in ("float64", "float32"):
        for kernel in ("sigmoid", "log_sigmoid", "log_ndtr", "binary_cross_entropy"):
            cases.append(Case(kernel, "elementwise", (ELEMENTWISE_N,), dtype))
        for kernel in ("logsumexp", "softmax", "log_softmax", "cross_entropy", "inner",
                       "cosine_similarity"):
            cases.append(Case(kernel, "rowwise", ROWWISE_SHAPE, dtype))
        for shape in FUSED_SHAPES:
            cases.append(Case("logistic_loss_grad", "fused", shape, dtype))
        for shape in FUSED_SHAPES:
            cases.append(Case("probit_loss_grad", "fused", shape, dtype))
        for shape in FUSED_SHAPES:
            for n_classes in CLASSES:
                cases.append(Case("softmax_loss_grad", "fused", shape, dtype, n_classes))
        cases.append(Case("logistic_hessp", "hessp", (1_000_000, 100), dtype))
        cases.append(Case("softmax_hessp", "hessp", (1_000_000, 100), dtype, 10))
        for shape, n_classes in FIT_SHAPES:
            cases.append(Case("LogisticRegression.fit", "fit", shape, dtype, n_classes))
    return cases + sparse_cases() + dask_cases() + path_cases()


def quick_cases():
    """Tiny sizes for tests and smoke runs (seconds, not a measurement)."""
    cases = []
    for dtype in ("float64", "float32"):
        cases += [
            Case("sigmoid", "elementwise", (20_000,), dtype),
            Case("log_softmax", "rowwise", (2_000, 10), dtype),
            Case("logistic_loss_grad", "fused", (5_000, 20), dtype),
            Case("softmax_loss_grad", "fused", (5_000, 20), dtype, 3),
            Case("logistic_hessp", "hessp", (5_000, 20), dtype),
            Case("LogisticRegression.fit", "fit", (5_000, 20), dtype, 3),
        ]
    return (cases + sparse_cases((5_000, 2_000), (2_000, 500), 3)
            + dask_cases(QUICK_DASK_SHAPE, QUICK_DASK_CHUNKS)
            + path_cases(QUICK_PATH_SHAPE, QUICK_CV_SHAPE))


#: ``--quick`` sizes of the Dask fit (in QUICK_DASK_CHUNKS chunks) and the path cases.
QUICK_DASK_SHAPE, QUICK_DASK_CHUNKS = (20_000, 10), 4
QUICK_PATH_SHAPE, QUICK_CV_SHAPE = (5_000, 50), (5_000, 20)


# ----------------------------------------------------------------------------- helpers
def _optional(module):
    try:
        return importlib.import_module(module)
    except Exception:  # not installed or broken: the column is simply absent
        return None


def _with_threads(n_threads, fn):
    """``fn`` run with fastlogreg's kernel threads set to ``n_threads`` (restored after)."""
    @functools.wraps(fn)
    def run():
        previous = _backend.get_num_threads()
        _backend.set_num_threads(n_threads)
        try:
            return fn()
        finally:
            _backend.set_num_threads(previous)
    return run


def _rng(case):
    # A seed from the case's identity (not hash(): string hashing changes per process);
    # the dense cases' identity (and so their data) is that of before the sparse fields.
    identity = (case.kernel, case.shape, case.n_classes)
    if case.index_law:
        identity += (case.index_law,)
    return np.random.default_rng(zlib.crc32(repr(identity).encode()))


def _modules(backends):
    return {name: _backend.resolve(name) for name in backends}


def relative_difference(result, expected, how):
    """Largest relative difference between two results (tuples of arrays / scalars).

    ``how="elementwise"``: max over entries of ``|a - b| / |b|`` (absolute where
    ``|b|`` is below the smallest normal number); ``how="norm"``: per component
    ``max|a - b| / max|b|`` (the loss and the gradient's scale, as the documented bound is stated).
    NaN in the same places counts as equal.
    """
    worst = 0.0
    for a, b in zip(result, expected):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return float("inf")
        both_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.where(both_nan | (a == b), 0.0, np.abs(a - b))
            if how == "elementwise":
                scale = np.maximum(np.abs(b), np.finfo(np.float64).tiny)
                rel = diff / scale
            else:
                scale = np.max(np.abs(np.where(np.isnan(b), 0.0, b)), initial=0.0)
                rel = diff / max(scale, np.finfo(np.float64).tiny)
        value = float(np.max(rel, initial=0.0)) if rel.size else 0.0
        if np.isnan(value):
            value = float("inf")
        worst = max(worst, value)
    return worst


# ----------------------------------------------------------------------------- elementwise
_SCIPY_ELEMENTWISE = {"sigmoid": "expit", "log_sigmoid": "log_expit", "log_ndtr": "log_ndtr"}


def _build_elementwise(case, n_threads, backends, comparisons):
    rng = _rng(case)
    dtype = np.dtype(case.dtype)
    n = case.shape[0]
    x = (rng.standard_normal(n) * 8.0).astype(dtype)
    x2 = x.reshape(1, -1)
    ref = _backend.resolve("numpy")
    out_ref = np.empty_like(x2)

    if case.kernel == "binary_cross_entropy":
        y = (rng.random(n) < 0.5).astype(np.float64)
        out_ref1 = np.empty_like(x)

        def make(module, out):
            def run():
                module.binary_cross_entropy(x, y, out, n_threads)
                return (out,)
            return run

        reference = make(ref, out_ref1)
        impls = {b: make(m, np.empty_like(x)) for b, m in _modules(backends).items()}
        comps = {}
        if comparisons:
            out_formula = np.empty_like(x)

            def numpy_formula(out=out_formula):
                z = x.astype(np.float64)
                out[...] = np.logaddexp(0.0, z) - y * z
                return (out,)
            comps["numpy logaddexp"] = numpy_formula
        return Prepared(x, reference, impls, comps, "norm", x.nbytes)

    def make(module, out):
        kernel = getattr(module, case.kernel)
        if case.kernel == "sigmoid":
            def run():
                kernel(x2, 1.0, out, n_threads)
                return (out,)
        else:
            def run():
                kernel(x2, out, n_threads)
                return (out,)
        return run

    reference = make(ref, out_ref)
    impls = {b: make(m, np.empty_like(x2)) for b, m in _modules(backends).items()}
    comps = {}
    special = _optional("scipy.special") if comparisons else None
    if special is not None and case.kernel in _SCIPY_ELEMENTWISE:
        fn = getattr(special, _SCIPY_ELEMENTWISE[case.kernel])
        out_sp = np.empty_like(x2)

        def scipy_run():
            fn(x2, out=out_sp)
            return (out_sp,)

        comps["scipy.special"] = scipy_run
    return Prepared(x, reference, impls, comps, "elementwise", x.nbytes)


# ----------------------------------------------------------------------------- row-wise
def _build_rowwise(case, n_threads, backends, comparisons):
    rng = _rng(case)
    dtype = np.dtype(case.dtype)
    n, C = case.shape
    Z = (rng.standard_normal((n, C)) * 4.0).astype(dtype)
    ref = _backend.resolve("numpy")
    kernel = case.kernel
    data_bytes = Z.nbytes

    if kernel in ("inner", "cosine_similarity"):
        V = rng.standard_normal((n, C)).astype(dtype)
        data_bytes += V.nbytes

        def make(module):
            out = np.empty(n, dtype=dtype)
            fn = getattr(module, kernel)

            def run():
                fn(Z, V, out, n_threads)
                return (out,)
            return run
    elif kernel == "cross_entropy":
        labels = rng.integers(0, C, n)
        Y = np.empty((0, 0))

        def make(module):
            out = np.empty(n, dtype=dtype)
            fn = module.cross_entropy

            def run():
                fn(Z, labels, Y, out, n_threads)
                return (out,)
            return run
    else:
        out_shape = (n,) if kernel == "logsumexp" else (n, C)

        def make(module):
            out = np.empty(out_shape, dtype=dtype)
            fn = getattr(module, kernel)

            def run():
                fn(Z, out, n_threads)
                return (out,)
            return run

    impls = {b: make(m) for b, m in _modules(backends).items()}
    comps = {}
    special = _optional("scipy.special") if comparisons else None
    if special is not None and kernel in ("logsumexp", "softmax", "log_softmax"):
        fn = getattr(special, kernel)
        comps["scipy.special"] = lambda: (fn(Z, axis=1),)
    if comparisons and kernel == "inner":
        comps["numpy einsum"] = lambda: (np.einsum("ij,ij->i", Z, V),)
    # logsumexp, cross-entropy, inner and cosine may cancel to values near 0, where
    # only an absolute error relative to the row's scale is meaningful: compare those
    # norm-wise; softmax and log_softmax entry by entry.
    how = "elementwise" if kernel in ("softmax", "log_softmax") else "norm"
    return Prepared(Z, make(ref), impls, comps, how, data_bytes)


# ----------------------------------------------------------------------------- fused
#: Row blocks of a design matrix, each from its own child seed: the data depend on the
#: case alone, not on how many threads fill them.
_DESIGN_BLOCKS = 16


def _design(case, n_threads):
    """``(rng, X)``: the case's generator and X (n, d) of standard normals in the case's
    dtype, filled block by block on ``n_threads`` threads (NumPy's generators release
    the GIL: 1.1 s instead of 3.2 s for 10^8 float64 on 2 threads)."""
    from concurrent.futures import ThreadPoolExecutor

    rng = _rng(case)
    n, d = case.shape
    X = np.empty((n, d), dtype=case.dtype)
    seeds = np.random.SeedSequence(int(rng.integers(2**63))).spawn(_DESIGN_BLOCKS)
    edges = np.linspace(0, n, _DESIGN_BLOCKS + 1).astype(int)

    def fill(i):
        block = X[edges[i]:edges[i + 1]]
        np.random.default_rng(seeds[i]).standard_normal(out=block, dtype=block.dtype)

    with ThreadPoolExecutor(max_workers=max(1, n_threads)) as pool:
        list(pool.map(fill, range(_DESIGN_BLOCKS)))
    return rng, X


def csr_matrix_data(n, d, nnz_per_row, index_law, dtype, seed, n_classes=0, n_threads=1):
    """A seeded CSR matrix X (n, d) and labels from a planted model of it.

    Every row stores exactly ``nnz_per_row`` entries: standard normal values in
    ``dtype`` and column indices (int32 while the entry count fits, else int64) drawn
    independently, sorted within the row, from

    * ``"uniform"``: every column equally likely;
    * ``"zipf"``: p_j proportional to 1 / (j + 1)^:data:`ZIPF_EXPONENT`, by inverse CDF
      (``searchsorted`` of uniforms on the cumulative weights): with d = 100,000 column 0
      has p = 0.13 (several entries in most rows), the median column p ~ 4e-6.

    Draws are independent, so a row may store a column more than once (often column 0
    under the Zipf law); stored entries of one column add, SciPy's convention and the
    CSR kernels' contract.

    Labels: binary (``n_classes`` 0 or 2): Bernoulli(s(X w + 0.5)); multinomial:
    argmax of X W^T plus Gumbel noise (a draw from the softmax). The planted w and W
    have N(0, 4 / nnz_per_row) entries, so a score has standard deviation ~2.

    Rows are made in :data:`_DESIGN_BLOCKS` blocks, each from its own child seed, on
    ``n_threads`` threads (NumPy's generators, sort and searchsorted release the GIL):
    the result depends on the arguments, not on the thread count.

    Returns
    -------
    data (nnz,), indices (nnz,), indptr (n + 1,), y (n,) int64
    """
    from concurrent.futures import ThreadPoolExecutor

    from scipy import sparse

    k = int(nnz_per_row)
    nnz = n * k
    itype = np.int32 if nnz <= np.iinfo(np.int32).max else np.int64
    rng = np.random.default_rng(seed)
    binary = n_classes in (0, 2)
    scale = 2.0 / np.sqrt(k)
    coef = rng.standard_normal(d if binary else (n_classes, d)) * scale
    if index_law == "zipf":
        cdf = np.cumsum(1.0 / np.arange(1, d + 1, dtype=np.float64) ** ZIPF_EXPONENT)
        cdf /= cdf[-1]
    elif index_law != "uniform":
        raise ValueError(f"index_law must be 'uniform' or 'zipf', got {index_law!r}")
    data = np.empty(nnz, dtype=dtype)
    indices = np.empty(nnz, dtype=itype)
    indptr = np.arange(0, nnz + 1, k, dtype=itype)
    y = np.empty(n, dtype=np.int64)
    seeds = np.random.SeedSequence(int(rng.integers(2**63))).spawn(_DESIGN_BLOCKS)
    edges = np.linspace(0, n, _DESIGN_BLOCKS + 1).astype(int)

    def fill(i):
        lo, hi = edges[i], edges[i + 1]
        m = hi - lo
        g = np.random.default_rng(seeds[i])
        if index_law == "uniform":
            cols = g.integers(0, d, size=(m, k), dtype=itype)
        else:
            cols = np.searchsorted(cdf, g.random((m, k)), side="right")
            np.minimum(cols, d - 1, out=cols)  # u rounding to 1.0 at the last weight
        cols.sort(axis=1)
        indices[lo * k:hi * k] = cols.reshape(-1)
        values = data[lo * k:hi * k]
        g.standard_normal(out=values, dtype=values.dtype)
        block = sparse.csr_matrix((values, indices[lo * k:hi * k], indptr[:m + 1]), shape=(m, d))
        if binary:
            z = block @ coef + 0.5
            y[lo:hi] = g.random(m) < 1.0 / (1.0 + np.exp(-z))
        else:
            logits = block @ coef.T
            logits -= np.log(-np.log(g.random(logits.shape)))  # + Gumbel noise
            y[lo:hi] = logits.argmax(axis=1)

    with ThreadPoolExecutor(max_workers=max(1, n_threads)) as pool:
        list(pool.map(fill, range(_DESIGN_BLOCKS)))
    return data, indices, indptr, y


def _sparse_design(case, n_threads):
    """``(rng, X, design, y)`` of a sparse case: X a SciPy CSR matrix sharing the arrays of
    the :class:`~fastlogreg._design.CSRDesign` ``design``, y its planted labels."""
    from scipy import sparse

    from .._design import CSRDesign

    rng = _rng(case)
    n, d = case.shape
    data, indices, indptr, y = csr_matrix_data(
        n, d, case.nnz_per_row, case.index_law, np.dtype(case.dtype),
        int(rng.integers(2**63)), case.n_classes, n_threads)
    X = sparse.csr_matrix((data, indices, indptr), shape=(n, d), copy=False)
    return rng, X, CSRDesign(data, indices, indptr, d), y


def _csr_ceiling(design):
    """The ceiling of a CSR case: :func:`.ceiling.read_pass_csr` and the bytes it reads."""
    return (functools.partial(_ceiling.read_pass_csr, design.data, design.indices),
            design.data.nbytes + design.indices.nbytes)


def _fused(case, design, X, rng, n_threads, backends, comparisons, targets=None):
    """The fused loss-gradient kernel of ``case`` on ``design`` (dense or CSR: the kernel
    ``case.kernel`` or its twin ``<kernel>_csr``, through ``design.call``); ``X`` is the
    same matrix for the comparison libraries. ``targets``: y / labels (default random)."""
    n, d = design.shape
    if case.kernel in ("logistic_loss_grad", "probit_loss_grad"):
        w = rng.standard_normal(d) / np.sqrt(d)
        b = 0.25
        y = (rng.random(n) < 0.5).astype(np.float64) if targets is None else targets.astype(np.float64)
        sw = np.empty(0)

        def make(module):
            grad_w = np.empty(d)

            def run():
                loss, grad_b = design.call(module, case.kernel, y, w, b, sw, grad_w, n_threads)
                return (loss / n, grad_w / n, grad_b / n)
            return run

        comps = {}
        if comparisons and case.kernel == "logistic_loss_grad":
            comps.update(_sklearn_binary(X, y, w, b, n_threads))
            if not design.is_sparse:
                comps.update(_torch_binary(X, y, w, b, n_threads))
    else:
        C = case.n_classes
        W = rng.standard_normal((C, d)) / np.sqrt(d)
        b = rng.standard_normal(C) * 0.1
        labels = rng.integers(0, C, n) if targets is None else targets
        Y = np.empty((0, 0))
        sw = np.empty(0)

        def make(module):
            grad_W = np.empty((C, d))
            grad_b = np.empty(C)

            def run():
                loss = design.call(module, "softmax_loss_grad", labels, Y, W, b, sw, grad_W, grad_b,
                                   n_threads)
                return (loss / n, grad_W / n, grad_b / n)
            return run

        comps = {}
        if comparisons:
            comps.update(_sklearn_multinomial(X, labels, W, b, n_threads))
            if not design.is_sparse:
                comps.update(_torch_multinomial(X, labels, W, b, n_threads))

    ref = _backend.resolve("numpy")
    impls = {name: make(m) for name, m in _modules(backends).items()}
    return make(ref), impls, comps


def _build_fused(case, n_threads, backends, comparisons):
    from .._design import DenseDesign

    rng, X = _design(case, n_threads)
    reference, impls, comps = _fused(case, DenseDesign(X), X, rng, n_threads, backends, comparisons)
    return Prepared(X, reference, impls, comps, "norm", X.nbytes)


def _build_sparse(case, n_threads, backends, comparisons):
    """The CSR twin of a fused kernel on :func:`csr_matrix_data` (its planted labels)."""
    rng, X, design, y = _sparse_design(case, n_threads)
    reference, impls, comps = _fused(case, design, X, rng, n_threads, backends, comparisons, y)
    ceiling, nbytes = _csr_ceiling(design)
    return Prepared(X, reference, impls, comps, "norm", nbytes, ceiling, nbytes)


def _build_hessp(case, n_threads, backends, comparisons):
    rng, X = _design(case, n_threads)
    n, d = X.shape
    sw = np.empty(0)
    if case.kernel == "logistic_hessp":
        w = rng.standard_normal(d) / np.sqrt(d)
        v = rng.standard_normal(d)

        def make(module):
            hv = np.empty(d)
            fn = module.logistic_hessp

            def run():
                hv_b = fn(X, w, 0.25, sw, v, 0.5, hv, n_threads)
                return (hv / n, hv_b / n)
            return run
    else:
        C = case.n_classes
        W = rng.standard_normal((C, d)) / np.sqrt(d)
        b = rng.standard_normal(C) * 0.1
        V = rng.standard_normal((C, d))
        v_b = rng.standard_normal(C)

        def make(module):
            hv = np.empty((C, d))
            hv_b = np.empty(C)
            fn = module.softmax_hessp

            def run():
                fn(X, W, b, sw, V, v_b, hv, hv_b, n_threads)
                return (hv / n, hv_b / n)
            return run

    ref = _backend.resolve("numpy")
    impls = {name: make(m) for name, m in _modules(backends).items()}
    return Prepared(X, make(ref), impls, {}, "norm", X.nbytes)


def _build_fit(case, n_threads, backends, comparisons):
    """``LogisticRegression(C=1, tol=FIT_TOL, fit_intercept=case.fit_intercept).fit`` on
    each backend; the reference is the same fit on the NumPy backend. Dense X: labels
    drawn from a random model of the data; sparse X: :func:`csr_matrix_data` and its
    planted labels. Each candidate's objective (:func:`_fit_objective`) is reported."""
    if case.index_law:
        rng, X, design, y = _sparse_design(case, n_threads)
        ceiling, nbytes = _csr_ceiling(design)
    else:
        rng, X = _design(case, n_threads)
        ceiling, nbytes = None, X.nbytes
        n, d = X.shape
        n_classes = case.n_classes or 2
        logits = X @ (rng.standard_normal((n_classes, d)) * (2.0 / np.sqrt(d))).T
        logits -= logits.max(axis=1, keepdims=True)
        P = np.exp(logits)
        P /= P.sum(axis=1, keepdims=True)
        y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
        del logits, P

    def make(backend):
        from ..linear_model import LogisticRegression

        def run():
            model = LogisticRegression(C=1.0, tol=FIT_TOL, max_iter=10_000,
                                       fit_intercept=case.fit_intercept, backend=backend)
            return _fit_result(model.fit(X, y))
        return _with_threads(n_threads, run)

    comps = _sklearn_fit(X, y, case.fit_intercept) if comparisons else {}
    impls = {name: make(name) for name in backends}
    objective = functools.partial(_fit_objective, X, y, 1.0)
    return Prepared(X, make("numpy"), impls, comps, "norm", nbytes, ceiling, nbytes, objective)


def _fit_result(model):
    """``(coef_, intercept_)`` with the intercept as one value per row of ``coef_`` (0 for
    ``fit_intercept=False``, which scikit-learn reports as a scalar)."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.broadcast_to(np.asarray(model.intercept_, dtype=np.float64), coef.shape[:1])
    return (coef, np.array(intercept))


def _fit_objective(X, y, C, result):
    """The penalized mean loss at a fit's ``(coef, intercept)``: the objective every fit
    minimises, mean loss + ||coef||^2 / (2 C n), evaluated by the NumPy reference for
    every candidate (scikit-learn's objective divided by n)."""
    from .. import functions

    coef, intercept = result
    l2 = 1.0 / (C * X.shape[0])
    if coef.shape[0] == 1:
        loss = functions.logistic_loss_grad(X, y, coef[0], float(intercept[0]), l2=l2,
                                            backend="numpy")[0]
    else:
        loss = functions.softmax_loss_grad(X, y, coef, intercept, l2=l2, backend="numpy")[0]
    return float(loss)


def _build_dask(case, n_threads, backends, comparisons):
    from . import dask_fit

    return dask_fit.build(case, n_threads, backends, comparisons, case.chunks)


def _build_path(case, n_threads, backends, comparisons):
    from . import paths

    return paths.build_l1_path(case, n_threads, backends, comparisons)


def _build_cv(case, n_threads, backends, comparisons):
    from . import paths

    return paths.build_cv(case, n_threads, backends, comparisons)


_BUILDERS = {
    "elementwise": _build_elementwise,
    "rowwise": _build_rowwise,
    "fused": _build_fused,
    "sparse": _build_sparse,
    "hessp": _build_hessp,
    "fit": _build_fit,
    "dask": _build_dask,
    "path": _build_path,
    "cv": _build_cv,
}


# ----------------------------------------------------------------------------- comparisons
def _sklearn_fit(X, y, fit_intercept=True):
    """scikit-learn's ``LogisticRegression`` (lbfgs) to the same tolerance; its BLAS
    threads are the runner's. Without an intercept, also liblinear (binary only): it
    penalizes an intercept, so it solves the same problem only when there is none; its
    ``tol`` is a relative gradient-norm test, hence the tighter ``FIT_TOL ** 1.5``.

    scikit-learn's ``newton-cholesky`` is not a comparison: it forms the d x d Hessian
    (80 GB at d = 100,000 for the sparse fits)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return {}

    def make(**options):
        def run():
            import warnings

            with warnings.catch_warnings():
                # L-BFGS-B may stop on its relative-decrease test first: reported, not fatal
                warnings.simplefilter("ignore")
                model = LogisticRegression(C=1.0, max_iter=10_000, fit_intercept=fit_intercept,
                                           **options).fit(X, y)
            return _fit_result(model)
        return run

    comps = {"sklearn LogisticRegression": make(tol=FIT_TOL)}
    if not fit_intercept and len(np.unique(y)) == 2:
        comps["sklearn liblinear"] = make(solver="liblinear", tol=FIT_TOL ** 1.5)
    return comps


def _sklearn_binary(X, y, w, b, n_threads):
    try:
        from sklearn._loss.loss import HalfBinomialLoss
        from sklearn.linear_model._linear_loss import LinearModelLoss
    except Exception:
        return {}
    model = LinearModelLoss(base_loss=HalfBinomialLoss(), fit_intercept=True)
    # scikit-learn's LogisticRegression passes y and coef in X's dtype.
    coef = np.append(w, b).astype(X.dtype)
    y = y.astype(X.dtype)

    def run():
        loss, grad = model.loss_gradient(coef, X, y, n_threads=n_threads)
        return (loss, grad[:-1], grad[-1])

    return {"sklearn LinearModelLoss": run}


def _sklearn_multinomial(X, labels, W, b, n_threads):
    try:
        from sklearn._loss.loss import HalfMultinomialLoss
        from sklearn.linear_model._linear_loss import LinearModelLoss
    except Exception:
        return {}
    C = W.shape[0]
    model = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=C), fit_intercept=True)
    coef = np.hstack([W, b[:, None]]).astype(X.dtype)
    y = labels.astype(X.dtype)

    def run():
        loss, grad = model.loss_gradient(coef, X, y, n_threads=n_threads)
        return (loss, grad[:, :-1], grad[:, -1])

    return {"sklearn LinearModelLoss": run}


def _torch_binary(X, y, w, b, n_threads):
    torch = _optional("torch")
    if torch is None:
        return {}
    import torch.nn.functional as F

    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(X.dtype))

    def run():
        torch.set_num_threads(n_threads)
        wt = torch.tensor(w, dtype=Xt.dtype, requires_grad=True)
        bt = torch.tensor(b, dtype=Xt.dtype, requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(Xt @ wt + bt, yt, reduction="mean")
        loss.backward()
        return (loss.item(), wt.grad.numpy(), bt.grad.item())

    return {"torch autograd": run}


def _torch_multinomial(X, labels, W, b, n_threads):
    torch = _optional("torch")
    if torch is None:
        return {}
    import torch.nn.functional as F

    Xt = torch.from_numpy(X)
    lt = torch.from_numpy(labels)

    def run():
        torch.set_num_threads(n_threads)
        Wt = torch.tensor(W, dtype=Xt.dtype, requires_grad=True)
        bt = torch.tensor(b, dtype=Xt.dtype, requires_grad=True)
        loss = F.cross_entropy(Xt @ Wt.T + bt, lt, reduction="mean")
        loss.backward()
        return (loss.item(), Wt.grad.numpy(), bt.grad.numpy())

    return {"torch autograd": run}
