"""The cases of ``fastlogreg bench`` whose reference is not the NumPy backend.

The fit on a Dask LocalCluster (through the command, at its ``--quick`` size), the L1
path and LogisticRegressionCV (through their case builders, at sizes of seconds): what
they compute and report, not how fast.
"""

import json

import numpy as np
import pytest

import fastlogreg
from fastlogreg import cli
from fastlogreg.benchmarks import cases, dask_fit, paths, report, runner

TINY = ["bench", "--quick", "--repeat", "1", "--no-compare"]
FIRST_BACKEND = [b for b in fastlogreg.available_backends() if b != "numpy"][:1]


@pytest.mark.skipif(not dask_fit.available(), reason="dask.distributed is not installed")
def test_quick_run_has_the_dask_fit_and_it_agrees(tmp_path, capsys):
    assert cases.DASK_KERNEL in {c.kernel for c in cases.quick_cases()}
    assert cases.DASK_KERNEL in {c.kernel for c in cases.default_cases()}
    path = tmp_path / "dask.json"
    status = cli.main(TINY + ["--kernel", cases.DASK_KERNEL, "--threads", "1", "--json", str(path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "LogisticRegression.fit[dask]  20000x10 no intercept 4 chunks" in out
    rows = json.loads(path.read_text())["rows"]
    by_kind = {r["kind"]: r for r in rows}
    assert set(by_kind) == {"ceiling", "reference", "backend"}  # --no-compare: no dask-ml
    reference, dask = by_kind["reference"], by_kind["backend"]
    assert reference["backend"].startswith("in memory") and dask["backend"].startswith("Dask")
    assert dask["reference"] == reference["backend"] and dask["chunks"] == 4
    assert dask["status"] == "ok" and dask["max_rel_diff"] <= 1e-6
    assert abs(dask["objective_rel_excess"]) < 1e-10 and reference["objective"] > 0
    assert dask["speedup_vs_reference"] == pytest.approx(reference["median"] / dask["median"])


def test_without_distributed_there_is_no_dask_case(monkeypatch):
    monkeypatch.setattr(dask_fit, "available", lambda: False)
    kernels = {c.kernel for grid in (cases.quick_cases, cases.default_cases, cases.full_cases)
               for c in grid()}
    assert cases.DASK_KERNEL not in kernels
    assert {cases.PATH_KERNEL, cases.CV_KERNEL} <= kernels
    assert cases.PATH_KERNEL not in {c.kernel for c in cases.default_cases()}


def test_a_case_is_closed_when_its_reference_raises(monkeypatch):
    closed = []

    def broken(case, n_threads, backends, comparisons):
        def reference():
            raise RuntimeError("no result")
        return cases.Prepared(np.ones((4, 2)), reference, {}, {}, "norm", 64,
                              close=lambda: closed.append(case.kernel))

    monkeypatch.setitem(cases._BUILDERS, "broken", broken)
    with pytest.raises(RuntimeError, match="no result"):
        runner.run_case(cases.Case("broken_fit", "broken", (4, 2), "float64"), 1, [], 1)
    assert closed == ["broken_fit"]


def test_l1_path_case_reaches_the_common_optimum():
    """Every method's path within 1e-8 of the best objective at each point, from the
    all-zero model at C_min to a model with support."""
    case = cases.Case(cases.PATH_KERNEL, "path", (3_000, 30), "float64", fit_intercept=False)
    rows = runner.run_case(case, 1, FIRST_BACKEND, 3)
    by = {r["backend"]: r for r in rows}
    ref = by[FIRST_BACKEND[0]]
    assert ref["kind"] == "reference" and ref["status"] == "ok" and ref["max_rel_diff"] <= 1e-8
    assert "sklearn liblinear" in by
    Cs = np.array(ref["Cs"])
    assert len(Cs) == paths.PATH_POINTS and Cs[-1] / Cs[0] == pytest.approx(paths.PATH_SPAN)
    for label in by.keys() - {"ceiling"}:
        row = by[label]
        assert row["max_rel_diff"] <= 1e-8, (label, row["max_rel_diff"])
        assert row["n"] == 1  # one repetition: the walk that was checked
        assert row["support_sizes"][0] == 0 and row["support_sizes"][-1] > 0
        assert len(row["path_objectives"]) == paths.PATH_POINTS
    # the agreement is the gap to the best objective at each point, recomputed here
    objectives = {label: np.array(by[label]["path_objectives"]) for label in by.keys() - {"ceiling"}}
    best = np.min(list(objectives.values()), axis=0)
    for label, obj in objectives.items():
        assert by[label]["max_rel_diff"] == pytest.approx(float(np.max((obj - best) / best)), abs=1e-15)
    spread = report.table_rows({"rows": rows})[1][4]
    assert spread.endswith("(1 run)")


def test_l1_objective_and_C_min():
    X, y = paths.make_planted(2_000, 10, informative=3)
    Cs = paths.path_Cs(X, y)
    assert paths.l1_objective(X, y, np.zeros(10), Cs[0]) == pytest.approx(np.log(2.0))
    grad = X.T @ (0.5 - y) / X.shape[0]  # at w = 0, without intercept
    assert np.max(np.abs(grad)) == pytest.approx(1.0 / (Cs[0] * X.shape[0]))  # the L1 threshold
    with pytest.raises(ValueError, match="informative"):
        paths.make_planted(10, 5, informative=6)


def test_cv_case_chooses_the_same_C_as_scikit_learn():
    case = cases.Case(cases.CV_KERNEL, "cv", (5_000, 20), "float64")
    rows = runner.run_case(case, 1, FIRST_BACKEND, 1)
    by = {r["backend"]: r for r in rows}
    sk = by["sklearn LogisticRegressionCV"]
    ours = by[FIRST_BACKEND[0]]
    assert sk["kind"] == "reference" and ours["kind"] == "backend"
    assert ours["C_"] == sk["C_"] and ours["max_rel_diff"] == 0.0 and ours["status"] == "ok"
    assert ours["note"] == f"C_ {sk['C_']:.6g}"


def test_cv_case_fails_on_another_C_(monkeypatch):
    """A candidate whose C_ differs from scikit-learn's is FAILED (tolerance 0)."""
    def one_C(folds, Cs=10, backend=None):  # a "fastlogreg" that can only choose C = 1e-3
        return paths.sklearn_cv(folds, Cs=[1e-3])

    monkeypatch.setattr(paths, "fastlogreg_cv", one_C)
    case = cases.Case(cases.CV_KERNEL, "cv", (2_000, 5), "float64")
    rows = runner.run_case(case, 1, FIRST_BACKEND, 1)
    (ours,) = [r for r in rows if r["kind"] == "backend"]
    assert ours["C_"] == pytest.approx(1e-3) and ours["status"] == "FAILED"
    assert runner.failed({"rows": rows}) == [ours]
