"""Import time and first-call time of the Numba backend, with a cold and a warm cache.

Each measurement runs in a fresh interpreter. "cold" points ``NUMBA_CACHE_DIR`` at an
empty directory, so the first call compiles; "warm" runs again on the cache the cold
run left, so the first call only loads machine code. Run::

    python bench/first_call.py            # 3 rounds, medians
    python bench/first_call.py --rounds 5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import fastlogreg as fl
import numpy as np
t_import = time.perf_counter() - t0
rng = np.random.default_rng(0)
X = rng.standard_normal((1000, 20)); y = (rng.random(1000) < 0.5).astype(float)
labels = rng.integers(0, 3, 1000); W = np.zeros((3, 20))
calls = {
    "sigmoid": lambda: fl.sigmoid(X[0]),
    "logistic_loss_grad": lambda: fl.logistic_loss_grad(X, y, np.zeros(20)),
    "softmax_loss_grad": lambda: fl.softmax_loss_grad(X, labels, W),
}
name = sys.argv[1]
t0 = time.perf_counter(); calls[name](); first = time.perf_counter() - t0
t0 = time.perf_counter(); calls[name](); second = time.perf_counter() - t0
print(json.dumps({"import": t_import, "first": first, "second": second}))
"""


def run(name, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, FASTLOGREG_BACKEND="numba")
    out = subprocess.run([sys.executable, "-c", PROBE, name], env=env, capture_output=True,
                         text=True, check=True, cwd=tempfile.gettempdir()).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    names = ("sigmoid", "logistic_loss_grad", "softmax_loss_grad")
    results = {(n, s): [] for n in names for s in ("cold", "warm")}
    for _ in range(args.rounds):
        for name in names:
            with tempfile.TemporaryDirectory() as cache:
                results[name, "cold"].append(run(name, cache))
                results[name, "warm"].append(run(name, cache))
    print(f"{'function':20s} {'cache':5s} {'import s':>9s} {'first call s':>13s} {'second call ms':>15s}")
    for (name, state), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("import", "first", "second")}
        print(f"{name:20s} {state:5s} {med['import']:9.3f} {med['first']:13.3f} {med['second'] * 1e3:15.3f}")
    print(json.dumps({f"{n}/{s}": r for (n, s), r in results.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
