"""Tests specific to the C backend ("c"): how it is built and loaded, what its adapter
(fastlogreg/backends/c.py) does with awkward strides, determinism of its OpenMP
chunking, and concurrent calls from Python threads. That every public function agrees
with the NumPy reference on "c" is the general per-backend suite's job, not repeated here.

The install tests (a fresh virtual environment, ``CC=/bin/false pip install``) take a
minute: they are marked ``slow`` and run only with ``FASTLOGREG_TEST_BUILD=1``.
"""

import os
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import numpy as np
import pytest

import fastlogreg
from fastlogreg.backends import reference

from _interpreter import run_python

REPO = Path(__file__).resolve().parents[1]
SEED = 20261128
C_AVAILABLE = "c" in fastlogreg.available_backends()
needs_c = pytest.mark.skipif(not C_AVAILABLE, reason=f"C backend not built: {fastlogreg.backend_info()['c']}")

# Tolerances: elementwise results must agree with the reference to a few units in the
# last place of the data dtype; fused sums to the documented relative 1e-12 (float64 data)
# or 1e-5 (float32 data, whose products are exact in float64 but whose inputs carry
# 6e-8 relative rounding already).
ELEMENTWISE_RTOL = {np.float64: 8 * np.finfo(np.float64).eps, np.float32: 4 * np.finfo(np.float32).eps}
FUSED_RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def _c():
    from fastlogreg.backends import c

    return c


def test_c_backend_present_when_required():
    """With FASTLOGREG_REQUIRE_C=1 (CI) the install must have built the C kernel."""
    if os.environ.get("FASTLOGREG_REQUIRE_C", "") != "1":
        pytest.skip("FASTLOGREG_REQUIRE_C is not set")
    assert C_AVAILABLE, fastlogreg.backend_info()["c"]
    assert fastlogreg.backend_info()["c"] == "available"


def test_missing_extension_reports_why():
    """Without the compiled module, "c" is unavailable and backend_info says why."""
    code = (
        "import sys; sys.modules['fastlogreg._c_kernels'] = None\n"
        "import fastlogreg\n"
        "assert 'c' not in fastlogreg.available_backends()\n"
        "print(fastlogreg.backend_info()['c'])\n"
    )
    out = run_python(code).stdout
    assert out.startswith("ImportError: C kernel not built"), out


# --------------------------------------------------------------------------- strides
def _awkward_views(a):
    """The same values as ``a`` (n, d) in layouts the adapter must handle."""
    n, d = a.shape
    views = {
        "fortran": np.asfortranarray(a),
        "negative": np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1],
        "every-other": np.repeat(np.repeat(a, 2, axis=0), 3, axis=1)[::2, ::3],
    }
    readonly = a.copy()
    readonly.setflags(write=False)
    views["read-only"] = readonly
    # row stride of itemsize * d + 1 bytes: not a whole number of elements (copied by c.py)
    raw = np.zeros(n * (d * a.itemsize + 1) + a.itemsize, np.uint8)
    odd = np.ndarray((n, d), a.dtype, buffer=raw, offset=1, strides=(d * a.itemsize + 1, a.itemsize))
    odd[...] = a
    views["unaligned"] = odd
    for v in views.values():
        np.testing.assert_array_equal(v, a)
    return views


@needs_c
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adapter_strides(dtype):
    """Every layout gives the result of the C-contiguous array: exactly for the elementwise
    and row-wise kernels, to a few ulps for the fused one (same n_threads)."""
    c = _c()
    rng = np.random.default_rng(SEED)
    n, d = 41, 7
    X = (rng.standard_normal((n, d)) * 3).astype(dtype)
    y = (rng.random(n) < 0.5).astype(np.float64)
    w = rng.standard_normal(d)
    base_sig = np.empty((n, d), dtype)
    c.sigmoid(X, 1.3, base_sig, 2)
    np.testing.assert_allclose(base_sig, np.asarray(reference_sigmoid(X, 1.3)), rtol=ELEMENTWISE_RTOL[dtype])
    base_lse = np.empty(n, dtype)
    c.logsumexp(X, base_lse, 2)
    g0 = np.empty(d)
    base_fused = c.logistic_loss_grad(X, y, w, 0.5, np.zeros(0), g0, 2)
    for name, V in _awkward_views(X).items():
        out = np.empty((n, d), dtype)
        c.sigmoid(V, 1.3, out, 2)
        np.testing.assert_array_equal(out, base_sig, err_msg=name)
        lse = np.empty(n, dtype)
        c.logsumexp(V, lse, 2)
        np.testing.assert_array_equal(lse, base_lse, err_msg=name)
        g = np.empty(d)
        fused = c.logistic_loss_grad(V, y, w, 0.5, np.zeros(0), g, 2)
        # Fortran order takes the column-sweep path: same rows, other summation order in z.
        # Other layouts share the row path, but GCC may vectorise a loop for one layout and
        # run its scalar version for another, and the two need not fuse the same
        # multiply-adds into FMAs: equal to a few ulps, not to the bit.
        rtol = 1e-14 if name != "fortran" else FUSED_RTOL[dtype]
        np.testing.assert_allclose(fused, base_fused, rtol=rtol, err_msg=name)
        np.testing.assert_allclose(g, g0, rtol=rtol, atol=rtol * np.abs(g0).max(), err_msg=name)


