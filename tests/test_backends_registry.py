"""The backend registry: listing, choosing (set_backend, use_backend, backend=,
FASTLOGREG_BACKEND), reporting (backend_info) and the shared thread count."""

import os
import threading

import numpy as np
import pytest

import fastlogreg as fl
from fastlogreg import _backend

from _interpreter import run_python


def _run(code, **env):
    return run_python(code, env=dict(os.environ, **env)).stdout.strip()


def test_available_backends():
    names = fl.available_backends()
    assert "numpy" in names
    assert set(names) <= {"numba", "c", "numpy"}
    order = ["numba", "c", "numpy"]
    assert names == [n for n in order if n in names], "listed in order of preference"
    assert fl.available_backends() == names  # stable


def test_backend_info_reports_every_backend():
    info = fl.backend_info()
    for name in ("numba", "c", "numpy"):
        assert name in info
        if name in fl.available_backends():
            assert info[name] == "available"
        else:
            assert isinstance(info[name], str) and info[name], f"{name}: the reason it did not load"
    assert info["default"] == fl.get_backend()
    assert info["num_threads"] == fl.get_num_threads()
    if "numba" in fl.available_backends():
        assert "workqueue" not in info["numba_threading_layer"], (
            "workqueue aborts on concurrent calls from several Python threads")


def test_default_is_first_available(restore_backend_state, monkeypatch):
    monkeypatch.delenv("FASTLOGREG_BACKEND", raising=False)
    _backend._default = None  # as in a fresh process
    assert fl.get_backend() == fl.available_backends()[0]


def test_set_backend(backend, restore_backend_state):
    fl.set_backend(backend)
    assert fl.get_backend() == backend
    _assert_dispatches_to(backend, lambda: fl.sigmoid(np.zeros(3)))


def test_use_backend_restores_on_exit_and_on_error(backend, restore_backend_state):
    fl.set_backend("numpy")
    with fl.use_backend(backend):
        assert fl.get_backend() == backend
        _assert_dispatches_to(backend, lambda: fl.softmax(np.zeros((2, 3))))
        with fl.use_backend("numpy"):
            assert fl.get_backend() == "numpy"
        assert fl.get_backend() == backend
    assert fl.get_backend() == "numpy"
    with pytest.raises(RuntimeError):
        with fl.use_backend(backend):
            raise RuntimeError("boom")
    assert fl.get_backend() == "numpy"


def test_backend_keyword_wins_over_default(backend, restore_backend_state):
    other = "numpy" if backend != "numpy" else fl.available_backends()[0]
    fl.set_backend(other)
    _assert_dispatches_to(backend, lambda: fl.logistic_loss_grad(np.ones((2, 2)), [0, 1], np.zeros(2),
                                                                 backend=backend))
    with fl.use_backend(other):
        _assert_dispatches_to(backend, lambda: fl.log_sigmoid(np.zeros(2), backend=backend))


def test_use_backend_is_local_to_the_thread(restore_backend_state):
    """use_backend in one thread does not change what another thread uses."""
    fl.set_backend("numpy")
    other = fl.available_backends()[0]
    seen = {}
    inside, release = threading.Event(), threading.Event()

    def worker():
        with fl.use_backend(other):
            seen["worker"] = fl.get_backend()
            inside.set()
            release.wait(10)

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    seen["main"] = fl.get_backend()
    release.set()
    t.join(10)
    assert seen == {"worker": other, "main": "numpy"}


def _assert_dispatches_to(name, call):
    """``call`` runs a kernel of backend ``name`` (and of no other backend)."""
    hits = []
    originals = {}
    for backend_name in fl.available_backends():
        module = _backend.resolve(backend_name)
        for kernel in ("sigmoid", "log_sigmoid", "softmax", "logistic_loss_grad"):
            original = getattr(module, kernel)
            originals[(module, kernel)] = original

            def spy(*args, _original=original, _name=backend_name):
                hits.append(_name)
                return _original(*args)

            setattr(module, kernel, spy)
    try:
        call()
    finally:
        for (module, kernel), original in originals.items():
            setattr(module, kernel, original)
    assert hits == [name], f"expected one call into {name!r}, got {hits}"


