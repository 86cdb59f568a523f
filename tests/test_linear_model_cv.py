"""fastlogreg.LogisticRegressionCV against scikit-learn's LogisticRegressionCV on the same
folds: the same ``C_``, the same scores (to the solvers' accuracy), the same attribute
layout; bad input; scikit-learn's estimator checks."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastlogreg import LogisticRegression, LogisticRegressionCV

CS = np.logspace(-3, 1, 6)


def _data(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _folds(X, y):
    return list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))


def _sklearn_cv(X, y, folds, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's deprecations of penalty / l1_ratios
        return SkLogisticRegressionCV(cv=folds, use_legacy_attributes=True, max_iter=100_000,
                                      **params).fit(X, y)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine, load_iris], ids=lambda f: f.__name__)
@pytest.mark.parametrize("scoring", [None, "neg_log_loss"])
def test_l2_same_C_as_sklearn(loader, scoring):
    X, y = _data(loader)
    folds = _folds(X, y)
    ours = LogisticRegressionCV(Cs=CS, cv=folds, scoring=scoring, tol=1e-10, backend="numpy").fit(X, y)
    ref = _sklearn_cv(X, y, folds, Cs=CS, scoring=scoring, tol=1e-10, l1_ratios=None)
    np.testing.assert_array_equal(ours.C_, ref.C_)
    assert ours.scores_.keys() == ref.scores_.keys()
    for key in ref.scores_:
        np.testing.assert_allclose(ours.scores_[key], ref.scores_[key], rtol=0, atol=1e-6)
        assert ours.coefs_paths_[key].shape == ref.coefs_paths_[key].shape
        np.testing.assert_allclose(ours.coefs_paths_[key], ref.coefs_paths_[key], rtol=0,
                                   atol=1e-5 * np.max(np.abs(ref.coefs_paths_[key])))
    assert ours.n_iter_.shape == ref.n_iter_.shape
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-5 * np.max(np.abs(ref.coef_)))


def test_l1_same_C_as_liblinear():
    X, y = _data(load_breast_cancer)
    folds = _folds(X, y)
    Cs = np.logspace(-2, 0, 5)
    ours = LogisticRegressionCV(Cs=Cs, cv=folds, penalty="l1", fit_intercept=False, scoring="neg_log_loss",
                                tol=1e-10, backend="numpy").fit(X, y)
    ref = _sklearn_cv(X, y, folds, Cs=Cs, penalty="l1", solver="liblinear", fit_intercept=False,
                      scoring="neg_log_loss", tol=1e-10)
    np.testing.assert_array_equal(ours.C_, ref.C_)
    np.testing.assert_allclose(ours.scores_[1], ref.scores_[1], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(ours.coef_ != 0, ref.coef_ != 0)


def test_elasticnet_attributes_and_refit():
    X, y = _data(load_wine)
    folds = _folds(X, y)
    Cs = np.logspace(-2, 0, 3)
    ours = LogisticRegressionCV(Cs=Cs, cv=folds, penalty="elasticnet", l1_ratios=[0.2, 0.8],
                                scoring="neg_log_loss", tol=1e-10, backend="numpy").fit(X, y)
    for key in ours.classes_:
        assert ours.scores_[key].shape == (4, 3, 2)
        assert ours.coefs_paths_[key].shape == (4, 3, 2, X.shape[1] + 1)
    assert ours.n_iter_.shape == (1, 4, 3, 2)
    total = ours.scores_[0].sum(axis=0)
    c, r = np.unravel_index(np.argmax(total), total.shape)
    assert ours.C_[0] == Cs[c] and ours.l1_ratio_[0] == [0.2, 0.8][r]
    single = LogisticRegression(C=Cs[c], penalty="elasticnet", l1_ratio=[0.2, 0.8][r], tol=1e-10,
                                backend="numpy").fit(X, y)
    np.testing.assert_allclose(ours.coef_, single.coef_, rtol=0, atol=1e-8)


def test_refit_false_averages_folds():
    X, y = _data(load_breast_cancer)
    folds = _folds(X, y)
    ours = LogisticRegressionCV(Cs=CS, cv=folds, refit=False, scoring="neg_log_loss", tol=1e-10,
                                backend="numpy").fit(X, y)
    ref = _sklearn_cv(X, y, folds, Cs=CS, refit=False, scoring="neg_log_loss", tol=1e-10, l1_ratios=None)
    np.testing.assert_allclose(ours.C_, ref.C_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-5 * np.max(np.abs(ref.coef_)))


def test_class_weight_balanced_same_C():
    X, y = _data(load_wine)
    folds = _folds(X, y)
    ours = LogisticRegressionCV(Cs=CS, cv=folds, class_weight="balanced", scoring="neg_log_loss",
                                tol=1e-10, backend="numpy").fit(X, y)
    ref = _sklearn_cv(X, y, folds, Cs=CS, class_weight="balanced", scoring="neg_log_loss", tol=1e-10,
                      l1_ratios=None)
    np.testing.assert_array_equal(ours.C_, ref.C_)
    np.testing.assert_allclose(ours.scores_[0], ref.scores_[0], rtol=0, atol=1e-6)


def test_verbose_prints_progress(capsys):
    X, y = _data(load_iris)
    LogisticRegressionCV(Cs=2, cv=2, verbose=1, backend="numpy").fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    # a line per fold and C, then each fold's accuracies (computed for every C at once)
    assert sum(" C " in line and "iterations" in line for line in lines) == 4
    assert sum("accuracy per C" in line for line in lines) == 2
    assert any(line.startswith("[fastlogreg cv] fold 2/2") for line in lines)


@pytest.mark.parametrize("params, match", [
    (dict(Cs=[1.0, -1.0]), "Cs must be"),
    (dict(Cs=0), "Cs must be"),
    (dict(Cs=[]), "Cs must be"),
    (dict(penalty="elasticnet"), "needs l1_ratios"),
    (dict(penalty="elasticnet", l1_ratios=[0.5, 2.0]), "needs l1_ratios"),
    (dict(l1_ratios=[0.5]), "l1_ratios is used with penalty='elasticnet' only"),
    (dict(penalty=None), "penalty must be"),
    (dict(class_weight={5: 1.0}), r"class_weight names label\(s\) \[5\]"),
    (dict(solver="sgd"), "solver='sgd' is not available"),
])
def test_bad_parameters(params, match):
    X, y = _data(load_iris)
    with pytest.raises(ValueError, match=match):
        LogisticRegressionCV(backend="numpy", **params).fit(X, y)


def test_save_writes_the_chosen_model(tmp_path):
    from fastlogreg import load

    X, y = _data(load_iris)
    model = LogisticRegressionCV(Cs=3, cv=3, penalty="l1", backend="numpy").fit(X, y)
    model.save(tmp_path / "cv.npz")
    loaded = load(tmp_path / "cv.npz")
    assert loaded.C == model.C_[0] and loaded.penalty == "l1"
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# The check's 3-class sparse data are ill-conditioned: at tol=1e-8 L-BFGS stops the
# weighted and the repeated-rows fits at points whose small probabilities differ by up to
# 1e-3 relative, on every backend (solver="newton" at tol=1e-11 passes). The instance keeps
# L-BFGS at tol=1e-8 because that is what fits binary folds side by side.
_SPARSE_MULTINOMIAL_CV = {
    "check_sample_weight_equivalence_on_sparse_data":
        "ill-conditioned 3-class data: L-BFGS at tol=1e-8 stops both fits 1e-3 apart in small probabilities"}


@parametrize_with_checks(
    [
        LogisticRegression(penalty="l1", C=10.0, backend="numpy"),
        LogisticRegression(penalty="elasticnet", l1_ratio=0.5, class_weight="balanced", backend="numpy"),
        LogisticRegressionCV(Cs=3, cv=3, backend="numpy"),
        LogisticRegressionCV(Cs=3, cv=3, tol=1e-8),  # the default backend: binary folds side by side
    ],
    expected_failed_checks=lambda est: _SPARSE_MULTINOMIAL_CV if (
        isinstance(est, LogisticRegressionCV) and est.backend is None) else {},
)
def test_sklearn_checks_penalties(estimator, check):
    check(estimator)
