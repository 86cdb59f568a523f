"""Training on row chunks: the objective over chunks, Chunks streams, .npy files, memory maps.

The fits on chunked data must give the in-memory fit on the same rows: the solvers see
the same objective, only its sums are added chunk by chunk (relative 1e-6 on coef_, at a
tol where both fits are that close to the optimum). The objective itself is checked
against the loss written out in NumPy/SciPy here.
"""

import numpy as np
import pytest
from scipy import sparse, special

import fastlogreg as flr
from fastlogreg import solvers
from fastlogreg._chunks import build_chunk
from fastlogreg._sources import ListSource

from conftest import SEED, assert_same_model, planted_classes

TOL = 1e-10


def _pieces(X, y, sw, sizes):
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return [(X[a:b], y[a:b]) + ((sw[a:b],) if sw is not None else ()) for a, b in zip(edges[:-1], edges[1:])]


def _reader(pieces):
    def read():
        yield from pieces
    return read


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_stream_fit_equals_in_memory_fit(n_classes, solver):
    X, y, sw = planted_classes(n_classes)
    expected = flr.LogisticRegression(solver=solver, tol=TOL).fit(X, y, sample_weight=sw)
    pieces = _pieces(X, y, sw, [700, 1, 999, 1300])  # uneven, one single-row chunk
    got = flr.LogisticRegression(solver=solver, tol=TOL).fit(flr.Chunks(_reader(pieces)))
    assert_same_model(got, expected)
    assert got.n_features_in_ == X.shape[1]
    got_list = flr.LogisticRegression(solver=solver, tol=TOL).fit(flr.Chunks(pieces))
    assert_same_model(got_list, expected)


@pytest.mark.parametrize("case", ["float32", "probit", "no_intercept", "string_labels"])
def test_stream_fit_variants(case):
    X, y, sw = planted_classes(2, dtype=np.float32 if case == "float32" else np.float64)
    params = {"link": "probit"} if case == "probit" else {}
    if case == "no_intercept":
        params["fit_intercept"] = False
    if case == "string_labels":
        y = np.array(["no", "yes"])[y]
    expected = flr.LogisticRegression(tol=TOL, **params).fit(X, y, sample_weight=sw)
    got = flr.LogisticRegression(tol=TOL, **params).fit(flr.Chunks(_reader(_pieces(X, y, sw, [1000] * 3))))
    assert_same_model(got, expected)
    assert got.coef_.dtype == X.dtype


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_chunks_equal_in_memory_fit(n_classes):
    rng = np.random.default_rng(SEED)
    X = sparse.random(2000, 40, density=0.1, format="csr", random_state=rng, dtype=np.float64)
    y = rng.integers(0, n_classes, 2000)
    expected = flr.LogisticRegression(tol=TOL, solver="lbfgs").fit(X, y)
    pieces = [(X[a:a + 500], y[a:a + 500]) for a in range(0, 2000, 500)]
    got = flr.LogisticRegression(tol=TOL, solver="lbfgs").fit(flr.Chunks(_reader(pieces)))
    assert_same_model(got, expected)


