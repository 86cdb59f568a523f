"""Backend registry and selection, and the thread count shared by all backends.

Backends load lazily (importing Numba costs a fraction of a second), the first time
one is asked for. The default is the ``FASTLOGREG_BACKEND`` environment variable if
set, else the first of "numba", "c", "numpy" that loads. A backend whose module breaks
the kernel contract (:func:`fastlogreg.backends.contract.contract_violations`) is refused:
it is listed as unavailable, with the violations as the reason.
"""

import contextlib
import contextvars
import importlib
import os
import threading

from . import _fork
from .backends.contract import contract_violations

_MODULES = {
    "numpy": "fastlogreg.backends.reference",
    "numba": "fastlogreg.backends.numba_kernels",
    "c": "fastlogreg.backends.c",
}
_PREFERENCE = ("numba", "c", "numpy")

_lock = threading.Lock()
_loaded = {}  # name -> module
_errors = {}  # name -> why it did not load
_default = None
_override = contextvars.ContextVar("fastlogreg_backend", default=None)
_num_threads = None


def _load(name):
    with _lock:
        if name not in _loaded and name not in _errors:
            try:
                module = importlib.import_module(_MODULES[name])
            except Exception as exc:  # any failure means "not available", with the reason kept
                _errors[name] = f"{type(exc).__name__}: {exc}"
            else:
                violations = contract_violations(module, name)
                if violations:
                    _errors[name] = "breaks the kernel contract: " + "; ".join(violations)
                else:
                    _loaded[name] = module
    return _loaded.get(name)


def available_backends():
    """Names of the backends that load on this machine, in order of preference.

    Returns
    -------
    list of str
        A subset of ``["numba", "c", "numpy"]``; "numpy" (the reference) is always there.

    Examples
    --------
    >>> import fastlogreg
    >>> "numpy" in fastlogreg.available_backends()
    True
    """
    return [name for name in _PREFERENCE if _load(name) is not None]


def backend_info():
    """Which backends loaded and why the others did not.

    Returns
    -------
    dict
        ``{name: "available" or the reason it failed to load}`` for every known
        backend, plus ``"default"``, ``"num_threads"``, ``"serial_after_fork"``
        (True in a child forked after OpenMP's pool started, whose kernels then run on
        one thread with unchanged results) and, when Numba loaded, its
        ``"numba_threading_layer"``.

    Examples
    --------
    >>> import fastlogreg
    >>> info = fastlogreg.backend_info()
    >>> info["numpy"], info["default"] in fastlogreg.available_backends()
    ('available', True)
    >>> info["num_threads"] >= 1
    True
    """
    info = {}
    for name in _PREFERENCE:
        info[name] = "available" if _load(name) is not None else _errors[name]
    info["default"] = get_backend()
    info["num_threads"] = get_num_threads()
    info["serial_after_fork"] = _fork.serial_only
    numba_backend = _loaded.get("numba")
    if numba_backend is not None:
        info["numba_threading_layer"] = numba_backend.threading_layer_name()
    return info


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"backend must be a string, got {type(name).__name__}")
    if name not in _MODULES or _load(name) is None:
        why = f" ({_errors[name]})" if name in _errors else ""
        raise ValueError(
            f"unknown or unavailable backend {name!r}{why}; available: {available_backends()}"
        )
    return name


def _default_name():
    global _default
    if _default is None:
        requested = os.environ.get("FASTLOGREG_BACKEND")
        if requested:
            try:
                _default = _check_name(requested)
            except ValueError as exc:
                raise ValueError(f"FASTLOGREG_BACKEND: {exc}") from None
        else:
            _default = available_backends()[0]
    return _default


def get_backend():
    """Name of the backend used when a call passes ``backend=None``.

    Returns
    -------
    str
        The backend of the innermost :func:`fastlogreg.use_backend` block of this thread
        or task, else the process default (:func:`fastlogreg.set_backend`, the
        ``FASTLOGREG_BACKEND`` environment variable, or the first of "numba", "c",
        "numpy" that loads).

    Examples
    --------
    >>> import fastlogreg
    >>> fastlogreg.get_backend() in fastlogreg.available_backends()
    True
    """
    return _override.get() or _default_name()


def set_backend(name):
    """Make ``name`` ("numba", "c" or "numpy") the default backend of this process.

    Parameters
    ----------
    name : {"numba", "c", "numpy"}
        An available backend (:func:`fastlogreg.available_backends`).

    Returns
    -------
    None

    Raises
    ------
    ValueError
        If the backend is unknown or failed to load; the message lists the
        available ones.

    Examples
    --------
    >>> import fastlogreg
    >>> previous = fastlogreg.get_backend()
    >>> fastlogreg.set_backend("numpy")
    >>> fastlogreg.get_backend()
    'numpy'
    >>> fastlogreg.set_backend(previous)
    """
    global _default
    _default = _check_name(name)


@contextlib.contextmanager
def use_backend(name):
    """Context manager: use backend ``name`` inside the ``with`` block.

    The choice is local to the current thread (and asyncio task), so concurrent
    code elsewhere keeps its own backend.

    Parameters
    ----------
    name : {"numba", "c", "numpy"}
        An available backend (:func:`fastlogreg.available_backends`).

    Yields
    ------
    None
        The previous choice is restored when the block exits, also on an exception.

    Raises
    ------
    ValueError
        If the backend is unknown or failed to load.

    Examples
    --------
    >>> import fastlogreg
    >>> with fastlogreg.use_backend("numpy"):
    ...     fastlogreg.get_backend()
    'numpy'
    """
    token = _override.set(_check_name(name))
    try:
        yield
    finally:
        _override.reset(token)


def resolve(backend):
    """The kernel module for ``backend`` (None means the current default)."""
    return _loaded[get_backend() if backend is None else _check_name(backend)]


def get_num_threads():
    """Threads the Numba and C kernels split their rows over (default: usable cores).

    Returns
    -------
    int
        The count set by :func:`fastlogreg.set_num_threads`, else the CPUs this process
        may run on.

    Examples
    --------
    >>> import fastlogreg
    >>> fastlogreg.get_num_threads() >= 1
    True
    """
    if _num_threads is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return _num_threads


def max_num_threads():
    """The largest thread count :func:`fastlogreg.set_num_threads` accepts: 4 per CPU, at least 64.

    The thread count is also the number of static row chunks, so results depend on it;
    the floor of 64 lets the same count (and so the same results) be used on any host.

    Returns
    -------
    int

    Examples
    --------
    >>> from fastlogreg._backend import max_num_threads
    >>> max_num_threads() >= 64
    True
    """
    return max(64, 4 * (os.cpu_count() or 1))


def set_num_threads(n):
    """Set the thread count of the Numba and C kernels (an integer from 1 to
    :func:`~fastlogreg._backend.max_num_threads`).

    Results are bit-identical on repeated calls with the same thread count.

    Parameters
    ----------
    n : int
        From 1 to :func:`~fastlogreg._backend.max_num_threads`; also the number of row
        chunks of the parallel kernels.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n`` is out of range.

    Examples
    --------
    >>> import fastlogreg
    >>> previous = fastlogreg.get_num_threads()
    >>> fastlogreg.set_num_threads(1)
    >>> fastlogreg.get_num_threads()
    1
    >>> fastlogreg.set_num_threads(previous)
    """
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if n > max_num_threads():
        raise ValueError(f"n must be at most {max_num_threads()} (4 per CPU of this host, at "
                         f"least 64), got {n}")
    _num_threads = n