@needs_c
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_narrow_rows_ignore_what_lies_past_the_row(dtype):
    """Rows of at most 16 features are read as whole 8-lane vectors, past the row's end
    (kernels_impl.h, narrow_row): what lies there -- the next row, or NaN and inf in the
    gap of a strided view -- must not reach the result, nor may a read leave the array
    (the last rows of X are read from a padded copy; an AddressSanitizer build, csrc/README.md,
    checks the reads). Each case is compared with the reference, the strided view also
    with the contiguous copy."""
    c = _c()
    rng = np.random.default_rng(SEED)
    for d in (1, 2, 7, 8, 9, 10, 15, 16, 17):
        for n in (1, 5, 9, 70, 203):
            wide = np.full((n, d + 5), np.nan, dtype)
            wide[:, d + 1] = np.inf
            wide[:, :d] = rng.standard_normal((n, d)) * 2
            X = wide[:, :d]  # row stride d + 5, the gap NaN and inf
            y = (rng.random(n) < 0.5).astype(np.float64)
            sw = rng.random(n) + 0.5
            w = rng.standard_normal(d)
            for kernel, weights in (("logistic_loss_grad", np.zeros(0)), ("logistic_loss_grad", sw),
                                    ("probit_loss_grad", sw)):
                want_g = np.empty(d)
                want = getattr(reference, kernel)(np.ascontiguousarray(X, np.float64), y, w, 0.3,
                                                  weights, want_g, 1)
                outs = []
                for V in (X, np.ascontiguousarray(X)):
                    g = np.empty(d)
                    got = getattr(c, kernel)(V, y, w, 0.3, weights, g, 2)
                    what = (f"{kernel} d={d} n={n} weighted={weights.size > 0} "
                            f"C-contiguous={V.flags.c_contiguous}")
                    np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=what)
                    np.testing.assert_allclose(g, want_g, rtol=1e-12, atol=1e-12 * np.abs(want_g).max(),
                                               err_msg=what)
                    outs.append(np.concatenate([got, g]))
                np.testing.assert_allclose(outs[0], outs[1], rtol=1e-14, atol=1e-14 * np.abs(outs[1]).max())


def reference_sigmoid(X, scale):
    out = np.empty(X.shape, X.dtype)
    reference.sigmoid(X, scale, out, 1)
    return out


@needs_c
def test_broadcast_rows_and_strided_outputs():
    """Stride-0 rows in, a strided (every other element) output out."""
    c = _c()
    rng = np.random.default_rng(SEED)
    u = rng.standard_normal(9)
    V = rng.standard_normal((6, 9))
    U = np.broadcast_to(u, V.shape)
    store = np.full(12, np.nan)
    out = store[::2]
    c.inner(U, V, out, 2)
    np.testing.assert_allclose(out, V @ u, rtol=1e-14)
    assert np.isnan(store[1::2]).all()  # the gaps were not written


# --------------------------------------------------------------------------- determinism
def _big_problem(dtype, n=40_000, d=13, C=3):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (rng.random(n) < 0.4).astype(np.float64)
    w = rng.standard_normal(d) * 0.5
    labels = rng.integers(0, C, n)
    W = rng.standard_normal((C, d)) * 0.5
    return X, y, w, labels, W


