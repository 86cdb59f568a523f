"""The compute ceiling: the host's peak multiply-add rate, measured.

:func:`fma_rate` times a loop that does nothing but fused multiply-adds on registers:
``CHAINS`` independent vector accumulators, each updated ``acc = fma(acc, a, b)`` once
per iteration, so no FMA waits for another (the accumulators cover the FMA latency
times the number of FMA units: 4 cycles x 2 units = 8 vectors on Intel's AVX-512
cores; 16 are kept, and 12 where only 16 vector registers exist), no load, no store.
The vectors are the widest the CPU Numba compiles for has (512-bit with AVX-512F,
256-bit with AVX, else 128-bit); without the FMA feature each FMA is a multiply and an
add (still 2 flops).

The loop is written as a Numba intrinsic that emits the LLVM vector ``llvm.fma``
calls itself (LLVM's SLP vectoriser leaves a loop of scalar accumulators scalar), in a
function carrying the ``prefer_512_bit_vectors`` hint of the Numba kernels, without
which LLVM splits a 512-bit vector into two 256-bit ones on AVX-512 Intel cores.
:func:`fma_instructions` returns the FMA instructions of the compiled loop, so a test
(and the bench header) can show that they are ``vfmadd...`` on ``zmm`` / ``ymm``.

An FMA counts as 2 flops. :func:`measure` times one thread and ``n_threads`` threads
(a ``prange`` over threads, each running the loop), interleaved, in float64 and
float32; the fused kernels compute in float64 for both data dtypes, so the float64
all-threads rate is the roofline's compute ceiling.
"""

import re

import numpy as np

from . import timing

#: Vector accumulators of the loop (independent dependency chains).
CHAINS = 16
#: ... on an instruction set with 16 vector registers (AVX2, SSE): 12 accumulators and
#: the two splatted operands fit without spilling.
CHAINS_16_REGISTERS = 12
#: Seconds one timed call of the loop should take.
TARGET_SECONDS = 0.1

_kernels = {}


def numba_target():
    """What Numba compiles for: ``{"cpu_name", "features", "vector_bits"}``.

    ``cpu_name`` is ``NUMBA_CPU_NAME`` or the host's (llvmlite); ``features`` lists
    which of avx512f, avx2, fma, avx are enabled (``NUMBA_CPU_FEATURES`` when set, else
    the host's, as Numba's JIT does); ``vector_bits`` is the widest vector they give.
    """
    import llvmlite.binding as llvm
    import numba

    name = numba.config.CPU_NAME or llvm.get_host_cpu_name()
    # as Numba's JIT codegen: NUMBA_CPU_FEATURES when set (NUMBA_CPU_NAME=generic sets
    # it to ""), else the host's features, whatever the CPU name
    if numba.config.CPU_FEATURES is not None:
        flags = {f[1:]: f[0] == "+" for f in numba.config.CPU_FEATURES.split(",") if f}
    else:
        flags = dict(llvm.get_host_cpu_features())
    features = [f for f in ("avx512f", "avx2", "fma", "avx") if flags.get(f)]
    bits = 512 if "avx512f" in features else 256 if "avx" in features else 128
    return {"cpu_name": name, "features": features, "vector_bits": bits}


def _chains_intrinsic(dtype, lanes, chains, fused=True):
    """An intrinsic ``float64(intp iters, float64 a, float64 b)``: ``chains`` vectors of
    ``lanes`` ``dtype`` values, each ``acc = fma(acc, a, b)`` ``iters`` times; returns
    the sum of every lane (so the loop is not dead code). ``fused=False`` (a CPU without
    FMA, where ``llvm.fma`` would become a call to libm's ``fma``): a multiply and an
    add instead."""
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def fma_chains(typingctx, iters, a, b):
        sig = types.float64(types.intp, types.float64, types.float64)

        def codegen(context, builder, signature, args):
            n, a64, b64 = args
            scalar = ir.DoubleType() if dtype == "float64" else ir.FloatType()
            vec = ir.VectorType(scalar, lanes)
            if dtype == "float32":
                a64, b64 = builder.fptrunc(a64, scalar), builder.fptrunc(b64, scalar)
            va = vb = ir.Constant(vec, ir.Undefined)
            for j in range(lanes):
                va = builder.insert_element(va, a64, ir.IntType(32)(j))
                vb = builder.insert_element(vb, b64, ir.IntType(32)(j))
            suffix = f"v{lanes}{'f64' if dtype == 'float64' else 'f32'}"
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, [vec] * 3), f"llvm.fma.{suffix}")
            accs = [cgutils.alloca_once_value(
                        builder, ir.Constant(vec, [1.0 + (k * lanes + j) / 1024.0
                                                   for j in range(lanes)]))
                    for k in range(chains)]
            with cgutils.for_range(builder, n):
                for p in accs:
                    acc = builder.load(p)
                    if fused:
                        acc = builder.call(fma, [acc, va, vb])
                    else:
                        acc = builder.fadd(builder.fmul(acc, va), vb)
                    builder.store(acc, p)
            total = builder.load(accs[0])
            for p in accs[1:]:
                total = builder.fadd(total, builder.load(p))
            out = ir.Constant(ir.DoubleType(), 0.0)
            for j in range(lanes):
                lane = builder.extract_element(total, ir.IntType(32)(j))
                if dtype == "float32":
                    lane = builder.fpext(lane, ir.DoubleType())
                out = builder.fadd(out, lane)
            return out

        return sig, codegen

    return fma_chains


