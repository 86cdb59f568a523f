"""Save and load fitted models in a plain format: loading a file runs no code.

A model file is a NumPy ``.npz`` archive of plain arrays (``coef_``, ``intercept_``,
``classes_``, ``feature_names_in_``) and one JSON document (``metadata``, stored as a
0-d unicode array) with the format version, the constructor parameters and the fit
summary. It is read with ``np.load(..., allow_pickle=False)``: no pickle, no object
arrays, so a crafted file cannot execute anything.
"""

import json

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
    path : str or path-like; written exactly there (no suffix is added)
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    classes, classes_kind = _label_array(model.classes_)
    params = model.get_params()
    if params.get("random_state") is not None and not isinstance(params["random_state"], int):
        params["random_state"] = None  # a Generator is not data
    C = params["C"]
    params["C"] = "inf" if np.isinf(C) else float(C)
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
    arrays = {
        "metadata": np.array(json.dumps(metadata)),
        "coef_": np.asarray(model.coef_, dtype=np.float64),
        "intercept_": np.asarray(model.intercept_, dtype=np.float64),
        "classes_": classes,
    }
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_).astype(str)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load(path):
    """Read a model written by :meth:`LogisticRegression.save`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    LogisticRegression
        Fitted, predicting exactly as the saved model.

    Raises
    ------
    ValueError
        If the file is not a fastlogreg model file (or of a newer format version).
    """
    from .linear_model import LogisticRegression

    with np.load(path, allow_pickle=False) as data:
        try:
            metadata = json.loads(str(data["metadata"][()]))
        except KeyError:
            raise ValueError(f"{path!s} is not a fastlogreg model file (no metadata)") from None
        if metadata.get("format") != FORMAT:
            raise ValueError(f"{path!s} is not a fastlogreg model file")
        if metadata.get("version", 0) > VERSION:
            raise ValueError(f"{path!s} has format version {metadata['version']}; this fastlogreg "
                             f"reads up to version {VERSION}")
        arrays = {key: data[key] for key in data.files if key != "metadata"}
    params = dict(metadata["params"])
    params["C"] = np.inf if params["C"] == "inf" else params["C"]
    model = LogisticRegression(**params)
    classes = arrays["classes_"]
    if metadata["classes_kind"] == "object_str":
        classes = classes.astype(object)
    model.classes_ = classes
    model.coef_ = arrays["coef_"]
    model.intercept_ = arrays["intercept_"]
    model.n_features_in_ = metadata["n_features_in_"]
    if "feature_names_in_" in arrays:
        model.feature_names_in_ = arrays["feature_names_in_"].astype(object)
    model.n_iter_ = np.array(metadata["n_iter_"], dtype=np.int32)
    model.objective_ = metadata["objective_"]
    model.gradient_max_norm_ = metadata["gradient_max_norm_"]
    model.solver_ = metadata["solver_"]
    return model