def test_env_variable_selects_backend(backend):
    out = _run("import fastlogreg; print(fastlogreg.get_backend())", FASTLOGREG_BACKEND=backend)
    assert out == backend


def test_backend_results_do_not_depend_on_how_it_was_chosen(backend, restore_backend_state, rng):
    X = rng.standard_normal((30, 4))
    y = rng.integers(0, 2, 30)
    w = rng.standard_normal(4)
    by_keyword = fl.logistic_loss_grad(X, y, w, backend=backend)
    with fl.use_backend(backend):
        by_context = fl.logistic_loss_grad(X, y, w)
    fl.set_backend(backend)
    by_default = fl.logistic_loss_grad(X, y, w)
    for a, b in ((by_keyword, by_context), (by_keyword, by_default)):
        assert a[0] == b[0] and a[2] == b[2]
        np.testing.assert_array_equal(a[1], b[1])


# ----------------------------------------------------------------------------- threads setting
def test_num_threads_default_and_validation(restore_backend_state):
    _backend._num_threads = None
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert fl.get_num_threads() == expected
    fl.set_num_threads(3)
    assert fl.get_num_threads() == 3
    fl.set_num_threads(np.int64(2))
    assert fl.get_num_threads() == 2
    for bad, exc, match in ((0, ValueError, r"n must be >= 1, got 0"), (-2, ValueError, r">= 1"),
                            (1.5, TypeError, r"integer.*float"), (True, TypeError, r"integer.*bool"),
                            ("2", TypeError, r"integer.*str"),
                            (2**31, ValueError, r"n must be at most \d+ .*got 2147483648"),
                            (2**40, ValueError, r"n must be at most"),
                            (_backend.max_num_threads() + 1, ValueError, r"at most")):
        with pytest.raises(exc, match=match):
            fl.set_num_threads(bad)
    assert fl.get_num_threads() == 2  # unchanged by the failed calls


def test_kernels_receive_the_thread_count(backend, restore_backend_state, monkeypatch):
    module = _backend.resolve(backend)
    seen = []
    real = module.softmax_loss_grad
    monkeypatch.setattr(module, "softmax_loss_grad", lambda *args: seen.append(args[-1]) or real(*args))
    rows = (1 << 16) // 2  # X.size at the threshold where fused calls go parallel
    labels = np.arange(rows) % 2
    for n in (1, 3):
        fl.set_num_threads(n)
        fl.softmax_loss_grad(np.ones((rows, 2)), labels, np.zeros((2, 2)), backend=backend)
    # Below the threshold one thread does the (microseconds of) work, whatever the setting.
    fl.softmax_loss_grad(np.ones((4, 2)), [0, 1, 0, 1], np.zeros((2, 2)), backend=backend)
    assert seen == [1, 3, 1]


def test_never_more_chunks_than_rows(backend, restore_backend_state, monkeypatch):
    """The thread count is the number of static chunks: a call on fewer elements (or, for
    the fused kernels, rows) than threads gets one chunk per element or row, and the
    same result as on one thread."""
    module = _backend.resolve(backend)
    seen = {}
    for name in ("sigmoid", "logsumexp", "logistic_loss_grad"):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _n=name, _r=real: seen.setdefault(_n, a[-1]) and _r(*a))
    X = np.ones((2, 40_000))  # past the fused kernels' parallel threshold with 2 rows
    fl.set_num_threads(1)
    expected = (fl.sigmoid(np.ones(3), backend=backend),
                fl.logistic_loss_grad(X, [0, 1], np.zeros(40_000), backend=backend))
    seen.clear()
    fl.set_num_threads(_backend.max_num_threads())
    got = (fl.sigmoid(np.ones(3), backend=backend), fl.logsumexp(np.ones((2, 5)), backend=backend),
           fl.logistic_loss_grad(X, [0, 1], np.zeros(40_000), backend=backend))
    assert seen == {"sigmoid": 3, "logsumexp": 10, "logistic_loss_grad": 2}
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[2][0] == expected[1][0] and got[2][2] == expected[1][2]
    np.testing.assert_array_equal(got[2][1], expected[1][1])
