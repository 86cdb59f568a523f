"""Benchmarks behind ``fastlogreg bench``, shipped in the package so they run from a wheel.

Modules: :mod:`.cases` (data and candidates per case), :mod:`.ceiling` (the read-only
parallel pass every kernel is measured against), :mod:`.timing` (interleaved medians),
:mod:`.runner` (equality check, then timing), :mod:`.report` (table and JSON),
:mod:`.plot` (PNG chart, matplotlib imported only when asked), :mod:`.environment`,
:mod:`.dask_fit` (the fit on a Dask LocalCluster) and :mod:`.paths` (the L1 path and
LogisticRegressionCV), also used by ``bench/bench_dask.py`` and ``bench/bench_path.py``.
"""
