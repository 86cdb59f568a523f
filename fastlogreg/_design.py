"""Design matrices: X as the problems, the solvers and the estimator see it.

A design matrix knows its shape and dtype, runs a fused kernel of a backend on itself
(:meth:`call`), and gives a sub-matrix of some of its rows (:meth:`take_rows`). The
layers above never look at how X is stored:

* :class:`DenseDesign` wraps a 2-D float32/float64 ndarray (any strides) and calls the
  kernel ``name``;
* :class:`CSRDesign` wraps the three arrays of a compressed sparse row matrix and calls
  the kernel ``name + "_csr"`` (see "CSR kernels" in :mod:`fastlogreg.backends`).

:func:`as_design` validates user input once and returns one of them: no copy of a
float32/float64 array or of a CSR matrix's ``data`` and ``indices``.
"""

import sys

import numpy as np

from ._validation import as_float_array

_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))
# Row blocks of the chunked scans below: about 8 MB of float64.
_BLOCK_ELEMENTS = 1 << 20
# Rows per block when CSR rows are gathered into a copy.
_GATHER_ROWS = 1 << 12


class DenseDesign:
    """A dense X (n, d): a float32 or float64 ndarray, any strides, never copied."""

    is_sparse = False

    def __init__(self, X):
        self.X = X
        self.shape = X.shape
        self.dtype = X.dtype

    @property
    def n_stored(self):
        """Entries a pass over X reads (n * d)."""
        return self.X.size

    def call(self, module, name, *args):
        """``module.name(X, *args)``: kernel ``name`` of a backend module on this X."""
        return getattr(module, name)(self.X, *args)

    def take_rows(self, rows, contiguous=False):
        """The rows ``rows`` (a slice or an index array): a view of X where NumPy gives one,
        or with ``contiguous=True`` a C-contiguous copy (the kernels' fast path)."""
        X = self.X[rows]
        return DenseDesign(np.ascontiguousarray(X) if contiguous else X)

    def row_blocks(self):
        """``(rows, block)`` over X in row blocks of about 8 MB, block a dense ndarray."""
        step = max(1, _BLOCK_ELEMENTS // max(1, self.shape[1]))
        for start in range(0, self.shape[0], step):
            rows = slice(start, min(start + step, self.shape[0]))
            yield rows, self.X[rows]

    def stored_values(self):
        """Row blocks of the stored values (for finiteness and magnitude scans)."""
        for _, block in self.row_blocks():
            yield block

    def column_square_sums(self, sample_weight):
        """``sum_i sw_i x_ij^2`` for every column j, (d,) float64 (``sample_weight`` of
        length 0: unit weights), in row blocks."""
        out = np.zeros(self.shape[1])
        for rows, block in self.row_blocks():
            squares = np.square(block, dtype=np.float64)
            out += sample_weight[rows] @ squares if sample_weight.shape[0] else squares.sum(axis=0)
        return out


class CSRDesign:
    """A CSR X (n, d) given by ``data`` (nnz,), ``indices`` (nnz,) and ``indptr`` (n + 1,).

    ``data`` is float32 or float64, ``indices`` and ``indptr`` both int32 or both int64,
    all contiguous. ``indptr[0]`` may exceed 0: :meth:`take_rows` of a row range keeps
    ``data`` and ``indices`` whole and slices ``indptr`` (no copy).
    """

    is_sparse = True

    def __init__(self, data, indices, indptr, n_features):
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape = (indptr.shape[0] - 1, int(n_features))
        self.dtype = data.dtype

    @property
    def n_stored(self):
        """Stored entries a pass reads (the rows' nonzeros, explicit zeros included)."""
        return int(self.indptr[-1] - self.indptr[0])

    def call(self, module, name, *args):
        """``module.<name>_csr(data, indices, indptr, *args)``."""
        return getattr(module, name + "_csr")(self.data, self.indices, self.indptr, *args)

    def take_rows(self, rows, contiguous=False):
        """The rows ``rows``: a row range (step 1) shares ``data`` and ``indices``; other
        selections copy the selected rows' entries (``contiguous`` changes nothing)."""
        n = self.shape[0]
        if isinstance(rows, slice):
            start, stop, step = rows.indices(n)
            if step == 1:
                stop = max(start, stop)
                return CSRDesign(self.data, self.indices, self.indptr[start:stop + 1], self.shape[1])
            rows = np.arange(start, stop, step)
        rows = np.asarray(rows)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        indptr = np.zeros(rows.shape[0] + 1, dtype=self.indptr.dtype)
        np.cumsum(ends - starts, out=indptr[1:])
        data = np.empty(int(indptr[-1]), dtype=self.data.dtype)
        indices = np.empty(int(indptr[-1]), dtype=self.indices.dtype)
        # gather in blocks of rows so the position temporaries stay small
        for lo in range(0, rows.shape[0], _GATHER_ROWS):
            hi = min(rows.shape[0], lo + _GATHER_ROWS)
            lengths = ends[lo:hi] - starts[lo:hi]
            first = np.repeat(starts[lo:hi] - indptr[lo:hi], lengths)
            positions = first + np.arange(indptr[lo], indptr[hi], dtype=first.dtype)
            data[indptr[lo]:indptr[hi]] = self.data[positions]
            indices[indptr[lo]:indptr[hi]] = self.indices[positions]
        return CSRDesign(data, indices, indptr, self.shape[1])

    def to_scipy(self):
        """The matrix as a ``scipy.sparse.csr_matrix`` sharing ``data`` and ``indices``."""
        from scipy import sparse

        lo, hi = int(self.indptr[0]), int(self.indptr[-1])
        indptr = self.indptr - self.indptr[0] if lo else self.indptr
        return sparse.csr_matrix((self.data[lo:hi], self.indices[lo:hi], indptr), shape=self.shape,
                                 copy=False)

    def row_blocks(self):
        """``(rows, block)`` in row blocks of about 8 MB of stored entries; ``block`` is a
        SciPy CSR matrix sharing this matrix's arrays."""
        n = self.shape[0]
        start = 0
        while start < n:
            # rows whose entries fit the budget (at least one row per block)
            limit = self.indptr[start] + _BLOCK_ELEMENTS
            stop = int(np.searchsorted(self.indptr, limit, side="right")) - 1
            stop = min(n, max(start + 1, stop))
            rows = slice(start, stop)
            yield rows, self.take_rows(rows).to_scipy()
            start = stop

    def column_square_sums(self, sample_weight):
        """``sum_i sw_i x_ij^2`` for every column j, (d,) float64 (``sample_weight`` of
        length 0: unit weights), in blocks of rows; repeated entries count separately."""
        out = np.zeros(self.shape[1])
        for rows, block in self.row_blocks():
            squares = np.square(block.data, dtype=np.float64)
            if sample_weight.shape[0]:
                squares *= np.repeat(sample_weight[rows], np.diff(block.indptr))
            out += np.bincount(block.indices, weights=squares, minlength=self.shape[1])
        return out

    def stored_values(self):
        """``data`` of the matrix's rows in blocks of about 8 MB."""
        lo, hi = int(self.indptr[0]), int(self.indptr[-1])
        for start in range(lo, hi, _BLOCK_ELEMENTS):
            yield self.data[start:min(hi, start + _BLOCK_ELEMENTS)]


def _contiguous(a):
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _check_csr_structure(indices, indptr, n_rows, n_features, nnz, name):
    """One scan of ``indptr`` and one of ``indices``: the structure the kernels rely on."""
    if indptr.shape != (n_rows + 1,):
        raise ValueError(f"{name}.indptr has length {indptr.shape[0]}, expected n_rows + 1 = {n_rows + 1}")
    if indptr[0] != 0:
        raise ValueError(f"{name}.indptr[0] is {indptr[0]}, expected 0")
    if indptr[-1] != nnz:
        raise ValueError(f"{name}.indptr[-1] is {indptr[-1]} but {name} stores {nnz} entries "
                         f"(len(data) = len(indices) = {nnz})")
    if n_rows and np.any(indptr[1:] < indptr[:-1]):
        row = int(np.argmax(indptr[1:] < indptr[:-1]))
        raise ValueError(f"{name}.indptr decreases at row {row} ({indptr[row]} > {indptr[row + 1]}): "
                         "it must be nondecreasing")
    if nnz:
        low, high = int(indices.min()), int(indices.max())
        if low < 0:
            raise ValueError(f"{name}.indices has a negative column index ({low})")
        if high >= n_features:
            raise ValueError(f"{name}.indices has column index {high}, out of range for "
                             f"{n_features} columns")


def _csr_design(X, name):
    if X.format != "csr":
        X = X.tocsr()  # CSC, COO, ...: converted once (a copy)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional, got shape {X.shape}")
    n_rows, n_features = X.shape
    data = _contiguous(as_float_array(X.data, f"{name}.data", ndim=1))
    indices, indptr = X.indices, X.indptr
    for part, arr in (("indices", indices), ("indptr", indptr)):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"{name}.{part} must be a 1-D integer array, got dtype {arr.dtype} "
                            f"and shape {arr.shape}")
    if indices.shape != data.shape:
        raise ValueError(f"{name}.indices has {indices.shape[0]} entries but {name}.data has "
                         f"{data.shape[0]}")
    # One index dtype for both arrays, that of indices (never copied when it is int32 or
    # int64); only the small indptr is converted, unless its entries do not fit int32.
    itype = indices.dtype if indices.dtype in _INDEX_DTYPES else np.dtype(np.int64)
    if itype == np.int32 and indptr.dtype != np.int32 and indptr[-1] > np.iinfo(np.int32).max:
        itype = np.dtype(np.int64)
    indices = _contiguous(indices.astype(itype, copy=False))
    indptr = _contiguous(indptr.astype(itype, copy=False))
    _check_csr_structure(indices, indptr, n_rows, n_features, data.shape[0], name)
    design = CSRDesign(data, indices, indptr, n_features)
    n_nan, n_inf = count_nonfinite(design)
    if n_nan or n_inf:
        raise ValueError(f"{name} stores {n_nan + n_inf} non-finite value(s): {n_nan} NaN and "
                         f"{n_inf} infinity")
    return design


