"""Training on a Dask array or DataFrame: the chunks stay on the workers.

:func:`open_dask` turns ``(X, y, sample_weight)`` Dask collections into a
:class:`DaskSource`, the source (:mod:`fastlogreg._sources`) the solvers' objective
reduces over, on the current ``dask.distributed`` client:

1. every row chunk ``(X_k, y_k, sw_k)`` becomes one future, computed where its blocks
   are (no copy of persisted blocks);
2. a map of :func:`fastlogreg._chunks.scan_chunk` over the chunks and a reduction of
   the small summaries on the client discover the labels (``classes_``) and check
   label types, weights and the rows of X, y and the weights of each chunk (NaN and
   inf in a dense X are found by the fit's first evaluation at w = 0, and only then
   counted by a map over the chunks: :meth:`fastlogreg._sources._Source.check_finite`);
3. a map of :func:`fastlogreg._chunks.build_chunk` encodes the labels and keeps each
   chunk as a validated problem on its worker (a future per chunk);
4. every evaluation of the objective is one call per worker of an actor holding that
   worker's chunks (:class:`_ChunkEvaluator`): the call carries the parameters (so
   they travel once to each worker, whatever its number of chunks), runs the fused
   kernels on each of the worker's chunks
   (:func:`fastlogreg._chunks.loss_grad_partials`) and returns only their partial sums,
   which the objective adds in chunk order. The fit releases the actors when it ends
   (:meth:`DaskSource.close`).

The driver runs the same solvers as for an in-memory array. A worker lost during a fit
loses its chunks and its actor; the scheduler recomputes the chunks from their graph
(the blocks of X and y), new actors take them and the evaluation in flight is retried,
so the fit continues with the same data.

Kernel threads: each worker's fused kernels run on ``max(1, usable cores of the host //
Dask threads of all workers on that host)`` threads (:func:`fastlogreg.set_num_threads`
on the worker, set when a fit starts), so 2 single-threaded workers on 2 cores run 2
kernel threads in all, not 4. A count set explicitly on a worker
(``client.run(fastlogreg.set_num_threads, k)``) is kept.

Dask and ``distributed`` are imported only here, when a fit receives a Dask collection.
"""

import os
import sys

import numpy as np

from . import _backend, _chunks
from ._sources import _Source

#: The thread count this module set on a worker process (None: not set by a fit).
_auto_threads = None
# Calls of DaskSource.map before a lost connection is reported (workers that keep dying
# are the scheduler's to handle: it gives up on a task after its own retries).
_ATTEMPTS = 3


def is_dask_collection(obj):
    """True for a Dask array, DataFrame or Series (without importing Dask when it is not loaded)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(obj)


def _client():
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - dask without distributed
        raise ImportError("fitting on a Dask collection needs dask.distributed: "
                          'pip install "fastlogreg[dask]"') from None
    try:
        return get_client()
    except ValueError:
        raise ValueError("fitting on a Dask collection needs a dask.distributed Client: start one "
                         "first, e.g. `from distributed import Client; client = Client()`") from None


def _row_blocks(data, name):
    """``(blocks, column names or None)``: one delayed object per row chunk of ``data``."""
    import dask.array as da

    if isinstance(data, da.Array):
        if data.ndim == 2 and data.numblocks[1] > 1:
            data = data.rechunk({1: -1})  # whole rows in every chunk (the kernels' unit)
        if data.ndim not in (1, 2):
            raise ValueError(f"{name} must be 1- or 2-dimensional, got a Dask array of shape {data.shape}")
        blocks = data.to_delayed()
        return list(blocks[:, 0] if data.ndim == 2 else blocks), None
    if hasattr(data, "to_delayed") and hasattr(data, "npartitions"):  # DataFrame or Series
        columns = list(data.columns) if hasattr(data, "columns") else None
        return list(data.to_delayed()), columns
    raise TypeError(f"{name} must be a Dask array, DataFrame or Series when X is one, got "
                    f"{type(data).__name__}")


def _align_rows(X, other, name):
    """``other`` rechunked to the row chunks of ``X`` when both chunkings are known and the
    totals agree (a free fix); otherwise unchanged (disagreeing chunks are reported by
    the scan)."""
    import dask.array as da

    if (isinstance(X, da.Array) and isinstance(other, da.Array) and not np.isnan(X.shape[0])
            and not any(np.isnan(c) for c in X.chunks[0] + other.chunks[0])
            and other.shape[0] == X.shape[0] and other.chunks[0] != X.chunks[0]):
        return other.rechunk({0: X.chunks[0]})
    return other


def _raw_chunk(X, y, sample_weight):
    return X, y, sample_weight


def _scan_raw(raw, index):
    return _chunks.scan_chunk(*raw, index)


def _build_raw(raw, index, classes, link):
    return _chunks.build_chunk(*raw, classes, link, index)


class _ChunkEvaluator:
    """A Dask actor holding the chunks of one worker; :meth:`apply` runs a function of a
    chunk on each of them. The client calls it directly (through the scheduler's proxy
    when the client does not connect to workers): a round trip without a task, so
    without the scheduler's per-task work, which dominates short evaluations."""

    def __init__(self, *chunks):
        self.chunks = chunks

    def apply(self, fn, args):
        return [fn(chunk, *args) for chunk in self.chunks]


