"""Paired timing of one fused kernel in two builds of the C module, in one process.

    python csrc/tools/ab_builds.py OTHER_SO [--kernel softmax] [--reps 15] [--n 1000000]
                                   [--d 100] [--classes 10] [--dtype float64]

"this" is the module fastlogreg imports (the checkout's build); "other" is OTHER_SO, for
example the build of a worktree at an earlier commit (``git worktree add /tmp/base
HEAD~1 && cd /tmp/base && python setup.py build_ext --inplace``, then
``/tmp/base/fastlogreg/_c_kernels.abi3.so``). Both run through the same adapter
(fastlogreg/backends/c.py, pointed at one module or the other before each call), so
they take the same threads and the same chunks. The two results are compared first
(largest absolute difference). Each repetition times the read-only pass over X, other
and this, in an order that rotates (fastlogreg.benchmarks.timing.interleaved); printed:
medians with quartiles, and the median of the per-repetition ratios other / this (above
1: this build is faster). ``--n 20000`` keeps X in cache, which times the arithmetic
without the memory system's run-to-run changes.
"""

import argparse
import importlib.util
import types

import numpy as np

import fastlogreg
import fastlogreg.backends.c as adapter
from fastlogreg import functions
from fastlogreg.benchmarks.ceiling import read_pass
from fastlogreg.benchmarks.timing import interleaved


def load(path):
    spec = importlib.util.spec_from_file_location("fastlogreg._c_kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problem(kernel, n, d, C, dtype, rng):
    """A call of the kernel on random data, through the public function."""
    X = rng.standard_normal((n, d)).astype(dtype)
    W, b = rng.standard_normal((C, d)) * 0.1, np.zeros(C)
    if kernel == "softmax":
        y = rng.integers(0, C, n)
        return X, lambda: functions.softmax_loss_grad(X, y, W, b, backend="c")
    if kernel == "softmax_hessp":
        V = rng.standard_normal((C, d))
        return X, lambda: functions.softmax_hessp(X, W, b, V, np.ones(C), backend="c")
    y = (rng.random(n) < 0.5).astype(np.float64)
    w, v = W[0], rng.standard_normal(d)
    if kernel == "logistic":
        return X, lambda: functions.logistic_loss_grad(X, y, w, 0.0, backend="c")
    return X, lambda: functions.logistic_hessp(X, w, 0.0, v, 0.0, backend="c")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other_so")
    parser.add_argument("--kernel", choices=["logistic", "logistic_hessp", "softmax", "softmax_hessp"],
                        default="softmax")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args()

    builds = {"other": load(args.other_so), "this": types.SimpleNamespace(lib=adapter.lib, ffi=adapter.ffi)}
    X, call = problem(args.kernel, args.n, args.d, args.classes, np.dtype(args.dtype),
                      np.random.default_rng(0))

    def run(name):
        adapter.lib, adapter.ffi = builds[name].lib, builds[name].ffi
        adapter._NULL = adapter.ffi.NULL
        return call()

    threads = fastlogreg.backend_info()["num_threads"]
    candidates = {"ceiling": lambda: read_pass(X, threads), "other": lambda: run("other"),
                  "this": lambda: run("this")}
    diff = max(float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))
               for a, b in zip(run("other"), run("this")))
    print(f"{args.kernel}, {args.n} x {args.d} {args.dtype}: largest difference other - this {diff:.3g}")
    times = interleaved(candidates, args.reps, pause=0)
    for name, ts in times.items():
        q1, median, q3 = np.percentile(ts, [25, 50, 75]) * 1e3
        print(f"{name:8s} {median:8.2f} ms (quartiles {q1:.2f}-{q3:.2f})")
    ratios = times["other"] / times["this"]
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    print(f"other / this, per repetition: median {median:.3f} (quartiles {q1:.3f}-{q3:.3f})")


if __name__ == "__main__":
    main()
