"""Where the rows of a training problem live: the sources an objective reduces over.

A source is a sequence of row chunks, each a validated problem
(:mod:`fastlogreg._problems`). It runs a function of one chunk on every chunk, where the
chunk is, and returns the results in chunk order (:meth:`map`); the objective
(:class:`fastlogreg.solvers.Objective`) adds them in that order. Every source has

``n_samples``, ``n_features``, ``n_classes`` (1 for the binary model), ``multinomial``,
``link``, ``dtype``, ``is_sparse``, ``weight_sum``
    the data set's shape and totals;
``problem``
    the whole data as one in-memory problem, or None (chunked);
``map(fn, *args)``
    ``[fn(chunk_0, *args), fn(chunk_1, *args), ...]``;
``sample(stride)``
    a source (in memory unless noted) of the rows whose global index is a multiple of
    ``stride``, or None when it holds no positive weight.

The sources here: :class:`ProblemSource` (one in-memory problem: the default fit),
:class:`ListSource` (a list of in-memory chunks) and :class:`StreamSource` (a
:class:`Chunks` stream read again at every pass). The Dask source is in
:mod:`fastlogreg._dask`.
"""

import os

import numpy as np

from . import _chunks
from ._problems import MultinomialProblem


class _Source:
    problem = None

    def _describe(self, n_samples, n_features, n_classes, multinomial, link, dtype, is_sparse, weight_sum):
        self.n_samples, self.n_features = int(n_samples), int(n_features)
        self.n_classes, self.multinomial = int(n_classes), bool(multinomial)
        self.link, self.dtype, self.is_sparse = link, np.dtype(dtype), bool(is_sparse)
        self.weight_sum = float(weight_sum)

    def close(self):
        """Release what the source holds beyond its chunks (nothing for in-memory sources)."""

    def max_abs(self):
        """Largest |x| of the stored values (for error messages)."""
        return max(self.map(_chunks.max_abs), default=0.0)

    def check_finite(self):
        """Raise the error of the first chunk whose X holds NaN or inf (one pass of
        :func:`fastlogreg._chunks.nonfinite_counts`, where the chunks are).

        The chunk scan leaves a dense X to this check, and a fit from w = 0 runs it only
        when its first pass is not finite: ``x * 0`` is NaN for a NaN or infinite x, so
        such a value makes its row's score NaN at w = 0 whatever the intercept.
        """
        for index, counts in enumerate(self.map(_chunks.nonfinite_counts)):
            _chunks.raise_nonfinite(index, *counts)


def _describe_problem(source, problem, n_samples, weight_sum):
    multinomial = isinstance(problem, MultinomialProblem)
    source._describe(n_samples, problem.n_features, problem.n_classes, multinomial,
                     None if multinomial else problem.link, problem.X.dtype, problem.X.is_sparse,
                     weight_sum)


class ProblemSource(_Source):
    """One in-memory problem: a single chunk, evaluated by a direct call.

    Parameters
    ----------
    problem : BinaryProblem or MultinomialProblem
    """

    n_chunks = 1

    def __init__(self, problem):
        self.problem = problem
        _describe_problem(self, problem, problem.n_samples, problem.weight_sum)

    def map(self, fn, *args):
        return [fn(self.problem, *args)]

    def sample(self, stride):
        sub = _chunks.sample_rows(self.problem, 0, stride)
        return None if sub is None or not sub.weight_sum > 0 else ProblemSource(sub)


class ListSource(_Source):
    """In-memory chunks, evaluated one after the other.

    Parameters
    ----------
    problems : list of BinaryProblem or MultinomialProblem (the same model, dtype, width)
    offsets : sequence of int, the global index of each chunk's first row
    """

    def __init__(self, problems, offsets=None):
        if not problems:
            raise ValueError("a list source needs at least one chunk")
        self.problems = list(problems)
        self.n_chunks = len(self.problems)
        rows = [p.n_samples for p in self.problems]
        self.offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]) if offsets is None else offsets
        _describe_problem(self, self.problems[0], sum(rows), sum(p.weight_sum for p in self.problems))

    def map(self, fn, *args):
        return [fn(problem, *args) for problem in self.problems]

    def sample(self, stride):
        subs = [_chunks.sample_rows(p, offset, stride) for p, offset in zip(self.problems, self.offsets)]
        return _sample_source(subs)


def _sample_source(subs):
    subs = [sub for sub in subs if sub is not None]
    if not subs or not sum(sub.weight_sum for sub in subs) > 0:
        return None
    return ListSource(subs)


