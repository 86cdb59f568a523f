"""PNG chart of a bench run: speedup over the reference and fraction of the ceiling."""


def plot(results, path):
    """Two horizontal bar charts, one bar per (case, candidate).

    Raises
    ------
    ImportError
        With an explanation when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "--plot needs matplotlib, which is not installed: "
            "pip install matplotlib (or pip install 'fastlogreg[bench]')"
        ) from exc

    from .report import _fmt_shape

    rows = [r for r in results["rows"] if r["kind"] in ("backend", "comparison") and r.get("median")]
    labels = []
    for r in rows:
        labels.append(f"{r['kernel']} {_fmt_shape(r)} {r['dtype']} [{r['backend']}]")
    speedup = [r["speedup_vs_reference"] for r in rows]
    fraction = [r["fraction_of_ceiling"] for r in rows]
    colors = []
    palette = {"numba": "tab:blue", "c": "tab:green"}
    for r in rows:
        if r["status"] == "FAILED":
            colors.append("tab:red")
        else:
            colors.append(palette.get(r["backend"], "tab:gray"))
    height = max(3.0, 0.28 * len(rows) + 1.5)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, height), sharey=True)
    ypos = list(range(len(rows)))[::-1]
    ax1.barh(ypos, speedup, color=colors)
    ax1.axvline(1.0, color="black", lw=0.8)
    ax1.set_xscale("log")
    ax1.set_xlabel("speedup over the NumPy reference (log scale; >1 is faster)")
    ax1.set_yticks(ypos)
    ax1.set_yticklabels(labels, fontsize=7)
    ax2.barh(ypos, fraction, color=colors)
    ax2.axvline(1.0, color="black", lw=0.8)
    ax2.set_xlabel("fraction of the ceiling (read-only pass over X, same threads)")
    env = results["environment"]
    fig.suptitle(f"fastlogreg bench: {env['cpu']}, {env['n_threads']} thread(s); "
                 "blue numba, green c, gray other libraries, red FAILED")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
