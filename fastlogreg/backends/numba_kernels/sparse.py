"""CSR twins of the fused and Hessian-vector kernels (``<kernel>_csr``).

X comes as ``data`` (float32 or float64), ``indices`` and ``indptr`` (both int32 or both
int64); see "CSR kernels" in :mod:`fastlogreg.backends`. Rows are split into
``n_threads`` static contiguous chunks (``prange`` over chunk indices), each with its own
float64 gradient buffer, added in chunk order at the end, as in :mod:`.fused`. A chunk
walks its rows in blocks of :func:`csr_block_rows` rows: the scores of the block are
gathered (``x_i . w`` over the row's entries), the pointwise part runs vectorised over the
block with the dense kernels' own functions (:func:`.fused._binary_pointwise`,
:func:`.probit.probit_pointwise`, :func:`.fused.shifted_exp`,
:func:`.fused._softmax_pointwise`, :func:`.hessp.logistic_hessp_pointwise`,
:func:`.hessp.softmax_hessp_pointwise`), and the residuals times the entries are
scattered into the chunk's gradient. The block's entries (about 24 KiB) are read from
memory once, for the gather, and again from cache for the scatter. The binary kernels
keep each chunk's copy of w (and v) interleaved with its gradient (:func:`_chunk_tables`),
so that an entry's gathers and scatter share a cache line, and their gathers prefetch the
lines of the entries ``PREFETCH_ENTRIES`` ahead, as the C kernels do. The softmax kernels
prefetch, while a row is gathered or scattered, the lines of the transposed weights (or
the gradient) that the next row's entries touch (:func:`_prefetch_next_row`).

The gathers and scatters are compiled without fastmath flags: each row's dot product
is summed in a fixed order (four interleaved partial sums, added pairwise, then the
tail), so the results do not depend on how LLVM vectorises a loop for one index dtype
or the other: int32 and int64 indices give bit-identical results. Repeated column
indices within a row simply add, in their order in the row.

Softmax: W is transposed per call to ``(d, C)`` (``W`` and ``V`` side by side,
``(d, 2C)``, for the Hessian-vector product), so that an entry's gather and scatter
touch C contiguous float64; the gradient is accumulated as ``(d, C)`` per chunk and
transposed into ``grad_W`` (C, d) by the chunk-order reduction.
"""

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit, jit_fused, jit_gather
from .fused import (
    LOGIT,
    PROBIT,
    _binary_pointwise,
    _reduce_binary,
    _softmax_pointwise,
    padded,
    row_weights,
    shifted_exp,
    target_rows,
    weight_rows,
)
from .hessp import logistic_hessp_pointwise, softmax_hessp_pointwise
from .probit import probit_pointwise

# A block's entries: about this many bytes of data + indices, as for the dense blocks.
_BLOCK_BYTES = 24 * 1024
# Entries ahead whose lines the binary gathers prefetch (:func:`_row_dot`).
PREFETCH_ENTRIES = 64
# Bytes counted per entry whatever the dtypes (float64 data and int32 indices): the
# block size, hence the summation order of the vectorised pointwise loops, must not
# depend on the index dtype.
_ENTRY_BYTES = 12


