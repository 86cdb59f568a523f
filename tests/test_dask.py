"""Training on Dask collections on a real ``distributed.LocalCluster``.

Two worker processes with one thread each (so pickling, imports on the workers and the
kernel thread share are exercised), started once for the module. The fits must equal
the in-memory fit on the same rows (relative 1e-6 on coef_), survive a worker killed in
the middle, and report bad chunks on the client. Skipped without ``distributed``.
"""

import os
import threading

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import fastlogreg as flr  # noqa: E402
from fastlogreg import _dask  # noqa: E402

from conftest import assert_same_model, planted_classes  # noqa: E402

TOL = 1e-10
N, D, CHUNK = 6000, 8, 1000


@pytest.fixture(scope="module")
def client():
    # the workers import fastlogreg as this process does (the source tree in a checkout)
    root = os.path.dirname(os.path.dirname(os.path.abspath(flr.__file__)))
    path = os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, env={"PYTHONPATH": path}) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def _data(n_classes=2, dtype=np.float64, weighted=True):
    return planted_classes(n_classes, N, D, dtype, weighted)


def _collections(X, y, sw):
    Xd = da.from_array(X, chunks=(CHUNK, X.shape[1])).persist()
    yd = da.from_array(y, chunks=CHUNK)
    return Xd, yd, (None if sw is None else da.from_array(sw, chunks=CHUNK))


@pytest.mark.parametrize("case", ["binary", "multinomial", "float32", "probit", "newton"])
def test_dask_fit_equals_in_memory_fit(client, case):
    X, y, sw = _data(3 if case == "multinomial" else 2, np.float32 if case == "float32" else np.float64)
    params = {"tol": TOL, "link": "probit" if case == "probit" else "logit"}
    if case == "newton":
        params["solver"] = "newton"
    expected = flr.LogisticRegression(**params).fit(X, y, sample_weight=sw)
    got = flr.LogisticRegression(**params).fit(*_collections(X, y, sw))
    assert_same_model(got, expected)
    assert got.n_features_in_ == D


def test_dask_dataframe_fit_keeps_column_names(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y, _ = _data(2, weighted=False)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(D)])
    expected = flr.LogisticRegression(tol=TOL).fit(frame, y)
    Xd = dd.from_pandas(frame, npartitions=4)
    yd = dd.from_pandas(pd.Series(y), npartitions=4)
    got = flr.LogisticRegression(tol=TOL).fit(Xd, yd)
    assert_same_model(got, expected)
    np.testing.assert_array_equal(got.feature_names_in_, frame.columns)


