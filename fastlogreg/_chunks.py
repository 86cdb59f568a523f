"""Work on one row chunk: scan it, build its problem, return its partial sums.

A data set too large for one array is a sequence of row chunks ``(X_k, y_k[, sw_k])``.
Every function here takes one chunk and returns something parameter-sized or smaller,
so it can run wherever the chunk is (this process, a stream reader, a Dask worker):

* :func:`scan_chunk` checks a raw chunk (shapes, label type, weights, NaN and inf
  except in a dense X, left to the fit's first pass) and summarises it (rows,
  weighted label counts) for the label discovery;
* :func:`build_chunk` encodes the labels through ``classes`` and wraps the chunk as
  a :class:`~fastlogreg._problems.BinaryProblem` or
  :class:`~fastlogreg._problems.MultinomialProblem` (no copy of float32/float64 X);
* :func:`loss_grad_partials`, :func:`hessp_partials`, :func:`column_square_sums`
  evaluate the fused kernels on a built chunk and return unnormalised, unpenalised
  sums (the kernels' contract), which the caller adds in chunk order;
* :func:`nonfinite_counts` and :func:`max_abs` look at a built chunk's X for the
  error messages;
* :func:`sample_rows` keeps every ``stride``-th row (global row numbering) of a
  built chunk, for the Newton solver's sampled Hessian.

Errors name the chunk (``chunk k``), since the caller may be far from the data.
"""

import numpy as np

from ._design import as_design, count_nonfinite
from ._problems import BinaryProblem, MultinomialProblem
from ._validation import as_float_array, kernel_array


def _chunk_error(index, message):
    return ValueError(f"chunk {index}: {message}")


def split_chunk(chunk, index):
    """``(X, y, sample_weight or None)`` from a chunk tuple ``(X, y)`` or ``(X, y, sw)``."""
    if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3):
        raise TypeError(f"chunk {index}: expected a tuple (X, y) or (X, y, sample_weight), got "
                        f"{type(chunk).__name__}")
    return chunk[0], chunk[1], (chunk[2] if len(chunk) == 3 else None)


def _as_labels(y, n_rows, index):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # a one-column frame or array
    if y.ndim != 1:
        raise _chunk_error(index, f"y must be 1-dimensional, got shape {y.shape}")
    if y.shape[0] != n_rows:
        raise _chunk_error(index, f"X has {n_rows} rows but y has {y.shape[0]}: the row chunks of "
                                  "X and y must agree")
    return y


def _as_weights(sample_weight, n_rows, index):
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight)
    if sw.ndim == 2 and sw.shape[1] == 1:
        sw = sw[:, 0]
    sw = as_float_array(sw, "sample_weight", ndim=1)
    if sw.shape[0] != n_rows:
        raise _chunk_error(index, f"X has {n_rows} rows but sample_weight has {sw.shape[0]}: the row "
                                  "chunks of X and sample_weight must agree")
    return kernel_array(sw, np.float64)


def scan_chunk(X, y, sample_weight, index):
    """Check one raw chunk and summarise it.

    Parameters
    ----------
    X : array-like or sparse matrix (n_k, d)
    y : array-like (n_k,), class labels
    sample_weight : array-like (n_k,) or None
    index : int, the chunk's position (for error messages)

    Returns
    -------
    dict
        ``n_rows``, ``n_features``, ``dtype`` (of X as the kernels read it), ``labels``
        (sorted distinct labels, (m,)), ``label_weights`` ((m,) float64, the weight of
        each label: its count for unit weights), ``weight_sum``.

    Raises
    ------
    ValueError
        Rows of X, y and sample_weight that disagree; NaN or inf in a sparse X, in y or
        in the weights; negative weights; continuous (non-integer float) labels. The
        message names the chunk. NaN and inf in a dense X are left to the fit, whose first
        pass finds them without a read of its own
        (:meth:`fastlogreg._sources._Source.check_finite`).
    """
    from .linear_model import _check_label_type  # the estimator's label rules, one definition

    design = as_design(X, f"X (chunk {index})")
    n_rows = design.shape[0]
    y = _as_labels(y, n_rows, index)
    sw = _as_weights(sample_weight, n_rows, index)
    if design.is_sparse:
        raise_nonfinite(index, *count_nonfinite(design))
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise _chunk_error(index, f"y contains {int(np.count_nonzero(~np.isfinite(y)))} non-finite "
                                  "value(s)")
    try:
        _check_label_type(y)
    except ValueError as exc:
        raise _chunk_error(index, str(exc)) from None
    if sw is not None:
        if not np.all(np.isfinite(sw)):
            raise _chunk_error(index, "sample_weight contains non-finite values")
        if np.any(sw < 0):
            raise _chunk_error(index, f"sample_weight has {int(np.count_nonzero(sw < 0))} negative "
                                      "value(s); weights must be >= 0")
    labels, label_weights = _label_weights(y, sw)
    weight_sum = float(n_rows) if sw is None else float(np.sum(sw))
    return {"n_rows": n_rows, "n_features": design.shape[1], "dtype": design.dtype,
            "sparse": design.is_sparse, "labels": labels, "label_weights": label_weights,
            "weight_sum": weight_sum}


