"""Save and load fitted models in a plain format: loading a file runs no code.

A model file is a NumPy ``.npz`` archive of plain arrays (``coef_``, ``intercept_``,
``classes_``, ``feature_names_in_``) and one JSON document (``metadata``, stored as a
0-d unicode array) with the format version, the constructor parameters and the fit
summary. It is read with ``np.load(..., allow_pickle=False)``: no pickle, no object
arrays, so a crafted file cannot execute anything.
"""

import json
import zipfile

import numpy as np

FORMAT = "fastlogreg-model"
VERSION = 1


def _label_array(classes):
    """``classes_`` as a non-object array and how to restore its dtype."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf" or classes.dtype.kind == "U":
        return classes, "native"
    if classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes):
        return classes.astype(str), "object_str"
    raise TypeError(
        f"cannot save classes_ of dtype {classes.dtype} "
        f"(labels must be numbers, booleans or strings), got e.g. {classes[0]!r}"
    )


def save(model, path):
    """Write fitted ``model`` (a :class:`fastlogreg.LogisticRegression`) to ``path``.

    Parameters
    ----------
    model : fitted LogisticRegression
    path : str or path-like
        Written exactly there (no suffix is added). ``coef_`` and ``intercept_`` are
        written in their dtype when both are float32 or float64 (NumPy's promotion of
        the two otherwise), and read back in it by :func:`fastlogreg.load`.

    Returns
    -------
    None

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastlogreg import LogisticRegression, load
    >>> from fastlogreg.persistence import save
    >>> clf = LogisticRegression(backend="numpy").fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(clf, path)
    >>> bool(np.array_equal(load(path).coef_, clf.coef_))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    classes, classes_kind = _label_array(model.classes_)
    params = model.get_params()
    if params.get("random_state") is not None and not isinstance(params["random_state"], int):
        params["random_state"] = None  # a Generator is not data
    C = params["C"]
    params["C"] = "inf" if np.isinf(C) else float(C)
    if isinstance(params.get("class_weight"), dict):  # JSON keys are strings: pairs keep the labels
        params["class_weight"] = [[k.item() if isinstance(k, np.generic) else k, float(v)]
                                  for k, v in params["class_weight"].items()]
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "estimator": "LogisticRegression",
        "params": params,
        "classes_kind": classes_kind,
        "n_features_in_": int(model.n_features_in_),
        "n_iter_": [int(k) for k in model.n_iter_],
        "objective_": float(model.objective_),
        "gradient_max_norm_": float(model.gradient_max_norm_),
        "solver_": model.solver_,
    }
    # a float32 model stays float32 (bit for bit); anything else is written as float64
    dtype = np.result_type(model.coef_, model.intercept_)
    if dtype not in (np.float32, np.float64):
        dtype = np.float64
    arrays = {
        "metadata": np.array(json.dumps(metadata)),
        "coef_": np.asarray(model.coef_, dtype=dtype),
        "intercept_": np.asarray(model.intercept_, dtype=dtype),
        "classes_": classes,
    }
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_).astype(str)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


#: The default bound on the bytes a model file may declare (all its arrays, uncompressed).
MAX_BYTES = 1 << 30
_MAX_METADATA_BYTES = 1 << 20
_SOLVERS = ("lbfgs", "newton", "sgd", "prox-newton")


class _Invalid(ValueError):
    """A model file that is readable but inconsistent."""


def _header(zf, name):
    """(shape, dtype) of the .npy member ``name``, read from its header alone."""
    with zf.open(name + ".npy") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise _Invalid(f"array {name!r} has .npy format version {version}")
    return shape, dtype


def _read(zf, name):
    with zf.open(name + ".npy") as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def _expect(cond, message):
    if not cond:
        raise _Invalid(message)


def _check_metadata(metadata):
    _expect(isinstance(metadata, dict) and metadata.get("format") == FORMAT,
            "not a fastlogreg model file (wrong format tag)")
    version = metadata.get("version")
    _expect(isinstance(version, int) and not isinstance(version, bool) and version >= 1,
            f"invalid format version {version!r}")
    if version > VERSION:
        raise _Invalid(f"format version {version}; this fastlogreg reads up to version {VERSION}")
    n_features = metadata.get("n_features_in_")
    _expect(isinstance(n_features, int) and not isinstance(n_features, bool) and n_features >= 1,
            f"n_features_in_ must be an integer >= 1, got {n_features!r}")
    _expect(isinstance(metadata.get("params"), dict), "params must be a JSON object")
    _expect(metadata.get("classes_kind") in ("native", "object_str"),
            f"invalid classes_kind {metadata.get('classes_kind')!r}")
    _expect(metadata.get("solver_") in _SOLVERS, f"invalid solver_ {metadata.get('solver_')!r}")
    n_iter = metadata.get("n_iter_")
    _expect(isinstance(n_iter, list) and len(n_iter) == 1
            and all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in n_iter),
            f"n_iter_ must be a list of one integer >= 0, got {n_iter!r}")
    for key in ("objective_", "gradient_max_norm_"):
        value = metadata.get(key)
        _expect(isinstance(value, (int, float)) and not isinstance(value, bool),
                f"{key} must be a number, got {value!r}")


