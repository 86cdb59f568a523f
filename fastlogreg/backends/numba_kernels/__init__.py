"""The Numba backend ("numba"): the kernel contract of :mod:`fastlogreg.backends`.

Kernels compile lazily on first use (``cache=True`` keeps them across processes).
The threading layer defaults to a thread-safe one (TBB or OpenMP) unless
``NUMBA_THREADING_LAYER`` is set: Numba's ``workqueue`` layer aborts the process when
two Python threads run parallel kernels at once.
"""

import os

import numba

if not os.environ.get("NUMBA_THREADING_LAYER"):
    numba.config.THREADING_LAYER = "threadsafe"

from ... import _fork  # noqa: E402
from . import _serial, elementwise, fused, hessp, rowwise  # noqa: E402  (after the layer is chosen)

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

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(module, name).__doc__
    return call


def run_serially():
    """Use serial copies of the parallel kernels from now on (same chunks, same results).

    For a child forked after OpenMP's thread pool started; see :mod:`fastlogreg._fork`.
    """
    _serial.rebind(_KERNEL_MODULES)


_KERNEL_MODULES = (elementwise, rowwise, fused, hessp)

sigmoid = _with_threads(elementwise, "sigmoid")
log_sigmoid = _with_threads(elementwise, "log_sigmoid")
binary_cross_entropy = _with_threads(elementwise, "binary_cross_entropy")
logsumexp = _with_threads(rowwise, "logsumexp")
softmax = _with_threads(rowwise, "softmax")
log_softmax = _with_threads(rowwise, "log_softmax")
cross_entropy = _with_threads(rowwise, "cross_entropy")
inner = _with_threads(rowwise, "inner")
cosine_similarity = _with_threads(rowwise, "cosine_similarity")
logistic_loss_grad = _with_threads(fused, "logistic_loss_grad")
softmax_loss_grad = _with_threads(fused, "softmax_loss_grad")
logistic_hessp = _with_threads(hessp, "logistic_hessp")
softmax_hessp = _with_threads(hessp, "softmax_hessp")
log_ndtr = _with_threads(elementwise, "log_ndtr")
probit_loss_grad = _with_threads(fused, "probit_loss_grad")

_fork.apply()  # a forked child that loads this backend for the first time
