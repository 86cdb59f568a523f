"""Side-by-side timing of the fused logistic_loss_grad: C (portable and -march=native
builds, loaded into one process), Numba, the NumPy reference and a read-only pass over X
(the bandwidth ceiling), interleaved, on float64 and float32 X.

    python csrc/tools/bench_fused.py [--reps 21] [--n 1000000] [--d 100] [--threads 2]

The two C builds are compiled into a temporary directory from csrc/ (the installed one
is not used), each loaded under the name fastlogreg._c_kernels with its own copy of
fastlogreg/backends/c.py. Equality with the reference is asserted before timing. Each
repetition runs every contender once, in alternating order; reported: median, p10-p90,
min, and the per-repetition (paired) ratio against C portable.
"""

import argparse
import glob
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.dirname(HERE)
REPO = os.path.dirname(CSRC)


def build(tmp, tag, native):
    out = os.path.join(tmp, tag)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTLOGREG_")}
    env.update(FASTLOGREG_EXTRA_CFLAGS="-fopenmp", FASTLOGREG_EXTRA_LDFLAGS="-fopenmp")
    if native:
        env["FASTLOGREG_NATIVE"] = "1"
    subprocess.run([sys.executable, os.path.join(CSRC, "build_c_kernels.py"), out], env=env,
                   check=True, capture_output=True)
    return glob.glob(os.path.join(out, "fastlogreg", "_c_kernels*.so"))[0]


def load(so, tag):
    spec = importlib.util.spec_from_file_location("fastlogreg._c_kernels", so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules["fastlogreg._c_kernels"] = mod
    path = os.path.join(REPO, "fastlogreg", "backends", "c.py")
    m = types.ModuleType(f"c_{tag}")
    exec(compile(open(path).read(), path, "exec"), m.__dict__)
    return m


@numba.njit(parallel=True, nogil=True, fastmath={"reassoc"})
def read_pass(X, n_threads):
    n = X.shape[0]
    parts = np.zeros(n_threads)
    for c in numba.prange(n_threads):
        acc = 0.0
        for i in range(n * c // n_threads, n * (c + 1) // n_threads):
            for j in range(X.shape[1]):
                acc += X[i, j]
        parts[c] = acc
    return parts.sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    import fastlogreg.backends.numba_kernels as nb
    from fastlogreg.backends import reference as ref

    with tempfile.TemporaryDirectory() as tmp:
        c_port = load(build(tmp, "portable", False), "portable")
        c_nat = load(build(tmp, "native", True), "native")
    print(f"n={a.n} d={a.d} n_threads={a.threads} reps={a.reps} openmp={c_port.openmp_enabled()} "
          f"numba threading layer={numba.config.THREADING_LAYER}")
    rng = np.random.default_rng(0)
    X64 = rng.standard_normal((a.n, a.d))
    y = (rng.random(a.n) < 0.5).astype(np.float64)
    w = rng.standard_normal(a.d) * 0.1
    sw = np.zeros(0)
    nt = a.threads
    for dtype in (np.float64, np.float32):
        X = X64 if dtype == np.float64 else X64.astype(np.float32)
        grads = {}

        def kernel(mod, key, X=X, grads=grads):
            g = grads.setdefault(key, np.empty(a.d))
            return lambda: mod.logistic_loss_grad(X, y, w, 0.1, sw, g, nt)

        fns = {"c-portable": kernel(c_port, "c-portable"), "c-native": kernel(c_nat, "c-native"),
               "numba": kernel(nb, "numba"), "numpy": kernel(ref, "numpy"),
               "read-pass": lambda X=X: read_pass(X, nt)}
        results = {k: f() for k, f in fns.items()}  # warm-up (Numba compiles)
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        for k in ("c-portable", "c-native", "numba"):
            assert abs(results[k][0] - results["numpy"][0]) <= rtol * abs(results["numpy"][0]), k
            assert np.linalg.norm(grads[k] - grads["numpy"]) <= rtol * np.linalg.norm(grads["numpy"]), k
        times = {k: [] for k in fns}
        keys = list(fns)
        for r in range(a.reps):
            for k in (keys if r % 2 == 0 else keys[::-1]):
                t0 = time.perf_counter()
                fns[k]()
                times[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"-- {np.dtype(dtype).name}: X = {X.nbytes / 1e6:.0f} MB")
        for k, v in times.items():
            p10, p90 = np.percentile(v, [10, 90])
            paired = [t / c for t, c in zip(v, times["c-portable"])]
            print(f"  {k:11s} median {med[k] * 1e3:8.1f} ms  p10-p90 {p10 * 1e3:7.1f}-{p90 * 1e3:7.1f}  "
                  f"min {min(v) * 1e3:7.1f}  ceiling/this {med['read-pass'] / med[k]:5.2f}  "
                  f"this/c-portable paired median {statistics.median(paired):5.3f} "
                  f"[p10 {np.percentile(paired, 10):5.3f}, p90 {np.percentile(paired, 90):5.3f}]")
        print(f"  speed-up over numpy: c-portable {med['numpy'] / med['c-portable']:.2f}x, "
              f"c-native {med['numpy'] / med['c-native']:.2f}x, numba {med['numpy'] / med['numba']:.2f}x")


if __name__ == "__main__":
    main()
