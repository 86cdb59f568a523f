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


def c_instruction_set():
    """The instruction set the C kernel runs (its ``instruction_set()``), or "unknown"
    (a C backend without that function, or no C backend)."""
    try:
        c = _backend.resolve("c")
    except Exception:
        return "unknown"
    fn = getattr(c, "instruction_set", None)
    if fn is None:
        return "unknown"
    try:
        value = fn()
    except Exception as exc:  # reported, not fatal
        return f"unknown ({type(exc).__name__}: {exc})"
    return value if isinstance(value, str) else str(value)


def numba_target():
    """What Numba compiles for: the CPU name (``numba.config.CPU_NAME`` or the host's),
    whether AVX-512F, AVX2 and FMA are among the host's features, and the widest
    vector of the features Numba uses (see :func:`.peak.numba_target`)."""
    import llvmlite.binding as llvm

    from .peak import numba_target as target

    host = dict(llvm.get_host_cpu_features())
    out = target()
    return {
        "cpu_name": out["cpu_name"],
        "host_cpu_name": llvm.get_host_cpu_name(),
        "host_features": {f: bool(host.get(f)) for f in ("avx512f", "avx2", "fma")},
        "vector_bits": out["vector_bits"],
    }


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
        "c_instruction_set": c_instruction_set(),
        "numba_target": numba_target(),
        **extra,
    }
