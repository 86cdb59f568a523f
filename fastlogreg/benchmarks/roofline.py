"""The roofline of the fused kernels: bytes and flops of one call, and the time bound.

A fused kernel reads X once and does a fixed number of multiply-adds per element of X,
so it can not be faster than the larger of two times measured in the same run:

- memory: ``bytes / bandwidth``, the bandwidth being the ceiling's (a read-only pass
  over the same X on the same threads, :mod:`.ceiling`);
- compute: ``flops / peak``, the peak being the float64 FMA rate of all threads
  (:mod:`.peak`; the kernels compute in float64 for float32 data too).

``fraction_of_roofline = roofline time / measured time`` is 1 for a kernel at the bound.

The model (:func:`kernel_model`), derived from the kernels (the Numba, C and NumPy
versions do the same products):

======================  =================================  ==================================
kernel                  multiply-adds per row of X         bytes besides X
======================  =================================  ==================================
logistic_loss_grad,     d (score x.w) + d (grad += r x)    y (n values), w read, grad_w written
probit_loss_grad
softmax_loss_grad       C d (scores W x) + C d (G += R x)  labels, W and b read, their grads written
logistic_hessp          2 d (x.w and x.v) + d (hv += h x)  w and v read, hv written
softmax_hessp           2 C d (W x, V x) + C d (update)    W, V, b, v_b read, hv, hv_b written
======================  =================================  ==================================

An FMA is 2 flops: 4 n d, 4 n d C, 6 n d and 6 n d C flops. Only these products are
counted, not the pointwise work per row (exp, log1p, erfc: a few tens of flops per
row and class, not FMAs at the peak rate) nor the padding of the class count to a
multiple of the multinomial kernels' class tile, so the roofline time is a lower bound.
The small arrays are counted once (they stay in cache); y and labels as float64 / int64
as the cases pass them.
"""

#: The kernels the model covers.
MODELED = ("logistic_loss_grad", "probit_loss_grad", "softmax_loss_grad", "logistic_hessp",
           "softmax_hessp")

_F64 = 8


def kernel_model(kernel, n, d, n_classes=0, itemsize=8, y_itemsize=8):
    """Bytes moved and flops of one call of a fused kernel on X of shape (n, d).

    Parameters
    ----------
    kernel : str
        One of :data:`MODELED` (other kernels give ``None``).
    n, d : int
        Rows and columns of X.
    n_classes : int
        Classes C of the multinomial kernels.
    itemsize : int
        Bytes per element of X (8 float64, 4 float32).
    y_itemsize : int
        Bytes per target (float64 y, int64 labels).

    Returns
    -------
    dict or None
        ``{"bytes", "x_bytes", "other_bytes", "flops", "fmas_per_row"}``.
    """
    if kernel not in MODELED:
        return None
    C = n_classes
    x_bytes = n * d * itemsize
    if kernel in ("logistic_loss_grad", "probit_loss_grad"):
        fmas_per_row = 2 * d
        other = n * y_itemsize + 2 * d * _F64
    elif kernel == "softmax_loss_grad":
        fmas_per_row = 2 * C * d
        other = n * y_itemsize + 2 * (C * d + C) * _F64
    elif kernel == "logistic_hessp":
        fmas_per_row = 3 * d
        other = 3 * d * _F64
    else:  # softmax_hessp
        fmas_per_row = 3 * C * d
        other = 3 * (C * d + C) * _F64
    return {
        "bytes": x_bytes + other,
        "x_bytes": x_bytes,
        "other_bytes": other,
        "flops": 2 * fmas_per_row * n,
        "fmas_per_row": fmas_per_row,
    }


def roofline_seconds(model, bandwidth, peak_flops):
    """``(seconds, bound)``: the larger of ``bytes / bandwidth`` (bytes/s) and
    ``flops / peak_flops`` (flop/s), and which one it is (``"memory"`` / ``"compute"``)."""
    memory = model["bytes"] / bandwidth
    compute = model["flops"] / peak_flops
    return (memory, "memory") if memory >= compute else (compute, "compute")
