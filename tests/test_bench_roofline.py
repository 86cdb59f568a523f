"""The roofline of ``fastlogreg bench``: the bytes / flops model, the peak FMA loop and the
new columns. These check correctness (the model's counts, the loop's instructions, the
JSON fields and the table), not speed.
"""

import json
import math
import types

import numpy as np
import pytest

from fastlogreg import _backend, cli
from fastlogreg.benchmarks import environment, peak, roofline

SEED = 20261203


# ----------------------------------------------------------------------------- the model
class _Counting:
    """Plain-Python versions of the fused kernels that count their multiply-adds."""

    def __init__(self):
        self.fmas = 0

    def dot(self, x, w):
        self.fmas += len(x)
        return sum(float(a) * float(b) for a, b in zip(x, w))

    def axpy(self, g, r, x):
        self.fmas += len(x)
        g += r * np.asarray(x, dtype=np.float64)


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def _softmax(z):
    e = np.exp(np.asarray(z) - max(z))
    return e / e.sum()


def _logistic_loss_grad(c, X, y, w, b):
    g = np.zeros(X.shape[1])
    for x, t in zip(X, y):
        c.axpy(g, _sigmoid(c.dot(x, w) + b) - t, x)
    return g


def _softmax_loss_grad(c, X, labels, W, b):
    G = np.zeros(W.shape)
    for x, label in zip(X, labels):
        p = _softmax([c.dot(x, W[k]) + b[k] for k in range(W.shape[0])])
        p[label] -= 1.0
        for k in range(W.shape[0]):
            c.axpy(G[k], p[k], x)
    return G


def _logistic_hessp(c, X, w, b, v, v_b):
    hv = np.zeros(X.shape[1])
    for x in X:
        z = c.dot(x, w) + b
        u = c.dot(x, v) + v_b
        c.axpy(hv, _sigmoid(z) * _sigmoid(-z) * u, x)
    return hv


def _softmax_hessp(c, X, W, b, V, v_b):
    hv = np.zeros(W.shape)
    C = W.shape[0]
    for x in X:
        p = _softmax([c.dot(x, W[k]) + b[k] for k in range(C)])
        u = np.array([c.dot(x, V[k]) + v_b[k] for k in range(C)])
        r = p * (u - np.dot(p, u))
        for k in range(C):
            c.axpy(hv[k], r[k], x)
    return hv


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_counts_the_multiply_adds_of_a_counting_kernel(dtype):
    """The model's flops are 2x the multiply-adds of plain loops that compute the same
    gradients / Hessian-vector products as the NumPy reference."""
    rng = np.random.default_rng(SEED)
    n, d, C = 7, 5, 3
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (rng.random(n) < 0.5).astype(np.float64)
    labels = rng.integers(0, C, n)
    w, v = rng.standard_normal(d), rng.standard_normal(d)
    W, V = rng.standard_normal((C, d)), rng.standard_normal((C, d))
    b, v_b = rng.standard_normal(C), rng.standard_normal(C)
    ref = _backend.resolve("numpy")
    sw = np.empty(0)
    itemsize = np.dtype(dtype).itemsize

    def check(kernel, counted, expected, n_classes=0):
        c, result = counted
        np.testing.assert_allclose(result, expected, rtol=1e-10, atol=1e-12)
        model = roofline.kernel_model(kernel, n, d, n_classes, itemsize)
        assert model["flops"] == 2 * c.fmas
        assert model["fmas_per_row"] * n == c.fmas

    def run(fn, *args):
        c = _Counting()
        return c, fn(c, *args)

    g = np.empty(d)
    ref.logistic_loss_grad(X, y, w, 0.25, sw, g, 1)
    check("logistic_loss_grad", run(_logistic_loss_grad, X, y, w, 0.25), g)

    G, gb = np.empty((C, d)), np.empty(C)
    ref.softmax_loss_grad(X, labels, np.empty((0, 0)), W, b, sw, G, gb, 1)
    check("softmax_loss_grad", run(_softmax_loss_grad, X, labels, W, b), G, C)

    hv = np.empty(d)
    ref.logistic_hessp(X, w, 0.25, sw, v, 0.5, hv, 1)
    check("logistic_hessp", run(_logistic_hessp, X, w, 0.25, v, 0.5), hv)

    hv, hv_b = np.empty((C, d)), np.empty(C)
    ref.softmax_hessp(X, W, b, sw, V, v_b, hv, hv_b, 1)
    check("softmax_hessp", run(_softmax_hessp, X, W, b, V, v_b), hv, C)


def test_model_by_hand():
    """n=7, d=5, C=3, float32 X (4 bytes), float64 y / int64 labels and parameters."""
    m = roofline.kernel_model("logistic_loss_grad", 7, 5, 0, 4)
    # X 7*5*4 = 140; y 7*8 = 56; w read, grad_w written 2*5*8 = 80
    assert (m["x_bytes"], m["bytes"]) == (140, 140 + 56 + 80)
    assert m["flops"] == 2 * (7 * 5 + 7 * 5)  # score and update: 70 FMAs, 140 flops
    assert roofline.kernel_model("probit_loss_grad", 7, 5, 0, 4) == m
    m = roofline.kernel_model("softmax_loss_grad", 7, 5, 3, 4)
    # labels 56; W (15) and b (3) read, grad_W and grad_b written: 2 * 18 * 8 = 288
    assert m["bytes"] == 140 + 56 + 288 and m["flops"] == 4 * 7 * 5 * 3 == 420
    m = roofline.kernel_model("logistic_hessp", 7, 5, 0, 8)
    # X 280; w, v read, hv written 3*5*8 = 120; scores of w and v + update: 3*35 FMAs
    assert m["bytes"] == 280 + 120 and m["flops"] == 6 * 35 == 210
    m = roofline.kernel_model("softmax_hessp", 7, 5, 3, 8)
    # W, V, b, v_b read, hv, hv_b written: 3 * (15 + 3) * 8 = 432
    assert m["bytes"] == 280 + 432 and m["flops"] == 6 * 7 * 5 * 3 == 630
    assert roofline.kernel_model("sigmoid", 7, 5) is None
    # 1e6 x 100 float64, binary: 800 MB of X, 4e8 flops
    m = roofline.kernel_model("logistic_loss_grad", 10**6, 100, 0, 8)
    assert m["x_bytes"] == 8 * 10**8 and m["flops"] == 4 * 10**8