class Chunks:
    """Row chunks of a data set, read again at every pass over it.

    Pass an instance as ``X`` to :meth:`fastlogreg.LogisticRegression.fit` (without ``y``):
    the full-batch solvers ("lbfgs", "newton") read the chunks once per evaluation of the
    objective, so only one chunk (and the model) needs to be in memory. A first pass
    discovers the labels and checks every chunk (NaN and inf, rows of X and y that
    disagree, negative weights); the chunks must then be the same at every pass.

    Parameters
    ----------
    source : callable or list
        A callable with no arguments returning an iterable of chunks (called once per
        pass; for example a generator function reading files), or a list of chunks (kept
        in memory). A chunk is a tuple ``(X, y)`` or ``(X, y, sample_weight)``: ``X`` a
        2-D float array or sparse matrix of ``n_k`` rows, ``y`` (n_k,) labels,
        ``sample_weight`` (n_k,). Every chunk has the same columns and dtype.

    Raises
    ------
    TypeError
        ``source`` is an iterator or generator (it could be read only once).

    Examples
    --------
    >>> import numpy as np
    >>> from fastlogreg import Chunks, LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> def read():  # e.g. from files; here slices of an array
    ...     for start in range(0, 1000, 250):
    ...         yield X[start:start + 250], y[start:start + 250]
    >>> clf = LogisticRegression(backend="numpy").fit(Chunks(read))
    >>> clf.predict(X[:4]).tolist() == y[:4].tolist()
    True
    """

    def __init__(self, source):
        if isinstance(source, (list, tuple)):
            self._chunks = list(source)
            self.read = None
        elif callable(source):
            self._chunks = None
            self.read = source
        elif hasattr(source, "__next__"):
            raise TypeError("Chunks needs a callable returning a fresh iterable of chunks (for "
                            "example a generator function), or a list: an iterator or generator "
                            "can be read once only, and the solvers read the data many times")
        else:
            raise TypeError(f"Chunks needs a callable or a list of (X, y[, sample_weight]) tuples, "
                            f"got {type(source).__name__}")

    @property
    def in_memory(self):
        """True when the chunks are a list held in memory."""
        return self._chunks is not None

    def __iter__(self):
        return iter(self._chunks) if self._chunks is not None else iter(self.read())

    @classmethod
    def from_npy(cls, X_path, y_path, *, rows_per_chunk=1 << 16, sample_weight_path=None,
                 memory_map=False):
        """Chunks of ``.npy`` files, read with plain file reads or through memory maps.

        With plain reads (the default) the process holds one chunk of ``rows_per_chunk``
        rows at a time, whatever the file size, and its address space does not grow with
        the file. With ``memory_map=True`` the chunks are row ranges of the files opened
        with ``np.load(path, mmap_mode="r")``: the kernels read the mapped pages in place
        (page cache, shared with other processes and evictable, not the process's own
        memory); the address space holds the whole file, but what the fit allocates is
        one chunk's encoded labels and the model, whatever the file size. Passing the
        memory-mapped arrays themselves to ``fit`` works too, as in-memory arrays: the
        fit then holds the labels and their encoding for all rows.

        Parameters
        ----------
        X_path : str or path-like, a C-ordered 2-D ``.npy`` file (n, d)
        y_path : str or path-like, a 1-D ``.npy`` file (n,) of labels
        rows_per_chunk : int >= 1, default=65536
        sample_weight_path : str or path-like, optional, a 1-D ``.npy`` file (n,)
        memory_map : bool, default=False

        Returns
        -------
        Chunks

        Raises
        ------
        ValueError
            A Fortran-ordered or non-2-D X, or files whose row counts disagree.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from fastlogreg import Chunks
        >>> folder = tempfile.mkdtemp()
        >>> np.save(os.path.join(folder, "X.npy"), np.arange(10.0).reshape(5, 2))
        >>> np.save(os.path.join(folder, "y.npy"), np.array([0, 0, 1, 1, 1]))
        >>> chunks = Chunks.from_npy(os.path.join(folder, "X.npy"), os.path.join(folder, "y.npy"),
        ...                          rows_per_chunk=2)
        >>> [(X.shape, y.tolist()) for X, y in chunks]
        [((2, 2), [0, 0]), ((2, 2), [1, 1]), ((1, 2), [1])]
        """
        rows_per_chunk = int(rows_per_chunk)
        if rows_per_chunk < 1:
            raise ValueError(f"rows_per_chunk must be >= 1, got {rows_per_chunk}")
        paths = [os.fspath(X_path), os.fspath(y_path)]
        if sample_weight_path is not None:
            paths.append(os.fspath(sample_weight_path))
        headers = [_npy_header(path) for path in paths]
        (n, *_), _, _ = headers[0]
        if len(headers[0][0]) != 2:
            raise ValueError(f"X_path: expected a 2-D array, got shape {headers[0][0]}")
        for path, (shape, _, _) in zip(paths[1:], headers[1:]):
            if len(shape) != 1 or shape[0] != n:
                raise ValueError(f"{path}: expected shape ({n},) (one entry per row of X), got {shape}")

        if memory_map:
            def read():
                arrays = [np.load(path, mmap_mode="r") for path in paths]
                for start in range(0, n, rows_per_chunk):
                    yield tuple(a[start:start + rows_per_chunk] for a in arrays)

            return cls(read)

        def read():
            files = [open(path, "rb") for path in paths]
            try:
                for start in range(0, n, rows_per_chunk):
                    stop = min(n, start + rows_per_chunk)
                    yield tuple(_read_rows(f, header, start, stop) for f, header in zip(files, headers))
            finally:
                for f in files:
                    f.close()

        return cls(read)


