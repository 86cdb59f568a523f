"""The text table, the header and the JSON file of ``fastlogreg bench``."""

import json
import math


def _fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds >= 1.0:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def _fmt_shape(row):
    """``"5000x20 C=3"``, ``"1000000x100000 CSR 50/row zipf"``, ``"... no intercept"``."""
    from .cases import describe_shape

    return describe_shape(row["shape"], row["n_classes"], row.get("index_law", ""),
                          row.get("fit_intercept", True), chunks=row.get("chunks", 0))


def header(results):
    """Lines describing the machine, threads, versions and backends."""
    env = results["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v is not None)
    missing = [k for k, v in env["versions"].items() if v is None]
    lines = [
        f"fastlogreg bench: {env['n_threads']} thread(s) for every candidate, "
        f"{results['repeat']} interleaved repetitions per case (fewer where a row says so), "
        "medians",
        f"CPU: {env['cpu']} ({env['usable_cpus']} usable of {env['cpu_count']}); "
        f"load average at start {', '.join(f'{x:.2f}' for x in env['load_average'] or [])}",
        f"versions: {versions}" + (f" (not installed: {', '.join(missing)})" if missing else ""),
        f"backends available: {', '.join(env['available_backends'])}; timed: "
        f"{', '.join(env['timed_backends']) or '-'}",
        f"numba threading layer: {env['numba_threading_layer']}"
        + (f"; C backend OpenMP: {env['c_openmp']}" if "c_openmp" in env else ""),
    ]
    for name, status in env["backend_status"].items():
        if status != "available":
            lines.append(f"  backend {name} unavailable: {status}")
    for blas in env["blas"]:
        lines.append(f"BLAS: {blas['internal_api']} {blas['version']} "
                     f"({blas['threading_layer']}, {blas['num_threads']} threads max)")
    target = env.get("numba_target")
    if target:
        has = ", ".join(f"{f} {'yes' if v else 'no'}" for f, v in target["host_features"].items())
        lines.append(f"instruction sets: C kernel {env.get('c_instruction_set', 'unknown')}; "
                     f"Numba compiles for {target['cpu_name']} ({target['vector_bits']}-bit "
                     f"vectors; host has {has})")
    peak = results.get("peak_fma")
    if peak:
        lines.append(f"peak FMA rate, measured: {peak['loop']} ({peak['example_instruction']}), "
                     f"{peak['flops_per_fma']} flops per FMA")
        for dtype, p in peak.items():
            if isinstance(p, dict) and "total_gflops" in p:
                one, every = p["per_thread"], p["all_threads"]
                lines.append(
                    f"  {dtype}: {p['per_thread_gflops']:.1f} GFLOP/s per thread "
                    f"(+-{100 * one['spread'] / one['median']:.0f}%), {p['total_gflops']:.1f} "
                    f"GFLOP/s on {p['threads']} thread(s) "
                    f"(+-{100 * every['spread'] / every['median']:.0f}%)")
    check = results.get("ceiling_check")
    if check:
        parts = [f"{k} {v['gbps']:.1f} GB/s" for k, v in check.items() if k != "data"]
        lines.append(f"ceiling check on X of {check['data']}: " + "; ".join(parts))
    return lines


COLUMNS = ("kernel", "shape", "dtype", "backend", "median +- spread", "GB/s of X",
           "vs ref", "of ceiling", "of roofline", "max rel diff", "objective", "status", "note")
#: Columns shown only when some row has a value in them.
_OPTIONAL = {"objective": "objective", "note": "note"}
_BOUND = {"memory": "mem", "compute": "fma"}


def _fmt_roofline(row):
    fraction = row.get("fraction_of_roofline")
    if fraction is None:
        return "-"
    return f"{fraction:.2f} {_BOUND[row['roofline_bound']]}"


def _fmt_objective(row):
    """The reference's objective; another candidate's relative excess over it."""
    if row.get("objective") is None:
        return "-"
    if row["kind"] == "reference":
        return f"{row['objective']:.10g}"
    return f"{row['objective_rel_excess']:+.1e}"


def _fmt_spread(row):
    """``"1.2 s +- 3%"``; with fewer repetitions than the run asked for (the long cases),
    their count, and for one repetition no spread: ``"12 s (1 run)"``."""
    med = row.get("median")
    if not med:
        return "not timed"
    n, asked = row.get("n"), row.get("repeat")
    fewer = n is not None and asked is not None and n < asked
    if fewer and n == 1:
        return f"{_fmt_time(med)} (1 run)"
    text = f"{_fmt_time(med)} +- {100 * row['spread'] / med:.0f}%"
    return text + (f" ({n} runs)" if fewer else "")


def table_rows(results):
    out = []
    for row in results["rows"]:
        med = row.get("median")
        spread = _fmt_spread(row)
        diff = row["max_rel_diff"]
        out.append((
            row["kernel"],
            _fmt_shape(row),
            row["dtype"],
            row["backend"],
            spread,
            f"{row['gbps']:.1f}" if med else "-",
            f"{row['speedup_vs_reference']:.2f}x" if med else "-",
            f"{row['fraction_of_ceiling']:.2f}" if med else "-",
            _fmt_roofline(row),
            "-" if diff is None else ("inf" if math.isinf(diff) else f"{diff:.1e}"),
            _fmt_objective(row),
            row["status"],
            row.get("note") or "",
        ))
    return out


def row_line(row, seconds):
    """One finished row as a line, prefixed by ``seconds`` since the run started."""
    (kernel, shape, dtype, backend, spread, gbps, speedup, ceiling, roofline, diff, objective,
     status, note) = table_rows({"rows": [row]})[0]
    parts = [spread]
    if row.get("median") and row["kind"] != "ceiling":
        parts += [f"{gbps} GB/s", f"{speedup} vs {row.get('reference', 'numpy')}",
                  f"{ceiling} of ceiling"]
        if roofline != "-":
            parts.append(f"{roofline} of roofline")
    if diff != "-":
        parts.append(f"max rel diff {diff}")
    if objective != "-":
        parts.append(f"objective {objective}")
    if note:
        parts.append(note)
    if status:
        parts.append(status)
    return f"[{seconds:7.1f} s] {kernel} {shape} {dtype} {backend}: " + ", ".join(parts)


def format_table(results):
    """The whole report: header lines, then one aligned row per (case, candidate)."""
    rows = table_rows(results)
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(COLUMNS)]
    # the objective and note columns only when some case has one (the fits, the paths)
    keep = [i for i, c in enumerate(COLUMNS)
            if c not in _OPTIONAL
            or any(r.get(_OPTIONAL[c]) not in (None, "") for r in results["rows"])]
    rows = [tuple(r[i] for i in keep) for r in rows]
    columns = [COLUMNS[i] for i in keep]
    widths = [widths[i] for i in keep]
    lines = header(results) + [""]
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    lines.append("  ".join("-" * w for w in widths))
    previous = None
    for row, raw in zip(rows, results["rows"]):
        key = (raw["kernel"], tuple(raw["shape"]), raw["n_classes"], raw["dtype"],
               raw.get("index_law", ""), raw.get("fit_intercept", True), raw.get("chunks", 0))
        if previous is not None and key != previous:
            lines.append("")
        previous = key
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    failed = [r for r in results["rows"] if r["status"] == "FAILED"]
    lines.append("")
    lines.append(
        "ceiling = read-only parallel pass over X with the same threads; 'of ceiling' = "
        "t_ceiling / t; 'vs ref' = t_reference / t; spread = half the interquartile range; "
        "'max rel diff' against the NumPy reference (tolerance 1e-12 float64, 1e-5 float32; "
        "fits: the coefficients, 1e-6, both fits stopping at a gradient max-norm of 1e-8)"
    )
    groups = {r.get("group") for r in results["rows"]}
    from .paths import CV_CS, CV_FOLDS, PATH_POINTS, PATH_SPAN

    if "dask" in groups:
        lines.append(
            "LogisticRegression.fit[dask]: the fit on X persisted in row chunks on a LocalCluster "
            "of 2 single-threaded worker processes (started before and closed after the case, "
            "not timed); its reference is the same fit on the in-memory X in this process, so "
            "'vs ref' = t_in_memory / t_dask; dask-ml's lbfgs minimises the same objective (no "
            "intercept, tol times n)"
        )
    if "path" in groups:
        lines.append(
            f"l1_path: {PATH_POINTS} values of C from the smallest with an all-zero model to "
            f"{PATH_SPAN:g}x it, no intercept, each method walking the path (liblinear refits each "
            "point); 'max rel diff' = the largest relative objective gap, over the points, to the "
            "best objective any method reached there (tolerance 1e-8); the reference "
            "is fastlogreg's walk on the first backend; note = support sizes at the first and last C"
        )
    if "cv" in groups:
        lines.append(
            f"LogisticRegressionCV.fit: Cs={CV_CS}, {CV_FOLDS} stratified folds (the same for both), L2, "
            "accuracy, each library at its default tol; reference scikit-learn's "
            "LogisticRegressionCV; 'max rel diff' = the relative difference of the chosen C_ "
            "(FAILED unless the same C_)"
        )
    if any(r.get("index_law") for r in results["rows"]):
        lines.append(
            "CSR rows (CSR 50/row uniform | zipf): the kernels' <kernel>_csr twins and the fits "
            "on a CSR X; their ceiling reads data and indices once, and 'GB/s of X' counts "
            "those bytes"
        )
    if any(r.get("objective") is not None for r in results["rows"]):
        lines.append(
            "objective = mean loss + ||coef||^2 / (2 C n) at each fit's coefficients, by the "
            "NumPy reference: the reference's value, the others' relative excess over it"
        )
    if any(r.get("fraction_of_roofline") is not None for r in results["rows"]):
        lines.append(
            "roofline = max(bytes / ceiling bandwidth, flops / float64 peak FMA rate on all "
            "threads), bytes = X once plus y and the parameters, flops = 2 per multiply-add "
            "of the scores and the gradient (or Hessian-vector) update; 'of roofline' = "
            "t_roofline / t, 'mem' / 'fma' = which bound is the larger"
        )
    if failed:
        lines.append(f"FAILED: {len(failed)} case(s) differ from the reference beyond tolerance: "
                     + "; ".join(f"{r['kernel']} {_fmt_shape(r)} {r['dtype']} {r['backend']}"
                                 for r in failed))
    else:
        lines.append(f"all {sum(r['kind'] == 'backend' for r in results['rows'])} backend "
                     f"results agree with the reference; total {results['seconds']:.0f} s")
    return "\n".join(lines)


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def write_json(results, path):
    """Write the results (environment, ceiling check, one dict per row) as JSON."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_jsonable({"schema": "fastlogreg-bench/1", **results}), f, indent=1)