@jit
def csr_block_rows(indptr):
    """Rows per block: about _BLOCK_BYTES of entries at the matrix's mean row length,
    a multiple of 16 between 16 and 512 (the pointwise loops run 16 rows at a time)."""
    n = indptr.shape[0] - 1
    nnz = np.int64(indptr[n]) - np.int64(indptr[0])
    per_row = max(np.int64(1), nnz // max(n, 1))
    rows = (_BLOCK_BYTES // (per_row * _ENTRY_BYTES) + 8) // 16 * 16
    return max(16, min(512, rows))


@jit_gather
def _prefetch_ahead(indices, p, base, stride):
    """Prefetch, to be written, the table lines (``base + stride * column``) of entries
    p + PREFETCH_ENTRIES to p + PREFETCH_ENTRIES + 3, those that exist."""
    if p + PREFETCH_ENTRIES + 4 <= indices.shape[0]:
        for q in range(p + PREFETCH_ENTRIES, p + PREFETCH_ENTRIES + 4):
            scalar.prefetch_write(base + np.intp(indices[q]) * stride)


@jit_gather
def _row_dot(data, indices, start, end, w):
    """sum_p data[p] w[indices[p]] over ``[start, end)``: four interleaved partial sums
    (independent gathers in flight), added as (a0 + a1) + (a2 + a3), then the tail.

    Each entry p also prefetches, to be written, the line of w that entry
    p + PREFETCH_ENTRIES gathers from (w interleaved with the gradient: the scatter then
    finds the line in L1). The indices, validated non-negative, index as unsigned: a
    signed index costs a wraparound test per gather."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    base = w.ctypes.data
    stride = w.strides[0]
    p = start
    while p + 4 <= end:
        _prefetch_ahead(indices, p, base, stride)
        a0 += np.float64(data[p]) * w[np.uint64(indices[p])]
        a1 += np.float64(data[p + 1]) * w[np.uint64(indices[p + 1])]
        a2 += np.float64(data[p + 2]) * w[np.uint64(indices[p + 2])]
        a3 += np.float64(data[p + 3]) * w[np.uint64(indices[p + 3])]
        p += 4
    acc = (a0 + a1) + (a2 + a3)
    while p < end:
        acc += np.float64(data[p]) * w[np.uint64(indices[p])]
        p += 1
    return acc


@jit_gather
def _row_dot_pair(data, indices, start, end, w, v):
    """``(x . w, x . v)`` over ``[start, end)`` in one sweep, each summed as
    :func:`_row_dot` sums it, with w and v columns of one table (the same stride): an
    entry's two gathers read one line, prefetched as there."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    c0 = 0.0
    c1 = 0.0
    c2 = 0.0
    c3 = 0.0
    base = w.ctypes.data
    stride = w.strides[0]
    p = start
    while p + 4 <= end:
        _prefetch_ahead(indices, p, base, stride)
        x0 = np.float64(data[p])
        x1 = np.float64(data[p + 1])
        x2 = np.float64(data[p + 2])
        x3 = np.float64(data[p + 3])
        j0 = np.uint64(indices[p])
        j1 = np.uint64(indices[p + 1])
        j2 = np.uint64(indices[p + 2])
        j3 = np.uint64(indices[p + 3])
        a0 += x0 * w[j0]
        a1 += x1 * w[j1]
        a2 += x2 * w[j2]
        a3 += x3 * w[j3]
        c0 += x0 * v[j0]
        c1 += x1 * v[j1]
        c2 += x2 * v[j2]
        c3 += x3 * v[j3]
        p += 4
    xw = (a0 + a1) + (a2 + a3)
    xv = (c0 + c1) + (c2 + c3)
    while p < end:
        x = np.float64(data[p])
        j = np.uint64(indices[p])
        xw += x * w[j]
        xv += x * v[j]
        p += 1
    return xw, xv


@jit_gather
def _prefetch_next_row(indices, ptr, i, base, row_bytes):
    """Prefetch the lines of ``base`` (a (d, row_bytes) table) that row i + 1 of the block
    will gather from or scatter to (first and last byte of each entry's table row): the
    softmax kernels' transposed weights and gradient are too large for L2 at d ~ 1e5, and
    their random lines are otherwise fetched one or two at a time."""
    if i + 2 < ptr.shape[0]:
        last = row_bytes - 1
        for p in range(np.int64(ptr[i + 1]), np.int64(ptr[i + 2])):
            address = base + np.intp(indices[p]) * row_bytes
            scalar.prefetch(address)
            if last >= 8:
                scalar.prefetch(address + last)


@jit
def csr_scores(X, w, b, z):
    """z[i] = x_i . w + b for the rows of the block ``X = (data, indices, ptr)``, w the
    first column of a chunk's table [w, gradient] (:func:`_binary_loss_grad_csr`), whose
    lines the gathers prefetch PREFETCH_ENTRIES entries ahead."""
    data, indices, ptr = X
    for i in range(ptr.shape[0] - 1):
        z[i] = _row_dot(data, indices, np.int64(ptr[i]), np.int64(ptr[i + 1]), w) + b


@jit
def csr_score_pairs(X, w, b, z, v, v_b, u):
    """z = X w + b and u = X v + v_b for the rows of the block X, in one sweep, with w
    and v columns of a chunk's table [w, v, Hv, pad] (:func:`_logistic_hessp_csr`)."""
    data, indices, ptr = X
    for i in range(ptr.shape[0] - 1):
        xw, xv = _row_dot_pair(data, indices, np.int64(ptr[i]), np.int64(ptr[i + 1]), w, v)
        z[i] = xw + b
        u[i] = xv + v_b


@jit
def csr_rank_update(X, r, g):
    """g += X^T r[:m] for the m rows of the block X (entries scattered in row order);
    g is a column of a chunk's table, whose lines the gathers just prefetched."""
    data, indices, ptr = X
    for i in range(ptr.shape[0] - 1):
        ri = r[i]
        for p in range(np.int64(ptr[i]), np.int64(ptr[i + 1])):
            g[np.uint64(indices[p])] += ri * np.float64(data[p])


@jit
def csr_class_scores(X, Wt, b, Zt, acc):
    """Zt[k, i] = x_i . Wt[:, k] + b[k] for the rows i of the block X and k < K, with
    Wt (d, K) (a weight matrix transposed), b (K,), Zt (K, >= m) and acc (K,) scratch.
    Each class sums the row's entries in row order."""
    data, indices, ptr = X
    K = Wt.shape[1]
    base = Wt.ctypes.data
    for i in range(ptr.shape[0] - 1):
        _prefetch_next_row(indices, ptr, i, base, 8 * K)
        for k in range(K):
            acc[k] = 0.0
        for p in range(np.int64(ptr[i]), np.int64(ptr[i + 1])):
            x = np.float64(data[p])
            wj = Wt[np.uint64(indices[p])]
            for k in range(K):
                acc[k] += x * wj[k]
        for k in range(K):
            Zt[k, i] = acc[k] + b[k]


@jit
def csr_class_update(X, Rt, Gt, gb, r):
    """Gt += X^T R and gb += R.sum(0) for the m rows of the block X, with Rt (C, >= m)
    the residuals class-major, Gt (>= d, C) the gradient transposed, r (C,) scratch."""
    data, indices, ptr = X
    C = Rt.shape[0]
    m = ptr.shape[0] - 1
    base = Gt.ctypes.data
    row_bytes = 8 * Gt.shape[1]
    for i in range(m):
        _prefetch_next_row(indices, ptr, i, base, row_bytes)
        for k in range(C):
            r[k] = Rt[k, i]
        for p in range(np.int64(ptr[i]), np.int64(ptr[i + 1])):
            x = np.float64(data[p])
            gj = Gt[np.uint64(indices[p])]
            for k in range(C):
                gj[k] += r[k] * x
    for k in range(C):
        acc = 0.0
        for i in range(m):
            acc += Rt[k, i]
        gb[k] += acc


@jit
def _chunk_tables(n_threads, d, width):
    """``(tables, first)``: per chunk c, ``width`` interleaved vectors of length d, the
    t-th at ``tables[c, first + t:first + width * d:width]``. Each column (``width``
    doubles, ``width`` 2 or 4) starts on a ``8 * width``-byte boundary, so none straddles
    two cache lines; chunks are at least 64 bytes apart."""
    tables = np.empty((n_threads, padded(width * d) + width))
    return tables, (-tables.ctypes.data) % (8 * width) // 8


@jit_gather
def _block(X, lo, hi):
    """Rows ``[lo, hi)`` of the CSR matrix X = (data, indices, indptr): the same data and
    indices with a slice of indptr."""
    data, indices, indptr = X
    return data, indices, indptr[lo:hi + 1]


@jit
def transposed(W, V):
    """``(d, C)`` W.T, or with V (C, d) too, ``(d, 2C)`` [W.T, V.T] side by side."""
    C, d = W.shape
    K = C + V.shape[0]
    Wt = np.empty((d, K))
    for j in range(d):
        for k in range(C):
            Wt[j, k] = W[k, j]
        for k in range(C, K):
            Wt[j, k] = V[k - C, j]
    return Wt


@jit
def _reduce_classes(chunk_Gt, chunk_gb, grad_W, grad_b):
    """grad_W (C, d) = sum over chunks of chunk_Gt[c, :d] (d, C) transposed, grad_b likewise,
    in chunk order."""
    C, d = grad_W.shape
    grad_W[:] = 0.0
    grad_b[:] = 0.0
    for c in range(chunk_Gt.shape[0]):
        G = chunk_Gt[c]
        for j in range(d):
            for k in range(C):
                grad_W[k, j] += G[j, k]
        for k in range(C):
            grad_b[k] += chunk_gb[c, k]


# ----------------------------------------------------------------------------- binary
@jit
def _binary_chunk_csr(link, X, y, weights, w, b, g, z):
    """Partial sums of the rows of the chunk X (data, indices, ptr): returns the loss and
    grad_b sums, adds the gradient to g. ``weights`` is the chunk's (:func:`.fused.weight_rows`)."""
    sw, weighted = weights
    n = X[2].shape[0] - 1
    rows = z.shape[0]
    loss = 0.0
    grad_b = 0.0
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        Xb = _block(X, lo, hi)
        zb = z[:hi - lo]
        csr_scores(Xb, w, b, zb)
        swb = sw[lo:hi] if weighted else sw
        if link == LOGIT:
            l_b, gb_b = _binary_pointwise(zb, y[lo:hi], swb, weighted)
        else:
            l_b, gb_b = probit_pointwise(zb, y[lo:hi], swb, weighted)
        loss += l_b
        grad_b += gb_b
        csr_rank_update(Xb, zb, g)
    return loss, grad_b


@jit_fused
def _binary_loss_grad_csr(link, X, y, w, b, sample_weight, grad_w, n_threads):
    """The fused binary CSR kernel of either link; rows split into ``n_threads`` chunks.

    Each chunk gathers from its own copy of w interleaved with its gradient, a (d, 2)
    table: an entry's gather and scatter touch one cache line, which the gather prefetches
    PREFETCH_ENTRIES entries ahead (:func:`_row_dot`)."""
    n = X[2].shape[0] - 1
    d = w.shape[0]
    weighted = sample_weight.shape[0] > 0
    rows = csr_block_rows(X[2])
    sw_rows = row_weights(sample_weight, rows)
    tables, first = _chunk_tables(n_threads, d, 2)
    last = first + 2 * d
    chunk_loss = np.empty(n_threads)
    chunk_grad_b = np.empty(n_threads)
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        z = np.empty(rows)
        w_c = tables[c, first:last:2]
        g_c = tables[c, first + 1:last:2]
        w_c[:] = w
        g_c[:] = 0.0
        loss_c, grad_b_c = _binary_chunk_csr(
            link, _block(X, lo, hi), y[lo:hi], weight_rows((sw_rows, weighted), lo, hi),
            w_c, b, g_c, z,
        )
        chunk_loss[c] = loss_c
        chunk_grad_b[c] = grad_b_c
    return _reduce_binary(tables[:, first + 1:last:2], chunk_loss, chunk_grad_b, grad_w)


@jit
def logistic_loss_grad_csr(data, indices, indptr, y, w, b, sample_weight, grad_w, n_threads):
    """The logit link's fused CSR kernel (the contract is in :mod:`fastlogreg.backends`)."""
    return _binary_loss_grad_csr(LOGIT, (data, indices, indptr), y, w, b, sample_weight, grad_w,
                                 n_threads)


@jit
def probit_loss_grad_csr(data, indices, indptr, y, w, b, sample_weight, grad_w, n_threads):
    """The probit link's fused CSR kernel (the contract is in :mod:`fastlogreg.backends`)."""
    return _binary_loss_grad_csr(PROBIT, (data, indices, indptr), y, w, b, sample_weight, grad_w,
                                 n_threads)


@jit
def _logistic_hessp_chunk_csr(X, w, b, weights, v, v_b, hv, z, u):
    sw, weighted = weights
    n = X[2].shape[0] - 1
    rows = z.shape[0]
    hv_b = 0.0
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        Xb = _block(X, lo, hi)
        zb = z[:hi - lo]
        ub = u[:hi - lo]
        csr_score_pairs(Xb, w, b, zb, v, v_b, ub)
        hv_b = logistic_hessp_pointwise(zb, ub, sw[lo:hi] if weighted else sw, weighted, hv_b)
        csr_rank_update(Xb, ub, hv)
    return hv_b


@jit_fused
def _logistic_hessp_csr(X, w, b, sample_weight, v, v_b, hv, n_threads):
    n = X[2].shape[0] - 1
    d = w.shape[0]
    weighted = sample_weight.shape[0] > 0
    rows = csr_block_rows(X[2])
    sw_rows = row_weights(sample_weight, rows)
    tables, first = _chunk_tables(n_threads, d, 4)  # [w, v, Hv, pad] per column
    last = first + 4 * d
    chunk_hv_b = np.empty(n_threads)
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        z = np.empty(rows)
        u = np.empty(rows)
        table = tables[c]
        table[first:last:4] = w
        table[first + 1:last:4] = v
        table[first + 2:last:4] = 0.0
        chunk_hv_b[c] = _logistic_hessp_chunk_csr(
            _block(X, lo, hi), table[first:last:4], b, weight_rows((sw_rows, weighted), lo, hi),
            table[first + 1:last:4], v_b, table[first + 2:last:4], z, u,
        )
    hv[:] = 0.0
    hv_b = 0.0
    for c in range(n_threads):
        hv_c = tables[c, first + 2:last:4]
        for j in range(d):
            hv[j] += hv_c[j]
        hv_b += chunk_hv_b[c]
    return hv_b


@jit
def logistic_hessp_csr(data, indices, indptr, w, b, sample_weight, v, v_b, hv, n_threads):
    """The logistic Hessian-vector product on CSR X (the contract is in
    :mod:`fastlogreg.backends`)."""
    return _logistic_hessp_csr((data, indices, indptr), w, b, sample_weight, v, v_b, hv, n_threads)


# ----------------------------------------------------------------------------- multinomial
@jit
def _softmax_chunk_csr(X, targets, weights, Wt, b, Gt, gb, buffers):
    """Partial sums of the rows of the chunk X, block by block: returns the weighted loss
    sum, adds the gradient to Gt (>= d, C) and gb. ``buffers`` is
    ``(Zt, Et, m, s, argmax, lse, inv, acc)``: Zt and Et (C, rows), acc (C,), the others
    (rows,)."""
    Zt, Et, m, s, argmax, lse, inv, acc = buffers
    n = X[2].shape[0] - 1
    rows = m.shape[0]
    loss = 0.0
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        nb = hi - lo
        Xb = _block(X, lo, hi)
        csr_class_scores(Xb, Wt, b, Zt, acc)
        shifted_exp(Zt, nb, m, s, argmax, Et)
        loss += _softmax_pointwise(
            Zt, Et, nb, (m, s, argmax, lse, inv),
            target_rows(targets, lo, hi), weight_rows(weights, lo, hi),
        )
        csr_class_update(Xb, Et, Gt, gb, acc)
    return loss


@jit_fused
def _softmax_loss_grad_csr(X, targets, W, b, sample_weight, grad_W, grad_b, n_threads):
    n = X[2].shape[0] - 1
    C, d = W.shape
    weighted = sample_weight.shape[0] > 0
    rows = csr_block_rows(X[2])
    sw_rows = row_weights(sample_weight, rows)
    Wt = transposed(W, W[:0])
    # (d + 8) rows of C: at least 64 bytes between the chunks' buffers
    chunk_Gt = np.zeros((n_threads, d + 8, C))
    chunk_gb = np.zeros((n_threads, padded(C)))
    chunk_loss = np.empty(n_threads)
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        Zt = np.empty((C, rows))
        Et = np.empty((C, rows))
        m = np.empty(rows)
        s = np.empty(rows)
        argmax = np.empty(rows, dtype=np.int64)
        lse = np.empty(rows)
        inv = np.empty(rows)
        acc = np.empty(C)
        chunk_loss[c] = _softmax_chunk_csr(
            _block(X, lo, hi), target_rows(targets, lo, hi),
            weight_rows((sw_rows, weighted), lo, hi), Wt, b, chunk_Gt[c], chunk_gb[c],
            (Zt, Et, m, s, argmax, lse, inv, acc),
        )
    _reduce_classes(chunk_Gt, chunk_gb, grad_W, grad_b)
    loss = 0.0
    for c in range(n_threads):
        loss += chunk_loss[c]
    return loss


@jit
def softmax_loss_grad_csr(data, indices, indptr, labels, Y, W, b, sample_weight, grad_W, grad_b,
                          n_threads):
    """The multinomial fused CSR kernel (the contract is in :mod:`fastlogreg.backends`)."""
    return _softmax_loss_grad_csr(
        (data, indices, indptr), (labels, Y, labels.shape[0] > 0), W, b, sample_weight,
        grad_W, grad_b, n_threads,
    )


@jit
def _softmax_hessp_chunk_csr(X, C, WVt, bv, weights, Gt, gb, buffers):
    """The chunk's part of the softmax Hessian-vector product, block by block, into Gt
    (>= d, C) and gb. WVt (d, 2C) is [W.T, V.T] and bv (2C,) [b, v_b]; ``buffers`` is
    ``(ZU, Et, m, s, argmax, pu, acc)``: ZU (2C, rows) the scores over U = X V^T + v_b,
    Et (C, rows), acc (2C,), the others (rows,)."""
    sw, weighted = weights
    ZU, Et, m, s, argmax, pu, acc = buffers
    n = X[2].shape[0] - 1
    rows = m.shape[0]
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        nb = hi - lo
        Xb = _block(X, lo, hi)
        csr_class_scores(Xb, WVt, bv, ZU, acc)
        shifted_exp(ZU[:C], nb, m, s, argmax, Et)
        softmax_hessp_pointwise(Et, ZU[C:], nb, (m, s, pu), (sw[lo:hi] if weighted else sw, weighted))
        csr_class_update(Xb, Et, Gt, gb, acc)


@jit_fused
def _softmax_hessp_csr(X, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    n = X[2].shape[0] - 1
    C, d = W.shape
    weighted = sample_weight.shape[0] > 0
    rows = csr_block_rows(X[2])
    sw_rows = row_weights(sample_weight, rows)
    WVt = transposed(W, V)
    bv = np.concatenate((b, v_b))
    chunk_Gt = np.zeros((n_threads, d + 8, C))
    chunk_gb = np.zeros((n_threads, padded(C)))
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        ZU = np.empty((2 * C, rows))
        Et = np.empty((C, rows))
        m = np.empty(rows)
        s = np.empty(rows)
        argmax = np.empty(rows, dtype=np.int64)
        pu = np.empty(rows)
        acc = np.empty(2 * C)
        _softmax_hessp_chunk_csr(
            _block(X, lo, hi), C, WVt, bv, weight_rows((sw_rows, weighted), lo, hi),
            chunk_Gt[c], chunk_gb[c], (ZU, Et, m, s, argmax, pu, acc),
        )
    _reduce_classes(chunk_Gt, chunk_gb, hv, hv_b)


@jit
def softmax_hessp_csr(data, indices, indptr, W, b, sample_weight, V, v_b, hv, hv_b, n_threads):
    """The softmax Hessian-vector product on CSR X (the contract is in
    :mod:`fastlogreg.backends`)."""
    _softmax_hessp_csr((data, indices, indptr), W, b, sample_weight, V, v_b, hv, hv_b, n_threads)