@needs_c
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_repeated_calls_bit_identical(dtype):
    """Static chunks + fixed-order reduction: identical bits on every call with the same
    thread count (the inputs are large enough for OpenMP to run in parallel); other
    thread counts agree to the fused tolerance."""
    c = _c()
    X, y, w, labels, W = _big_problem(dtype)
    n, d = X.shape
    C = W.shape[0]
    results = {}
    for nt in (1, 2, 3, 4):
        runs = []
        for _ in range(3):
            g = np.empty(d)
            loss, gb = c.logistic_loss_grad(X, y, w, 0.1, np.zeros(0), g, nt)
            GW = np.empty((C, d))
            Gb = np.empty(C)
            sl = c.softmax_loss_grad(X, labels, np.zeros((0, 0)), W, np.zeros(C), np.zeros(0), GW, Gb, nt)
            runs.append(np.concatenate([[loss, gb, sl], g, GW.ravel(), Gb]))
        for r in runs[1:]:
            np.testing.assert_array_equal(r, runs[0], err_msg=f"n_threads={nt}")
        results[nt] = runs[0]
    for nt in (2, 3, 4):
        np.testing.assert_allclose(results[nt], results[1], rtol=FUSED_RTOL[dtype],
                                   atol=FUSED_RTOL[dtype] * np.abs(results[1]).max())


# --------------------------------------------------------------------------- ISA levels
DISPATCHED = ("x86-64-v4 (AVX-512)", "x86-64-v3 (AVX2+FMA)", "baseline (SSE2)")


@needs_c
def test_instruction_set_names_the_code_path():
    """instruction_set() says which code path the loaded kernel runs: a level picked at
    load time in a portable build, or the one the compiler flags fixed."""
    c = _c()
    assert "instruction_set" in c.__all__
    name = c.instruction_set()
    assert isinstance(name, str)
    assert name in DISPATCHED or name.startswith(("native (", "fixed at build time (")), name
    assert c.instruction_set() == name


# A child process with FASTLOGREG_C_ISA set runs a lower level's code (what a CPU with
# fewer features gets from the same build); it checks its own results against the
# reference and that repeated calls are bit-identical, and prints the level it ran.
_LEVEL_CHILD = """
import numpy as np
from fastlogreg.backends import c, reference as ref
rng = np.random.default_rng({seed})
worst = 0.0
for dtype, rtol in ((np.float64, {rtol64}), (np.float32, {rtol32})):
    for n, d, C in ((3001, 37, 10), (2000, 100, 7), (500, 6, 3), (999, 13, 2)):
        X = rng.standard_normal((n, d)).astype(dtype)
        y = rng.choice([0.0, 1.0, 0.3], n)
        w = rng.standard_normal(d) * 0.3
        sw = rng.uniform(0, 2, n)
        W = rng.standard_normal((C, d)) * 0.3
        b = rng.standard_normal(C)
        lab = rng.integers(0, C, n)

        def run(m):
            g, h, G, gb, H, hb = (np.empty(d), np.empty(d), np.empty((C, d)), np.empty(C),
                                  np.empty((C, d)), np.empty(C))
            r = m.logistic_loss_grad(X, y, w, 0.1, sw, g, 2)
            hv_b = m.logistic_hessp(X, w, 0.1, sw, w, 0.2, h, 2)
            loss = m.softmax_loss_grad(X, lab, np.zeros((0, 0)), W, b, sw, G, gb, 2)
            m.softmax_hessp(X, W, b, sw, W, b, H, hb, 2)
            return [np.atleast_1d(v).astype(float) for v in (r, g, hv_b, h, loss, G, gb, H, hb)]

        got, again, want = run(c), run(c), run(ref)
        for a, a2, e in zip(got, again, want):
            assert np.array_equal(a, a2), "repeated calls differ"
            err = np.max(np.abs(a - e)) / max(np.max(np.abs(e)), 1e-300)
            assert err <= rtol, (dtype, n, d, C, err)
print(c.instruction_set())
"""


@needs_c
@pytest.mark.parametrize("level", ["baseline", "x86-64-v3"])
def test_lower_isa_levels_match_reference(level):
    """Every code path of a portable build is right, not only the one this CPU picks:
    FASTLOGREG_C_ISA caps the level at load time, so an AVX-512 machine also tests the
    AVX2 path (4-lane dot products, its own register tiles) and the baseline."""
    here = _c().instruction_set()
    code = _LEVEL_CHILD.format(seed=SEED, rtol64=FUSED_RTOL[np.float64], rtol32=FUSED_RTOL[np.float32])
    env = dict(os.environ, FASTLOGREG_C_ISA=level)
    ran = run_python(code, env=env).stdout.strip()
    if here not in DISPATCHED:
        assert ran == here  # flags fixed the path: the variable changes nothing
    elif level == "baseline" or here == "baseline (SSE2)":
        assert ran == "baseline (SSE2)"
    else:
        assert ran == "x86-64-v3 (AVX2+FMA)"


