"""Argument checks shared by the public functions and the estimator.

Every check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError``
(wrong shape or value) with a message that names the argument. Nothing here copies a
float32/float64 array that is already usable: conversions happen only where the
dtype must change (integers to float64, labels to int64 indices).
"""

import numbers

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(a, name, *, ndim=None, min_ndim=0):
    """``a`` as a float32 or float64 ndarray, without copying when it already is one.

    Integers and booleans become float64 and float16 becomes float32; complex,
    object, string and extended-precision arrays are a ``TypeError``. ``ndim`` (an
    int or a tuple of ints) restricts the number of dimensions.
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # e.g. ragged nested lists
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        elif arr.dtype not in _FLOAT_DTYPES:
            raise TypeError(
                f"{name} has dtype {arr.dtype}, which is not supported; "
                "convert it to float64 or float32"
            )
    elif kind in "biu":
        arr = arr.astype(np.float64)
    else:
        raise TypeError(
            f"{name} must be a real numeric array (float32 or float64), got dtype {arr.dtype}"
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            expected = " or ".join(str(k) for k in allowed)
            raise ValueError(f"{name} must be {expected}-dimensional, got shape {arr.shape}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    return arr


def as_float64(a, name, *, shape=None):
    """A small parameter array (weights, intercepts, directions) as C-contiguous float64."""
    arr = as_float_array(a, name)
    if shape is not None and arr.shape != tuple(shape):
        if arr.size == 1 and len(shape) == 0:
            arr = arr.reshape(())
        else:
            raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    return np.asarray(arr, dtype=np.float64, order="C")


def kernel_array(a, dtype):
    """``a`` as a C-contiguous, writable array of ``dtype`` (copied only if it is not).

    Used for the n-sized side arrays (targets, weights, labels): a copy costs little
    next to X, and it keeps the compiled kernels to one specialisation per X layout
    instead of one per combination of layouts and read-only flags.
    """
    arr = np.ascontiguousarray(a, dtype=dtype)
    return arr if arr.flags.writeable else arr.copy()


def as_scalar(x, name, *, finite=True):
    """A real Python/NumPy number as a Python float."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    if isinstance(x, np.ndarray):
        if x.size != 1 or x.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a real number, got an array of shape {x.shape}")
        x = x.reshape(())[()]
    value = float(x)
    if finite and not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def count_nonfinite(a):
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def check_finite(a, name):
    bad = count_nonfinite(a)
    if bad:
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")


def check_sample_weight(sample_weight, n_samples):
    """Validated sample weights as float64 (n,), or an empty array for unit weights.

    Returns
    -------
    sample_weight : ndarray of shape (n,) or (0,)
    weight_sum : float
    """
    if sample_weight is None:
        return np.empty(0), float(n_samples)
    sw = as_float_array(sample_weight, "sample_weight", ndim=(0, 1))
    if sw.ndim == 0:
        sw = np.full(n_samples, float(sw))
    if sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {sw.shape[0]} entries but there are {n_samples} samples"
        )
    sw = kernel_array(sw, np.float64)
    check_finite(sw, "sample_weight")
    negative = int(np.count_nonzero(sw < 0))
    if negative:
        raise ValueError(f"sample_weight has {negative} negative value(s); weights must be >= 0")
    with np.errstate(over="ignore"):
        total = float(np.sum(sw))
    if np.isinf(total):
        raise ValueError(
            f"sample_weight sums to more than float64 can hold (largest weight {sw.max():.3g}); "
            "divide the weights by a common factor: the weighted mean loss does not change "
            "(in LogisticRegression, multiply C by the same factor to keep the same model)"
        )
    if total <= 0:
        raise ValueError("sample_weight sums to zero; at least one weight must be positive")
    return sw, total


def check_binary_targets(y, n_samples, *, signed=False, name="y"):
    """Binary targets as float64 in [0, 1] (signed {-1, +1} labels are mapped to {0, 1})."""
    arr = as_float_array(y, name, ndim=1)
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} entries but there are {n_samples} samples")
    arr = np.asarray(arr, dtype=np.float64)
    if signed:
        bad = ~((arr == 1.0) | (arr == -1.0))
        if np.any(bad):
            raise ValueError(
                f"{name} must contain only -1 and +1 when signed=True; "
                f"found {np.count_nonzero(bad)} other value(s), e.g. {arr[bad][0].item()!r}"
            )
        return (arr + 1.0) * 0.5
    # min and max read y once each and allocate nothing; a NaN fails both comparisons.
    # The mask of offending entries is built only for the error message.
    if arr.size and not (arr.min() >= 0.0 and arr.max() <= 1.0):
        bad = ~((arr >= 0.0) & (arr <= 1.0))
        raise ValueError(
            f"{name} must contain labels in {{0, 1}} or probabilities in [0, 1]; "
            f"found {np.count_nonzero(bad)} value(s) outside, e.g. {arr[bad][0].item()!r}"
        )
    return kernel_array(arr, np.float64)


def check_class_targets(y, n_samples, n_classes, *, name="y"):
    """Multinomial targets: ``(labels, Y)`` as the kernels take them.

    Integer class indices (n,) become ``labels`` int64 (n,) and ``Y`` of shape (0, 0);
    one-hot or probability rows (n, n_classes) become ``labels`` of shape (0,) and
    ``Y`` float64 (n, n_classes).
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold class indices or probability rows, got dtype {arr.dtype}")
    if arr.ndim == 1:
        if arr.shape[0] != n_samples:
            raise ValueError(f"{name} has {arr.shape[0]} entries but there are {n_samples} samples")
        if arr.dtype.kind == "f":
            nonint = ~(np.isfinite(arr) & (arr == np.round(arr)))
            if np.any(nonint):
                raise ValueError(
                    f"{name} must hold integer class indices; found {np.count_nonzero(nonint)} "
                    f"non-integer value(s), e.g. {arr[nonint][0].item()!r}"
                )
        if arr.size:
            low, high = arr.min(), arr.max()
            if low < 0 or high >= n_classes:
                offending = low if low < 0 else high
                raise ValueError(
                    f"{name} contains class index {offending.item()!r} outside [0, {n_classes}) "
                    f"(n_classes is {n_classes}, from the number of logits/coefficient rows)"
                )
        return kernel_array(arr, np.int64), np.empty((0, 0))
    if arr.ndim == 2:
        if arr.shape != (n_samples, n_classes):
            raise ValueError(
                f"{name} as probability rows must have shape {(n_samples, n_classes)}, got {arr.shape}"
            )
        Y = kernel_array(arr, np.float64)
        bad = ~((Y >= 0.0) & (Y <= 1.0))
        if np.any(bad):
            raise ValueError(
                f"{name} rows must be probabilities in [0, 1]; found {np.count_nonzero(bad)} value(s) outside"
            )
        eps = np.finfo(arr.dtype if arr.dtype.kind == "f" else np.float64).eps
        tolerance = max(1e-6, 8 * n_classes * eps)
        off = np.abs(Y.sum(axis=1) - 1.0) > tolerance
        if np.any(off):
            raise ValueError(
                f"{name} rows must sum to 1; {np.count_nonzero(off)} row(s) do not "
                f"(first: row {int(np.argmax(off))} sums to {Y[np.argmax(off)].sum().item()!r})"
            )
        return np.empty(0, dtype=np.int64), Y
    raise ValueError(f"{name} must be 1-D class indices or 2-D probability rows, got shape {arr.shape}")


def check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def check_l2(l2):
    value = as_scalar(l2, "l2")
    if value < 0:
        raise ValueError(f"l2 must be >= 0, got {value}")
    return value
