"""Calls from several Python threads at once neither crash nor change the results, and
repeated calls with the same thread count are bit-identical (static chunks reduced in a
fixed order: README.md, "Backends and threads"). Numba's "workqueue" threading layer aborts the process
on concurrent parallel calls; a crash here is that.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastlogreg as fl

from conftest import assert_fused_close, binary_error_scales, softmax_error_scales

N_THREADS = 4  # Python threads calling at once
REPEATS = 4  # calls per task in the pool
#: The documented float64 bound for a fused kernel against the reference.
RTOL64 = 1e-12


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(4242)
    n, d, C = 20000, 12, 5
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 2, n).astype(np.float64)
    labels = rng.integers(0, C, n)
    w = 0.3 * rng.standard_normal(d)
    W = 0.3 * rng.standard_normal((C, d))
    b = 0.1 * rng.standard_normal(C)
    sw = rng.uniform(0.5, 2.0, n)
    Z = 10 * rng.standard_normal((n, C))
    return dict(X=X, y=y, labels=labels, w=w, W=W, b=b, sw=sw, Z=Z)


def _tasks(p, backend):
    return {
        "logistic": lambda: fl.logistic_loss_grad(p["X"], p["y"], p["w"], 0.2, sample_weight=p["sw"], l2=0.01,
                                                  backend=backend),
        "softmax_loss": lambda: fl.softmax_loss_grad(p["X"], p["labels"], p["W"], p["b"],
                                                     sample_weight=p["sw"], backend=backend),
        "softmax": lambda: (fl.softmax(p["Z"], backend=backend),),
        "hessp": lambda: fl.logistic_hessp(p["X"], p["w"], 0.2, p["w"], 1.0, backend=backend),
    }


def _assert_identical(a, b, what):
    assert len(a) == len(b), what
    for u, v in zip(a, b):
        assert np.asarray(u).dtype == np.asarray(v).dtype, what
        np.testing.assert_array_equal(u, v, err_msg=what)  # bit for bit (NaN-free data)


def _run_concurrently(jobs):
    """Run ``(name, call)`` jobs REPEATS times each from N_THREADS Python threads at once."""
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        futures = [(name, pool.submit(call)) for _ in range(REPEATS) for name, call in jobs]
        return [(name, f.result(timeout=300)) for name, f in futures]


def test_repeated_calls_are_bit_identical(backend, problem):
    for name, call in _tasks(problem, backend).items():
        first = call()
        for _ in range(2):
            _assert_identical(call(), first, f"{name}[{backend}] repeated")


def test_threads_give_the_serial_result(backend, problem):
    tasks = _tasks(problem, backend)
    serial = {name: call() for name, call in tasks.items()}
    for name, result in _run_concurrently(list(tasks.items())):
        _assert_identical(result, serial[name], f"{name}[{backend}] from {N_THREADS} threads")


def test_all_backends_at_once(problem):
    """Every available backend called from the same pool at the same time."""
    jobs, serial = [], {}
    for backend in fl.available_backends():
        for name, call in _tasks(problem, backend).items():
            key = f"{name}[{backend}]"
            serial[key] = call()
            jobs.append((key, call))
    for key, result in _run_concurrently(jobs):
        _assert_identical(result, serial[key], f"{key}, all backends at once")


@pytest.mark.parametrize("n_threads", [1, 2, 8])  # 8: more chunks than cores
def test_thread_count_matches_reference(fast_backend, problem, n_threads, restore_backend_state):
    """1, 2 or 8 kernel threads: the chunking changes the summation order, not the result
    beyond the fused kernels' bound; and each setting is reproducible."""
    p = problem
    fl.set_num_threads(n_threads)
    got = fl.logistic_loss_grad(p["X"], p["y"], p["w"], 0.2, sample_weight=p["sw"], backend=fast_backend)
    again = fl.logistic_loss_grad(p["X"], p["y"], p["w"], 0.2, sample_weight=p["sw"], backend=fast_backend)
    _assert_identical(got, again, f"logistic_loss_grad with {n_threads} threads")
    ref = fl.logistic_loss_grad(p["X"], p["y"], p["w"], 0.2, sample_weight=p["sw"], backend="numpy")
    assert_fused_close(got, ref, binary_error_scales(p["X"], p["y"], p["w"], 0.2, p["sw"]), RTOL64,
                       f"logistic_loss_grad, {n_threads} threads")
    got = fl.softmax_loss_grad(p["X"], p["labels"], p["W"], p["b"], sample_weight=p["sw"],
                               backend=fast_backend)
    ref = fl.softmax_loss_grad(p["X"], p["labels"], p["W"], p["b"], sample_weight=p["sw"], backend="numpy")
    Y = np.eye(p["W"].shape[0])[p["labels"]]
    assert_fused_close(got, ref, softmax_error_scales(p["X"], Y, p["W"], p["b"], p["sw"]), RTOL64,
                       f"softmax_loss_grad, {n_threads} threads")
    np.testing.assert_array_equal(fl.softmax(p["Z"], backend=fast_backend),
                                  fl.softmax(p["Z"], backend=fast_backend))


def test_threads_with_different_thread_counts(fast_backend, problem, restore_backend_state):
    """The thread count is process-wide; changing it between calls while other threads
    compute must not crash, and each result equals the serial one for some count."""
    p = problem
    expected = {}
    for n in (1, 2):
        fl.set_num_threads(n)
        loss, gw, gb = fl.logistic_loss_grad(p["X"], p["y"], p["w"], 0.2, backend=fast_backend)
        expected[n] = (loss, gw.tobytes(), gb)

    def call(n):
        fl.set_num_threads(n)
        loss, gw, gb = fl.logistic_loss_grad(p["X"], p["y"], p["w"], 0.2, backend=fast_backend)
        return loss, gw.tobytes(), gb

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        results = list(pool.map(call, [1, 2] * 4))
    for result in results:
        assert result in expected.values()
