"""The Numba options of every kernel, in one place.

``cache=True`` keeps compiled code between processes; signatures are left to lazy
compilation so each dtype and memory layout actually used gets its own
specialisation (float32 and float64, C-contiguous fast paths, read-only arrays).
``error_model="numpy"`` makes ``0.0 / 0.0`` a NaN instead of a Python exception.
The fused kernels add ``fastmath={"reassoc", "contract"}``: reassociation lets the
dot products vectorise with several partial sums; no flag that assumes finite values
or ignores signed zeros is used, and the stable scalar formulas live in
:mod:`.scalar`, compiled without any fastmath flag.
The hot block functions of the fused kernels and the elementwise segment loops also
start with ``scalar.prefer_512_bit_vectors()``, which lets LLVM use 512-bit vectors in
that function alone (it prefers 256-bit ones on AVX-512 Intel cores).
"""

import numba

_COMMON = dict(cache=True, nogil=True, error_model="numpy")
# The fused kernels' options: reassociation and contraction, nothing else.
_FUSED = dict(fastmath={"reassoc", "contract"}, **_COMMON)

jit = numba.njit(**_COMMON)
jit_parallel = numba.njit(parallel=True, **_COMMON)
jit_fused = numba.njit(parallel=True, **_FUSED)
# The per-block bodies of the fused kernels: serial (called from inside a prange over
# chunks), the same reassociation as jit_fused so reductions and dot products vectorise.
jit_block = numba.njit(**_FUSED)
# The register blocks (four rows, or four rows by five classes) called once per group of
# rows: inlined by Numba itself. As separate functions LLVM kept them as calls, each
# passing its array structs on the stack and re-checking its indices.
jit_register_block = numba.njit(inline="always", **_FUSED)
# The CSR gathers' per-row helpers: inlined by Numba, and without fastmath flags (the
# CSR gathers and scatters sum in the order written, whatever the index dtype).
jit_gather = numba.njit(inline="always", **_COMMON)