def _call_apply(evaluator, fn, args):
    """``evaluator.apply(fn, args)`` started (an ``ActorFuture``); a lost actor raises
    ``OSError``, as a lost connection does."""
    try:
        apply = evaluator.apply
    except RuntimeError as exc:  # "Worker holding Actor was lost"
        raise OSError(str(exc)) from None
    return apply(fn, args)


def _placement(worker):
    """``submit`` options placing a task on ``worker`` when possible (None: anywhere)."""
    return {} if worker is None else {"workers": [worker], "allow_other_workers": True}


def _usable_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _set_kernel_threads(n):
    """On a worker: ``fastlogreg.set_num_threads(n)`` unless a count was set explicitly."""
    global _auto_threads
    if _backend._num_threads is None or _backend._num_threads == _auto_threads:
        _backend.set_num_threads(n)
        _auto_threads = n
    return _backend.get_num_threads()


def _take_share(threads_by_host, dask_worker):
    """On a worker (``client.run``): kernel threads set to its share of its host's cores."""
    from distributed.comm.addressing import get_address_host

    host_threads = threads_by_host.get(get_address_host(dask_worker.address), dask_worker.state.nthreads)
    return _set_kernel_threads(max(1, _usable_cores() // max(1, host_threads)))


def share_threads(client):
    """Set every worker's kernel thread count to its share of its host's cores:
    ``max(1, cores // Dask threads of the workers on that host)``, in one ``client.run``.

    Returns
    -------
    dict
        ``{worker address: kernel threads}`` as set (or kept) on each worker.
    """
    threads_by_host = {}
    for info in client.scheduler_info(n_workers=-1)["workers"].values():
        threads_by_host[info["host"]] = threads_by_host.get(info["host"], 0) + int(info["nthreads"])
    return client.run(_take_share, threads_by_host)


class DaskSource(_Source):
    """Row chunks held as futures on ``dask.distributed`` workers.

    Parameters
    ----------
    client : distributed.Client
    futures : list of Future, one validated problem per chunk, in row order
    offsets : (n_chunks,) int, global index of each chunk's first row
    n_samples, n_features, n_classes, multinomial, link, dtype, is_sparse, weight_sum
        The data set's description (:class:`fastlogreg._sources._Source`).
    """

    def __init__(self, client, futures, offsets, **description):
        self.client, self.futures, self.offsets = client, list(futures), np.asarray(offsets)
        self.n_chunks = len(self.futures)
        self._evaluators = None  # [(actor, [chunk indices])], made by the first map
        self._actor_futures = []  # every actor started, for close
        self._samples = []  # the sources made by sample, closed with this one
        self._describe(**description)
        self._description = description

    def map(self, fn, *args):
        """``fn(chunk, *args)`` on every chunk's worker, the results in chunk order.

        The first call groups the chunks by a worker that holds them and starts on each
        such worker a :class:`_ChunkEvaluator` actor given that worker's chunks (no copy:
        the actor is placed where its chunks are). Every call then makes one actor call
        per worker: the arguments travel once to each worker, whatever its number of
        chunks, and no task goes through the scheduler. Chunks held nowhere (being
        recomputed) go to one actor the scheduler places, which waits for them.

        A worker that dies loses its actor and its chunks; the call fails with an
        ``OSError`` (a closed connection, a lost actor) or a ``FutureCancelledError``,
        and is made again, up to ``_ATTEMPTS`` times, with new actors on the chunks as
        the scheduler recomputes them. The result is the same, since every chunk's
        partial sums are a function of the chunk and the arguments only."""
        from distributed.client import FutureCancelledError

        for attempt in range(_ATTEMPTS):
            try:
                if self._evaluators is None:
                    self._evaluators = self._start_evaluators()
                calls = [(_call_apply(actor, fn, args), chunks) for actor, chunks in self._evaluators]
                results = [None] * self.n_chunks
                for call, chunks in calls:
                    for k, value in zip(chunks, call.result()):
                        results[k] = value
                return results
            except (OSError, FutureCancelledError):
                self._evaluators = None
                if attempt == _ATTEMPTS - 1:
                    raise

    def _start_evaluators(self):
        """``[(actor, [chunk indices])]``: one :class:`_ChunkEvaluator` per group of
        :meth:`_chunks_by_worker`, placed on that worker."""
        groups = self._chunks_by_worker()
        handles = [self.client.submit(_ChunkEvaluator, *[self.futures[k] for k in chunks], actor=True,
                                      pure=False, **_placement(worker))
                   for worker, chunks in groups]
        self._actor_futures.extend(handles)
        return [(handle.result(), chunks) for handle, (_, chunks) in zip(handles, groups)]

    def close(self):
        """Release the actors now, and with them the chunks they hold. Without this they
        would live until the client's next garbage collection: every actor call leaves
        its proxy in a reference cycle inside ``distributed``."""
        futures, self._actor_futures, self._evaluators = self._actor_futures, [], None
        if futures:
            self.client.cancel(futures)
        for sub in self._samples:
            sub.close()

    def _chunks_by_worker(self):
        """``[(worker address or None, [chunk indices])]``: the chunks grouped by a worker
        that holds them (None for chunks not held anywhere yet)."""
        holders = self.client.who_has(self.futures)
        groups = {}
        for k, future in enumerate(self.futures):
            workers = sorted(holders.get(future.key, ()))
            groups.setdefault(workers[0] if workers else None, []).append(k)
        return list(groups.items())

    def sample(self, stride):
        """Each chunk's rows with a global index that is a multiple of ``stride``, kept as
        a future on the chunk's worker."""
        subs = self.client.map(_chunks.sample_rows, self.futures, list(self.offsets),
                               stride=int(stride), pure=False)
        sums = self.client.gather(self.client.map(_weight_sum_or_none, subs, pure=False))
        keep = [k for k, s in enumerate(sums) if s is not None]
        if not keep or not sum(sums[k] for k in keep) > 0:
            return None
        description = dict(self._description, n_samples=sum(self.client.gather(
            self.client.map(_n_samples, [subs[k] for k in keep], pure=False))),
            weight_sum=sum(sums[k] for k in keep))
        sub = DaskSource(self.client, [subs[k] for k in keep], np.zeros(len(keep), dtype=np.int64),
                         **description)
        self._samples.append(sub)
        return sub


def _weight_sum_or_none(problem):
    return None if problem is None else problem.weight_sum


def _n_samples(problem):
    return problem.n_samples


def open_dask(X, y, sample_weight, link):
    """``(source, info, feature names or None)`` for Dask collections X, y and (optionally)
    sample_weight on the current client; see the module docstring for the steps.

    Raises
    ------
    ValueError
        No client; y missing; different numbers of row chunks; any chunk's check
        (:func:`fastlogreg._chunks.scan_chunk`), raised on the client.
    TypeError
        y or sample_weight not a Dask collection.
    """
    from dask import delayed
    from distributed import wait

    client = _client()
    if y is None:
        raise ValueError("y is required with a Dask X (a Dask array or Series of labels)")
    y = _align_rows(X, y, "y")
    if sample_weight is not None:
        sample_weight = _align_rows(X, sample_weight, "sample_weight")
    x_blocks, columns = _row_blocks(X, "X")
    y_blocks, _ = _row_blocks(y, "y")
    if len(y_blocks) != len(x_blocks):
        raise ValueError(f"X has {len(x_blocks)} row chunks but y has {len(y_blocks)}: their row chunks "
                         "must agree (rechunk y like X)")
    if sample_weight is None:
        sw_blocks = [None] * len(x_blocks)
    else:
        sw_blocks, _ = _row_blocks(sample_weight, "sample_weight")
        if len(sw_blocks) != len(x_blocks):
            raise ValueError(f"X has {len(x_blocks)} row chunks but sample_weight has {len(sw_blocks)}: "
                             "their row chunks must agree")
    share_threads(client)
    raw = client.compute([delayed(_raw_chunk)(xb, yb, sb)
                          for xb, yb, sb in zip(x_blocks, y_blocks, sw_blocks)])
    indices = list(range(len(raw)))
    scans = client.gather(client.map(_scan_raw, raw, indices, pure=False))
    info = _chunks.merge_scans(scans)
    classes = info["classes"]
    multinomial = len(classes) > 2
    chunk_link = None if multinomial else link
    futures = client.map(_build_raw, raw, indices, classes=classes, link=chunk_link, pure=False)
    wait(futures)
    for future in futures:
        if future.status == "error":
            future.result()  # raises the chunk's build error here, on the client
    del raw  # the built chunks hold the blocks
    source = DaskSource(client, futures, info["offsets"], n_samples=info["n_samples"],
                        n_features=info["n_features"], n_classes=len(classes) if multinomial else 1,
                        multinomial=multinomial, link=chunk_link, dtype=info["dtype"],
                        is_sparse=info["sparse"], weight_sum=info["weight_sum"])
    return source, info, columns
