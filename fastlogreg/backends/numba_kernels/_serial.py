"""Serial copies of the parallel Numba kernels, for a child forked after OpenMP started.

A parallel kernel here is ``for c in prange(n_threads)`` over static chunks followed by
a fixed-order reduction. Compiled without ``parallel=True``, the same source runs the
same chunks one after the other on the calling thread and gives bit-identical results
without touching the threading layer (see :mod:`fastlogreg._fork`).

:func:`rebind` replaces, in the kernel modules' globals, every dispatcher that runs a
parallel region (itself, or through a jitted callee named in its globals) by a serial
copy compiled from the same code. Python-level callers and copies compiled afterwards
look their callees up in those globals, so they reach the serial copies. Each copy gets
its own qualified name, hence its own entry in Numba's on-disk cache.
"""

import types

import numba
from numba.core.registry import CPUDispatcher


def _dispatchers(module):
    return [obj for obj in vars(module).values() if isinstance(obj, CPUDispatcher)]


def _callees(dispatcher):
    """The jitted functions a dispatcher's code may call: globals named in it, and
    attributes of module globals (``scalar.f``) with a name used in it."""
    g = dispatcher.py_func.__globals__
    names = dispatcher.py_func.__code__.co_names
    modules = [v for v in g.values() if isinstance(v, types.ModuleType)]
    found = [g[n] for n in names if n in g]
    found += [getattr(m, n) for m in modules for n in names if hasattr(m, n)]
    return [f for f in found if isinstance(f, CPUDispatcher)]


def _runs_parallel(modules):
    """The dispatchers of ``modules`` that start a parallel region, directly or not."""
    every = {id(d): d for m in modules for d in _dispatchers(m)}
    parallel = {i for i, d in every.items() if d.targetoptions.get("parallel")}
    changed = True
    while changed:
        changed = False
        for i, d in every.items():
            if i not in parallel and any(id(c) in parallel for c in _callees(d)):
                parallel.add(i)
                changed = True
    return [every[i] for i in parallel]


def _serial_copy(dispatcher):
    py = dispatcher.py_func
    copy = types.FunctionType(py.__code__, py.__globals__, py.__name__, py.__defaults__,
                              py.__closure__)
    copy.__qualname__ = py.__qualname__ + "_serial"
    copy.__module__ = py.__module__
    options = {k: v for k, v in dispatcher.targetoptions.items() if k not in ("parallel", "nopython")}
    return numba.njit(cache=True, **options)(copy)


def rebind(modules):
    """Point every name bound to a parallel kernel in ``modules`` at its serial copy."""
    copies = {id(d): _serial_copy(d) for d in _runs_parallel(modules)}
    for module in modules:
        for name, obj in list(vars(module).items()):
            if id(obj) in copies:
                setattr(module, name, copies[id(obj)])
