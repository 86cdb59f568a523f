"""Fit time on a Dask LocalCluster: fastlogreg against dask-ml, and against the in-memory fit.

Run:  python bench/bench_dask.py               (binary, 2,000,000 x 50 float64, 8 chunks)
      python bench/bench_dask.py --n 200000 --reps 1

Needs ``pip install "fastlogreg[dask]" dask-ml``. One ``LocalCluster`` (2 worker
processes, 1 thread each: the kernel threads follow that share) holds X persisted in 8
row chunks. Each repetition, in a rotated order:

* fastlogreg on the Dask array (``LogisticRegression(solver="lbfgs").fit(Xd, yd)``,
  label scan and chunk build included);
* ``dask_ml.linear_model.LogisticRegression(solver="lbfgs")`` on the same Dask arrays;
* fastlogreg on the same data as one in-memory NumPy array in this process.

The same objective: dask-ml minimises ``sum_i l_i + ||beta||^2 / (2 C)`` with its
intercept inside ``beta`` (penalised), fastlogreg ``mean_i l_i + ||w||^2 / (2 C n)``
with an unpenalised intercept. Without intercepts the two are the same function up to
the factor n, so every fit here has ``fit_intercept=False`` and C=1, and dask-ml's
``tol`` (L-BFGS-B's ``pgtol`` on its sum) is fastlogreg's times n. Each objective is
reported as ``mean_i l_i + ||w||^2 / (2 C n)`` computed by one NumPy formula (not by
either library). Times: median and min-max over the repetitions.

The data, the cluster and the three fits are those of :mod:`fastlogreg.benchmarks.dask_fit`,
which ``fastlogreg bench`` runs too (``--kernel "LogisticRegression.fit[dask]"``, at its
fits' ``tol=1e-8``); this script keeps the documented run (``tol=1e-6``, ``max_iter=100``).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastlogreg.benchmarks import dask_fit  # noqa: E402

C = 1.0
TOL = 1e-6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--d", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tol", type=float, default=TOL, help="fastlogreg's tol (dask-ml's: times n)")
    args = parser.parse_args()

    import fastlogreg as flr

    X, y = dask_fit.make_data(args.n, args.d)
    with dask_fit.local_cluster():
        Xd, yd = dask_fit.persist(X, y, args.chunks)
        print(f"binary {args.n:,} x {args.d} float64, {args.chunks} chunks; LocalCluster "
              f"{dask_fit.N_WORKERS} workers x {dask_fit.THREADS_PER_WORKER} thread; in-memory fit on "
              f"{flr.get_num_threads()} threads", flush=True)

        def fastlogreg_dask():
            return dask_fit.fastlogreg_fit(Xd, yd, C, args.tol, max_iter=100, solver="lbfgs").coef_[0]

        def dask_ml():
            model = dask_fit.dask_ml_fit(Xd, yd, C, args.tol, max_iter=100)
            return np.asarray(model.coef_).ravel()

        def in_memory():
            return dask_fit.fastlogreg_fit(X, y, C, args.tol, max_iter=100, solver="lbfgs").coef_[0]

        methods = {"fastlogreg on Dask": fastlogreg_dask, "dask-ml lbfgs": dask_ml,
                   "fastlogreg in memory": in_memory}
        fastlogreg_dask()  # untimed: the workers load the kernels from the Numba cache
        in_memory()
        times = {name: [] for name in methods}
        objectives = {}
        names = list(methods)
        for rep in range(args.reps):
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                time.sleep(0.25)
                start = time.perf_counter()
                w = methods[name]()
                times[name].append(time.perf_counter() - start)
                objectives[name] = dask_fit.objective(X, y, w, C)
                print(f"  rep {rep}: {name:22s} {times[name][-1]:8.2f} s  objective "
                      f"{objectives[name]:.12f}", flush=True)
        median = {name: statistics.median(t) for name, t in times.items()}
        print("\nmethod                   median s   min-max s        objective")
        for name in names:
            print(f"{name:24s} {median[name]:9.2f}   {min(times[name]):6.2f}-{max(times[name]):<6.2f}  "
                  f"{objectives[name]:.12f}")
        ours = median["fastlogreg on Dask"]
        ratios = [a / b for a, b in zip(times["dask-ml lbfgs"], times["fastlogreg on Dask"])]
        print(f"\ndask-ml / fastlogreg on Dask: {median['dask-ml lbfgs'] / ours:.1f}x "
              f"(per repetition: {', '.join(f'{r:.1f}' for r in ratios)})")
        print(f"fastlogreg on Dask / in memory: {ours / median['fastlogreg in memory']:.2f}x")


if __name__ == "__main__":
    main()