def raise_nonfinite(index, n_nan, n_inf):
    """The error of chunk ``index`` when its X holds ``n_nan`` NaN or ``n_inf`` inf values."""
    if n_nan or n_inf:
        raise _chunk_error(index, f"X contains {n_nan + n_inf} non-finite value(s): {n_nan} NaN and "
                                  f"{n_inf} infinity; remove or impute them before fitting")


def nonfinite_counts(problem):
    """``(n_nan, n_inf)`` among the stored values of a built chunk's X."""
    return count_nonfinite(problem.X)


def _label_weights(y, sw):
    """``(labels, weights)``: the sorted distinct labels of ``y`` (m,) and the weight of
    each, float64 (m,) (its count for ``sw=None``). Integer and bool labels spanning a
    small range are counted by ``np.bincount`` (a linear pass) instead of sorted."""
    from .linear_model import _countable_range

    span = _countable_range(y)
    if span is not None:
        lo, hi = span
        shifted = y.astype(np.int64) - lo
        counts = np.bincount(shifted, minlength=hi - lo + 1)
        present = counts > 0
        labels = (np.flatnonzero(present) + lo).astype(y.dtype)
        weights = counts if sw is None else np.bincount(shifted, weights=sw, minlength=hi - lo + 1)
        return labels, weights[present].astype(np.float64)
    labels, inverse = np.unique(y, return_inverse=True)
    weights = np.bincount(inverse.ravel(), weights=sw, minlength=labels.shape[0])
    return labels, weights.astype(np.float64)


