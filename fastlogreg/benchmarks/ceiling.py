"""The memory-bandwidth ceiling: a read-only parallel pass over X.

A kernel that must read ``X`` once can not be faster than a pass that does nothing but
read ``X`` once on the same threads. :func:`read_pass` is that pass: a vectorised
parallel sum over ``n_threads`` static contiguous chunks (the split of the fused
kernels). Reassociation is allowed so LLVM keeps several independent vector
accumulators in flight; each chunk is a view whose loop starts at index 0, so no
negative-index wraparound check stops the vectoriser. The sum is returned so the
reads can not be optimised away.

For a CSR matrix a fused kernel must read the stored values and their column indices
once (``indptr`` is n + 1 integers against nnz entries, and the gathers of ``w`` and
scatters into the gradient are the kernel's own cost): :func:`read_pass_csr` is the
read-only pass over ``data`` and ``indices``, over ``n_threads`` static contiguous chunks
of entries, each chunk summing its values and then its indices (two vectorised loops).

``fastlogreg bench`` times it interleaved with the kernels and also reports NumPy's
single-threaded ``X.sum()`` next to it, as a check that the ceiling really is one.
"""

import numpy as np

_kernels = {}


def _build():
    import numba
    from numba import prange

    opts = dict(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})

    @numba.njit(**opts)
    def chunk_sum(x):
        acc = x.dtype.type(0)
        for k in range(x.shape[0]):
            acc += x[k]
        return acc

    @numba.njit(parallel=True, **opts)
    def flat_sum(x, n_threads):
        n = x.shape[0]
        partial = np.zeros(n_threads)
        for c in prange(n_threads):
            partial[c] = chunk_sum(x[n * c // n_threads:n * (c + 1) // n_threads])
        total = 0.0
        for c in range(n_threads):
            total += partial[c]
        return total

    @numba.njit(parallel=True, **opts)
    def rows_sum(X, n_threads):
        n = X.shape[0]
        partial = np.zeros(n_threads)
        for c in prange(n_threads):
            acc = 0.0
            for i in range(n * c // n_threads, n * (c + 1) // n_threads):
                acc += chunk_sum(X[i])
            partial[c] = acc
        total = 0.0
        for c in range(n_threads):
            total += partial[c]
        return total

    @numba.njit(**opts)
    def index_sum(idx):
        acc = 0
        for k in range(idx.shape[0]):
            acc += idx[k]
        return acc

    @numba.njit(parallel=True, **opts)
    def csr_sum(data, indices, n_threads):
        n = data.shape[0]
        partial = np.zeros(n_threads)
        counts = np.zeros(n_threads, dtype=np.int64)
        for c in prange(n_threads):
            lo, hi = n * c // n_threads, n * (c + 1) // n_threads
            partial[c] = chunk_sum(data[lo:hi])
            counts[c] = index_sum(indices[lo:hi])
        total = 0.0
        index_total = 0
        for c in range(n_threads):
            total += partial[c]
            index_total += counts[c]
        return total, index_total

    _kernels["flat"] = flat_sum
    _kernels["rows"] = rows_sum
    _kernels["csr"] = csr_sum


def read_pass(X, n_threads):
    """Read every element of ``X`` once on ``n_threads`` threads; return their sum.

    Parameters
    ----------
    X : ndarray, float32 or float64, 1-D or 2-D (C-contiguous is the fast path;
        other layouts are walked row by row)
    n_threads : int >= 1

    Returns
    -------
    float
        The sum of ``X`` (per-chunk partial sums in the data dtype, added in float64).
    """
    import numba

    if not _kernels:
        _build()
    n_threads = int(n_threads)
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    if X.flags.c_contiguous:
        return _kernels["flat"](X.reshape(-1), n_threads)
    X2 = X if X.ndim == 2 else X.reshape(1, -1)
    return _kernels["rows"](X2, n_threads)


def read_pass_csr(data, indices, n_threads):
    """Read every stored value and column index of a CSR matrix once on ``n_threads``
    threads (static contiguous chunks of entries).

    Parameters
    ----------
    data : 1-D contiguous float32 or float64 ndarray
    indices : 1-D contiguous int32 or int64 ndarray of the same length
    n_threads : int >= 1

    Returns
    -------
    (float, int)
        The sum of ``data`` (as :func:`read_pass`) and the sum of ``indices``.
    """
    import numba

    if not _kernels:
        _build()
    n_threads = int(n_threads)
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    return _kernels["csr"](data, indices, n_threads)
