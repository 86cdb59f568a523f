"""Class weights, as scikit-learn defines them, folded into the sample weights.

A class weight multiplies the weight of every sample of its class: the fit then uses
``sw_i * cw[y_i]`` as its sample weights, and ``C`` is scaled by their sum (as in
scikit-learn, where the class weights are multiplied into ``sample_weight`` before the
weight sum that scales the penalty is taken).
"""

import numbers

import numpy as np


def check_class_weight(class_weight):
    """Raise a ValueError naming ``class_weight`` unless it is None, "balanced" or a dict
    of finite numbers >= 0."""
    if class_weight is None or (isinstance(class_weight, str) and class_weight == "balanced"):
        return
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}, "
                         f"got {class_weight!r}")
    for label, weight in class_weight.items():
        if (isinstance(weight, bool) or not isinstance(weight, numbers.Real)
                or not np.isfinite(weight) or weight < 0):
            raise ValueError(f"class_weight[{label!r}] must be a finite number >= 0, got {weight!r}")


def class_weights(class_weight, classes, class_index, sample_weight):
    """The weight of each class, (n_classes,) float64.

    Parameters
    ----------
    class_weight : None, "balanced" or dict
        None: every class weighs 1. "balanced": ``sum(sw) / (n_classes * sum(sw[y == k]))``
        for class k (scikit-learn's ``compute_class_weight`` with sample weights; 1 for
        each sample without weights). dict: ``{label: weight}``, 1 for the labels it
        does not name.
    classes : ndarray of shape (n_classes,), the sorted labels
    class_index : ndarray of shape (n_samples,), int
        Index into ``classes`` of every sample's label.
    sample_weight : ndarray of shape (n_samples,) or None

    Raises
    ------
    ValueError
        A key of the dict that is not a label of ``classes``.
    """
    n_classes = len(classes)
    if class_weight is None:
        return np.ones(n_classes)
    if isinstance(class_weight, str):  # "balanced"
        counts = np.bincount(class_index, weights=sample_weight, minlength=n_classes)
        with np.errstate(divide="ignore"):
            return np.where(counts > 0, counts.sum() / (n_classes * counts), 1.0)
    weights = np.ones(n_classes)
    listed = classes.tolist()
    unknown = []
    for label, weight in class_weight.items():
        matches = [k for k, c in enumerate(listed) if _same_label(c, label)]
        if not matches:
            unknown.append(label)
        for k in matches:
            weights[k] = float(weight)
    if unknown:
        raise ValueError(f"class_weight names label(s) {unknown!r} that are not classes of y: "
                         f"{listed!r}")
    return weights


def _same_label(c, label):
    if isinstance(c, str) != isinstance(label, str):
        return False
    try:
        return bool(c == label)
    except (TypeError, ValueError):
        return False


def weighted_samples(class_weight, classes, class_index, sample_weight):
    """``sample_weight * cw[class_index]`` (n_samples,) float64, or ``sample_weight`` as it is
    (None for unit weights) when every class weighs 1.

    Parameters are those of :func:`class_weights`.
    """
    cw = class_weights(class_weight, classes, class_index, sample_weight)
    if np.all(cw == 1.0):
        return sample_weight
    sw = cw[class_index]
    if sample_weight is not None:
        sw *= sample_weight
    return sw
