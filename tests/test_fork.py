"""Kernels in processes forked after a parallel kernel ran (fastlogreg._fork).

GNU OpenMP's pool does not survive fork(): without the serial fallback a Numba child is
terminated at its first parallel region (so ``Pool.map`` hangs) and a C child waits
forever. Each test runs in a fresh interpreter (the state of the pytest process does
not matter), starts the pool with a parallel call on 2 threads, then maps work over a
``fork`` pool with a timeout: a hang fails the test instead of stalling the suite. The
child's results must be bit-identical to the parent's, since the serial fallback runs
the same chunks in the same order (a promise on one host and thread count).
"""

import textwrap

import pytest

import fastlogreg as fl

from _interpreter import run_python

FAST = [b for b in fl.available_backends() if b != "numpy"]

_PRELUDE = """
import multiprocessing as mp
import numpy as np
import fastlogreg as fl

BACKEND = {backend!r}
fl.set_num_threads(2)
rng = np.random.default_rng(0)
X = rng.normal(size=(40_000, 12))  # above every parallel threshold
y = (X[:, 0] + rng.normal(size=40_000) > 0).astype(float)
labels = rng.integers(0, 4, size=40_000)
w, W = np.full(12, 0.1), np.full((4, 12), 0.05)
Z = X[:, :4] * 10.0


def results(_=None):
    with fl.use_backend(BACKEND):
        out = [
            fl.sigmoid(X), fl.log_sigmoid(X), fl.log_ndtr(X), fl.softmax(Z), fl.log_softmax(Z),
            fl.logsumexp(Z), fl.cross_entropy(Z, labels % 4, reduction="none"),
            fl.binary_cross_entropy(X[:, 0], y, reduction="none"),
            fl.inner(X, w), fl.cosine_similarity(X, w),
            *fl.logistic_loss_grad(X, y, w, 0.1, l2=1e-3),
            *fl.probit_loss_grad(X, y, w, 0.1),
            *fl.softmax_loss_grad(X, labels, W),
        ]
    return [np.asarray(a).tobytes() for a in out], fl.backend_info()["serial_after_fork"]
"""


def _run(backend, body, timeout=600):
    code = _PRELUDE.format(backend=backend) + textwrap.dedent(body)
    return run_python(code, timeout=timeout).stdout.split()


@pytest.mark.slow
@pytest.mark.parametrize("backend", FAST)
def test_fork_pool_after_parallel_kernel(backend):
    """A ``fork`` pool after a parallel call completes, in serial mode, with the parent's bits."""
    out = _run(backend, """
        parent, parent_serial = results()
        with mp.get_context("fork").Pool(2) as pool:
            children = pool.map_async(results, range(2)).get(timeout=400)
        print(parent_serial, *[serial for _, serial in children])
        print(*[int(bits == parent) for bits, _ in children])
    """)
    assert out == ["False", "True", "True", "1", "1"]


@pytest.mark.parametrize("backend", FAST)
def test_fork_grandchild_and_estimator(backend):
    """A child's own fork stays serial; the estimator trains in a forked child exactly as
    in the parent."""
    out = _run(backend, """
        import os
        with fl.use_backend(BACKEND):
            clf = fl.LogisticRegression(C=1.0, tol=1e-8).fit(X, y)
        parent = clf.coef_.tobytes()

        def fit_twice(_):
            with fl.use_backend(BACKEND):
                here = fl.LogisticRegression(C=1.0, tol=1e-8).fit(X, y).coef_.tobytes()
            r, w_ = os.pipe()
            pid = os.fork()
            if pid == 0:  # grandchild
                with fl.use_backend(BACKEND):
                    ok = fl.LogisticRegression(C=1.0, tol=1e-8).fit(X, y).coef_.tobytes() == here
                os.write(w_, b"1" if ok and fl.backend_info()["serial_after_fork"] else b"0")
                os._exit(0)
            os.waitpid(pid, 0)
            return here == parent, os.read(r, 1) == b"1"

        with mp.get_context("fork").Pool(1) as pool:
            print(*pool.map_async(fit_twice, range(1)).get(timeout=400)[0])
    """)
    assert out == ["True", "True"]


@pytest.mark.parametrize("backend", FAST)
def test_fork_before_any_parallel_kernel_stays_parallel(backend):
    """Nothing is slowed down when the parent never started the pool."""
    out = _run(backend, """
        with mp.get_context("fork").Pool(1) as pool:
            print(pool.map_async(results, range(1)).get(timeout=400)[0][1])
    """)
    assert out == ["False"]


def test_serial_rebind_leaves_no_parallel_kernel():
    """After the rebinding, no kernel module names a dispatcher compiled with
    ``parallel=True``, directly or as a callee (what would start the broken pool)."""
    pytest.importorskip("numba")
    out = run_python(textwrap.dedent("""
        from numba.core.registry import CPUDispatcher
        from fastlogreg.backends import numba_kernels as nk
        from fastlogreg.backends.numba_kernels import _serial

        before = len(_serial._runs_parallel(nk._KERNEL_MODULES))
        nk.run_serially()
        left = _serial._runs_parallel(nk._KERNEL_MODULES)
        print(before, len(left))
    """)).stdout.split()
    assert int(out[0]) >= 10 and out[1] == "0"
