"""Stable scalar formulas shared by the Numba kernels (compiled without fastmath).

All take and return float64. The second half holds vectorisable exp and log1p for the
fused kernels' blocked loops.
"""

import math

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._jit import jit


@jit
def shift(v, m):
    """v - m, with the contract's rule for an infinite row maximum m (NaN v stays NaN)."""
    if math.isinf(m):
        if v != v:
            return v
        return 0.0 if v == m else -math.inf
    return v - m


# ----------------------------------------------------------------------------- vectorisable
# exp and log1p written out (range reduction + polynomial + exponent bits) so that LLVM
# can vectorise loops that call them: a call to libm's exp/log1p can not be vectorised
# without SVML. Compiled without fastmath (reassociation would cancel the error terms).
# Both are accurate to about 1 ulp (checked against mpmath in the tests of the kernels).

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm: ln 2 split so that k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2**52: x + _ROUND rounds x to an integer in the low bits
_ROUND_BITS = 0x4338000000000000
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD


@intrinsic
def _float_bits(typingctx, x):
    """The IEEE bits of a float64 as int64 (a bitcast, vectorisable)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _bits_float(typingctx, k):
    """The float64 whose IEEE bits are the int64 ``k``."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


def _prefetch_signature(write, locality):
    """The typing result of a prefetch intrinsic: ``llvm.prefetch(address, write,
    locality, data cache)`` on an integer address."""

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.inttoptr(args[0], i8p), i32(write), i32(locality), i32(1)])
        return context.get_dummy_value()

    return types.void(types.intp), codegen


@intrinsic
def prefetch(typingctx, address):
    """Hint the CPU to bring the cache line at ``address`` (an integer) into L2.

    ``llvm.prefetch`` (read, locality 2: ``prefetcht1``). A prefetch never faults and
    changes no result; the fused kernels use it to keep X streaming from memory while
    they compute on a block already in cache.
    """
    return _prefetch_signature(0, 2)


@intrinsic
def prefetch_write(typingctx, address):
    """Hint the CPU to bring the cache line at ``address`` into L1, to be written.

    ``llvm.prefetch`` (write, locality 3: ``prefetchw``): the line comes in owned, so the
    store that follows does not wait for it a second time. Never faults, changes no
    result.
    """
    return _prefetch_signature(1, 3)


#: LLVM function attributes of :func:`prefer_512_bit_vectors`. ``prefer-vector-width``
#: overrides the target's preferred width for this function alone (X86's subtarget reads
#: it per function); ``min-legal-vector-width`` keeps 512-bit arguments and calls legal.
#: On a CPU without AVX-512 LLVM cannot go wider than the widest legal vector, so they
#: change nothing there.
_WIDE_VECTOR_ATTRIBUTES = ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"')


@intrinsic
def prefer_512_bit_vectors(typingctx):
    """Let LLVM vectorise the calling function with 512-bit vectors (a hint, no code).

    LLVM prefers 256-bit vectors on Intel's AVX-512 cores (``prefer-256-bit``: older
    parts lowered their clock under 512-bit code), so the loops of the kernels ran
    4 doubles wide; setting ``NUMBA_CPU_FEATURES`` would change that for the whole
    process, also for the user's own Numba code. Called first in the body of a hot
    block function, this sets the width on that function only. A callee compiled as a
    function of its own is vectorised before LLVM inlines it, so it needs its own call;
    a callee that Numba inlines (``jit_register_block``) is covered by its caller's.

    llvmlite accepts only a fixed list of attribute names, so the two string attributes
    are added to its attribute set directly; if a llvmlite version refuses, the function
    compiles as before, just with the default width.
    """
    sig = types.void()

    def codegen(context, builder, signature, args):
        try:
            for attribute in _WIDE_VECTOR_ATTRIBUTES:
                set.add(builder.function.attributes, attribute)
        except (AttributeError, TypeError):  # pragma: no cover - a future llvmlite
            pass
        return context.get_dummy_value()

    return sig, codegen


@jit
def exp_nonpositive(x):
    """exp(x) for x <= 0 (also NaN, -inf), branch-free so that loops vectorise.

    k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2], exp(r) by its Taylor
    polynomial of degree 13 (truncation below 1e-17), times 2**k in two steps so that
    subnormal results are right; x < -746 gives 0.
    """
    xc = -746.0 if x < -746.0 else x
    t = xc * _INV_LN2 + _ROUND
    k = _float_bits(t) - _ROUND_BITS
    kf = t - _ROUND
    r = xc - kf * _LN2_HI
    r = r - kf * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    k1 = k >> 1
    k2 = k - k1
    return p * _bits_float((k1 + 1023) << 52) * _bits_float((k2 + 1023) << 52)


@jit
def log1p_nonnegative(x):
    """log1p(x) for x >= 0 (also NaN, +inf), branch-free so that loops vectorise.

    fdlibm's method: u = 1 + x with its rounding error c = (x - (u - 1)) / u carried
    along, u = 2**k m with m in [sqrt(1/2), sqrt(2)), log m = f - hfsq + s (hfsq + R(s^2))
    with f = m - 1, s = f / (2 + f) and fdlibm's minimax R.
    """
    u = 1.0 + x
    bits = _float_bits(u)
    tmp = bits - _SQRT_HALF_BITS
    k = tmp >> 52
    m = _bits_float(bits - (k << 52))
    kf = np.float64(k)
    c = (1.0 - (u - x)) if k > 0 else (x - (u - 1.0))
    c = c / u
    f = m - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
                                             + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
    R = t2 + t1
    result = kf * _LN2_HI - ((hfsq - (s * (hfsq + R) + (kf * _LN2_LO + c))) - f)
    if not x < math.inf:  # +inf and NaN
        return x
    return result
