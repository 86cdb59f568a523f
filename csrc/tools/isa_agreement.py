"""Do the code paths of the C kernel agree?  Builds an SSE2-only (-DFLR_NO_CLONES), the
multi-versioned (default), an -march=x86-64-v3 and an -march=native build from csrc/
into a temporary directory, loads the multi-versioned one also with FASTLOGREG_C_ISA set
to each lower level it could run (baseline, x86-64-v3: the paths another CPU would get),
runs the fused kernels (float64 and float32 X, 50,000 x 37, 4 classes, weights, soft
labels) twice with each, and checks that (1) repeated calls of one path are
bit-identical and (2) the paths agree to a relative 1e-13 (they differ in the last bits
where an ISA with FMA fuses a multiply-add, and where the dot products have 4 lanes
(AVX2) instead of 8).  Exit status 1 if either fails.

    python csrc/tools/isa_agreement.py
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glob  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

from bench_fused import CSRC, load  # noqa: E402


def build(tmp, tag, cflags):
    out = os.path.join(tmp, tag)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTLOGREG_")}
    env.update(FASTLOGREG_EXTRA_CFLAGS="-fopenmp " + cflags, FASTLOGREG_EXTRA_LDFLAGS="-fopenmp")
    subprocess.run([sys.executable, os.path.join(CSRC, "build_c_kernels.py"), out], env=env,
                   check=True, capture_output=True)
    return glob.glob(os.path.join(out, "fastlogreg", "_c_kernels*.so"))[0]


def load_as(so, tag, isa=None):
    """Load a copy of so (a path of its own, so that it is loaded afresh) with
    FASTLOGREG_C_ISA = isa while it loads."""
    copy = os.path.join(os.path.dirname(so), f"{tag}.so")
    shutil.copy(so, copy)
    old = os.environ.pop("FASTLOGREG_C_ISA", None)
    if isa is not None:
        os.environ["FASTLOGREG_C_ISA"] = isa
    try:
        return load(copy, tag)
    finally:
        os.environ.pop("FASTLOGREG_C_ISA", None)
        if old is not None:
            os.environ["FASTLOGREG_C_ISA"] = old


def results(m, X, y, w, sw, W, b, lab, d, C):
    g = np.empty(d)
    r = m.logistic_loss_grad(X, y, w, 0.1, sw, g, 2)
    gp = np.empty(d)
    rp = m.probit_loss_grad(X, y, w, 0.1, sw, gp, 2)
    h = np.empty(d)
    hb = m.logistic_hessp(X, w, 0.1, sw, w, 0.2, h, 2)
    G = np.empty((C, d))
    gb = np.empty(C)
    loss = m.softmax_loss_grad(X, lab, np.zeros((0, 0)), W, b, sw, G, gb, 2)
    H = np.empty((C, d))
    hb2 = np.empty(C)
    m.softmax_hessp(X, W, b, sw, W, b, H, hb2, 2)
    return np.concatenate([r, g, rp, gp, [hb], h, [loss], G.ravel(), gb, H.ravel(), hb2])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        sos = {tag: build(tmp, tag, flags) for tag, flags in
               [("sse2-only", "-DFLR_NO_CLONES"), ("multi-versioned", ""),
                ("march-x86-64-v3", "-march=x86-64-v3"), ("native", "-march=native")]}
        variants = {"sse2-only": load_as(sos["sse2-only"], "sse2_only")}
        for isa in ("baseline", "x86-64-v3", None):
            m = load_as(sos["multi-versioned"], f"multi_{isa}".replace("-", "_"), isa)
            variants[f"multi-versioned: {m.instruction_set()}"] = m  # a CPU's best level: once
        for tag in ("march-x86-64-v3", "native"):
            try:
                variants[tag] = load_as(sos[tag], tag.replace("-", "_"))
                variants[tag].logistic_loss_grad(np.zeros((1, 1)), np.zeros(1), np.zeros(1), 0.0,
                                                 np.zeros(0), np.zeros(1), 1)
            except Exception as exc:  # e.g. this CPU lacks AVX2 (the x86-64-v3 build)
                print(f"{tag}: skipped ({exc})")
                variants.pop(tag, None)
    for tag, m in variants.items():
        print(f"{tag}: runs {m.instruction_set()}")
    rng = np.random.default_rng(0)
    n, d, C = 50_000, 37, 4
    ok = True
    for dtype in (np.float64, np.float32):
        X = (rng.standard_normal((n, d)) * 3).astype(dtype)
        y = rng.choice([0.0, 1.0, 0.3], n)
        w = rng.standard_normal(d) * 0.3
        sw = rng.uniform(0, 2, n)
        W = rng.standard_normal((C, d)) * 0.3
        b = rng.standard_normal(C)
        lab = rng.integers(0, C, n)
        outs = {tag: results(m, X, y, w, sw, W, b, lab, d, C) for tag, m in variants.items()}
        base = outs["sse2-only"]
        for tag, m in variants.items():
            repeatable = np.array_equal(outs[tag], results(m, X, y, w, sw, W, b, lab, d, C))
            rel = np.max(np.abs(outs[tag] - base) / np.maximum(np.abs(base), 1e-300))
            ok &= repeatable and rel <= 1e-13
            print(f"{np.dtype(dtype).name}: {tag}: repeat bit-identical {repeatable}, "
                  f"max relative difference from sse2-only {rel:.2e}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