def merge_scans(scans):
    """Reduce :func:`scan_chunk` summaries (in chunk order) to the data set's.

    Returns
    -------
    dict
        ``n_samples``, ``n_features``, ``dtype``, ``sparse``, ``classes`` (sorted distinct
        labels), ``class_weight`` ((n_classes,) float64), ``weight_sum``, ``offsets``
        (first global row of each chunk, (n_chunks,)).

    Raises
    ------
    ValueError
        Chunks of different widths or dtypes, or no rows at all.
    """
    if not scans:
        raise ValueError("the data has no chunks; it needs at least one row")
    first = scans[0]
    for k, scan in enumerate(scans):
        if scan["n_features"] != first["n_features"]:
            raise ValueError(f"chunk {k}: X has {scan['n_features']} columns, chunk 0 has "
                             f"{first['n_features']}; every chunk must have the same columns")
        if scan["dtype"] != first["dtype"]:
            raise ValueError(f"chunk {k}: X is {scan['dtype']}, chunk 0 is {first['dtype']}; every "
                             "chunk must have the same dtype")
    classes = np.unique(np.concatenate([scan["labels"] for scan in scans]))
    class_weight = np.zeros(classes.shape[0])
    for scan in scans:
        class_weight[np.searchsorted(classes, scan["labels"])] += scan["label_weights"]
    rows = np.array([scan["n_rows"] for scan in scans], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
    return {"n_samples": int(rows.sum()), "n_features": first["n_features"], "dtype": first["dtype"],
            "sparse": first["sparse"], "classes": classes, "class_weight": class_weight,
            "weight_sum": float(sum(scan["weight_sum"] for scan in scans)), "offsets": offsets,
            "n_rows": rows}


def _weighted_problem(design, target, n_classes, sw, link, multinomial):
    """A problem whose weights are already checked: a chunk's weights may sum to 0 (the
    data set's sum is checked once, on the merged scans)."""
    if multinomial:
        problem = MultinomialProblem(design, target, n_classes, None)
    else:
        problem = BinaryProblem(design, target, None, link=link)
    if sw is not None:
        problem.sample_weight = sw
        problem.weight_sum = float(np.sum(sw))
    return problem


def build_chunk(X, y, sample_weight, classes, link, index):
    """The chunk as a problem: labels encoded through ``classes`` (sorted), X wrapped without a
    copy (float32/float64). Two classes: binary problem with targets in {0, 1}; more:
    softmax problem with class indices.

    Raises
    ------
    ValueError
        A label not in ``classes`` (with the count and an example), rows that disagree.
    """
    from .linear_model import _encode_labels

    design = as_design(X, f"X (chunk {index})")
    n_rows = design.shape[0]
    y = _as_labels(y, n_rows, index)
    sw = _as_weights(sample_weight, n_rows, index)
    try:
        target = _encode_labels(y, classes)
    except ValueError as exc:
        raise _chunk_error(index, str(exc)) from None
    return _weighted_problem(design, target, len(classes), sw, link, len(classes) > 2)


def _flat_layout(problem):
    n_classes = problem.n_classes
    return n_classes, n_classes * problem.n_features


def loss_grad_partials(problem, w, b, backend=None):
    """``[sum sw l, grad_w sums (flattened), grad_b sums (n_classes)]`` of one chunk:
    a float64 vector of length ``1 + n_coef + n_classes`` (the binary model counts as one
    class), unnormalised and without penalty."""
    n_classes, n_coef = _flat_layout(problem)
    out = np.empty(1 + n_coef + n_classes)
    grad_w = out[1:1 + n_coef]
    if n_classes > 1:
        grad_w = grad_w.reshape(n_classes, problem.n_features)
    out[0] = problem.loss_grad_sums(w, b, grad_w, out[1 + n_coef:], backend)
    return out


def hessp_partials(problem, w, b, v_w, v_b, backend=None):
    """Hessian-vector partial sums of one chunk, ``[hv_w (flattened), hv_b (n_classes)]``:
    length ``n_coef + n_classes``, unnormalised and without penalty."""
    n_classes, n_coef = _flat_layout(problem)
    out = np.empty(n_coef + n_classes)
    hv = out[:n_coef]
    if n_classes > 1:
        hv = hv.reshape(n_classes, problem.n_features)
    problem.hessp_sums(w, b, v_w, v_b, hv, out[n_coef:], backend)
    return out


def column_square_sums(problem):
    """``sum_i sw_i x_ij^2`` over the chunk's rows, (n_features,) float64."""
    return problem.X.column_square_sums(problem.sample_weight)


def max_abs(problem):
    """Largest |x| of the chunk's stored values (for error messages)."""
    from ._design import max_abs as design_max_abs

    return design_max_abs(problem.X)


def sample_rows(problem, offset, stride):
    """The chunk's rows whose global index (``offset`` + local index) is a multiple of
    ``stride``, as a problem on a contiguous copy; None when there are none."""
    start = (-int(offset)) % int(stride)
    if start >= problem.n_samples:
        return None
    rows = slice(start, None, int(stride))
    X = problem.X.take_rows(rows, contiguous=True)
    sw = problem.sample_weight[rows].copy() if problem.sample_weight.shape[0] else None
    if isinstance(problem, MultinomialProblem):
        target = problem.labels[rows] if problem.labels.shape[0] else problem.Y[rows]
        return _weighted_problem(X, target, problem.n_classes, sw, None, True)
    return _weighted_problem(X, problem.y[rows], 1, sw, problem.link, False)