def _is_scipy_sparse(X):
    """SciPy's ``issparse``, without importing SciPy: X can only be a SciPy sparse matrix
    or array if ``scipy.sparse`` is already loaded (``import fastlogreg`` stays light)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def as_design(X, name="X"):
    """Validate ``X`` once and wrap it: :class:`CSRDesign` for a SciPy sparse matrix or
    array (CSR used as is; CSC, COO and the others converted to CSR once, a copy),
    :class:`DenseDesign` for anything NumPy takes as a 2-D real array (float32/float64
    never copied; integers become float64).

    Raises
    ------
    TypeError
        Complex, object or string data, or non-integer CSR indices.
    ValueError
        Not 2-D, no rows or no columns, or an inconsistent CSR structure (``indptr`` of
        the wrong length, not starting at 0, decreasing, or not ending at the number of
        stored entries; a column index out of range).
    """
    if isinstance(X, (DenseDesign, CSRDesign)):
        return X
    if _is_scipy_sparse(X):
        design = _csr_design(X, name)
    else:
        design = DenseDesign(as_float_array(X, name, ndim=2))
    if design.shape[0] == 0 or design.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {design.shape}); it needs at least one row and one column")
    return design


def count_nonfinite(design):
    """``(n_nan, n_inf)`` among the stored values of ``design``, without an X-sized temporary.

    One read by ``np.sum`` per block; only a block whose sum is not finite (a NaN or inf,
    or finite values that overflow) is counted.
    """
    n_nan = n_inf = 0
    for block in design.stored_values():
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(block)):
                continue
        n_nan += int(np.count_nonzero(np.isnan(block)))
        n_inf += int(np.count_nonzero(np.isinf(block)))
    return n_nan, n_inf


def max_abs(design):
    """max |x| over the stored values (0 for an all-zero matrix); for error messages."""
    return max((float(np.max(np.abs(block))) for block in design.stored_values() if block.size),
               default=0.0)