def _npy_header(path):
    """``(shape, dtype, data offset)`` of a C-ordered ``.npy`` file."""
    from numpy.lib import format as npy_format

    with open(path, "rb") as f:
        version = npy_format.read_magic(f)
        read_header = (npy_format.read_array_header_1_0 if version == (1, 0)
                       else npy_format.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(f)
        if fortran_order and len(shape) > 1:
            raise ValueError(f"{path}: a Fortran-ordered array cannot be read in row chunks")
        if dtype.hasobject:
            raise ValueError(f"{path}: an object array cannot be read in row chunks")
        return shape, dtype, f.tell()


def _read_rows(f, header, start, stop):
    shape, dtype, offset = header
    row_items = int(np.prod(shape[1:], dtype=np.int64))
    out = np.empty((stop - start,) + tuple(shape[1:]), dtype=dtype)
    f.seek(offset + start * row_items * dtype.itemsize)
    view = memoryview(out.reshape(-1).view(np.uint8))
    if f.readinto(view) != view.nbytes:
        raise ValueError(f"{f.name}: the file ends before row {stop}")
    return out


def scan(chunks):
    """One pass of :func:`fastlogreg._chunks.scan_chunk` over ``chunks``, merged."""
    scans = []
    for k, chunk in enumerate(chunks):
        X, y, sw = _chunks.split_chunk(chunk, k)
        scans.append(_chunks.scan_chunk(X, y, sw, k))
    return _chunks.merge_scans(scans)


class StreamSource(_Source):
    """A :class:`Chunks` stream, each chunk read and built again at every pass.

    Parameters
    ----------
    chunks : Chunks
    info : dict, from :func:`scan` (the first pass)
    link : {"logit", "probit"}
    """

    def __init__(self, chunks, info, link):
        self.chunks, self.info, self.classes = chunks, info, info["classes"]
        self.n_chunks = len(info["n_rows"])
        n_classes = len(self.classes)
        multinomial = n_classes > 2
        self.link = None if multinomial else link
        self._describe(info["n_samples"], info["n_features"], n_classes if multinomial else 1,
                       multinomial, self.link, info["dtype"], info["sparse"], info["weight_sum"])

    def _problems(self):
        count = 0
        for k, chunk in enumerate(self.chunks):
            X, y, sw = _chunks.split_chunk(chunk, k)
            problem = _chunks.build_chunk(X, y, sw, self.classes, self.link, k)
            if k >= self.n_chunks or problem.n_samples != self.info["n_rows"][k]:
                raise ValueError(f"chunk {k} differs from the first pass over the data (rows or "
                                 "number of chunks): the chunks must be the same at every pass")
            count += 1
            yield problem
        if count != self.n_chunks:
            raise ValueError(f"this pass read {count} chunks, the first pass {self.n_chunks}: the "
                             "chunks must be the same at every pass")

    def map(self, fn, *args):
        return [fn(problem, *args) for problem in self._problems()]

    def sample(self, stride):
        return _sample_source([_chunks.sample_rows(p, offset, stride)
                               for p, offset in zip(self._problems(), self.info["offsets"])])


def open_chunks(chunks, link):
    """``(source, info)`` for a :class:`Chunks`: scanned once; a list of chunks is built
    once into a :class:`ListSource`, a callable stream becomes a :class:`StreamSource`."""
    info = scan(chunks)
    if chunks.in_memory:
        classes = info["classes"]
        problems = [_chunks.build_chunk(*_chunks.split_chunk(chunk, k), classes, link, k)
                    for k, chunk in enumerate(chunks)]
        return ListSource(problems, info["offsets"]), info
    return StreamSource(chunks, info, link), info
