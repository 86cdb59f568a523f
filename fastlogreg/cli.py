"""The ``fastlogreg`` command: ``fastlogreg bench`` times every kernel against the ceiling.

Examples
--------
``fastlogreg bench``                    the headline kernels; the Dask fit when distributed imports
``fastlogreg bench --full``             every kernel, shape, class count, backend; the paths
``fastlogreg bench --json r.json --plot r.png --threads 2``
``fastlogreg bench --full --kernel logistic_loss_grad_csr``   the CSR binary kernel cases only
``fastlogreg bench --kernel LogisticRegression.fit[dask]``    the fit on a Dask LocalCluster only
``fastlogreg bench --full --kernel l1_path``                  the L1 path only
``fastlogreg bench --full --kernel LogisticRegressionCV.fit`` LogisticRegressionCV only
``fastlogreg warmup``                   compile every Numba kernel once (minutes, then cached)

The exit status is 1 when any fastlogreg backend (or the reference) differs from the
NumPy reference beyond its tolerance: a fast wrong kernel is not a result.
"""

import argparse
import sys


def _parser():
    from . import __version__

    # The module docstring is reStructuredText; --help shows it as plain text.
    parser = argparse.ArgumentParser(prog="fastlogreg",
                                     description=__doc__.split("\n")[0].replace("``", ""))
    parser.add_argument("--version", action="version", version=f"fastlogreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench = sub.add_parser(
        "bench",
        help="benchmark the kernels against the NumPy reference and the memory-bandwidth ceiling",
        description="Check every kernel against the NumPy reference, then time it interleaved "
        "with the reference, the ceiling (a read-only parallel pass over X on the same "
        "threads) and, when installed, scipy.special, scikit-learn and PyTorch. The host's "
        "peak FMA rate is measured first; each fused kernel is also reported against its "
        "roofline, max(bytes / ceiling bandwidth, flops / peak FMA rate).",
    )
    size = bench.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true",
                      help="the whole grid, with the regularization paths (long: minutes each)")
    size.add_argument("--quick", action="store_true",
                      help="tiny sizes: a smoke test of the command, not a measurement")
    bench.add_argument("--threads", type=int, default=None, metavar="N",
                       help="threads for every candidate (default: usable cores)")
    bench.add_argument("--backend", action="append", default=None, metavar="NAME",
                       help="time only this fastlogreg backend (repeatable; default: all available)")
    bench.add_argument("--repeat", type=int, default=None, metavar="R",
                       help="timed repetitions per candidate (default 5, 7 with --full, 3 with "
                       "--quick; at most 3 for the Dask fit, 1 for the paths)")
    bench.add_argument("--kernel", action="append", default=None, metavar="NAME",
                       help="only cases of this kernel (repeatable), e.g. softmax_loss_grad "
                       "(dense X) or softmax_loss_grad_csr (its CSR twin); "
                       "LogisticRegression.fit: the fits on dense and CSR X; "
                       "LogisticRegression.fit[dask]: the fit on a Dask LocalCluster; "
                       "l1_path and LogisticRegressionCV.fit (--full): the regularization paths")
    bench.add_argument("--index-law", action="append", default=None,
                       choices=("dense", "uniform", "zipf"),
                       help="only cases whose X is dense, or CSR with uniform or Zipf column "
                       "indices (repeatable)")
    bench.add_argument("--dtype", choices=("float32", "float64"), default=None,
                       help="only this data dtype")
    bench.add_argument("--shape", action="append", default=None, metavar="NxD",
                       help="only cases of this shape, e.g. 1000000x100 (repeatable)")
    bench.add_argument("--classes", action="append", type=int, default=None, metavar="C",
                       help="only multinomial cases with C classes (repeatable)")
    bench.add_argument("--no-compare", action="store_true",
                       help="skip the comparison columns (scipy, scikit-learn, PyTorch, dask-ml, "
                       "liblinear and glum on the L1 path)")
    bench.add_argument("--json", metavar="PATH", help="write the results as JSON")
    bench.add_argument("--plot", metavar="PATH", help="write a PNG chart (needs matplotlib)")
    warm = sub.add_parser(
        "warmup",
        help="compile every Numba kernel now and cache it on disk (first use: minutes)",
        description="Call every kernel of the Numba backend once on tiny arrays, so that "
        "Numba compiles it and stores the machine code in its on-disk cache; later "
        "processes (tests, benchmarks, fits) load it instead of compiling on first use. "
        "Prints one line per kernel group and dtype with the seconds it took.",
    )
    warm.add_argument("--dtype", choices=("float64", "float32"), action="append", default=None,
                      help="only this data dtype (repeatable; default: both)")
    warm.add_argument("--fortran", action="store_true",
                      help="also the fused kernels on Fortran-ordered X (e.g. from pandas)")
    return parser


