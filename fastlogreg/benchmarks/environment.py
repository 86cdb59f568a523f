"""What a benchmark ran on: CPU, threads, library versions, threading layers, backends."""

import importlib
import os
import platform
import sys

from .. import _backend

_LIBRARIES = ("numpy", "scipy", "numba", "llvmlite", "sklearn", "torch", "threadpoolctl",
              "matplotlib")


def cpu_model():
    """The CPU's model name (from /proc/cpuinfo on Linux, else :mod:`platform`)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions():
    """Versions of the libraries that matter, ``None`` for those not installed."""
    import fastlogreg

    versions = {"python": sys.version.split()[0], "fastlogreg": fastlogreg.__version__}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.import_module(name).__version__
        except Exception:
            versions[name] = None
    return versions


def blas_info():
    """BLAS libraries loaded (name, threading layer, threads) via threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: info.get(k) for k in ("internal_api", "version", "threading_layer", "num_threads")}
        for info in threadpool_info()
    ]


def environment(n_threads, backends):
    """Everything the header of ``fastlogreg bench`` prints, as a dict."""
    info = _backend.backend_info()
    extra = {}
    c = _backend._loaded.get("c")
    if c is not None and hasattr(c, "openmp_enabled"):
        extra["c_openmp"] = bool(c.openmp_enabled())
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "n_threads": n_threads,
        "platform": platform.platform(),
        "versions": library_versions(),
        "available_backends": _backend.available_backends(),
        "timed_backends": list(backends),
        "backend_status": {k: info[k] for k in ("numba", "c", "numpy")},
        "numba_threading_layer": info.get("numba_threading_layer"),
        "blas": blas_info(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        **extra,
    }
