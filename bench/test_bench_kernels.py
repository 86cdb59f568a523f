"""One benchmark per (kernel, shape, dtype) x candidate: the ceiling, the reference and
every available backend. Equality with the reference is asserted before timing."""

import numpy as np

from fastlogreg.benchmarks.cases import relative_difference


def test_kernel(benchmark, case, candidate, prepared, n_threads):
    prep, expected = prepared
    expected = tuple(np.array(e, dtype=np.float64, copy=True) for e in expected)
    if candidate == "ceiling":
        fn = lambda: prep.ceiling(n_threads)  # noqa: E731
        assert np.all(np.isfinite(fn()))
    elif candidate == "numpy":
        fn = prep.reference
    else:
        if candidate not in prep.backends:
            import pytest

            pytest.skip(f"backend {candidate} has no {case.kernel}")
        fn = prep.backends[candidate]
        diff = relative_difference(fn(), expected, prep.relative)
        assert diff <= case.tolerance, f"{candidate} differs from the reference by {diff:.2e}"
    benchmark.group = f"{case.name} {case.dtype}"
    benchmark.extra_info.update(
        kernel=case.kernel, shape=list(case.shape), n_classes=case.n_classes, dtype=case.dtype,
        index_law=case.index_law, nnz_per_row=case.nnz_per_row, fit_intercept=case.fit_intercept,
        candidate=candidate, n_threads=n_threads, bytes_of_X=prep.data_bytes,
    )
    # One warm-up call (compilation, page faults), then interleaving is left to the
    # command `fastlogreg bench`; here every candidate gets its own rounds.
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
