"""The kernel contract in code: every kernel's name, parameters and meaning, once.

:data:`KERNELS` maps each kernel name to its parameter list and a short statement of
shapes and semantics; the conventions shared by all kernels (dtypes, strides, partial
sums, ``n_threads``) are in :mod:`fastlogreg.backends`. :func:`contract_violations`
checks a backend module against :data:`KERNELS`, and the registry
(``fastlogreg._backend``) refuses a backend for which it reports anything: the
backend is then listed as unavailable, with the violations as the reason.

Adding a kernel
---------------
1. Add an entry to :data:`KERNELS` (the parameters end with ``n_threads``).
2. Implement it in every backend with exactly those parameters: a function in
   ``reference.py`` (the oracle: plain, float64, obviously right), a C function in
   ``csrc/`` with its adapter in ``c.py``, and a jitted function in one of the modules
   of ``numba_kernels/`` (its ``__init__`` exports every kernel of :data:`KERNELS` it
   finds there; nothing to list by hand).
3. Call it from :mod:`fastlogreg.functions` (which validates the arguments) and test it
   against the reference.

A backend that lacks the kernel, or has it with other parameters, is refused with a
message naming the backend and the kernel; ``tests/test_contract.py`` checks every
registered backend.

Adding a backend
----------------
Write a module that defines every kernel of :data:`KERNELS` with the listed parameters
(positional, no defaults, no ``*args``) and follows the conventions of
:mod:`fastlogreg.backends`; add its name and module path to ``_MODULES`` (and
``_PREFERENCE``) in ``fastlogreg._backend``. The module may raise ImportError when
it cannot work on this machine (a missing compiler, library or CPU feature); the
registry then lists it as unavailable with that message.
"""

import inspect
from typing import NamedTuple


class Kernel(NamedTuple):
    """One kernel of the contract: its parameter names, in order, and what it computes."""

    params: tuple
    doc: str

    @property
    def signature(self):
        """The kernel's :class:`inspect.Signature`: positional parameters, no defaults."""
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        return inspect.Signature([inspect.Parameter(p, kind) for p in self.params])


def _kernel(params, doc):
    return Kernel(tuple(params.split()), doc)


#: Every kernel a backend must provide: name -> :class:`Kernel`. "data" dtype is float32
#: or float64 (that of ``x``, ``z``, ``Z``, ``U`` or ``X``); everything else is float64
#: except ``labels`` (int64). ``s`` is the logistic sigmoid, ``Phi`` the normal CDF.
KERNELS = {
    # elementwise: x and out 2-D of the same shape (out may be x)
    "sigmoid": _kernel(
        "x scale out n_threads", "out = 1 / (1 + exp(-scale * x)); x, out (n, d) data dtype"),
    "log_sigmoid": _kernel(
        "x out n_threads", "out = -softplus(-x); x, out (n, d) data dtype"),
    "log_ndtr": _kernel(
        "x out n_threads", "out = log Phi(x); x, out (n, d) data dtype"),
    # row-wise over the last axis: Z (n, C), C >= 1
    "logsumexp": _kernel(
        "Z out n_threads", "out (n,) = m + log1p(sum_{k != argmax} exp(z_k - m)), m = max(z)"),
    "softmax": _kernel("Z out n_threads", "out (n, C) = softmax of each row of Z"),
    "log_softmax": _kernel("Z out n_threads", "out (n, C) = log-softmax of each row of Z"),
    "inner": _kernel(
        "U V out n_threads",
        "U, V (n, d) (rows may be stride-0 broadcasts); out (n,) = sum_j U_ij V_ij in float64"),
    "cosine_similarity": _kernel(
        "U V out n_threads", "U, V (n, d); out (n,) = <u, v> / (|u| |v|), 0 where a norm is 0"),
    # per-sample losses
    "binary_cross_entropy": _kernel(
        "z y out n_threads",
        "z (n,), y (n,) in [0, 1]; out (n,) data dtype = y softplus(-z) + (1 - y) softplus(z)"),
    "cross_entropy": _kernel(
        "Z labels Y out n_threads",
        "Z (n, C); labels (n,) and Y (0, 0), or labels (0,) and Y (n, C) probability rows; "
        "out (n,) = sum_k Y_k (logsumexp(z) - z_k)"),
    # fused loss + gradient, one pass over X (n, d); partial sums over the given rows
    "logistic_loss_grad": _kernel(
        "X y w b sample_weight grad_w n_threads",
        "z = X w + b, r_i = sw_i (s(z_i) - y_i); grad_w (d,) = X^T r (overwritten); "
        "returns (sum_i sw_i l_i, sum_i r_i)"),
    "softmax_loss_grad": _kernel(
        "X labels Y W b sample_weight grad_W grad_b n_threads",
        "W (C, d), b (C,); labels / Y as in cross_entropy; R_ik = sw_i (softmax(z_i)_k - Y_ik); "
        "grad_W (C, d) = R^T X, grad_b (C,) = R.sum(0) (overwritten); returns sum_i sw_i l_i"),
    "probit_loss_grad": _kernel(
        "X y w b sample_weight grad_w n_threads",
        "as logistic_loss_grad with l_i = -y log Phi(z) - (1 - y) log Phi(-z), "
        "r_i = sw_i dl/dz; returns (loss sum, grad_b)"),
    # Hessian-vector products at (w, b), one pass over X; partial sums
    "logistic_hessp": _kernel(
        "X w b sample_weight v v_b hv n_threads",
        "h_i = sw_i s(z_i) s(-z_i) (x_i . v + v_b); hv (d,) = X^T h (overwritten); "
        "returns sum_i h_i"),
    "softmax_hessp": _kernel(
        "X W b sample_weight V v_b hv hv_b n_threads",
        "p_i = softmax(z_i), u_i = V x_i + v_b, r_i = sw_i p_i * (u_i - p_i . u_i); "
        "hv (C, d) = sum_i r_i x_i^T, hv_b (C,) = sum_i r_i (overwritten); returns None"),
}


