"""The ``fastlogreg bench`` command: tiny runs of the real code path (seconds).

These check the command, not the speed: table and JSON schema, the exit status when a
backend is wrong (a deliberately broken fake backend is injected into the registry),
and the option checks.
"""

import json
import types

import numpy as np
import pytest

import fastlogreg
from fastlogreg import _backend, cli
from fastlogreg.benchmarks import cases, ceiling, timing

TINY = ["bench", "--quick", "--repeat", "1", "--no-compare"]


def test_bench_quick_prints_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    status = cli.main(TINY + ["--kernel", "logistic_loss_grad", "--dtype", "float64",
                              "--threads", "1", "--json", str(path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "logistic_loss_grad" in out and "of ceiling" in out and "max rel diff" in out
    assert "thread(s)" in out and "numba threading layer" in out
    results = json.loads(path.read_text())
    assert results["schema"] == "fastlogreg-bench/1"
    assert results["environment"]["n_threads"] == 1
    assert set(results["environment"]["available_backends"]) == set(fastlogreg.available_backends())
    kinds = {row["kind"] for row in results["rows"]}
    assert {"ceiling", "reference"} <= kinds
    for row in results["rows"]:
        assert row["kernel"] == "logistic_loss_grad" and row["dtype"] == "float64"
        assert row["median"] > 0 and row["fraction_of_ceiling"] > 0
        if row["kind"] in ("backend", "reference"):
            assert row["status"] == "ok"
            assert row["max_rel_diff"] <= 1e-12


def test_bench_fit_case_agrees_with_the_reference_fit(tmp_path, capsys):
    """Fits are cases too: every backend's coefficients against the NumPy-backend fit."""
    path = tmp_path / "fit.json"
    status = cli.main(TINY + ["--kernel", "LogisticRegression.fit", "--dtype", "float64",
                              "--threads", "1", "--json", str(path)])
    assert status == 0
    assert "LogisticRegression.fit" in capsys.readouterr().out
    rows = json.loads(path.read_text())["rows"]
    timed = [r for r in rows if r["kind"] == "backend"]
    assert {r["backend"] for r in timed} == set(fastlogreg.available_backends()) - {"numpy"}
    for row in timed:
        assert row["status"] == "ok" and row["max_rel_diff"] <= 1e-6 and row["median"] > 0


def test_bench_streams_each_row_to_stderr_before_the_table(monkeypatch, capsys):
    """Every row reaches stderr as its case finishes, with the elapsed time; the table
    (stdout) comes after all of them and is unchanged."""
    import re

    from fastlogreg.benchmarks import report

    seen_at_table = []
    format_table = report.format_table

    def spy(results):
        seen_at_table.append(capsys.readouterr())
        return format_table(results)

    monkeypatch.setattr(report, "format_table", spy)
    status = cli.main(TINY + ["--kernel", "sigmoid", "--kernel", "logistic_loss_grad",
                              "--dtype", "float64", "--threads", "1", "--backend", "numba"])
    assert status == 0
    (before,) = seen_at_table
    assert before.out == ""  # nothing on stdout before the table
    streamed = [line for line in before.err.splitlines() if line.startswith("[")
                and not re.match(r"\[\d+/\d+\]", line)]
    pattern = re.compile(r"\[ *(\d+\.\d) s\] (sigmoid 20000|logistic_loss_grad 5000x20) float64 "
                         r"(ceiling|numpy|numba): \S+ (s|ms|us) \+- \d+%")
    matches = [pattern.match(line) for line in streamed]
    assert all(matches), streamed
    assert [m.group(3) for m in matches] == ["ceiling", "numpy", "numba"] * 2
    assert [m.group(2) for m in matches][::3] == ["sigmoid 20000", "logistic_loss_grad 5000x20"]
    for m, line in zip(matches, streamed):
        if m.group(3) == "numba":
            assert "of ceiling" in line and "max rel diff" in line and line.endswith(", ok")
    elapsed = [float(m.group(1)) for m in matches]
    assert elapsed == sorted(elapsed) and elapsed[0] > 0
    table = capsys.readouterr().out
    assert "median +- spread" in table and table.count("sigmoid") >= 3


def test_row_line_of_a_failed_row():
    row = {"kernel": "softmax_loss_grad", "shape": [100, 5], "n_classes": 3, "dtype": "float32",
           "backend": "c", "kind": "backend", "median": 2e-3, "spread": 1e-4, "gbps": 1.5,
           "speedup_vs_reference": 4.0, "fraction_of_ceiling": 0.5, "max_rel_diff": float("inf"),
           "status": "FAILED"}
    from fastlogreg.benchmarks import report

    assert report.row_line(row, 3.4) == (
        "[    3.4 s] softmax_loss_grad 100x5 C=3 float32 c: 2 ms +- 5%, 1.5 GB/s, 4.00x vs numpy, "
        "0.50 of ceiling, max rel diff inf, FAILED")


def _broken_backend():
    """A fake backend whose fused binary kernel returns a loss 1% too large."""
    reference = _backend.resolve("numpy")
    module = types.SimpleNamespace()

    def logistic_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
        loss, grad_b = reference.logistic_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads)
        return loss * 1.01, grad_b

    module.logistic_loss_grad = logistic_loss_grad
    return module


@pytest.fixture
def broken_backend(monkeypatch):
    monkeypatch.setitem(_backend._MODULES, "broken", "not.a.module")
    monkeypatch.setitem(_backend._loaded, "broken", _broken_backend())
    monkeypatch.setattr(_backend, "_PREFERENCE", _backend._PREFERENCE + ("broken",))
    return "broken"


def test_wrong_backend_fails_the_command(broken_backend, capsys, tmp_path):
    path = tmp_path / "bench.json"
    status = cli.main(TINY + ["--kernel", "logistic_loss_grad", "--dtype", "float64",
                              "--backend", broken_backend, "--json", str(path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAILED" in out
    rows = json.loads(path.read_text())["rows"]
    (row,) = [r for r in rows if r["backend"] == broken_backend]
    assert row["status"] == "FAILED"
    assert row["max_rel_diff"] == pytest.approx(0.01, rel=1e-6)


def test_unknown_backend_is_a_usage_error(capsys):
    assert cli.main(TINY + ["--backend", "no-such-backend"]) == 2
    assert "not available" in capsys.readouterr().err


def test_bad_options(capsys):
    assert cli.main(TINY + ["--threads", "0"]) == 2
    assert cli.main(TINY + ["--kernel", "no_such_kernel"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["bench", "--full", "--quick"])
    assert cli.main([]) == 2


def test_plot_without_matplotlib_says_so(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert cli.main(TINY + ["--plot", "x.png"]) == 2
    assert "matplotlib" in capsys.readouterr().err


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    status = cli.main(TINY + ["--kernel", "sigmoid", "--dtype", "float32", "--plot", str(path)])
    assert status == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_ceiling_reads_everything(dtype, n_threads):
    X = np.arange(1, 1 + 3 * 1001, dtype=dtype).reshape(3, 1001)
    expected = float(X.astype(np.float64).sum())
    assert ceiling.read_pass(X, n_threads) == pytest.approx(expected, rel=1e-6)
    # Non-contiguous input is read row by row.
    assert ceiling.read_pass(X[:, ::2], n_threads) == pytest.approx(
        float(X[:, ::2].astype(np.float64).sum()), rel=1e-6)


def test_relative_difference():
    a = (np.array([1.0, 2.0]), 3.0)
    assert cases.relative_difference(a, a, "norm") == 0.0
    assert cases.relative_difference((np.array([1.0, 2.2]),), (np.array([1.0, 2.0]),), "norm") == \
        pytest.approx(0.1)
    assert cases.relative_difference((np.array([1e-20]),), (np.array([2e-20]),), "elementwise") == \
        pytest.approx(0.5)
    assert cases.relative_difference((np.array([np.nan]),), (np.array([1.0]),), "norm") == np.inf
    assert cases.relative_difference((np.array([np.nan]),), (np.array([np.nan]),), "norm") == 0.0


def test_interleaved_timing_calls_everything():
    calls = []
    times = timing.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3)
    assert calls.count("a") == 4 and calls.count("b") == 4  # one warm-up each
    assert set(times) == {"a", "b"} and all(len(t) == 3 for t in times.values())
    calls.clear()
    timing.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3,
                       pause=0, already_warm={"b"})
    assert calls.count("a") == 4 and calls.count("b") == 3  # b's warm-up was the caller's
    stats = timing.summarize([1.0, 2.0, 3.0, 4.0])
    assert stats["median"] == 2.5 and stats["min"] == 1.0 and stats["max"] == 4.0


def test_version_and_plain_text_help(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastlogreg {fastlogreg.__version__}"
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "fastlogreg bench times every kernel" in out and "``" not in out


# --------------------------------------------------------------------------- warmup
def _recording_backend(calls):
    """A backend that records (kernel, dtype, memory order of the first array) and
    answers with the NumPy reference, so warm-up runs in milliseconds."""
    reference = _backend.resolve("numpy")
    module = types.SimpleNamespace()
    for name in [n for n in dir(reference) if not n.startswith("_")]:
        kernel = getattr(reference, name)
        if not callable(kernel) or isinstance(kernel, type):
            continue

        def record(*args, _name=name, _kernel=kernel):
            first = args[0]
            order = "F" if first.flags.f_contiguous and not first.flags.c_contiguous else "C"
            calls.append((_name, str(first.dtype), order))
            return _kernel(*args)

        setattr(module, name, record)
    return module


@pytest.fixture
def recording_backend(monkeypatch):
    calls = []
    monkeypatch.setitem(_backend._MODULES, "recording", "not.a.module")
    monkeypatch.setitem(_backend._loaded, "recording", _recording_backend(calls))
    return calls


def _numba_entry_points():
    """Every kernel the Numba backend exports: the functions it builds with ``_with_threads``."""
    nk = pytest.importorskip("fastlogreg.backends.numba_kernels")
    wrapper = nk._with_threads(nk.elementwise, "sigmoid").__code__
    return {name for name, obj in vars(nk).items() if getattr(obj, "__code__", None) is wrapper}


def test_warmup_calls_every_numba_kernel_in_each_dtype(recording_backend):
    from fastlogreg import warmup

    entry_points = _numba_entry_points()
    assert {"sigmoid", "softmax_loss_grad", "softmax_hessp", "probit_loss_grad"} <= entry_points
    lines = []
    warmup.run(("float64", "float32"), "recording", fortran=True, report=lines.append)
    for dtype in ("float64", "float32"):
        called = {name for name, dt, _ in recording_backend if dt == dtype}
        assert entry_points <= called, f"warmup misses {sorted(entry_points - called)} in {dtype}"
    fused = {"logistic_loss_grad", "probit_loss_grad", "softmax_loss_grad", "logistic_hessp",
             "softmax_hessp"}
    assert {(name, "float32", "F") for name in fused} <= set(recording_backend)
    assert len(lines) == 2 * (len(warmup.GROUPS) + 2) + 1  # + 2 Fortran lines per dtype
    assert lines[-1].startswith("total ")


def test_warmup_calls_each_csr_kernel_with_int32_and_int64_indices(monkeypatch):
    """Each index dtype is a Numba specialisation of its own: warm-up compiles both."""
    from fastlogreg import warmup
    from fastlogreg.backends.contract import CSR_KERNELS

    reference = _backend.resolve("numpy")
    calls = set()
    module = types.SimpleNamespace()
    for name in [f"{kernel}_csr" for kernel in CSR_KERNELS]:
        kernel = getattr(reference, name)

        def record(*args, _name=name, _kernel=kernel):
            data, indices, indptr = args[:3]
            assert indices.dtype == indptr.dtype
            calls.add((_name, str(data.dtype), str(indices.dtype)))
            return _kernel(*args)

        setattr(module, name, record)
    monkeypatch.setitem(_backend._MODULES, "recording", "not.a.module")
    monkeypatch.setitem(_backend._loaded, "recording", module)
    for dtype in warmup.DTYPES:
        warmup._csr(np.dtype(dtype), "recording", False)
    assert calls == {(f"{kernel}_csr", dtype, itype) for kernel in CSR_KERNELS
                     for dtype in warmup.DTYPES for itype in ("int32", "int64")}


def test_warmup_command_prints_one_line_per_group_and_a_total(recording_backend, monkeypatch, capsys):
    import re

    from fastlogreg import warmup

    monkeypatch.setitem(_backend._loaded, "numba", _backend._loaded["recording"])
    assert cli.main(["warmup", "--dtype", "float32"]) == 0
    lines = capsys.readouterr().out.splitlines()
    groups = [line for line in lines if line.startswith("numba float32 ")]
    assert len(groups) == len(warmup.GROUPS)
    assert all(re.search(r"\s\d+\.\d s$", line) for line in groups), groups
    assert re.fullmatch(r"total \d+\.\d s", lines[-1]), lines[-1]
    assert {dt for _, dt, _ in recording_backend} == {"float32"}


# --------------------------------------------------------------------------- sparse cases
def test_csr_generator_rows_indices_and_zipf_law():
    for law in cases.INDEX_LAWS:
        data, indices, indptr, y = cases.csr_matrix_data(3_000, 1_000, 50, law, np.float32, 7,
                                                         n_threads=2)
        assert data.dtype == np.float32 and indices.dtype == np.int32
        assert data.shape == indices.shape == (3_000 * 50,)
        assert np.all(np.diff(indptr) == 50) and indptr[0] == 0
        assert indices.min() >= 0 and indices.max() < 1_000
        assert np.all(np.diff(indices.reshape(-1, 50), axis=1) >= 0)  # sorted within a row
        assert set(np.unique(y)) == {0, 1}
        again = cases.csr_matrix_data(3_000, 1_000, 50, law, np.float32, 7, n_threads=1)
        assert all(np.array_equal(a, b) for a, b in zip((data, indices, indptr, y), again))
        counts = np.bincount(indices, minlength=1_000)
        if law == "zipf":
            assert counts.argmax() == 0 and counts[0] > 100 * np.median(counts)
        else:
            assert counts.max() < 2 * np.median(counts)
    *_, labels = cases.csr_matrix_data(3_000, 1_000, 50, "zipf", np.float64, 7, n_classes=10)
    assert set(np.unique(labels)) == set(range(10))


def test_sparse_case_names_and_grids():
    case = cases.Case("logistic_loss_grad", "sparse", (1_000_000, 100_000), "float64",
                      index_law="zipf")
    assert case.name == "logistic_loss_grad [1000000x100000, CSR 50/row zipf]"
    assert case.nnz_per_row == 50 and cases.Case("sigmoid", "elementwise", (3,), "float64").nnz_per_row == 0
    default = [c for c in cases.default_cases() if c.index_law]
    assert {c.index_law for c in default} == {"uniform", "zipf"}
    full = [c for c in cases.full_cases() if c.index_law]
    assert {(c.kernel, c.dtype, c.index_law) for c in full if c.group == "sparse"} == {
        (k, dt, law) for k in ("logistic_loss_grad", "softmax_loss_grad")
        for dt in ("float64", "float32") for law in cases.INDEX_LAWS}
    fits = [c for c in full if c.group == "fit"]
    assert {(c.n_classes, c.fit_intercept) for c in fits} == {(0, True), (0, False), (10, True)}


def test_bench_sparse_cases_rows(tmp_path, capsys):
    """The quick sparse kernel cases through the command: the CSR ceiling, the JSON fields,
    every backend ok, scikit-learn's LinearModelLoss on the CSR matrix alongside."""
    path = tmp_path / "sparse.json"
    status = cli.main(["bench", "--quick", "--repeat", "1", "--threads", "1", "--dtype", "float64",
                       "--kernel", "logistic_loss_grad_csr", "--index-law", "zipf",
                       "--json", str(path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "5000x2000 CSR 50/row zipf" in out and "ceiling reads data and indices" in out
    rows = json.loads(path.read_text())["rows"]
    assert {r["index_law"] for r in rows} == {"zipf"} and {r["nnz_per_row"] for r in rows} == {50}
    nnz_bytes = 5_000 * 50 * (8 + 4)  # float64 data, int32 indices
    (ceil,) = [r for r in rows if r["kind"] == "ceiling"]
    for row in rows:
        assert row["kernel"] == "logistic_loss_grad" and row["group"] == "sparse"
        assert row["median"] > 0 and "fraction_of_roofline" not in row
        assert row["gbps"] == pytest.approx(nnz_bytes / row["median"] / 1e9)
        assert row["fraction_of_ceiling"] == pytest.approx(ceil["median"] / row["median"])
        if row["kind"] in ("backend", "reference"):
            assert row["status"] == "ok" and row["max_rel_diff"] <= 1e-12
    backends = {r["backend"] for r in rows if r["kind"] == "backend"}
    assert backends == set(fastlogreg.available_backends()) - {"numpy"}
    if "sklearn LinearModelLoss" in {r["backend"] for r in rows}:
        (sk,) = [r for r in rows if r["backend"] == "sklearn LinearModelLoss"]
        assert sk["status"] == "info" and sk["max_rel_diff"] < 1e-10


def test_ceiling_reads_data_and_indices():
    data = np.arange(1.0, 1001.0)
    indices = np.arange(1000, dtype=np.int32)
    for n_threads in (1, 3):
        total, index_total = ceiling.read_pass_csr(data, indices, n_threads)
        assert total == pytest.approx(500_500.0) and index_total == 499_500


def test_sparse_fit_cases_report_objectives():
    """The quick sparse fits: every candidate's objective, scikit-learn's lbfgs and, without
    an intercept, liblinear reaching the reference's objective."""
    from fastlogreg.benchmarks import runner

    pytest.importorskip("sklearn")
    quick = [c for c in cases.quick_cases() if c.group == "fit" and c.index_law and not c.n_classes]
    assert {c.fit_intercept for c in quick} == {True, False}
    for case in quick:
        rows = runner.run_case(case, 1, ["numba"], 1)
        by = {r["backend"]: r for r in rows}
        assert by["numpy"]["objective"] > 0 and by["numba"]["status"] == "ok"
        assert "objective" not in by["ceiling"]
        expected = {"sklearn LogisticRegression"}
        if not case.fit_intercept:
            expected.add("sklearn liblinear")
        assert expected <= set(by)
        for label in expected:
            assert abs(by[label]["objective_rel_excess"]) < 1e-9
            assert by[label]["fit_intercept"] is case.fit_intercept
