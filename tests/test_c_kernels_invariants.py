"""Invariants of the C kernels (csrc/): every kernel against the NumPy reference over
shapes, dtypes, layouts and thread counts; the ISA levels of the multi-versioned build
against each other; and, with ``FASTLOGREG_TEST_BUILD=1``, a warning-free compile of the
C sources.

What the ISA levels promise (csrc/README.md): on one host repeated calls of a level are
bit-identical; the kernels compiled once for every level (row-wise softmax family, inner,
cosine_similarity, cross_entropy, the CSR kernels) give the same bits whatever level is
picked; the fused kernels' row loops differ between levels in the last bits only (FMA
contraction, 4 or 8 dot-product lanes), within a relative 1e-13.
"""

import importlib.util
import os
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import fastlogreg

from _interpreter import run_python

REPO = Path(__file__).resolve().parents[1]
CSRC = REPO / "csrc"
TESTS = Path(__file__).resolve().parent
C_AVAILABLE = "c" in fastlogreg.available_backends()
needs_c = pytest.mark.skipif(not C_AVAILABLE,
                             reason=f"C backend not built: {fastlogreg.backend_info()['c']}")


@needs_c
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_every_kernel_matches_reference(dtype):
    import _c_kernel_checks as checks

    count, mismatches = checks.reference_mismatches(dtype)
    assert count > 1000  # the sweep ran
    summary = f"{len(mismatches)} of {count} comparisons failed:\n" + "\n".join(mismatches[:20])
    assert mismatches == [], summary


def _level_results(isa):
    """Results of one ISA level, in a child process that loads the C kernel with
    ``FASTLOGREG_C_ISA=isa`` (None: the CPU's best level)."""
    env = {k: v for k, v in os.environ.items() if k != "FASTLOGREG_C_ISA"}
    if isa is not None:
        env["FASTLOGREG_C_ISA"] = isa
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), *paths])
    code = (
        "import sys, numpy as np\n"
        "import _c_kernel_checks as k\n"
        "from fastlogreg.backends import c\n"
        "out = {'isa': np.array(c.instruction_set())}\n"
        "for dt in (np.float64, np.float32):\n"
        "    name = np.dtype(dt).name\n"
        "    for kernel, v in k.fused_results(dt).items():\n"
        "        out[f'fused_{kernel}_{name}'] = v\n"
        "    for kernel, v in k.fused_results(dt).items():\n"
        "        out[f'again_{kernel}_{name}'] = v\n"
        "    out['rowwise_' + name] = k.rowwise_results(dt)\n"
        "    out['csr_' + name] = k.csr_results(dt)\n"
        "np.savez(sys.argv[1], **out)\n"
    )
    path = os.path.join(env.get("TMPDIR", "/tmp"), f"flr_isa_{os.getpid()}_{isa}.npz")
    try:
        run_python(f"import sys; sys.argv = ['-', {path!r}]\n" + code, env=env)
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    finally:
        if os.path.exists(path):
            os.remove(path)


@pytest.fixture(scope="module")
def levels():
    from fastlogreg.backends import c

    if not (c.instruction_set().startswith("x86-64") or c.instruction_set().startswith("baseline")):
        pytest.skip(f"not a multi-versioned build: {c.instruction_set()}")
    results = {}
    for isa in ("baseline", "x86-64-v3", None):
        r = _level_results(isa)
        results.setdefault(str(r["isa"]), r)  # a CPU without AVX2 runs baseline for all three
    return results


@needs_c
def test_isa_level_repeats_bit_identical(levels):
    for name, r in levels.items():
        keys = [k for k in r if k.startswith("fused_")]
        assert len(keys) == 10
        for key in keys:
            np.testing.assert_array_equal(r[key], r["again_" + key[6:]], err_msg=f"{name} {key}")


@needs_c
def test_isa_levels_rowwise_bit_identical(levels):
    names = list(levels)
    for name in names[1:]:
        for dt in ("float64", "float32"):
            np.testing.assert_array_equal(levels[name]["rowwise_" + dt], levels[names[0]]["rowwise_" + dt],
                                          err_msg=f"{name} vs {names[0]} {dt}")


@needs_c
def test_isa_levels_csr_bit_identical(levels):
    """The CSR kernels are compiled once: the same bits at every level, and for int32 and
    int64 indices."""
    names = list(levels)
    for name in names:
        for dt in ("float64", "float32"):
            got = levels[name]["csr_" + dt]
            assert np.all(np.isfinite(got))
            half = got.shape[0] // 2
            np.testing.assert_array_equal(got[:half], got[half:], err_msg=f"{name} {dt} int32 vs int64")
            np.testing.assert_array_equal(got, levels[names[0]]["csr_" + dt],
                                          err_msg=f"{name} vs {names[0]} {dt}")


@needs_c
def test_isa_levels_fused_agree(levels):
    base = levels["baseline (SSE2)"]
    for name, r in levels.items():
        for key in (k for k in base if k.startswith("fused_")):
            got, want = r[key], base[key]
            assert np.all(np.isfinite(want))
            # a relative 1e-13, of the output's largest component where a gradient
            # component is small through cancellation
            scale = np.maximum(np.abs(want), np.abs(want).max())
            rel = np.max(np.abs(got - want) / scale)
            assert rel <= 1e-13, f"{name} {key}: relative difference {rel:.2e} from baseline"


def _build_module():
    spec = importlib.util.spec_from_file_location("_flr_build_c_kernels", CSRC / "build_c_kernels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_flags_warn():
    args = _build_module().compile_args()
    assert "-Wall" in args and "-Wextra" in args


@pytest.mark.skipif(os.environ.get("FASTLOGREG_TEST_BUILD") != "1", reason="set FASTLOGREG_TEST_BUILD=1")
@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")
@pytest.mark.parametrize("defines", [[], ["-DFLR_NO_CLONES"], ["-march=x86-64-v3"]],
                         ids=["multi-versioned", "no-clones", "x86-64-v3"])
def test_c_sources_compile_without_warnings(defines):
    if defines and defines[0].startswith("-march") and platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("x86-64 only")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTLOGREG_")}
    old = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update(env)
        args = _build_module().compile_args()
    finally:
        os.environ.clear()
        os.environ.update(old)
    cmd = ["gcc", "-fsyntax-only", "-Werror", *args, "-fopenmp", *defines, f"-I{CSRC}",
           str(CSRC / "fastlogreg_kernels.c")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