def _csr_twin(name):
    """The CSR form of dense fused kernel ``name``: X becomes ``data indices indptr``."""
    dense = KERNELS[name]
    params = ("data", "indices", "indptr") + dense.params[1:]
    return Kernel(params, f"{dense.doc}; X (n, d) given in CSR form (see CSR kernels)")


#: The fused and Hessian-vector kernels whose X may be a CSR matrix; each has a twin
#: ``<name>_csr`` with X replaced by ``data indices indptr`` (d is the length of w or
#: the number of columns of W).
CSR_KERNELS = ("logistic_loss_grad", "probit_loss_grad", "softmax_loss_grad",
               "logistic_hessp", "softmax_hessp")
KERNELS.update({f"{name}_csr": _csr_twin(name) for name in CSR_KERNELS})


def _plain(signature):
    """``signature`` without annotations: a backend may annotate its kernels."""
    params = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    return signature.replace(parameters=params, return_annotation=inspect.Signature.empty)


def contract_violations(module, name=None):
    """What keeps ``module`` from being a backend: one readable message per problem.

    Parameters
    ----------
    module : module or object
        The candidate backend; its kernels are looked up as attributes.
    name : str, optional
        The backend's name in the messages (default: ``module.__name__``).

    Returns
    -------
    list of str
        Empty when every kernel of :data:`KERNELS` is there with its exact parameters,
        else messages such as ``"backend 'x': kernel 'softmax_loss_grad' missing"`` or
        ``"backend 'x': kernel 'sigmoid' signature (x, out, n_threads) differs from
        (x, scale, out, n_threads)"``.
    """
    name = getattr(module, "__name__", repr(module)) if name is None else name
    problems = []
    for kernel, spec in KERNELS.items():
        where = f"backend {name!r}: kernel {kernel!r}"
        fn = getattr(module, kernel, None)
        if fn is None:
            problems.append(f"{where} missing")
            continue
        if not callable(fn):
            problems.append(f"{where} is not callable (a {type(fn).__name__})")
            continue
        try:
            found = _plain(inspect.signature(fn))
        except (TypeError, ValueError) as exc:
            problems.append(f"{where} has no readable signature ({exc})")
            continue
        if found != spec.signature:
            problems.append(f"{where} signature {found} differs from {spec.signature}")
    return problems
