"""Out-of-core fits of a .npy file larger than the memory the process may use.

Run (the file is generated once, in blocks; delete it afterwards):

    python bench/out_of_core.py generate /tmp/ooc --gb 6
    prlimit --as=2147483648 python bench/out_of_core.py chunks /tmp/ooc
    python bench/out_of_core.py memmap /tmp/ooc
    python bench/out_of_core.py memmap-array /tmp/ooc

Data: binary labels, float32 X of ``gb`` GB with 50 columns (6 GB: 30,000,000 rows).

``chunks``: ``LogisticRegression().fit(Chunks.from_npy(...))``, plain file reads of
65,536-row chunks (13 MB), so the process holds one chunk and the model; run under
``prlimit --as`` the address space itself stays under the limit. ``memmap``: the same
chunks as row ranges of the files opened with ``mmap_mode="r"``
(``Chunks.from_npy(..., memory_map=True)``), read in place by the kernels; the mapped
file's pages are page cache (shared, evictable), so what the fit allocates is the
anonymous memory (``RssAnon``, sampled every 20 ms). ``memmap-array``: the fit on the
mapped arrays themselves (``fit(np.load(X, mmap_mode="r"), y)``), the in-memory path,
which holds the labels and their encoding for every row.

Both report: the time of one pass of the objective (``Objective.loss_grad`` on the
source) against the ceiling of reading the file once by the same means (plain reads
of the same chunks, or a read-only pass over the map) right before it, the whole fit's
time and passes, peak RSS (``ru_maxrss``) and peak ``RssAnon``.
"""

import argparse
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

D = 50
ROWS_PER_CHUNK = 1 << 16


def generate(folder, gb):
    from numpy.lib.format import open_memmap

    folder.mkdir(parents=True, exist_ok=True)
    n = int(gb * 1e9) // (4 * D)
    rng = np.random.default_rng(0)
    w = rng.standard_normal(D) / np.sqrt(D) * 2.0
    X = open_memmap(folder / "X.npy", mode="w+", dtype=np.float32, shape=(n, D))
    y = open_memmap(folder / "y.npy", mode="w+", dtype=np.int8, shape=(n,))
    for start in range(0, n, 1 << 20):
        block = rng.standard_normal((min(1 << 20, n - start), D), dtype=np.float32)
        X[start:start + block.shape[0]] = block
        p = 1.0 / (1.0 + np.exp(-(block @ w + 0.3)))
        y[start:start + block.shape[0]] = rng.random(block.shape[0]) < p
    X.flush()
    y.flush()
    print(f"wrote {folder / 'X.npy'}: {n:,} x {D} float32 ({X.nbytes / 1e9:.2f} GB)")


class AnonPeak:
    """Peak of RssAnon (kB) sampled every 20 ms in a thread."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._read())
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def read_ceiling_chunks(path):
    """Read the .npy file once in chunks of the same size (no compute)."""
    from fastlogreg._sources import _npy_header, _read_rows

    header = _npy_header(path)
    n = header[0][0]
    start = time.perf_counter()
    with open(path, "rb") as f:
        for a in range(0, n, ROWS_PER_CHUNK):
            _read_rows(f, header, a, min(n, a + ROWS_PER_CHUNK))
    return time.perf_counter() - start


def read_ceiling_map(X):
    """Touch every byte of the map once (a sum per block: read-bound)."""
    start = time.perf_counter()
    for a in range(0, X.shape[0], 1 << 18):
        np.add.reduce(X[a:a + (1 << 18)], axis=None, dtype=np.float32)
    return time.perf_counter() - start


def fit(folder, mode, reps):
    import fastlogreg as flr
    from fastlogreg import solvers

    X_path, y_path = folder / "X.npy", folder / "y.npy"
    with AnonPeak() as anon:
        if mode == "memmap-array":
            X = np.load(X_path, mmap_mode="r")
            data = (X, np.load(y_path))
            ceiling = lambda: read_ceiling_map(X)  # noqa: E731
        else:
            data = (flr.Chunks.from_npy(X_path, y_path, rows_per_chunk=ROWS_PER_CHUNK,
                                        memory_map=mode == "memmap"),)
            if mode == "chunks":
                ceiling = lambda: read_ceiling_chunks(X_path)  # noqa: E731
            else:
                X = np.load(X_path, mmap_mode="r")
                ceiling = lambda: read_ceiling_map(X)  # noqa: E731
        start = time.perf_counter()
        clf = flr.LogisticRegression(solver="lbfgs").fit(*data)
        fit_time = time.perf_counter() - start
        # one pass of the objective at the solution, against one read of the file
        if mode != "memmap-array":
            from fastlogreg._sources import open_chunks

            source, _ = open_chunks(data[0], "logit")
        else:
            from fastlogreg._chunks import build_chunk
            from fastlogreg._sources import ProblemSource

            source = ProblemSource(build_chunk(X, data[1], None, clf.classes_, "logit", 0))
        obj = solvers.Objective(source, 1.0 / source.n_samples)
        theta = obj.join(clf.coef_[0].astype(np.float64), clf.intercept_[0])
        passes, reads = [], []
        for _ in range(reps):
            reads.append(ceiling())
            t = time.perf_counter()
            obj.loss_grad(theta)
            passes.append(time.perf_counter() - t)
    gb = X_path.stat().st_size / 1e9
    print(f"{mode}: {gb:.2f} GB file, fit {fit_time:.1f} s, {clf.n_passes_[0]:.0f} loss+gradient passes, "
          f"{clf.n_iter_[0]} iterations, objective {clf.objective_:.12f}")
    print(f"  one pass {statistics.median(passes):.2f} s (min-max {min(passes):.2f}-{max(passes):.2f}), "
          f"read ceiling {statistics.median(reads):.2f} s ({min(reads):.2f}-{max(reads):.2f}): "
          f"{statistics.median(reads) / statistics.median(passes):.0%} of ceiling")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"peak RssAnon {anon.peak / 1024:.0f} MB")
    np.save(folder / f"coef_{mode}.npy", np.concatenate([clf.coef_[0], clf.intercept_]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["generate", "chunks", "memmap", "memmap-array", "compare"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--gb", type=float, default=6.0)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    if args.mode == "generate":
        generate(args.folder, args.gb)
    elif args.mode == "compare":
        a, b = np.load(args.folder / "coef_chunks.npy"), np.load(args.folder / "coef_memmap.npy")
        print(f"max |chunks - memmap| / max |memmap| = {np.max(np.abs(a - b)) / np.max(np.abs(b)):.2e}")
    else:
        fit(args.folder, args.mode, args.reps)


if __name__ == "__main__":
    main()