def _serial_loop(chains_fn, prefer_512_bit_vectors):
    import numba

    @numba.njit(nogil=True)
    def loop(iters, a, b):
        prefer_512_bit_vectors()
        return chains_fn(iters, a, b)

    return loop


def _parallel_loop(serial):
    import numba
    from numba import prange

    @numba.njit(parallel=True, nogil=True)
    def loop(iters, a, b, n_threads):
        out = np.empty(n_threads)
        for t in prange(n_threads):
            out[t] = serial(iters, a, b)
        return out

    return loop


def _build():
    from ..backends.numba_kernels import scalar

    target = numba_target()
    chains = CHAINS if target["vector_bits"] == 512 else CHAINS_16_REGISTERS
    for dtype, size in (("float64", 64), ("float32", 32)):
        lanes = target["vector_bits"] // size
        chains_fn = _chains_intrinsic(dtype, lanes, chains, "fma" in target["features"])
        serial = _serial_loop(chains_fn, scalar.prefer_512_bit_vectors)
        _kernels[dtype] = {
            "serial": serial,
            "parallel": _parallel_loop(serial),
            "fmas_per_iteration": chains * lanes,
            "lanes": lanes,
            "chains": chains,
        }


def _kernel(dtype):
    if not _kernels:
        _build()
    return _kernels[np.dtype(dtype).name]


# a and b keep the accumulators near b / (1 - a) = 1: no overflow, no subnormals
_A, _B = 0.5, 0.5


def fma_instructions(dtype="float64"):
    """The FMA instructions in the assembly of the compiled loop (one string each,
    e.g. ``"vfmadd213pd %zmm1, %zmm0, %zmm2"``)."""
    k = _kernel(dtype)
    serial = k["serial"]
    serial(1, _A, _B)
    asm = serial.inspect_asm(serial.signatures[0])
    return [" ".join(m.split()) for m in re.findall(r"^\s*(vfmadd\S*\s+[^\n#]*)", asm, re.M)]


def fma_register(dtype="float64"):
    """``"zmm"``, ``"ymm"``, ``"xmm"`` (the register of the loop's packed FMAs) or
    ``None`` when the loop has no packed FMA instruction."""
    for ins in fma_instructions(dtype):
        m = re.match(r"vfmadd\d*p[sd]\s+%?([xyz]mm)", ins)
        if m:
            return m.group(1)
    return None


def fma_rate(dtype, n_threads, iters):
    """Run the loop ``iters`` iterations on ``n_threads`` threads; return the flops
    done (2 per FMA). ``n_threads`` 1 calls the serial loop directly."""
    import numba

    k = _kernel(dtype)
    if n_threads == 1:
        k["serial"](iters, _A, _B)
    else:
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        k["parallel"](iters, _A, _B, n_threads)
    return 2.0 * k["fmas_per_iteration"] * iters * n_threads


def _iterations(dtype, seconds):
    """Iterations of the loop that take about ``seconds`` on one thread."""
    import time

    fma_rate(dtype, 1, 1)  # compile first
    iters = 1 << 16
    while True:
        t0 = time.perf_counter()
        fma_rate(dtype, 1, iters)
        dt = time.perf_counter() - t0
        if dt > 0.02:
            return max(1, int(iters * seconds / dt))
        iters *= 4


def measure(n_threads, repeat=5, dtypes=("float64", "float32"), seconds=TARGET_SECONDS):
    """Peak FMA rates, per thread and with ``n_threads`` threads, timed interleaved.

    Returns ``{dtype: {"per_thread_gflops", "total_gflops", "threads", "lanes",
    "chains", "register", "per_thread": stats, "all_threads": stats}}`` where the
    GFLOP/s are the medians of ``repeat`` timed calls (stats: timing.summarize of the
    seconds per call) and ``total_gflops`` is the rate of all ``n_threads`` together.
    """
    candidates, work = {}, {}
    for dtype in dtypes:
        iters = _iterations(dtype, seconds)
        for threads in sorted({1, n_threads}):
            key = (dtype, threads)
            work[key] = 2.0 * _kernel(dtype)["fmas_per_iteration"] * iters * threads
            candidates[key] = (lambda d=dtype, t=threads, i=iters: fma_rate(d, t, i))
    times = timing.interleaved(candidates, repeat)
    out = {}
    for dtype in dtypes:
        k = _kernel(dtype)
        one = timing.summarize(times[(dtype, 1)])
        every = timing.summarize(times[(dtype, n_threads)])
        out[dtype] = {
            "per_thread_gflops": work[(dtype, 1)] / one["median"] / 1e9,
            "total_gflops": work[(dtype, n_threads)] / every["median"] / 1e9,
            "threads": n_threads,
            "lanes": k["lanes"],
            "chains": k["chains"],
            "register": fma_register(dtype),
            "per_thread": one,
            "all_threads": every,
        }
    return out