def test_roofline_takes_the_larger_bound():
    model = {"bytes": 8e8, "flops": 4e9}
    assert roofline.roofline_seconds(model, 8e9, 1e11) == (0.1, "memory")
    assert roofline.roofline_seconds(model, 8e10, 1e10) == (0.4, "compute")


# ----------------------------------------------------------------------------- the peak loop
def test_peak_loop_is_packed_fmas_on_the_widest_registers():
    target = peak.numba_target()
    if "fma" not in target["features"]:
        pytest.skip(f"Numba compiles for {target['cpu_name']} without FMA")
    expected = {512: "zmm", 256: "ymm", 128: "xmm"}[target["vector_bits"]]
    for dtype in ("float64", "float32"):
        instructions = peak.fma_instructions(dtype)
        suffix = "pd" if dtype == "float64" else "ps"
        packed = [i for i in instructions if i.split()[0].endswith(suffix)]
        assert len(packed) >= peak._kernel(dtype)["chains"], instructions
        assert peak.fma_register(dtype) == expected
        assert all(f"%{expected}" in i for i in packed)


def test_peak_loop_runs_and_counts_flops():
    k = peak._kernel("float64")
    assert k["fmas_per_iteration"] == k["chains"] * k["lanes"]
    assert peak.fma_rate("float64", 1, 1000) == 2.0 * k["fmas_per_iteration"] * 1000
    fmas = peak._kernel("float32")["fmas_per_iteration"]
    assert peak.fma_rate("float32", 2, 1000) == 2.0 * fmas * 1000 * 2
    rates = peak.measure(2, repeat=1, seconds=0.005)
    for dtype in ("float64", "float32"):
        assert rates[dtype]["per_thread_gflops"] > 0 and rates[dtype]["total_gflops"] > 0


# ----------------------------------------------------------------------------- environment
def test_c_instruction_set_unknown_when_missing(monkeypatch):
    monkeypatch.setattr(environment._backend, "resolve", lambda name: types.SimpleNamespace())
    assert environment.c_instruction_set() == "unknown"
    fake = types.SimpleNamespace(instruction_set=lambda: "avx2+fma")
    monkeypatch.setattr(environment._backend, "resolve", lambda name: fake)
    assert environment.c_instruction_set() == "avx2+fma"

    def unavailable(name):
        raise ValueError("backend 'c' is not available")

    monkeypatch.setattr(environment._backend, "resolve", unavailable)
    assert environment.c_instruction_set() == "unknown"


# ----------------------------------------------------------------------------- the command
def test_bench_reports_the_roofline(tmp_path, capsys):
    path = tmp_path / "bench.json"
    status = cli.main(["bench", "--quick", "--repeat", "3", "--no-compare", "--threads", "1",
                       "--dtype", "float64", "--kernel", "logistic_loss_grad",
                       "--kernel", "softmax_loss_grad", "--kernel", "logistic_hessp",
                       "--kernel", "sigmoid", "--json", str(path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "of roofline" in out and "of ceiling" in out
    assert "peak FMA rate, measured" in out and "GFLOP/s per thread" in out
    assert "instruction sets: C kernel" in out and "Numba compiles for" in out

    results = json.loads(path.read_text())
    env = results["environment"]
    assert isinstance(env["c_instruction_set"], str) and env["c_instruction_set"]
    target = env["numba_target"]
    assert target["cpu_name"] and set(target["host_features"]) == {"avx512f", "avx2", "fma"}
    assert target["vector_bits"] in (128, 256, 512)
    fma = results["peak_fma"]
    assert fma["flops_per_fma"] == 2 and fma["example_instruction"].startswith("vfmadd")
    for dtype in ("float64", "float32"):
        assert fma[dtype]["per_thread_gflops"] > 0 and fma[dtype]["total_gflops"] > 0
        assert fma[dtype]["threads"] == 1

    modeled = 0
    for row in results["rows"]:
        model = roofline.kernel_model(row["kernel"], *row["shape"], row["n_classes"], 8)
        if model is None:  # sigmoid: no model, no column
            assert "fraction_of_roofline" not in row
            continue
        assert row["model_bytes"] == model["bytes"] and row["model_flops"] == model["flops"]
        if row["kind"] == "ceiling":
            assert "fraction_of_roofline" not in row
            continue
        expected = max(model["bytes"] / (row["roofline_bandwidth_gbps"] * 1e9),
                       model["flops"] / (row["roofline_peak_gflops"] * 1e9))
        assert row["roofline_seconds"] == pytest.approx(expected)
        assert row["roofline_peak_gflops"] == pytest.approx(fma["float64"]["total_gflops"])
        assert row["roofline_bound"] in ("memory", "compute")
        assert row["fraction_of_roofline"] == pytest.approx(row["roofline_seconds"] / row["median"])
        if row["kind"] == "backend":
            # a kernel can not beat its bound by much (noise on a shared machine aside)
            assert 0 < row["fraction_of_roofline"] <= 1.5
            modeled += 1
    assert modeled >= 3