def _warmup(args):
    from . import _backend, warmup

    if "numba" not in _backend.available_backends():
        print(f"fastlogreg warmup: the numba backend is not available "
              f"({_backend.backend_info()['numba']}); nothing to compile", file=sys.stderr)
        return 2
    print("compiling the Numba kernels (cached on disk: a second run only loads them)", flush=True)
    warmup.run(args.dtype or warmup.DTYPES, "numba", args.fortran,
               report=lambda line: print(line, flush=True))
    return 0


def _bench(args):
    from . import _backend
    from .benchmarks import cases as case_grid
    from .benchmarks import report, runner

    n_threads = args.threads if args.threads is not None else _backend.get_num_threads()
    if n_threads < 1:
        print(f"fastlogreg bench: --threads must be >= 1, got {n_threads}", file=sys.stderr)
        return 2
    available = _backend.available_backends()
    backends = args.backend or [b for b in available if b != "numpy"]
    unknown = [b for b in backends if b not in available]
    if unknown:
        print(f"fastlogreg bench: backend(s) {unknown} not available; available: {available}",
              file=sys.stderr)
        return 2
    backends = [b for b in backends if b != "numpy"]  # the reference is always timed
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("fastlogreg bench: --plot needs matplotlib, which is not installed "
                  "(pip install matplotlib, or pip install 'fastlogreg[bench]')", file=sys.stderr)
            return 2
    peak_seconds = 0.1  # seconds per timed call of the peak FMA loop
    if args.full:
        cases, repeat = case_grid.full_cases(), 7
    elif args.quick:
        cases, repeat = case_grid.quick_cases(), 3
        peak_seconds = 0.02
    else:
        cases, repeat = case_grid.default_cases(), 5
    if args.repeat is not None:
        if args.repeat < 1:
            print(f"fastlogreg bench: --repeat must be >= 1, got {args.repeat}", file=sys.stderr)
            return 2
        repeat = args.repeat
    if args.kernel:
        # the kernel a case calls: the CSR cases' <kernel>_csr twin; fits on any X
        cases = [c for c in cases
                 if (f"{c.kernel}_csr" if c.group == "sparse" else c.kernel) in args.kernel]
    if args.index_law:
        cases = [c for c in cases if (c.index_law or "dense") in args.index_law]
    if args.dtype:
        cases = [c for c in cases if c.dtype == args.dtype]
    if args.shape:
        cases = [c for c in cases if "x".join(map(str, c.shape)) in args.shape]
    if args.classes:
        cases = [c for c in cases if c.n_classes in args.classes]
    if not cases:
        print("fastlogreg bench: no case matches the --kernel / --index-law / --dtype / --shape / "
              "--classes filters", file=sys.stderr)
        return 2

    def stream(rows, seconds):  # each case's rows as it finishes; the table comes at the end
        for row in rows:
            print(report.row_line(row, seconds), file=sys.stderr, flush=True)

    if "numba" in backends:
        print("note: the first run compiles each Numba kernel it times (5-30 s each, cached on "
              "disk afterwards); `fastlogreg warmup` compiles them all ahead", file=sys.stderr)
    results = runner.run(
        cases, n_threads, backends, repeat, comparisons=not args.no_compare,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True), peak_seconds=peak_seconds,
        on_rows=stream,
    )
    print(report.format_table(results))
    if args.json:
        report.write_json(results, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        from .benchmarks.plot import plot

        plot(results, args.plot)
        print(f"wrote {args.plot}")
    return 1 if runner.failed(results) else 0


def main(argv=None):
    """Entry point of the ``fastlogreg`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "bench":
        return _bench(args)
    if args.command == "warmup":
        return _warmup(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
