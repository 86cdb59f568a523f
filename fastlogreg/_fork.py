"""Kernels in a process forked after OpenMP's thread pool started.

GNU OpenMP (libgomp) is not fork-safe. Once a process has run a parallel region, a
child made by ``fork()`` (``multiprocessing``'s default start method on Linux, joblib's
``multiprocessing`` backend, ``os.fork``) has the pool's bookkeeping but none of its
threads: Numba's OpenMP threading layer terminates the child at its first parallel
region, and a parallel region of the C kernel waits forever for the missing threads.

So in such a child fastlogreg runs every Numba and C kernel on the calling thread, with
the same static chunks and the same fixed-order reduction as in the parent: results are
bit-identical to the parent's at the same thread count; only the speed differs. The
switch happens in a handler registered with :func:`os.register_at_fork`, and
``backend_info()["serial_after_fork"]`` reports it. Processes started with ``spawn`` or
``forkserver`` are fresh interpreters and run parallel as usual.
"""

import os
import sys

# True in a child forked after the parent started OpenMP's pool (inherited by its own children).
serial_only = False


def _numba_layer():
    """Numba's launched threading layer, or None (not launched or Numba not imported)."""
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    return None if parallel is None else parallel._threading_layer


def _c_parallel_started():
    c = sys.modules.get("fastlogreg.backends.c")
    return c is not None and c.parallel_started()


def _after_fork_in_child():
    global serial_only
    if serial_only or _numba_layer() == "omp" or _c_parallel_started():
        serial_only = True
        apply()


def apply():
    """Put the loaded Numba and C backends in serial mode if this process needs it.

    Called in the forked child, and by each backend module when it loads (a child may
    load a backend its parent never used; the OpenMP pool it would start is still broken).
    """
    if not serial_only:
        return
    c = sys.modules.get("fastlogreg.backends.c")
    if c is not None:
        c.run_serially()
    numba_kernels = sys.modules.get("fastlogreg.backends.numba_kernels")
    # TBB and workqueue are fork-safe; only an OpenMP layer (or none launched yet, which
    # may become OpenMP and would then start the broken pool) needs the serial kernels.
    if numba_kernels is not None and _numba_layer() in (None, "omp"):
        numba_kernels.run_serially()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