def _check_arrays(zf, metadata, max_bytes):
    """Check every member's declared shape and dtype against the metadata, and the total
    declared size against ``max_bytes``, before any array data is read."""
    members = {name[:-4] for name in zf.namelist() if name.endswith(".npy")}
    expected = {"metadata", "coef_", "intercept_", "classes_"}
    _expect(expected <= members, f"missing arrays {sorted(expected - members)}")
    _expect(members <= expected | {"feature_names_in_"},
            f"unexpected arrays {sorted(members - expected - {'feature_names_in_'})}")
    headers = {name: _header(zf, name) for name in members - {"metadata"}}
    total = sum(int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                for shape, dtype in headers.values())
    if total > max_bytes:
        raise _Invalid(f"its arrays declare {total} bytes, more than max_bytes={max_bytes}; "
                       "pass a larger max_bytes to load a model this large")
    d = metadata["n_features_in_"]
    classes_shape, classes_dtype = headers["classes_"]
    _expect(len(classes_shape) == 1 and classes_shape[0] >= 2,
            f"classes_ must hold at least 2 labels in a 1-D array, got shape {classes_shape}")
    _expect(classes_dtype.kind in "biufU", f"classes_ has unsupported dtype {classes_dtype}")
    n_classes = classes_shape[0]
    rows = 1 if n_classes == 2 else n_classes
    for name, shape in (("coef_", (rows, d)), ("intercept_", (rows,))):
        got_shape, dtype = headers[name]
        _expect(got_shape == shape, f"{name} has shape {got_shape}, expected {shape} for "
                f"{n_classes} classes and n_features_in_={d}")
        _expect(dtype in (np.dtype(np.float64), np.dtype(np.float32)),
                f"{name} must be float64 or float32, got {dtype}")
    _expect(headers["coef_"][1] == headers["intercept_"][1],
            f"coef_ ({headers['coef_'][1]}) and intercept_ ({headers['intercept_'][1]}) "
            "must have the same dtype")
    if "feature_names_in_" in headers:
        shape, dtype = headers["feature_names_in_"]
        _expect(shape == (d,) and dtype.kind == "U",
                f"feature_names_in_ must be {d} strings, got shape {shape} of {dtype}")


def load(path, *, max_bytes=MAX_BYTES):
    """Read a model written by :meth:`fastlogreg.LogisticRegression.save`.

    Every field is checked before the model is built: the metadata's types, the arrays'
    shapes and dtypes against the number of classes and features (``coef_`` and
    ``intercept_`` both float32 or both float64, kept as they are), finite coefficients,
    and the total size the arrays declare (from their headers, before any data is read).

    Parameters
    ----------
    path : str or path-like
    max_bytes : int, default 2**30
        Largest total size, uncompressed, that the file's arrays may declare. A file
        that declares more is refused before it is inflated.

    Returns
    -------
    LogisticRegression
        Fitted, predicting exactly as the saved model.

    Raises
    ------
    ValueError
        If the file is not a fastlogreg model file, is of a newer format version, is
        damaged, or is inconsistent (the message says what is wrong).
    OSError
        If the file cannot be opened.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastlogreg import LogisticRegression, load
    >>> clf = LogisticRegression(backend="numpy").fit([[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "b"])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> clf.save(path)
    >>> restored = load(path)
    >>> restored.predict([[0.2], [2.8]]).tolist(), restored.classes_.tolist()
    (['a', 'b'], ['a', 'b'])
    """
    from .linear_model import LogisticRegression

    try:
        with zipfile.ZipFile(path) as zf:
            _expect("metadata.npy" in zf.namelist(), "not a fastlogreg model file (no metadata)")
            _expect(zf.getinfo("metadata.npy").file_size <= _MAX_METADATA_BYTES,
                    "its metadata is larger than any fastlogreg model writes")
            shape, dtype = _header(zf, "metadata")
            _expect(shape == () and dtype.kind == "U", "its metadata is not a JSON string")
            metadata = json.loads(str(_read(zf, "metadata")[()]))
            _check_metadata(metadata)
            _check_arrays(zf, metadata, max_bytes)
            arrays = {name[:-4]: _read(zf, name[:-4]) for name in zf.namelist()
                      if name != "metadata.npy"}
    except _Invalid as exc:
        raise ValueError(f"{path!s}: {exc}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError,
            OverflowError, RecursionError, UnicodeError) as exc:
        raise ValueError(f"{path!s} is not a valid fastlogreg model file "
                         f"({type(exc).__name__}: {exc})") from None
    for name in ("coef_", "intercept_"):
        if not np.all(np.isfinite(arrays[name])):
            raise ValueError(f"{path!s}: {name} holds non-finite values")
    classes = arrays["classes_"]
    if np.unique(classes).shape[0] != classes.shape[0]:
        raise ValueError(f"{path!s}: classes_ holds repeated labels")
    try:
        params = dict(metadata["params"])
        if params.get("C") == "inf":
            params["C"] = np.inf
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = {k: v for k, v in params["class_weight"]}
        model = LogisticRegression(**params)
        model._check_params()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path!s}: invalid params ({exc})") from None
    if model.link == "probit" and classes.shape[0] > 2:
        raise ValueError(f"{path!s}: link='probit' with {classes.shape[0]} classes")
    if metadata["classes_kind"] == "object_str":
        classes = classes.astype(object)
    model.classes_ = classes
    model.coef_ = arrays["coef_"]
    model.intercept_ = arrays["intercept_"]
    model.n_features_in_ = metadata["n_features_in_"]
    if "feature_names_in_" in arrays:
        model.feature_names_in_ = arrays["feature_names_in_"].astype(object)
    model.n_iter_ = np.array(metadata["n_iter_"], dtype=np.int32)
    model.objective_ = float(metadata["objective_"])
    model.gradient_max_norm_ = float(metadata["gradient_max_norm_"])
    model.solver_ = metadata["solver_"]
    return model
