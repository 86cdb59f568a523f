"""pytest-benchmark grid of the kernels: ``pytest bench/`` (not part of ``pytest``).

Options: ``--bench-size {quick,default,full}`` picks the grid of
:mod:`fastlogreg.benchmarks.cases` (default: the ~1 minute grid of ``fastlogreg bench``
at the documented shapes; quick: tiny sizes for a smoke run), ``--bench-threads N``.
Every benchmark asserts equality with the NumPy reference before it is timed, and each
(kernel, shape, dtype) is one group, so ``--benchmark-compare`` lines up across commits.
The Dask fit and the regularization paths (groups "dask", "path", "cv") are left to
``fastlogreg bench``: their references are not the NumPy backend, and the Dask case
holds a cluster the command closes.
"""

import gc

import pytest

from fastlogreg import _backend
from fastlogreg.benchmarks import cases as grid


def pytest_addoption(parser):
    group = parser.getgroup("fastlogreg bench")
    group.addoption("--bench-size", choices=("quick", "default", "full"), default="default",
                    help="which grid of fastlogreg.benchmarks.cases to run")
    group.addoption("--bench-threads", type=int, default=None,
                    help="threads for every candidate (default: usable cores)")


def _cases(config):
    size = config.getoption("--bench-size")
    cases = {"quick": grid.quick_cases, "default": grid.default_cases, "full": grid.full_cases}[size]()
    return [c for c in cases if c.group not in _COMMAND_ONLY]


_COMMAND_ONLY = ("dask", "path", "cv")


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        cases = _cases(metafunc.config)
        metafunc.parametrize("case", cases, ids=[f"{c.name}-{c.dtype}".replace(" ", "") for c in cases],
                             scope="module")
    if "candidate" in metafunc.fixturenames:
        names = ["ceiling", "numpy"] + [b for b in _backend.available_backends() if b != "numpy"]
        metafunc.parametrize("candidate", names)


@pytest.fixture(scope="session")
def n_threads(request):
    return request.config.getoption("--bench-threads") or _backend.get_num_threads()


@pytest.fixture(scope="session", autouse=True)
def blas_threads(n_threads):
    """The NumPy reference's BLAS gets the same thread count as the kernels."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(n_threads):
        yield


_prepared = {}


@pytest.fixture(scope="module")
def prepared(case, n_threads):
    """The case's data and callables, made once per case (the big arrays are shared by
    every candidate of the case and freed when the next case starts)."""
    key = (case, n_threads)
    if key not in _prepared:
        _prepared.clear()
        gc.collect()
        backends = [b for b in _backend.available_backends() if b != "numpy"]
        prep = case.prepare(n_threads, backends, comparisons=False)
        _prepared[key] = (prep, prep.reference())
    return _prepared[key]