def test_objective_over_chunks_is_the_weighted_mean_loss_plus_penalty():
    """Loss, gradient and Hessian-vector product of a 3-chunk objective against the
    formulas written out with SciPy (the oracle): mean weighted softplus(z) - y z plus
    l2/2 ||w||^2."""
    X, y, sw = planted_classes(2, n=600)
    classes = np.array([0, 1])
    problems = [build_chunk(*piece, classes, "logit", k)
                for k, piece in enumerate(_pieces(X, y, sw, [100, 250, 250]))]
    l2 = 0.03
    obj = solvers.Objective(ListSource(problems), l2, fit_intercept=True)
    rng = np.random.default_rng(SEED + 1)
    theta, v = rng.standard_normal(obj.n_params), rng.standard_normal(obj.n_params)
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    loss = np.sum(sw * (np.logaddexp(0.0, z) - y * z)) / sw.sum() + 0.5 * l2 * w @ w
    r = sw * (special.expit(z) - y) / sw.sum()
    grad = np.concatenate([X.T @ r + l2 * w, [r.sum()]])
    s = special.expit(z)
    d = sw * s * (1 - s) * (X @ v[:-1] + v[-1]) / sw.sum()
    hv = np.concatenate([X.T @ d + l2 * v[:-1], [d.sum()]])
    got_loss, got_grad = obj.loss_grad(theta)
    assert got_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(got_grad, grad, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(obj.hessp(theta, v), hv, rtol=1e-10, atol=1e-14)


def test_npy_files_read_in_chunks_and_memory_map(tmp_path):
    X, y, sw = planted_classes(3, dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "sw.npy", sw)
    expected = flr.LogisticRegression(tol=TOL).fit(X, y, sample_weight=sw)
    chunks = flr.Chunks.from_npy(tmp_path / "X.npy", tmp_path / "y.npy", rows_per_chunk=1000,
                                 sample_weight_path=tmp_path / "sw.npy")
    assert_same_model(flr.LogisticRegression(tol=TOL).fit(chunks), expected)
    mapped = flr.Chunks.from_npy(tmp_path / "X.npy", tmp_path / "y.npy", rows_per_chunk=1000,
                                 sample_weight_path=tmp_path / "sw.npy", memory_map=True)
    first = next(iter(mapped))
    assert all(isinstance(a, np.memmap) for a in first)  # views of the maps, not reads
    assert first[0].shape == (1000, X.shape[1])
    assert_same_model(flr.LogisticRegression(tol=TOL).fit(mapped), expected)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    y_map = np.load(tmp_path / "y.npy", mmap_mode="r")
    assert_same_model(flr.LogisticRegression(tol=TOL).fit(X_map, y_map, sample_weight=sw), expected)


def test_npy_reader_rejects_mismatched_files(tmp_path):
    np.save(tmp_path / "X.npy", np.zeros((10, 2)))
    np.save(tmp_path / "y.npy", np.zeros(9))
    with pytest.raises(ValueError, match=r"expected shape \(10,\)"):
        flr.Chunks.from_npy(tmp_path / "X.npy", tmp_path / "y.npy")
    np.save(tmp_path / "F.npy", np.asfortranarray(np.zeros((10, 2))))
    with pytest.raises(ValueError, match="Fortran-ordered"):
        flr.Chunks.from_npy(tmp_path / "F.npy", tmp_path / "y.npy")


def _bad(kind):
    X, y, _ = planted_classes(2, n=400)
    pieces = _pieces(X, y, None, [100] * 4)
    if kind == "nan":
        Xb = pieces[2][0].copy()
        Xb[5, 1] = np.nan
        pieces[2] = (Xb, pieces[2][1])
    elif kind == "rows":
        pieces[1] = (pieces[1][0], pieces[1][1][:-1])
    elif kind == "columns":
        pieces[3] = (pieces[3][0][:, :-1], pieces[3][1])
    elif kind == "weights":
        pieces[1] = pieces[1] + (-np.ones(100),)
    return pieces


@pytest.mark.parametrize("kind, message", [
    ("nan", r"chunk 2: X contains 1 non-finite value\(s\): 1 NaN"),
    ("rows", r"chunk 1: X has 100 rows but y has 99"),
    ("columns", r"chunk 3: X has 5 columns, chunk 0 has 6"),
    ("weights", r"chunk 1: sample_weight has 100 negative value\(s\)"),
])
def test_bad_chunks_are_named(kind, message):
    with pytest.raises(ValueError, match=message):
        flr.LogisticRegression().fit(flr.Chunks(_reader(_bad(kind))))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("value, zero_weight, counts", [
    (np.nan, False, "1 NaN and 0 infinity"),
    (np.inf, False, "0 NaN and 1 infinity"),
    (-np.inf, True, "0 NaN and 1 infinity"),  # a row without weight still has a NaN score
])
@pytest.mark.parametrize("warm_start", [False, True])
def test_nonfinite_X_is_named_from_w_0_and_after_a_warm_start(n_classes, value, zero_weight, counts,
                                                               warm_start):
    """The scan leaves a dense X to the fit: from w = 0 its first pass is NaN and the
    chunks are counted then; a warm start (w != 0) counts them before its first pass."""
    X, y, _ = planted_classes(n_classes, n=400)
    sw = np.ones(400)
    pieces = _pieces(X, y, sw, [100] * 4)
    Xb, swb = pieces[2][0].copy(), pieces[2][2].copy()
    Xb[5, 1] = value
    if zero_weight:
        swb[5] = 0.0
    pieces[2] = (Xb, pieces[2][1], swb)
    model = flr.LogisticRegression(warm_start=warm_start)
    if warm_start:
        model.fit(X, y, sample_weight=sw)
    with pytest.raises(ValueError, match=rf"chunk 2: X contains 1 non-finite value\(s\): {counts}"):
        model.fit(flr.Chunks(_reader(pieces)))


def test_a_label_unknown_to_the_first_pass_is_named():
    X, y, _ = planted_classes(2, n=400)
    passes = []

    def read():  # the second pass brings a label the first pass did not see
        passes.append(1)
        for k, (Xk, yk) in enumerate(_pieces(X, y, None, [100] * 4)):
            yield Xk, (np.where(yk == 1, 7, yk) if k == 3 and len(passes) > 1 else yk)

    with pytest.raises(ValueError, match=r"chunk 3: y contains \d+ label\(s\) not in classes_ \[0, 1\]"):
        flr.LogisticRegression().fit(flr.Chunks(read))


def test_stream_misuse_is_refused():
    X, y, _ = planted_classes(2, n=400)
    pieces = _pieces(X, y, None, [200, 200])
    with pytest.raises(TypeError, match="iterator or generator can be read once only"):
        flr.Chunks(iter(pieces))
    with pytest.raises(ValueError, match="y and sample_weight come from the chunks"):
        flr.LogisticRegression().fit(flr.Chunks(pieces), y)
    with pytest.raises(ValueError, match="solver='sgd' draws mini-batches from data in memory"):
        flr.LogisticRegression(solver="sgd").fit(flr.Chunks(pieces))
    with pytest.raises(TypeError, match="partial_fit takes one in-memory batch"):
        flr.LogisticRegression().partial_fit(flr.Chunks(pieces), None, classes=[0, 1])
    with pytest.raises(TypeError, match=r"chunk 0: expected a tuple \(X, y\)"):
        flr.LogisticRegression().fit(flr.Chunks([X]))


@pytest.mark.parametrize("params, message", [
    ({"penalty": "l1"}, r"penalty='l1' \(with an L1 part\) needs the data in memory"),
    ({"penalty": "elasticnet", "l1_ratio": 0.5}, "needs the data in memory"),
    ({"class_weight": "balanced"}, "class_weight needs the data in memory"),
    ({"class_weight": {0: 2.0, 1: 1.0}}, "multiply the class weights into the chunks' sample_weight"),
])
def test_chunked_data_refuses_what_needs_the_rows_in_memory(params, message):
    X, y, _ = planted_classes(2, n=400)
    with pytest.raises(ValueError, match=message):
        flr.LogisticRegression(**params).fit(flr.Chunks(_pieces(X, y, None, [200, 200])))
