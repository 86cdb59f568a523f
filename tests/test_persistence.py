"""fastlogreg.load: a damaged, inconsistent or oversized model file gives a ValueError
that says what is wrong, never another exception and never a model that predicts
nonsense. Each case starts from a valid file written by ``save`` and changes one thing."""

import io
import json
import zipfile

import numpy as np
import pytest
from sklearn.datasets import load_iris

import fastlogreg
from fastlogreg import LogisticRegression


@pytest.fixture(scope="module")
def iris_model():
    X, y = load_iris(return_X_y=True)
    return LogisticRegression(C=0.5, backend="numpy").fit((X - X.mean(0)) / X.std(0), y)


@pytest.fixture(scope="module")
def binary_model():
    X, y = load_iris(return_X_y=True)
    keep = y < 2
    return LogisticRegression(backend="numpy").fit(X[keep], y[keep])


def _members(model, tmp_path):
    path = tmp_path / "valid.flr"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    metadata = json.loads(str(arrays.pop("metadata")[()]))
    return metadata, arrays


def _write(tmp_path, metadata, arrays, name="crafted.flr"):
    path = tmp_path / name
    with open(path, "wb") as fh:
        np.savez(fh, metadata=np.array(json.dumps(metadata)), **arrays)
    return path


def _load_fails(path, match):
    with pytest.raises(ValueError, match=match):
        fastlogreg.load(path)


@pytest.mark.parametrize("name, value, match", [
    ("coef_", np.zeros((1, 4)), r"coef_ has shape \(1, 4\), expected \(3, 4\)"),
    ("coef_", np.zeros((3, 4, 1)), r"coef_ has shape \(3, 4, 1\)"),
    ("coef_", np.zeros((3, 5)), r"coef_ has shape \(3, 5\), expected \(3, 4\)"),
    ("coef_", np.zeros((3, 4), dtype=complex), r"coef_ must be float64 or float32, got complex128"),
    ("coef_", np.zeros((3, 4), dtype=np.int64), r"coef_ must be float64 or float32, got int64"),
    ("coef_", np.full((3, 4), np.nan), r"coef_ holds non-finite values"),
    ("intercept_", np.array([0.0, np.inf, 0.0]), r"intercept_ holds non-finite values"),
    ("intercept_", np.zeros(2), r"intercept_ has shape \(2,\), expected \(3,\)"),
    ("classes_", np.array([0, 1, 1]), r"classes_ holds repeated labels"),
    ("classes_", np.array([7]), r"classes_ must hold at least 2 labels"),
])
def test_inconsistent_arrays_are_refused(iris_model, tmp_path, name, value, match):
    metadata, arrays = _members(iris_model, tmp_path)
    arrays[name] = value
    _load_fails(_write(tmp_path, metadata, arrays), match)


def test_three_coef_rows_with_two_classes_are_refused(binary_model, tmp_path):
    metadata, arrays = _members(binary_model, tmp_path)
    arrays["coef_"] = np.zeros((3, 4))
    _load_fails(_write(tmp_path, metadata, arrays), r"coef_ has shape \(3, 4\), expected \(1, 4\)")


@pytest.mark.parametrize("key, value, match", [
    ("n_features_in_", "4", r"n_features_in_ must be an integer >= 1, got '4'"),
    ("n_features_in_", 0, r"n_features_in_ must be an integer >= 1"),
    ("version", 99, r"format version 99; this fastlogreg reads up to version 1"),
    ("version", "1", r"invalid format version '1'"),
    ("format", "other", r"not a fastlogreg model file"),
    ("solver_", "magic", r"invalid solver_ 'magic'"),
    ("n_iter_", ["x"], r"n_iter_ must be a list of one integer"),
    ("objective_", None, r"objective_ must be a number"),
    ("classes_kind", "pickle", r"invalid classes_kind"),
    ("params", [], r"params must be a JSON object"),
])
def test_inconsistent_metadata_is_refused(iris_model, tmp_path, key, value, match):
    metadata, arrays = _members(iris_model, tmp_path)
    metadata[key] = value
    _load_fails(_write(tmp_path, metadata, arrays), match)


@pytest.mark.parametrize("params, match", [
    ({"C": -1.0}, r"invalid params \(C must be a positive number"),
    ({"solver": "magic"}, r"invalid params \(solver must be one of"),
    ({"no_such_parameter": 1}, r"invalid params .*no_such_parameter"),
    ({"link": "probit"}, r"link='probit' with 3 classes"),
])
def test_invalid_params_are_refused(iris_model, tmp_path, params, match):
    metadata, arrays = _members(iris_model, tmp_path)
    metadata["params"].update(params)
    _load_fails(_write(tmp_path, metadata, arrays), match)


def test_missing_and_extra_members_are_refused(iris_model, tmp_path):
    metadata, arrays = _members(iris_model, tmp_path)
    _load_fails(_write(tmp_path, metadata, {k: v for k, v in arrays.items() if k != "intercept_"}),
                r"missing arrays \['intercept_'\]")
    _load_fails(_write(tmp_path, metadata, {**arrays, "payload": np.zeros(3)}),
                r"unexpected arrays \['payload'\]")
    path = tmp_path / "no_metadata.flr"
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    _load_fails(path, r"no metadata")


@pytest.mark.parametrize("damage", ["not_a_zip", "truncated", "empty", "metadata_not_json",
                                    "metadata_not_a_string"])
def test_damaged_files_give_value_error(iris_model, tmp_path, damage):
    valid = tmp_path / "valid.flr"
    iris_model.save(valid)
    path = tmp_path / "damaged.flr"
    if damage == "not_a_zip":
        path.write_bytes(b"this is not a model file at all")
    elif damage == "truncated":
        path.write_bytes(valid.read_bytes()[: valid.stat().st_size // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        metadata, arrays = _members(iris_model, tmp_path)
        bad = np.array("{not json") if damage == "metadata_not_json" else np.arange(3)
        with open(path, "wb") as fh:
            np.savez(fh, metadata=bad, **arrays)
    _load_fails(path, r"damaged\.flr")


def test_declared_size_is_bounded_before_reading(iris_model, tmp_path):
    """A member whose header declares 80 GB (and holds no data) is refused from its header,
    before anything is inflated; the bound is the max_bytes argument."""
    metadata, arrays = _members(iris_model, tmp_path)
    path = _write(tmp_path, metadata, arrays)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (100_000, 100_000)})
    bomb = tmp_path / "bomb.flr"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            data = header.getvalue() if item.filename == "coef_.npy" else src.read(item)
            dst.writestr(item.filename, data)
    _load_fails(bomb, r"declare 80000000\d* bytes, more than max_bytes=1073741824")
    # the same bound refuses a valid file when set below its size, and names the argument
    with pytest.raises(ValueError, match=r"more than max_bytes=64; pass a larger max_bytes"):
        fastlogreg.load(path, max_bytes=64)
    assert fastlogreg.load(path, max_bytes=10_000).coef_.shape == (3, 4)


def test_valid_file_round_trips(iris_model, tmp_path):
    metadata, arrays = _members(iris_model, tmp_path)
    loaded = fastlogreg.load(_write(tmp_path, metadata, arrays))
    np.testing.assert_array_equal(loaded.coef_, iris_model.coef_)
    assert loaded.n_features_in_ == 4 and loaded.solver_ == iris_model.solver_
