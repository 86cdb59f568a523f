"""Benchmark cases: data, the kernels to time, and the optional comparison libraries.

A :class:`Case` names a kernel, a shape and a dtype. :meth:`Case.prepare` makes its
seeded data and returns :class:`Prepared`: ``X`` (the array the ceiling reads), the
callable of the NumPy reference, one callable per fastlogreg backend and one per
installed comparison library (scipy.special, scikit-learn, PyTorch). Every callable
returns its result in one normalised form (a tuple of arrays / scalars), so each can be
compared with the reference before anything is timed.

Kernels are called at the backend level (the contract of :mod:`fastlogreg.backends`)
with preallocated outputs: that is what a solver does on every iteration, and it keeps
validation and allocation out of the figures.
"""

import dataclasses
import importlib
import zlib

import numpy as np

from .. import _backend

#: Relative tolerance against the reference, per data dtype (the fused kernels'
#: documented bound: they agree to 1e-12 in float64 and 1e-5 in float32).
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
#: Fits stop at a gradient max-norm of FIT_TOL, so two fits agree to the optimum's
#: accuracy (coefficients to a relative 1e-6), not to a kernel's.
FIT_TOL = 1e-8
FIT_TOLERANCE = {"float64": 1e-6, "float32": 1e-6}
#: The benchmark's fits: binary 500,000 x 100 and multinomial 200,000 x 50, 10 classes.
FIT_SHAPES = (((500_000, 100), 0), ((200_000, 50), 10))

ELEMENTWISE_N = 10_000_000
ROWWISE_SHAPE = (1_000_000, 10)
FUSED_SHAPES = ((1_000_000, 10), (1_000_000, 100), (100_000, 1_000))
CLASSES = (3, 10, 100)


@dataclasses.dataclass
class Prepared:
    """A case's data and callables (each returns a tuple of arrays / scalars)."""

    X: np.ndarray
    reference: object
    backends: dict  # backend name -> callable
    comparisons: dict  # library label -> callable
    relative: str  # "elementwise" or "norm": how differences are measured
    data_bytes: int = 0  # bytes of X (the GB/s column)


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark case.

    Attributes
    ----------
    kernel : str
        Public function / kernel name, e.g. ``"logistic_loss_grad"``.
    group : str
        ``"elementwise"``, ``"rowwise"``, ``"fused"``, ``"hessp"`` or ``"fit"`` (the
        estimator's ``fit``, kernel ``"LogisticRegression.fit"``; ``n_classes`` 0 for
        two classes).
    shape : tuple of int
        Shape of X (``(n,)`` for elementwise on n elements).
    dtype : str
        ``"float32"`` or ``"float64"``.
    n_classes : int
        Classes of the multinomial kernels (0 otherwise).
    """

    kernel: str
    group: str
    shape: tuple
    dtype: str
    n_classes: int = 0

    @property
    def name(self):
        shape = "x".join(str(s) for s in self.shape)
        classes = f", C={self.n_classes}" if self.n_classes else ""
        return f"{self.kernel} [{shape}{classes}]"

    @property
    def tolerance(self):
        return (FIT_TOLERANCE if self.group == "fit" else TOLERANCE)[self.dtype]

    def prepare(self, n_threads, backends, comparisons=True):
        """Make the data and callables. ``backends``: fastlogreg backend names to time."""
        return _BUILDERS[self.group](self, n_threads, backends, comparisons)


# ----------------------------------------------------------------------------- grids
def default_cases():
    """The ~1 minute grid (2-core machine): the documented headline shapes.

    The fused binary kernels run in both dtypes; the elementwise and row-wise examples
    and the multinomial case in float64 only (``--full`` has the rest: the float32
    multinomial reference alone takes several seconds per call). With all of them in
    both dtypes the default took 72-91 s; a case costs 5-10 s, a third of it in the
    pauses that keep one candidate's spinning thread pools out of the next's timing.
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
    return cases


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
    return cases


