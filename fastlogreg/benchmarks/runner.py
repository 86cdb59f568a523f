"""Run benchmark cases: check equality with the reference, then time interleaved.

For every case the runner first calls the reference and every candidate once and
measures the largest relative difference (a candidate beyond the case's tolerance is
"FAILED"; comparison libraries are only reported, "info"), then times the ceiling, the
reference, the fastlogreg backends and the comparison libraries interleaved, and
turns the medians into the table's columns. The ceiling is the case's
(``Prepared.ceiling``: a read-only pass over X, or over ``data`` and ``indices`` of a
CSR X); a case with an objective (the fits) reports each candidate's objective too.

Before the cases, :func:`run` measures the host's peak FMA rate (:mod:`.peak`); for the
fused kernels each row also gets the roofline (:mod:`.roofline`): the larger of the
model's bytes over the case's ceiling bandwidth and its flops over that peak, and the
fraction ``roofline time / median``.
"""

import functools
import gc
import time

import numpy as np

from .. import _backend
from . import ceiling as _ceiling
from . import peak as _peak
from . import timing
from .cases import relative_difference
from .roofline import kernel_model, roofline_seconds


def _copy(result):
    return tuple(np.array(r, dtype=np.float64, copy=True) for r in result)


def _blas_limit(n_threads):
    """Limit BLAS (used by the NumPy reference and scikit-learn) to ``n_threads``."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(n_threads)


def ceiling_check(X, n_threads, repeat=5):
    """Is the ceiling one? Time it against NumPy's own read-only reductions.

    Returns GB/s of ``read_pass`` on 1 and ``n_threads`` threads, ``X.sum()`` and
    ``np.add.reduce`` (NumPy's reductions are single-threaded).
    """
    flat = X.reshape(-1)
    times = timing.interleaved(
        {
            "read_pass, 1 thread": lambda: _ceiling.read_pass(X, 1),
            f"read_pass, {n_threads} threads": lambda: _ceiling.read_pass(X, n_threads),
            "numpy X.sum()": lambda: X.sum(),
            "numpy add.reduce": lambda: np.add.reduce(flat),
        },
        repeat,
    )
    return {
        name: {"gbps": X.nbytes / float(np.median(t)) / 1e9, **timing.summarize(t)}
        for name, t in times.items()
    }


def run_case(case, n_threads, backends, repeat, comparisons=True, on_data=None,
             peak_flops=None):
    """Check and time one case; return its rows (dicts), ceiling and reference first.

    ``on_data(X)``, when given, is called with the case's X (an ndarray, or a SciPy CSR
    matrix for the sparse cases) before anything is timed.
    ``peak_flops`` (flop/s of all threads), when given, adds the roofline columns to
    the rows of the kernels :func:`.roofline.kernel_model` covers.
    The case's ``Prepared.close``, when set, is called at the end, also on error.
    """
    prep = case.prepare(n_threads, backends, comparisons)
    try:
        return _check_and_time(case, prep, n_threads, repeat, on_data, peak_flops)
    finally:
        if prep.close is not None:
            prep.close()
        del prep
        gc.collect()


def _check(prep):
    """Call the reference and every candidate once: ``(results, seconds, agreement)``, a
    candidate that raised having no result and agreement inf."""
    ref = prep.reference_label
    results, seconds = {}, {}

    def call(label, fn):
        start = time.perf_counter()
        results[label] = _copy(fn())
        seconds[label] = time.perf_counter() - start

    call(ref, prep.reference)
    for label, fn in list(prep.backends.items()) + list(prep.comparisons.items()):
        try:
            call(label, fn)
        except Exception as exc:  # a broken candidate is a failed case, not a crash
            print(f"  {label} raised {type(exc).__name__}: {exc}")
    if prep.agreement is not None:
        agreement = prep.agreement(results)
    else:
        expected = results[ref]
        agreement = {label: relative_difference(r, expected, prep.relative)
                     for label, r in results.items()}
        agreement[ref] = 0.0
    for label in list(prep.backends) + list(prep.comparisons):
        if label not in results:
            agreement[label] = float("inf")
    return results, seconds, agreement


def _check_and_time(case, prep, n_threads, repeat, on_data, peak_flops):
    if on_data is not None:
        on_data(prep.X)
    if prep.warmup is not None:
        prep.warmup()
    ref = prep.reference_label
    results, check_seconds, diffs = _check(prep)
    objectives = {}
    if prep.objective is not None:
        objectives = {label: prep.objective(r) for label, r in results.items()}
    ceiling = functools.partial(prep.ceiling, n_threads)
    candidates = {ref: prep.reference}
    for label, fn in list(prep.backends.items()) + list(prep.comparisons.items()):
        if np.isfinite(diffs[label]):
            candidates[label] = fn
    long_pause_after = {ref, *prep.comparisons}
    if prep.max_repeat is None:
        # the equality check above was every candidate's warm-up call except the ceiling's
        times = timing.interleaved({"ceiling": ceiling, **candidates}, repeat,
                                   long_pause_after=long_pause_after, already_warm=set(candidates))
    else:
        # a long case: the checked call was the first repetition
        more = max(0, min(repeat, prep.max_repeat) - 1)
        times = timing.interleaved(candidates, more, long_pause_after=long_pause_after,
                                   already_warm=set(candidates))
        times = {label: np.concatenate([[check_seconds[label]], t]) for label, t in times.items()}
        times["ceiling"] = timing.interleaved({"ceiling": ceiling}, more + 1)["ceiling"]
    t_ceiling = float(np.median(times["ceiling"]))
    t_reference = float(np.median(times[ref]))
    model = None
    if case.group in ("fused", "hessp"):
        n, d = case.shape
        y_itemsize = 8  # the cases pass y as float64 and labels as int64
        model = kernel_model(case.kernel, n, d, case.n_classes, prep.X.dtype.itemsize, y_itemsize)
    bandwidth = prep.ceiling_bytes / t_ceiling
    rows = []
    for label in ["ceiling", ref] + list(prep.backends) + list(prep.comparisons):
        if label == "ceiling":
            kind = "ceiling"
        elif label == ref:
            kind = "reference"
        elif label in prep.backends:
            kind = "backend"
        else:
            kind = "comparison"
        row = {
            "kernel": case.kernel,
            "group": case.group,
            "shape": list(case.shape),
            "n_classes": case.n_classes,
            "index_law": case.index_law,
            "nnz_per_row": case.nnz_per_row,
            "fit_intercept": case.fit_intercept,
            "chunks": case.chunks,
            "dtype": case.dtype,
            "backend": label,
            "kind": kind,
            "reference": ref,
            "n_threads": n_threads,
            "repeat": repeat,  # asked for; "n" (timed) may be fewer in a long case
            "tolerance": case.tolerance,
            "max_rel_diff": diffs.get(label),
        }
        if label in objectives:
            row["objective"] = objectives[label]
            row["objective_rel_excess"] = ((objectives[label] - objectives[ref])
                                           / abs(objectives[ref]))
        if label in times:
            stats = timing.summarize(times[label])
            row.update(stats)
            row["gbps"] = prep.data_bytes / stats["median"] / 1e9
            row["speedup_vs_reference"] = t_reference / stats["median"]
            row["fraction_of_ceiling"] = t_ceiling / stats["median"]
        if model is not None:
            row["model_bytes"] = model["bytes"]
            row["model_flops"] = model["flops"]
            if label in times and kind != "ceiling" and peak_flops:
                seconds, bound = roofline_seconds(model, bandwidth, peak_flops)
                row["roofline_bandwidth_gbps"] = bandwidth / 1e9
                row["roofline_peak_gflops"] = peak_flops / 1e9
                row["roofline_seconds"] = seconds
                row["roofline_bound"] = bound
                row["fraction_of_roofline"] = seconds / row["median"]
        if prep.details is not None and label in results:
            row.update(prep.details(label, results[label]))
        if kind in ("backend", "reference"):
            row["status"] = "ok" if row["max_rel_diff"] <= case.tolerance else "FAILED"
        elif kind == "comparison":
            row["status"] = "info"
        else:
            row["status"] = ""
        rows.append(row)
    return rows


def measure_peak(n_threads, repeat, seconds=_peak.TARGET_SECONDS):
    """The peak FMA rates (:func:`.peak.measure`) and the FMA instructions of the loop."""
    rates = _peak.measure(n_threads, repeat, seconds=seconds)
    return {
        "loop": f"{rates['float64']['chains']} independent vector accumulators, "
                "acc = fma(acc, a, b), no memory access",
        "flops_per_fma": 2,
        "example_instruction": (_peak.fma_instructions("float64") or [None])[0],
        **rates,
    }


def run(cases, n_threads, backends=None, repeat=5, comparisons=True, progress=None,
        check_ceiling=True, peak_seconds=_peak.TARGET_SECONDS, on_rows=None):
    """Run ``cases``; return ``{"environment": ..., "ceiling_check": ..., "peak_fma": ...,
    "rows": [...]}``. ``peak_seconds``: seconds per timed call of the peak FMA loop
    (``None``: no peak, no roofline columns). ``on_rows(rows, seconds)``, when given, gets
    each case's rows as soon as the case is done, with the seconds since the run started."""
    from .environment import environment

    if backends is None:
        backends = [b for b in _backend.available_backends() if b != "numpy"]
    started = time.time()
    env = environment(n_threads, backends)  # before the run: the load average at start
    limit = _blas_limit(n_threads)
    try:
        rows = []
        check = {}
        peak = None
        if peak_seconds:
            if progress:
                progress("peak FMA rate (register-only loop)")
            peak = measure_peak(n_threads, repeat, peak_seconds)
        peak_flops = peak["float64"]["total_gflops"] * 1e9 if peak else None

        def on_data(X):
            if check_ceiling and not check and case.group == "fused":
                check.update(ceiling_check(X, n_threads, repeat))
                check["data"] = f"{case.name} {case.dtype}"

        for i, case in enumerate(cases):
            if progress:
                progress(f"[{i + 1}/{len(cases)}] {case.name} {case.dtype}")
            case_rows = run_case(case, n_threads, backends, repeat, comparisons, on_data, peak_flops)
            rows += case_rows
            if on_rows:
                on_rows(case_rows, time.time() - started)
    finally:
        if limit is not None:
            limit.restore_original_limits()
    return {
        "environment": env,
        "repeat": repeat,
        "seconds": time.time() - started,
        "ceiling_check": check or None,
        "peak_fma": peak,
        "rows": rows,
    }


def failed(results):
    """Rows of fastlogreg backends (or the reference) that differ beyond tolerance."""
    return [r for r in results["rows"] if r["status"] == "FAILED"]
