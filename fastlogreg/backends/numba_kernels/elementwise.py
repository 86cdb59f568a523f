"""Elementwise Numba kernels on 2-D views (any strides), parallel over flat chunks."""

import numpy as np
from numba import prange

from . import scalar
from ._jit import jit_parallel


@jit_parallel
def sigmoid(x, scale, out, n_threads):
    rows, cols = x.shape
    total = rows * cols
    for c in prange(n_threads):
        # Static chunks of the flat index, walked row segment by row segment so the
        # inner loop is a plain unit-stride loop on C-ordered views.
        k = (total * c) // n_threads
        stop = (total * (c + 1)) // n_threads
        while k < stop:
            i = k // cols
            j0 = k - i * cols
            j1 = min(cols, j0 + stop - k)
            for j in range(j0, j1):
                out[i, j] = scalar.sigmoid(scale * np.float64(x[i, j]))
            k += j1 - j0


@jit_parallel
def log_sigmoid(x, out, n_threads):
    rows, cols = x.shape
    total = rows * cols
    for c in prange(n_threads):
        k = (total * c) // n_threads
        stop = (total * (c + 1)) // n_threads
        while k < stop:
            i = k // cols
            j0 = k - i * cols
            j1 = min(cols, j0 + stop - k)
            for j in range(j0, j1):
                out[i, j] = scalar.log_sigmoid(np.float64(x[i, j]))
            k += j1 - j0


@jit_parallel
def binary_cross_entropy(z, y, out, n_threads):
    for i in prange(z.shape[0]):
        out[i] = scalar.binary_nll_residual(np.float64(z[i]), y[i])[0]
