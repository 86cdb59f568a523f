"""The Numba backend ("numba"): the kernel contract of :mod:`fastlogreg.backends`.

Every kernel of :data:`fastlogreg.backends.contract.KERNELS` is exported from the
module of this package that defines it (``elementwise``, ``rowwise``, ``fused``,
``hessp`` or ``sparse``), wrapped to set Numba's thread count; a kernel none of them defines is
absent, and the registry then refuses the backend naming it.

Kernels compile lazily on first use (``cache=True`` keeps them across processes).
The threading layer defaults to a thread-safe one (TBB or OpenMP) unless
``NUMBA_THREADING_LAYER`` is set: Numba's ``workqueue`` layer aborts the process when
two Python threads run parallel kernels at once.
"""

import inspect
import os

import numba

if not os.environ.get("NUMBA_THREADING_LAYER"):
    numba.config.THREADING_LAYER = "threadsafe"

from ... import _fork  # noqa: E402
from ..contract import KERNELS  # noqa: E402
from . import _serial, elementwise, folds, fused, hessp, rowwise, sparse  # noqa: E402  (after the layer is chosen)

_MAX_THREADS = numba.config.NUMBA_NUM_THREADS


def threading_layer_name():
    """The threading layer Numba launched, or a note that no parallel kernel ran yet."""
    try:
        return numba.threading_layer()
    except ValueError:
        return f"not launched yet (configured: {numba.config.THREADING_LAYER})"


def _with_threads(module, name):
    """Run ``module.name(*args, n_threads)`` on min(n_threads, Numba's pool) threads.

    ``n_threads`` still sets the number of static chunks, so results depend on it
    alone, not on how many pool threads exist. The setting is thread-local in Numba.
    The kernel is looked up at each call: :func:`run_serially` may have rebound it.
    """

    def call(*args):
        numba.set_num_threads(min(args[-1], _MAX_THREADS))
        return getattr(module, name)(*args)

    kernel = getattr(module, name)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = kernel.__doc__
    # the jitted function's own parameters, which the contract check compares
    call.__signature__ = inspect.signature(getattr(kernel, "py_func", kernel))
    return call


def run_serially():
    """Use serial copies of the parallel kernels from now on (same chunks, same results).

    For a child forked after OpenMP's thread pool started; see :mod:`fastlogreg._fork`.
    """
    _serial.rebind(_KERNEL_MODULES)


_KERNEL_MODULES = (elementwise, rowwise, fused, hessp, sparse, folds)


def _defining_module(name):
    """The module of :data:`_KERNEL_MODULES` whose source defines kernel ``name``, or None."""
    for module in _KERNEL_MODULES:
        kernel = vars(module).get(name)
        if kernel is not None and getattr(kernel, "__module__", None) == module.__name__:
            return module
    return None


__all__ = ["threading_layer_name", "run_serially"]
for _name in KERNELS:
    _module = _defining_module(_name)
    if _module is not None:
        globals()[_name] = _with_threads(_module, _name)
        __all__.append(_name)
del _name, _module

_fork.apply()  # a forked child that loads this backend for the first time
