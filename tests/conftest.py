"""Shared fixtures: the whole suite runs once per available backend.

``backend`` is a session fixture parametrized over :func:`fastlogreg.available_backends`
(as MarkupSafe's ``_speedups`` fixture): every test that takes it runs once per backend,
with the backend's name as the test id. ``fast_backend`` is the same without "numpy", for
tests that compare a backend against the NumPy reference (the oracle).

Hypothesis: the "fastlogreg" profile (default) keeps the number of examples small and
derandomizes the search, so the suite is fast and every run sees the same examples;
``deadline=None`` because Numba compiles lazily on the first call of each signature.
Set ``HYPOTHESIS_PROFILE=thorough`` for a longer, randomized search.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import fastlogreg

settings.register_profile(
    "fastlogreg",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fastlogreg"))

#: The seed of every ``numpy.random.Generator`` in the suite.
SEED = 20261128

BACKENDS = fastlogreg.available_backends()
FAST_BACKENDS = [name for name in BACKENDS if name != "numpy"]


def pytest_report_header(config):
    info = fastlogreg.backend_info()
    return [f"fastlogreg backends: {BACKENDS} (default {info['default']}, "
            f"{info['num_threads']} threads); " +
            ", ".join(f"{k}: {v}" for k, v in info.items() if k in ("numba", "c", "numpy"))]


@pytest.fixture(scope="session", params=BACKENDS, ids=BACKENDS)
def backend(request):
    """Name of one available backend; the test runs once per backend."""
    return request.param


@pytest.fixture(scope="session", params=FAST_BACKENDS or [None], ids=FAST_BACKENDS or ["none"])
def fast_backend(request):
    """Name of one available non-reference backend ("numba", "c"), compared against "numpy"."""
    if request.param is None:
        pytest.skip("no backend besides the NumPy reference is available")
    return request.param


@pytest.fixture
def rng():
    """A freshly seeded generator: every test sees the same numbers on every run."""
    return np.random.default_rng(SEED)


@pytest.fixture
def restore_backend_state():
    """Restore the default backend and the thread count after a test that changes them."""
    from fastlogreg import _backend

    saved_default, saved_threads = _backend._default, _backend._num_threads
    yield
    _backend._default, _backend._num_threads = saved_default, saved_threads