def test_worker_kernel_threads_are_their_share_of_the_cores(client):
    threads = _dask.share_threads(client)
    cores = client.run(lambda: len(os.sched_getaffinity(0)))
    assert len(threads) == 2
    # 2 single-threaded workers on this host: each gets half of the cores (at least 1)
    for address, n in threads.items():
        assert n == max(1, cores[address] // 2)
    assert client.run(flr.get_num_threads) == threads


@pytest.mark.parametrize("kind, message", [
    ("nan", r"chunk 2: X contains 1 non-finite value\(s\): 1 NaN"),
    ("rows", r"chunk 1: X has 1000 rows but y has 999"),
    ("blocks", r"X has 6 row chunks but y has 5"),
    ("y_missing", r"y is required with a Dask X"),
])
def test_bad_chunks_are_reported_on_the_client(client, kind, message):
    from dask import delayed

    X, y, _ = _data(2, weighted=False)
    Xd, yd, _ = _collections(X, y, None)
    if kind == "nan":
        X = X.copy()
        X[2 * CHUNK + 7, 3] = np.nan
        Xd = da.from_array(X, chunks=(CHUNK, D))
    elif kind == "rows":  # chunk sizes unknown to the graph: found by the chunk's own check
        parts = [y[k * CHUNK:(k + 1) * CHUNK] for k in range(N // CHUNK)]
        parts[1] = parts[1][:-1]
        yd = da.concatenate([da.from_delayed(delayed(p), shape=(np.nan,), dtype=y.dtype) for p in parts])
    elif kind == "blocks":
        yd = da.from_array(y[:5 * CHUNK], chunks=CHUNK)
    elif kind == "y_missing":
        yd = None
    with pytest.raises(ValueError, match=message):
        flr.LogisticRegression().fit(Xd, yd)


def test_evaluations_are_actor_calls_without_tasks(client, monkeypatch):
    """A fit starts one actor per worker holding chunks; every evaluation is one call of
    each actor, and no task is submitted for it."""
    X, y, sw = _data(2)
    submitted, calls = [], []
    submit, call_apply = type(client).submit, _dask._call_apply

    def recording_submit(self, fn, *args, **kwargs):
        submitted.append(kwargs.get("actor", False))
        return submit(self, fn, *args, **kwargs)

    def recording_call(evaluator, fn, args):
        calls.append(fn.__name__)
        return call_apply(evaluator, fn, args)

    monkeypatch.setattr(type(client), "submit", recording_submit)
    monkeypatch.setattr(_dask, "_call_apply", recording_call)
    model = flr.LogisticRegression(tol=TOL, solver="lbfgs").fit(*_collections(X, y, sw))
    actors = len(submitted)
    assert 1 <= actors <= len(client.scheduler_info()["workers"]) and all(submitted)
    assert set(calls) == {"loss_grad_partials"}
    assert len(calls) % actors == 0 and len(calls) // actors > model.n_iter_[0]


def test_a_fit_leaves_no_actor_or_chunk_on_the_workers(client, monkeypatch):
    """The actors and the chunks built for a fit are released when the fit ends, without
    waiting for a garbage collection (seen on the workers during the fit, gone after it).
    Chunks of earlier tests' failed fits may still be held (by their exceptions'
    tracebacks): only what this fit adds counts."""
    import time

    def held():
        """``(actors, sorted keys of the fit's own futures)`` on all workers."""
        actors = client.run(lambda dask_worker: len(dask_worker.state.actors))
        keys = client.run(lambda dask_worker: [str(key) for key in dask_worker.data])
        own = ("_raw_chunk", "_build_raw", "_ChunkEvaluator")
        return sum(actors.values()), sorted(k for ks in keys.values() for k in ks if k.startswith(own))

    during = []
    original = _dask.DaskSource.map

    def map_looking(self, fn, *args):
        result = original(self, fn, *args)
        if not during:
            during.append(held())
        return result

    def added():  # what the fit holds beyond what earlier tests may still hold
        actors, keys = held()
        return max(0, actors - before[0]), sorted(set(keys) - set(before[1]))

    monkeypatch.setattr(_dask.DaskSource, "map", map_looking)
    X, y, sw = _data(2)
    deadline = time.monotonic() + 10.0
    while held()[0] and time.monotonic() < deadline:
        time.sleep(0.05)  # earlier tests' actors, released asynchronously
    before = held()
    flr.LogisticRegression(tol=TOL).fit(*_collections(X, y, sw))
    assert during[0][0] > before[0] and set(during[0][1]) - set(before[1])  # it sees the fit's
    deadline = time.monotonic() + 10.0
    while added() != (0, []) and time.monotonic() < deadline:
        time.sleep(0.05)  # the releases reach the workers asynchronously
    assert added() == (0, [])


@pytest.mark.parametrize("step", ["actor start", "actor call"])
def test_a_connection_lost_during_an_evaluation_is_retried(client, monkeypatch, step):
    """A worker dying while an actor is started or called closes the connection
    (CommClosedError, an OSError): the evaluation is made again, on new actors, and the
    fit is unchanged."""
    from distributed.comm.core import CommClosedError

    X, y, sw = _data(2)
    expected = flr.LogisticRegression(tol=TOL).fit(X, y, sample_weight=sw)
    failures = []

    def failing_once(original):
        def call(*args, **kwargs):
            if not failures:
                failures.append(1)
                raise CommClosedError("in <TCP (closed) ConnectionPool>: Stream is closed")
            return original(*args, **kwargs)
        return call

    if step == "actor start":
        monkeypatch.setattr(type(client), "submit", failing_once(type(client).submit))
    else:
        monkeypatch.setattr(_dask, "_call_apply", failing_once(_dask._call_apply))
    got = flr.LogisticRegression(tol=TOL).fit(*_collections(X, y, sw))
    assert failures == [1]
    assert_same_model(got, expected)


def test_chunks_held_nowhere_yet_are_evaluated_anywhere(client, monkeypatch):
    """An evaluation's actors are placed on the workers holding the chunks; chunks not
    held anywhere (being recomputed after a worker died) go to one actor the scheduler
    places."""
    X, y, sw = _data(2)
    expected = flr.LogisticRegression(tol=TOL).fit(X, y, sample_weight=sw)
    looked_up = []

    def held_nowhere(self, futures=None, **kwargs):
        looked_up.append(len(futures))
        return {}

    monkeypatch.setattr(type(client), "who_has", held_nowhere)
    got = flr.LogisticRegression(tol=TOL).fit(*_collections(X, y, sw))
    assert looked_up  # the evaluations asked where the chunks are
    assert_same_model(got, expected)


def test_a_worker_killed_during_the_fit_is_survived(client, monkeypatch):
    """The second evaluation of the objective kills the worker holding chunk 0; its chunks
    are recomputed on the workers left (the nanny restarts the killed one) and the fit
    ends on the in-memory solution. Last in this module: it changes the cluster."""
    X, y, sw = _data(2)
    expected = flr.LogisticRegression(tol=TOL).fit(X, y, sample_weight=sw)
    calls = []
    killed = []
    original = _dask.DaskSource.map

    def map_killing_once(self, fn, *args):
        calls.append(fn.__name__)
        if len(calls) == 2 and not killed:
            holder = next(iter(self.client.who_has([self.futures[0]]).values()))[0]
            killed.append(holder)
            # exit shortly after answering, so that the run call itself returns
            self.client.run(lambda: threading.Timer(0.05, os._exit, (1,)).start(), workers=[holder])
        return original(self, fn, *args)

    monkeypatch.setattr(_dask.DaskSource, "map", map_killing_once)
    got = flr.LogisticRegression(tol=TOL).fit(*_collections(X, y, sw))
    assert killed, "no worker was killed"
    assert len(calls) > 2  # the fit went on after the kill
    assert_same_model(got, expected)
