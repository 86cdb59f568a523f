"""The binary fused kernel for several models at once: cross-validation folds in one pass.

Not part of the kernel contract: :class:`fastlogreg.LogisticRegressionCV` uses it to
evaluate the training objectives of all its folds in one pass over X instead of one
pass per fold. Fold ``f``'s model ``(W[f], B[f])`` sees every row with the weight
``fold_weights[f, i]``, which is 0 on the fold's held-out rows. The rows are worked on
in the blocks of :func:`fastlogreg.backends.numba_kernels.fused.block_rows` (a few KiB
of X): a block is read from memory once and stays in L1 while the scores of all folds
are computed (the multinomial kernel's register tiles of 4 rows by 5 models, the folds
taking the place of the classes), then each fold's pointwise loss and residuals (the
binary kernel's), then all folds' gradient updates (the multinomial kernel's tiles
again). Fold ``f``'s partial sums are those of the single-model kernel called with
``sample_weight=fold_weights[f]``, up to the order of floating-point additions.
"""

import numpy as np
from numba import prange

from ._jit import jit_block, jit_fused
from .fused import (
    CLASS_TILE,
    LOGIT,
    _binary_pointwise,
    block_rows,
    class_scores,
    class_update,
    next_block_window,
    padded,
)
from .probit import probit_pointwise


@jit_block
def _folds_chunk(link, rows_of, active, models, sums, scratch):
    """Add the partial sums of a chunk's rows to ``loss[f]``, ``grad_b[f]`` and ``G[f]`` for
    every fold with ``active[f]``. ``rows_of = (X, y, fold_weights, offset)``: the chunk's
    rows, their targets, every row's fold weights and the chunk's first global row;
    ``models = (W, B)``, ``sums = (G, loss, grad_b)``, ``scratch = (Zt, gb_unused)``. ``W``,
    ``B``, ``G`` and ``Zt`` have a multiple of CLASS_TILE rows; the rows past the folds
    are zero."""
    X, y, fold_weights, offset = rows_of
    W, B = models
    G, loss, grad_b = sums
    Zt, gb_unused = scratch
    n = X.shape[0]
    rows = Zt.shape[1]
    F = active.shape[0]
    pf = 0
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        Xb = X[lo:hi]
        yb = y[lo:hi]
        # a third of the next block is prefetched during the scores, the rest during
        # the update (as in the single-model kernels)
        pf, pf_end, group_lines = next_block_window(X, hi, rows, pf)
        pf = class_scores(Xb, W, B, Zt, pf, pf_end, group_lines // 3)
        for f in range(W.shape[0]):
            zf = Zt[f, :hi - lo]
            if f < F and active[f]:
                swb = fold_weights[f, offset + lo:offset + hi]
                if link == LOGIT:
                    l_b, gb_b = _binary_pointwise(zf, yb, swb, True)
                else:
                    l_b, gb_b = probit_pointwise(zf, yb, swb, True)
                loss[f] += l_b
                grad_b[f] += gb_b
            else:
                zf[:] = 0.0  # no gradient from the padding and the inactive folds
        pf = class_update(Xb, Zt, G, gb_unused, pf, pf_end, group_lines - group_lines // 3)


@jit_fused
def binary_folds_loss_grad(link, X, y, fold_weights, active, models, out, n_threads):
    """Partial sums of the binary objective of every active fold, in one pass over X.

    Parameters
    ----------
    link : int, ``fused.LOGIT`` or ``fused.PROBIT``
    X : (n, d) float32 or float64, C-contiguous
    y : (n,) float64, targets in [0, 1]
    fold_weights : (F, n) float64, C-contiguous; row f is fold f's sample weights
    active : (F,) bool; the folds to compute (the others' outputs are left unchanged)
    models : tuple ``(W, B)``, the folds' models: W (F, d) float64, B (F,) float64
    out : tuple ``(loss, grad_w, grad_b)``, float64 (F,), (F, d) and (F,)
        Receive ``sum_i fold_weights[f, i] l_i``, ``sum_i fold_weights[f, i] r_i x_i`` and
        ``sum_i fold_weights[f, i] r_i`` for each active fold.
    n_threads : int, static row chunks (their partials are added in chunk order)
    """
    W, B = models
    loss, grad_w, grad_b = out
    n, d = X.shape
    F = W.shape[0]
    Fp = (F + CLASS_TILE - 1) // CLASS_TILE * CLASS_TILE
    Wp = np.zeros((Fp, d))
    Bp = np.zeros(Fp)
    for f in range(F):
        if active[f]:
            Wp[f] = W[f]
            Bp[f] = B[f]
    rows = block_rows(d, X.itemsize)
    chunk_grad = np.zeros((n_threads, Fp, padded(d)))
    chunk_loss = np.zeros((n_threads, F))
    chunk_grad_b = np.zeros((n_threads, F))
    for c in prange(n_threads):
        lo = n * c // n_threads
        hi = n * (c + 1) // n_threads
        Zt = np.empty((Fp, rows))
        gb_unused = np.zeros(Fp)
        _folds_chunk(link, (X[lo:hi], y[lo:hi], fold_weights, lo), active, (Wp, Bp),
                     (chunk_grad[c], chunk_loss[c], chunk_grad_b[c]), (Zt, gb_unused))
    for f in range(F):
        if not active[f]:
            continue
        loss[f] = 0.0
        grad_b[f] = 0.0
        grad_w[f, :] = 0.0
        for c in range(n_threads):
            loss[f] += chunk_loss[c, f]
            grad_b[f] += chunk_grad_b[c, f]
            for j in range(d):
                grad_w[f, j] += chunk_grad[c, f, j]
