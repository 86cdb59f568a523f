"""Fused loss + gradient Numba kernels: one pass over X, partial sums per chunk.

Rows are split into ``n_threads`` static chunks (``prange`` over chunk indices). Each
chunk walks its rows once: the row ``x_i`` is read for the score(s), stays in L1 for
the gradient update, and is never read again. Each chunk accumulates into its own
float64 buffers; the buffers are then added in chunk order, so repeated calls with
the same ``n_threads`` give bit-identical results.
"""

import math

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit, jit_block, jit_fused, jit_register_block
from .probit import probit_pointwise

# Rows per block: the block of X (at most ~24 KiB) is read from memory once for the
# scores and re-read from L1 for the gradient update.
_BLOCK_BYTES = 24 * 1024


@jit
def block_rows(d, itemsize):
    """Rows per block: about _BLOCK_BYTES of X, rounded to a multiple of 16, between 16
    and 512. The loops over a block's rows run 16 at a time (four 4-wide vectors);
    rows past a multiple of 16 take the scalar remainder loop, 10 times slower per
    row in the exp of the softmax kernel."""
    rows = (_BLOCK_BYTES // max(1, d * itemsize) + 8) // 16 * 16
    return max(16, min(512, rows))


@jit
def padded(d):
    """Length of a per-chunk accumulator row: d rounded up to a multiple of 8, plus 8.

    Each chunk's accumulator starts on its own 64-byte line, so two threads never
    write to the same cache line (no false sharing).
    """
    return (d + 7) // 8 * 8 + 8


@jit
def row_weights(sample_weight, rows):
    """``sample_weight``, or for an unweighted call (empty) an unread placeholder of one
    block (``rows``), which the chunks pass on whole, unsliced.

    The loops read ``sw[i]`` only when weighted, but before a vectorised loop LLVM checks
    at run time that no array it indexes overlaps one it writes, taking each to span the
    loop's rows from its data pointer. An empty array lying just below a block's scratch
    failed that check and the loop ran its scalar version, which sums in another order:
    the last bits of the loss then depended on where the heap had put two unrelated
    allocations (rare one-ulp differences under concurrent calls). The placeholder is an
    allocation of its own, as long as any block loop, so it never overlaps the scratch.
    """
    return sample_weight if sample_weight.shape[0] > 0 else np.empty(rows)


@jit
def weight_rows(weights, lo, hi):
    """The weights of rows ``[lo, hi)``: ``weights`` is ``(sw, weighted)``, and an unweighted
    call keeps its placeholder whole (see :func:`row_weights`)."""
    sw, weighted = weights
    return sw[lo:hi] if weighted else sw, weighted


@jit
def target_rows(targets, lo, hi):
    """The class targets of rows ``[lo, hi)``: ``targets`` is ``(labels, Y, use_labels)``,
    labels (n,) int64 or probability rows Y (n, C); the unused one (empty) stays whole."""
    labels, Y, use_labels = targets
    return labels[lo:hi] if use_labels else labels, Y if use_labels else Y[lo:hi], use_labels


@jit_register_block
def _scores4(X, i, w, b, z):
    """z[i:i+4] = X[i:i+4] @ w + b: four rows share each load of w."""
    x0 = X[i]
    x1 = X[i + 1]
    x2 = X[i + 2]
    x3 = X[i + 3]
    z0 = 0.0
    z1 = 0.0
    z2 = 0.0
    z3 = 0.0
    for j in range(w.shape[0]):
        wj = w[j]
        z0 += x0[j] * wj
        z1 += x1[j] * wj
        z2 += x2[j] * wj
        z3 += x3[j] * wj
    z[i] = z0 + b
    z[i + 1] = z1 + b
    z[i + 2] = z2 + b
    z[i + 3] = z3 + b


@jit_register_block
def _update4(X, i, r, g):
    """g += r[i:i+4] @ X[i:i+4]: four rows per load and store of g."""
    x0 = X[i]
    x1 = X[i + 1]
    x2 = X[i + 2]
    x3 = X[i + 3]
    r0 = r[i]
    r1 = r[i + 1]
    r2 = r[i + 2]
    r3 = r[i + 3]
    for j in range(x0.shape[0]):
        g[j] = g[j] + r0 * x0[j] + r1 * x1[j] + r2 * x2[j] + r3 * x3[j]


@jit
def prefetch_ahead(pf, pf_end, count):
    """Prefetch up to ``count`` cache lines from address ``pf`` (stopping at ``pf_end``);
    return where the next call goes on."""
    for _ in range(count):
        if pf >= pf_end:
            break
        scalar.prefetch(pf)
        pf += 64
    return pf


@jit
def next_block_window(X, hi, rows, pf):
    """The prefetch cursor and its limit while the block ending at row ``hi`` is worked on.

    The kernels prefetch the *next* block (rows ``[hi, hi + rows)``) a few lines at a
    time, interleaved with the arithmetic on the current one, so the memory bus never
    idles (measured: 67 -> 51 ms, 0.55 -> 0.72 of the read ceiling, binary 1e6 x 100
    float64 on 2 threads). Without C-contiguous rows the window is empty.
    Returns ``(pf, pf_end, lines_per_group)``: ``lines_per_group`` is the number of lines
    of a 4-row group, what each group should prefetch in all to keep pace.
    """
    n, d = X.shape
    if not X.flags.c_contiguous or n == 0:
        return 0, 0, 0
    base = X.ctypes.data
    row_bytes = d * X.itemsize
    start = base + hi * row_bytes
    return max(pf, start), base + min(n, hi + rows) * row_bytes, (4 * row_bytes + 63) // 64


#: Narrowest rows (in bytes) that get the second prefetch stream (:func:`far_window`).
FAR_MIN_ROW_BYTES = 128


@jit
def far_window(X, rows):
    """``(distance, end)`` of the second prefetch stream of the binary kernels over the rows
    of X (blocks of ``rows``): two thirds of a block, and the address where X ends.

    After the scores of each 4-row group the kernels prefetch the lines ``distance`` bytes
    further on (:func:`prefetch_far`), besides the next block. The next-block stream alone
    leaves the bus idle for part of each block on AMD Zen 4 (measured: 0.78 -> 0.86 of
    the read pass, binary 1e6 x 100 float64 on 2 threads). ``(0, 0)`` (no stream)
    without C-contiguous rows, and for rows under FAR_MIN_ROW_BYTES, where the kernel
    waits on its arithmetic more than on memory (d = 10 float64: 9% slower with it).
    """
    n, d = X.shape
    row_bytes = d * X.itemsize
    if not X.flags.c_contiguous or n == 0 or row_bytes < FAR_MIN_ROW_BYTES:
        return 0, 0
    return rows * row_bytes * 2 // 3, X.ctypes.data + n * row_bytes


@jit
def prefetch_far(X, i, far):
    """Prefetch the lines ``far[0]`` bytes past rows ``i`` to ``i + 4`` of the block X,
    stopping at ``far[1]`` (see :func:`far_window`)."""
    distance, end = far
    if distance == 0:
        return
    row_bytes = X.shape[1] * X.itemsize
    start = X.ctypes.data + i * row_bytes + distance
    for address in range(start, min(start + 4 * row_bytes, end), 64):
        scalar.prefetch(address)


@jit_block
def scores(X, w, b, z, pf, pf_end, pf_count, far):
    """z[:m] = X @ w + b for the m rows of the block X (four rows at a time), prefetching
    ``pf_count`` lines from the cursor ``pf`` per four rows, and the lines of the stream
    ``far`` (:func:`far_window`); returns the cursor."""
    scalar.prefer_512_bit_vectors()
    m = X.shape[0]
    m4 = m - m % 4
    for i in range(0, m4, 4):
        _scores4(X, i, w, b, z)
        pf = prefetch_ahead(pf, pf_end, pf_count)
        prefetch_far(X, i, far)
    for i in range(m4, m):
        xi = X[i]
        acc = 0.0
        for j in range(w.shape[0]):
            acc += xi[j] * w[j]
        z[i] = acc + b
    return pf


@jit_block
def rank_update(X, r, g, pf, pf_end, pf_count):
    """g += r[:m] @ X for the m rows of the block X (four rows at a time), prefetching
    like :func:`scores`; returns the cursor."""
    scalar.prefer_512_bit_vectors()
    m = X.shape[0]
    m4 = m - m % 4
    for i in range(0, m4, 4):
        _update4(X, i, r, g)
        pf = prefetch_ahead(pf, pf_end, pf_count)
    for i in range(m4, m):
        xi = X[i]
        ri = r[i]
        for j in range(xi.shape[0]):
            g[j] += ri * xi[j]
    return pf


@jit_block
def _binary_pointwise(z, y, sw, weighted):
    """Loss and residual of each row of a block, in a loop that vectorises.

    With e = exp(-|z|): loss = y softplus(-z) + (1 - y) softplus(z), where
    softplus(+-z) = max(+-z, 0) + log1p(e), and residual = s(z) - y with s(z) = 1 / (1 + e)
    for z >= 0 and e / (1 + e) otherwise: one exp and one log1p per row, written with
    selects instead of branches and the vectorisable exp / log1p.
    z (m,) holds the scores on entry and the weighted residuals on exit; returns the
    block's weighted loss sum and residual sum.
    """
    scalar.prefer_512_bit_vectors()
    loss = 0.0
    grad_b = 0.0
    for i in range(z.shape[0]):
        zi = z[i]
        e = scalar.exp_nonpositive(-abs(zi))
        log1p_e = scalar.log1p_nonnegative(e)
        inv = 1.0 / (1.0 + e)
        positive = zi >= 0.0
        softplus_pos = zi + log1p_e if positive else log1p_e  # softplus(z)
        softplus_neg = log1p_e if positive else log1p_e - zi  # softplus(-z)
        s_pos = inv if positive else e * inv  # s(z)
        s_neg = e * inv if positive else inv  # s(-z)
        yi = y[i]
        li = yi * softplus_neg + (1.0 - yi) * softplus_pos
        ri = s_pos - yi
        # Hard labels: one term vanishes exactly; y = 1 uses -s(-z), not s(z) - 1.
        li = softplus_neg if yi == 1.0 else li
        ri = -s_neg if yi == 1.0 else ri
        li = softplus_pos if yi == 0.0 else li
        li = zi if zi != zi else li  # NaN propagates
        ri = zi if zi != zi else ri
        if weighted:
            li *= sw[i]
            ri *= sw[i]
        loss += li
        grad_b += ri
        z[i] = ri
    return loss, grad_b


# The binary links: the pointwise part is the only difference between the two kernels.
LOGIT = 0
PROBIT = 1


@jit_block
def _binary_chunk(link, X, y, sw, weighted, w, b, g, z):
    """Partial sums of the rows of X (a chunk): loss and grad_b returned, g += gradient."""
    n = X.shape[0]
    rows = z.shape[0]
    loss = 0.0
    grad_b = 0.0
    pf = 0
    far = far_window(X, rows)
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        Xb = X[lo:hi]
        zb = z[:hi - lo]
        # a third of the next block is prefetched during the scores, the rest during
        # the update (the scores already stream the current block)
        pf, pf_end, group_lines = next_block_window(X, hi, rows, pf)
        pf = scores(Xb, w, b, zb, pf, pf_end, group_lines // 3, far)
        swb = sw[lo:hi] if weighted else sw
        if link == LOGIT:
            l_b, gb_b = _binary_pointwise(zb, y[lo:hi], swb, weighted)
        else:
            l_b, gb_b = probit_pointwise(zb, y[lo:hi], swb, weighted)
        loss += l_b
        grad_b += gb_b
        pf = rank_update(Xb, zb, g, pf, pf_end, group_lines - group_lines // 3)
    return loss, grad_b


@jit_fused
def _binary_loss_grad(link, X, y, w, b, sample_weight, grad_w, n_threads):
    """The fused binary kernel of either link; rows split into ``n_threads`` chunks."""
    n, d = X.shape
    weighted = sample_weight.shape[0] > 0
    rows = block_rows(d, X.itemsize)
    sw_rows = row_weights(sample_weight, rows)
    chunk_grad = np.zeros((n_threads, padded(d)))
    chunk_loss = np.empty(n_threads)
    chunk_grad_b = np.empty(n_threads)
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        z = np.empty(rows)
        loss_c, grad_b_c = _binary_chunk(
            link, X[lo:hi], y[lo:hi], sw_rows[lo:hi] if weighted else sw_rows,
            weighted, w, b, chunk_grad[c], z,
        )
        chunk_loss[c] = loss_c
        chunk_grad_b[c] = grad_b_c
    return _reduce_binary(chunk_grad[:, :d], chunk_loss, chunk_grad_b, grad_w)


@jit
def logistic_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
    """The logit link's fused kernel (the contract is in :mod:`fastlogreg.backends`)."""
    return _binary_loss_grad(LOGIT, X, y, w, b, sample_weight, grad_w, n_threads)


@jit
def probit_loss_grad(X, y, w, b, sample_weight, grad_w, n_threads):
    """The probit link's fused kernel (the contract is in :mod:`fastlogreg.backends`)."""
    return _binary_loss_grad(PROBIT, X, y, w, b, sample_weight, grad_w, n_threads)


@jit
def _reduce_binary(chunk_grad, chunk_loss, chunk_grad_b, grad_w):
    """Add the chunk partials in chunk order (deterministic)."""
    grad_w[:] = 0.0
    loss = 0.0
    grad_b = 0.0
    for c in range(chunk_grad.shape[0]):
        for j in range(grad_w.shape[0]):
            grad_w[j] += chunk_grad[c, j]
        loss += chunk_loss[c]
        grad_b += chunk_grad_b[c]
    return loss, grad_b


# ----------------------------------------------------------------------------- multinomial
# Classes per register block. 4 rows x 5 classes = 20 accumulators (of 32 vector
# registers) share every load; measured against 4 x 4 blocks with a 4 x 1 tail, the
# scores of 1e6 x 100 float64, 10 classes went 102 -> 77 ns a row and the update
# 136 -> 102 (one thread, block in L1). Class counts are padded to a multiple of it.
CLASS_TILE = 5


@jit
def pad_classes(W, b):
    """``W`` (C, d) and ``b`` (C,) with zero rows appended up to a multiple of CLASS_TILE."""
    C, d = W.shape
    Cp = (C + CLASS_TILE - 1) // CLASS_TILE * CLASS_TILE
    Wp = np.zeros((Cp, d), W.dtype)
    bp = np.zeros(Cp, b.dtype)
    Wp[:C] = W
    bp[:C] = b
    return Wp, bp


@jit_register_block
def _class_scores4x5(X, i, W, k, Zt):
    """Zt[k:k+5, i:i+4] = W[k:k+5] @ X[i:i+4].T: 20 dot products sharing every load."""
    x0 = X[i]
    x1 = X[i + 1]
    x2 = X[i + 2]
    x3 = X[i + 3]
    w0 = W[k]
    w1 = W[k + 1]
    w2 = W[k + 2]
    w3 = W[k + 3]
    w4 = W[k + 4]
    a00 = 0.0
    a01 = 0.0
    a02 = 0.0
    a03 = 0.0
    a10 = 0.0
    a11 = 0.0
    a12 = 0.0
    a13 = 0.0
    a20 = 0.0
    a21 = 0.0
    a22 = 0.0
    a23 = 0.0
    a30 = 0.0
    a31 = 0.0
    a32 = 0.0
    a33 = 0.0
    a40 = 0.0
    a41 = 0.0
    a42 = 0.0
    a43 = 0.0
    for j in range(W.shape[1]):
        v0 = x0[j]
        v1 = x1[j]
        v2 = x2[j]
        v3 = x3[j]
        c = w0[j]
        a00 += v0 * c
        a01 += v1 * c
        a02 += v2 * c
        a03 += v3 * c
        c = w1[j]
        a10 += v0 * c
        a11 += v1 * c
        a12 += v2 * c
        a13 += v3 * c
        c = w2[j]
        a20 += v0 * c
        a21 += v1 * c
        a22 += v2 * c
        a23 += v3 * c
        c = w3[j]
        a30 += v0 * c
        a31 += v1 * c
        a32 += v2 * c
        a33 += v3 * c
        c = w4[j]
        a40 += v0 * c
        a41 += v1 * c
        a42 += v2 * c
        a43 += v3 * c
    Zt[k, i] = a00
    Zt[k, i + 1] = a01
    Zt[k, i + 2] = a02
    Zt[k, i + 3] = a03
    Zt[k + 1, i] = a10
    Zt[k + 1, i + 1] = a11
    Zt[k + 1, i + 2] = a12
    Zt[k + 1, i + 3] = a13
    Zt[k + 2, i] = a20
    Zt[k + 2, i + 1] = a21
    Zt[k + 2, i + 2] = a22
    Zt[k + 2, i + 3] = a23
    Zt[k + 3, i] = a30
    Zt[k + 3, i + 1] = a31
    Zt[k + 3, i + 2] = a32
    Zt[k + 3, i + 3] = a33
    Zt[k + 4, i] = a40
    Zt[k + 4, i + 1] = a41
    Zt[k + 4, i + 2] = a42
    Zt[k + 4, i + 3] = a43


@jit_block
def class_scores(X, W, b, Zt, pf, pf_end, pf_count):
    """Zt[:, :m] = W @ X.T + b[:, None] for the m rows of the block X (class-major).

    W has a multiple of CLASS_TILE rows (:func:`pad_classes`): register blocks of
    4 rows x CLASS_TILE classes, then single rows. Prefetches ``pf_count`` lines from
    the cursor ``pf`` per four rows (as :func:`scores`); returns the cursor.
    """
    scalar.prefer_512_bit_vectors()
    m = X.shape[0]
    C = W.shape[0]
    m4 = m - m % 4
    for i in range(0, m4, 4):
        for k in range(0, C, CLASS_TILE):
            _class_scores4x5(X, i, W, k, Zt)
        pf = prefetch_ahead(pf, pf_end, pf_count)
    for i in range(m4, m):
        xi = X[i]
        for k in range(C):
            wk = W[k]
            acc = 0.0
            for j in range(wk.shape[0]):
                acc += xi[j] * wk[j]
            Zt[k, i] = acc
    for k in range(C):
        bk = b[k]
        for i in range(m):
            Zt[k, i] += bk
    return pf


@jit_register_block
def _class_update4x5(X, i, Rt, k, G):
    """G[k:k+5] += Rt[k:k+5, i:i+4] @ X[i:i+4]."""
    x0 = X[i]
    x1 = X[i + 1]
    x2 = X[i + 2]
    x3 = X[i + 3]
    g0 = G[k]
    g1 = G[k + 1]
    g2 = G[k + 2]
    g3 = G[k + 3]
    g4 = G[k + 4]
    r00 = Rt[k, i]
    r01 = Rt[k, i + 1]
    r02 = Rt[k, i + 2]
    r03 = Rt[k, i + 3]
    r10 = Rt[k + 1, i]
    r11 = Rt[k + 1, i + 1]
    r12 = Rt[k + 1, i + 2]
    r13 = Rt[k + 1, i + 3]
    r20 = Rt[k + 2, i]
    r21 = Rt[k + 2, i + 1]
    r22 = Rt[k + 2, i + 2]
    r23 = Rt[k + 2, i + 3]
    r30 = Rt[k + 3, i]
    r31 = Rt[k + 3, i + 1]
    r32 = Rt[k + 3, i + 2]
    r33 = Rt[k + 3, i + 3]
    r40 = Rt[k + 4, i]
    r41 = Rt[k + 4, i + 1]
    r42 = Rt[k + 4, i + 2]
    r43 = Rt[k + 4, i + 3]
    for j in range(x0.shape[0]):
        v0 = x0[j]
        v1 = x1[j]
        v2 = x2[j]
        v3 = x3[j]
        g0[j] = g0[j] + r00 * v0 + r01 * v1 + r02 * v2 + r03 * v3
        g1[j] = g1[j] + r10 * v0 + r11 * v1 + r12 * v2 + r13 * v3
        g2[j] = g2[j] + r20 * v0 + r21 * v1 + r22 * v2 + r23 * v3
        g3[j] = g3[j] + r30 * v0 + r31 * v1 + r32 * v2 + r33 * v3
        g4[j] = g4[j] + r40 * v0 + r41 * v1 + r42 * v2 + r43 * v3


@jit_block
def class_update(X, Rt, G, gb, pf, pf_end, pf_count):
    """G += Rt[:, :m] @ X and gb += Rt[:, :m].sum(1) for the m rows of the block X.

    G and Rt have a multiple of CLASS_TILE rows (the padding rows of Rt are zero).
    Prefetches like :func:`class_scores`; returns the cursor."""
    scalar.prefer_512_bit_vectors()
    m = X.shape[0]
    C = G.shape[0]
    m4 = m - m % 4
    for i in range(0, m4, 4):
        for k in range(0, C, CLASS_TILE):
            _class_update4x5(X, i, Rt, k, G)
        pf = prefetch_ahead(pf, pf_end, pf_count)
    for i in range(m4, m):
        xi = X[i]
        for k in range(C):
            gk = G[k]
            r = Rt[k, i]
            for j in range(xi.shape[0]):
                gk[j] += r * xi[j]
    for k in range(C):
        acc = 0.0
        for i in range(m):
            acc += Rt[k, i]
        gb[k] += acc
    return pf


@jit_block
def shifted_exp(Zt, n, m, s, argmax, Et):
    """Per row (column of Zt): m := max, first argmax, Zt := z - max (the infinite-max
    rule of :func:`.scalar.shift`; m := 0 in such a row), Et := exp(z - max),
    s := sum of Et over the non-argmax classes. Vectorised over the rows of the block."""
    scalar.prefer_512_bit_vectors()
    C = Zt.shape[0]
    for i in range(n):
        m[i] = Zt[0, i]
        argmax[i] = 0
        s[i] = 0.0
    for k in range(1, C):
        zk = Zt[k]
        for i in range(n):
            bigger = zk[i] > m[i]
            m[i] = zk[i] if bigger else m[i]
            argmax[i] = k if bigger else argmax[i]
    for i in range(n):
        mi = m[i]
        if abs(mi) == math.inf:
            # A row with an infinite max gets its shifted values up front and a max of
            # 0, so the loop below stays free of the selects of this rare case.
            for k in range(C):
                v = Zt[k, i]
                Zt[k, i] = 0.0 if v == mi else (-math.inf if v == v else v)
            m[i] = 0.0
    for k in range(C):
        zk = Zt[k]
        ek = Et[k]
        for i in range(n):
            dv = zk[i] - m[i]
            e = scalar.exp_nonpositive(dv)
            zk[i] = dv
            ek[i] = e
            # The argmax adds e - 1: exactly 0 (its dv is 0), unless the row holds a NaN,
            # which must reach s also in a row of one class (no other term).
            s[i] += e - 1.0 if argmax[i] == k else e


@jit_block
def _softmax_pointwise(Dt, Et, n, row_buffers, targets, weights):
    """Loss and residuals of a block (vectorised over rows). Dt holds z - max, Et exp of
    it; ``row_buffers`` is ``(m, s, argmax, lse, inv)``, each (>= n,), with s the
    non-argmax sum (:func:`shifted_exp`) and ``m`` reused as scratch. ``targets`` and
    ``weights`` are the block's (:func:`target_rows`, :func:`weight_rows`). On exit Et
    holds the weighted residuals. Returns the weighted loss sum."""
    scalar.prefer_512_bit_vectors()
    m, s, argmax, lse, inv = row_buffers
    labels, Y, use_labels = targets
    sw, weighted = weights
    C = Dt.shape[0]
    loss = 0.0
    for i in range(n):
        lse[i] = scalar.log1p_nonnegative(s[i])
        inv[i] = 1.0 / (1.0 + s[i])
    if use_labels:
        dl = m
        for i in range(n):
            dl[i] = 0.0
        for k in range(C):
            dk = Dt[k]
            for i in range(n):
                dl[i] += dk[i] if labels[i] == k else 0.0
        for i in range(n):
            wi = sw[i] if weighted else 1.0
            loss += wi * (lse[i] - dl[i])
        for k in range(C):
            ek = Et[k]
            for i in range(n):
                wi = sw[i] if weighted else 1.0
                wv = wi * inv[i]
                r = ek[i] * wv
                # p_y - 1 = -s / (1 + s) when y is the argmax: no cancellation.
                r_label = -(s[i] * wv) if argmax[i] == k else r - wi
                ek[i] = r_label if labels[i] == k else r
    else:
        for i in range(n):
            wi = sw[i] if weighted else 1.0
            loss_i = 0.0
            for k in range(C):
                yk = Y[i, k]
                loss_i += yk * (lse[i] - Dt[k, i]) if yk > 0.0 else 0.0
                Et[k, i] = wi * (Et[k, i] * inv[i] - yk)
            loss += wi * loss_i
    return loss


@jit_block
def _softmax_chunk(X, targets, weights, C, W, b, G, gb, buffers):
    """Partial sums of the rows of X (a chunk), block by block: returns the weighted loss
    sum, adds the gradient to G (Cp, >= d) and gb. ``targets`` and ``weights`` are the
    chunk's (:func:`target_rows`, :func:`weight_rows`); ``buffers`` is
    ``(Zt, Et, m, s, argmax, lse, inv)``, Zt and Et (Cp, rows), the others (rows,).
    W, b, G and the (Cp, rows) buffers are padded from the C classes to Cp
    (:func:`pad_classes`; Et's padding rows are zero); the buffers are used whole
    (C-contiguous, so the loops over a block's rows vectorise)."""
    Zt, Et, m, s, argmax, lse, inv = buffers
    n = X.shape[0]
    rows = m.shape[0]
    loss = 0.0
    pf = 0
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        nb = hi - lo
        Xb = X[lo:hi]
        # the next block is prefetched, half during the scores, half during the update
        pf, pf_end, group_lines = next_block_window(X, hi, rows, pf)
        pf = class_scores(Xb, W, b, Zt, pf, pf_end, group_lines // 2)
        shifted_exp(Zt[:C], nb, m, s, argmax, Et[:C])
        loss += _softmax_pointwise(
            Zt[:C], Et[:C], nb, (m, s, argmax, lse, inv),
            target_rows(targets, lo, hi), weight_rows(weights, lo, hi),
        )
        pf = class_update(Xb, Et, G, gb, pf, pf_end, group_lines - group_lines // 2)
    return loss


@jit_fused
def softmax_loss_grad(X, labels, Y, W, b, sample_weight, grad_W, grad_b, n_threads):
    n, d = X.shape
    C = W.shape[0]
    weighted = sample_weight.shape[0] > 0
    use_labels = labels.shape[0] > 0
    rows = block_rows(d, X.itemsize)
    sw_rows = row_weights(sample_weight, rows)
    Wp, bp = pad_classes(W, b)
    Cp = Wp.shape[0]
    chunk_grad_W = np.zeros((n_threads, Cp, padded(d)))
    chunk_grad_b = np.zeros((n_threads, padded(Cp)))
    chunk_loss = np.empty(n_threads)
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        Zt = np.empty((Cp, rows))
        Et = np.zeros((Cp, rows))
        m = np.empty(rows)
        s = np.empty(rows)
        argmax = np.empty(rows, dtype=np.int64)
        lse = np.empty(rows)
        inv = np.empty(rows)
        chunk_loss[c] = _softmax_chunk(
            X[lo:hi], target_rows((labels, Y, use_labels), lo, hi),
            weight_rows((sw_rows, weighted), lo, hi), C, Wp, bp,
            chunk_grad_W[c], chunk_grad_b[c], (Zt, Et, m, s, argmax, lse, inv),
        )
    grad_W[:] = 0.0
    grad_b[:] = 0.0
    loss = 0.0
    for c in range(n_threads):
        for k in range(C):
            for j in range(d):
                grad_W[k, j] += chunk_grad_W[c, k, j]
            grad_b[k] += chunk_grad_b[c, k]
        loss += chunk_loss[c]
    return loss