# ----------------------------------------------------------------------------- helpers
def _optional(module):
    try:
        return importlib.import_module(module)
    except Exception:  # not installed or broken: the column is simply absent
        return None


def _rng(case):
    # A seed from the case's identity (not hash(): string hashing changes per process).
    return np.random.default_rng(zlib.crc32(repr((case.kernel, case.shape, case.n_classes)).encode()))


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


def _build_fused(case, n_threads, backends, comparisons):
    rng, X = _design(case, n_threads)
    n, d = X.shape
    if case.kernel in ("logistic_loss_grad", "probit_loss_grad"):
        w = rng.standard_normal(d) / np.sqrt(d)
        b = 0.25
        y = (rng.random(n) < 0.5).astype(np.float64)
        sw = np.empty(0)

        def make(module):
            fn = getattr(module, case.kernel)
            grad_w = np.empty(d)

            def run():
                loss, grad_b = fn(X, y, w, b, sw, grad_w, n_threads)
                return (loss / n, grad_w / n, grad_b / n)
            return run

        comps = {}
        if comparisons and case.kernel == "logistic_loss_grad":
            comps.update(_sklearn_binary(X, y, w, b, n_threads))
            comps.update(_torch_binary(X, y, w, b, n_threads))
    else:
        C = case.n_classes
        W = rng.standard_normal((C, d)) / np.sqrt(d)
        b = rng.standard_normal(C) * 0.1
        labels = rng.integers(0, C, n)
        Y = np.empty((0, 0))
        sw = np.empty(0)

        def make(module):
            grad_W = np.empty((C, d))
            grad_b = np.empty(C)
            fn = module.softmax_loss_grad

            def run():
                loss = fn(X, labels, Y, W, b, sw, grad_W, grad_b, n_threads)
                return (loss / n, grad_W / n, grad_b / n)
            return run

        comps = {}
        if comparisons:
            comps.update(_sklearn_multinomial(X, labels, W, b, n_threads))
            comps.update(_torch_multinomial(X, labels, W, b, n_threads))

    ref = _backend.resolve("numpy")
    impls = {name: make(m) for name, m in _modules(backends).items()}
    return Prepared(X, make(ref), impls, comps, "norm", X.nbytes)


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
    """``LogisticRegression(C=1, tol=FIT_TOL).fit`` on each backend; the reference is the
    same fit on the NumPy backend. Labels are drawn from a random model of the data."""
    rng, X = _design(case, n_threads)
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
            previous = _backend.get_num_threads()
            _backend.set_num_threads(n_threads)
            try:
                model = LogisticRegression(C=1.0, tol=FIT_TOL, max_iter=10_000, backend=backend)
                model.fit(X, y)
            finally:
                _backend.set_num_threads(previous)
            return (model.coef_, model.intercept_)
        return run

    comps = _sklearn_fit(X, y) if comparisons else {}
    impls = {name: make(name) for name in backends}
    return Prepared(X, make("numpy"), impls, comps, "norm", X.nbytes)


_BUILDERS = {
    "elementwise": _build_elementwise,
    "rowwise": _build_rowwise,
    "fused": _build_fused,
    "hessp": _build_hessp,
    "fit": _build_fit,
}


# ----------------------------------------------------------------------------- comparisons
def _sklearn_fit(X, y):
    """scikit-learn's ``LogisticRegression`` (lbfgs) to the same tolerance; its BLAS
    threads are the runner's."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return {}

    def run():
        import warnings

        with warnings.catch_warnings():
            # L-BFGS-B may stop on its relative-decrease test first: reported, not fatal
            warnings.simplefilter("ignore")
            model = LogisticRegression(C=1.0, tol=FIT_TOL, max_iter=10_000).fit(X, y)
        return (model.coef_, model.intercept_)
    return {"sklearn LogisticRegression": run}


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