# --------------------------------------------------------------------------- threads
@needs_c
def test_concurrent_python_threads_match_serial():
    """Several Python threads calling C kernels at once (cffi releases the GIL) get
    exactly what one-at-a-time calls give."""
    c = _c()
    jobs = []
    for k, dtype in enumerate([np.float64, np.float32] * 3):
        X, y, w, labels, W = _big_problem(dtype, n=20_000 + 1000 * k)
        jobs.append((X, y, w, labels, W, 1 + k % 3))

    def run(job):
        X, y, w, labels, W, nt = job
        d, C = X.shape[1], W.shape[0]
        g = np.empty(d)
        loss, gb = c.logistic_loss_grad(X, y, w, 0.1, np.zeros(0), g, nt)
        hv = np.empty(d)
        hb = c.logistic_hessp(X, w, 0.1, np.zeros(0), g, 0.3, hv, nt)
        GW = np.empty((C, d))
        Gb = np.empty(C)
        sl = c.softmax_loss_grad(X, labels, np.zeros((0, 0)), W, np.zeros(C), np.zeros(0), GW, Gb, nt)
        P = np.empty((X.shape[0], d), X.dtype)
        c.softmax(X, P, nt)
        return np.concatenate([[loss, gb, hb, sl], g, hv, GW.ravel(), Gb, P.ravel()[::97]])

    serial = [run(job) for job in jobs]
    concurrent = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def worker(i):
        barrier.wait()
        for _ in range(3):
            concurrent[i] = run(jobs[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (a, b) in enumerate(zip(serial, concurrent)):
        np.testing.assert_array_equal(b, a, err_msg=f"job {i}")


# --------------------------------------------------------------------------- install
def _fresh_venv(tmp_path):
    """A new venv that sees this interpreter's site-packages (numpy, scipy, numba, cffi)
    through a .pth file, so ``pip install --no-deps`` installs only fastlogreg itself, and
    a copy of the sources (the build must not touch the working tree). The build runs
    isolated, with the [build-system] requirements of pyproject.toml fetched by pip."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "outer_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "fastlogreg", "csrc"):
        path = REPO / name
        if path.is_dir():
            subprocess.run(["cp", "-r", str(path), str(src / name)], check=True)
        elif path.exists():
            subprocess.run(["cp", str(path), str(src / name)], check=True)
    for junk in list(src.rglob("*.so")) + list(src.rglob("_c_build_error.txt")):
        junk.unlink()
    return python, src


def _pip_install(python, src, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FASTLOGREG_")}
    environ.update(env)
    return subprocess.run(
        [str(python), "-m", "pip", "install", "-v", "--no-deps", str(src)],
        capture_output=True, text=True, env=environ, cwd=str(src),
    )


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("FASTLOGREG_TEST_BUILD") != "1", reason="set FASTLOGREG_TEST_BUILD=1")
def test_install_without_compiler(tmp_path):
    python, src = _fresh_venv(tmp_path)
    result = _pip_install(python, src, CC="/bin/false")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WARNING: the optional C kernel of fastlogreg was not built" in result.stdout + result.stderr
    probe = subprocess.run(
        [str(python), "-c", "import fastlogreg; i = fastlogreg.backend_info(); "
                            "print(fastlogreg.available_backends()); print(i['c'])"],
        capture_output=True, text=True, check=True, cwd=str(tmp_path),
    ).stdout.splitlines()
    assert "'c'" not in probe[0] and "'numpy'" in probe[0], probe
    assert probe[1].startswith("ImportError: C kernel not built (the build failed: CompileError"), probe

    # The same failure is fatal when the C kernel is required (as in CI).
    failed = _pip_install(python, src, CC="/bin/false", FASTLOGREG_REQUIRE_C="1")
    assert failed.returncode != 0

    # And with the compiler back, the same venv gets a working "c" backend.
    rebuilt = _pip_install(python, src, FASTLOGREG_REQUIRE_C="1")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-3000:]
    probe = subprocess.run(
        [str(python), "-c", "import fastlogreg; print(fastlogreg.backend_info()['c'])"],
        capture_output=True, text=True, check=True, cwd=str(tmp_path),
    ).stdout.strip()
    assert probe == "available", probe
