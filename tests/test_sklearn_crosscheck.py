"""The fused objectives are scikit-learn's ``LinearModelLoss`` (README.md, "The math"): the
same inputs give the same loss, gradient and Hessian-vector products.

scikit-learn's coefficient layout with ``fit_intercept=True``: binary ``coef`` is
``(w_1 .. w_d, b)``; multinomial ``coef`` is 2-D ``(n_classes, d + 1)`` with the
intercepts in the last column (the ravelled form is ``order="F"``, classes of one feature
contiguous; the 2-D form is used here). Its ``l2_reg_strength`` is our ``l2`` and it
normalises by the sum of the sample weights, as we do.

Tolerance: ``SKLEARN_RTOL = 1e-12`` (the fused kernels' float64 bound) relative to the
loss and to the gradient's norm: two float64 evaluations of the same sums in different
orders differ by a few n eps.
"""

import numpy as np
import pytest

import fastlogreg as fl

pytest.importorskip("sklearn")
_loss = pytest.importorskip("sklearn._loss.loss")
_linear_loss = pytest.importorskip("sklearn.linear_model._linear_loss")

SKLEARN_RTOL = 1e-12


def _assert_close(got, expected, what):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, what
    err = np.linalg.norm(got - expected)
    assert err <= SKLEARN_RTOL * np.linalg.norm(expected), f"{what}: {got} vs scikit-learn {expected}"


@pytest.fixture
def data(rng):
    n, d = 80, 5
    X = rng.standard_normal((n, d))
    sw = rng.uniform(0.1, 3.0, n)
    sw[::7] = 0.0
    return X, sw


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("l2", [0.0, 0.37])
def test_logistic_matches_linear_model_loss(backend, data, rng, weighted, l2):
    X, sw = data
    sw = sw if weighted else None
    d = X.shape[1]
    y = rng.integers(0, 2, X.shape[0]).astype(np.float64)
    coef = rng.standard_normal(d + 1)
    model = _linear_loss.LinearModelLoss(base_loss=_loss.HalfBinomialLoss(), fit_intercept=True)
    loss_sk, grad_sk = model.loss_gradient(coef, X, y, sample_weight=sw, l2_reg_strength=l2)
    loss, grad_w, grad_b = fl.logistic_loss_grad(X, y, coef[:d], coef[d], sample_weight=sw, l2=l2,
                                                 backend=backend)
    assert abs(loss - loss_sk) <= SKLEARN_RTOL * abs(loss_sk)
    _assert_close(np.append(grad_w, grad_b), grad_sk, f"logistic gradient [{backend}]")
    # Hessian-vector product: sklearn's gradient_hessian_product returns hessp(s).
    _, hessp_sk = model.gradient_hessian_product(coef, X, y, sample_weight=sw, l2_reg_strength=l2)
    s = rng.standard_normal(d + 1)
    hv, hv_b = fl.logistic_hessp(X, coef[:d], coef[d], s[:d], s[d], sample_weight=sw, l2=l2, backend=backend)
    _assert_close(np.append(hv, hv_b), hessp_sk(s), f"logistic_hessp [{backend}]")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("l2", [0.0, 0.37])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_softmax_matches_linear_model_loss(backend, data, rng, weighted, l2, n_classes):
    X, sw = data
    sw = sw if weighted else None
    n, d = X.shape
    labels = rng.integers(0, n_classes, n)
    labels[:n_classes] = np.arange(n_classes)  # every class present
    coef = rng.standard_normal((n_classes, d + 1))  # (C, d + 1): W and b in the last column
    model = _linear_loss.LinearModelLoss(base_loss=_loss.HalfMultinomialLoss(n_classes=n_classes),
                                         fit_intercept=True)
    loss_sk, grad_sk = model.loss_gradient(coef, X, labels.astype(np.float64), sample_weight=sw,
                                           l2_reg_strength=l2)
    assert grad_sk.shape == (n_classes, d + 1)
    loss, grad_W, grad_b = fl.softmax_loss_grad(X, labels, coef[:, :d], coef[:, d], sample_weight=sw, l2=l2,
                                                backend=backend)
    assert abs(loss - loss_sk) <= SKLEARN_RTOL * abs(loss_sk)
    _assert_close(np.concatenate([grad_W, grad_b[:, None]], axis=1), grad_sk, f"softmax gradient [{backend}]")
    # The same with one-hot rows instead of class indices.
    loss_1h, grad_W_1h, _ = fl.softmax_loss_grad(X, np.eye(n_classes)[labels], coef[:, :d], coef[:, d],
                                                 sample_weight=sw, l2=l2, backend=backend)
    assert abs(loss_1h - loss_sk) <= SKLEARN_RTOL * abs(loss_sk)
    _assert_close(grad_W_1h, grad_sk[:, :d], f"softmax gradient, one-hot [{backend}]")
    # Hessian-vector product (sklearn's multinomial hessp works on the same 2-D layout).
    _, hessp_sk = model.gradient_hessian_product(coef, X, labels.astype(np.float64), sample_weight=sw,
                                                 l2_reg_strength=l2)
    S = rng.standard_normal((n_classes, d + 1))
    hv, hv_b = fl.softmax_hessp(X, coef[:, :d], coef[:, d], S[:, :d], S[:, d], sample_weight=sw, l2=l2,
                                backend=backend)
    _assert_close(np.concatenate([hv, hv_b[:, None]], axis=1), hessp_sk(S), f"softmax_hessp [{backend}]")


def test_sklearn_C_parametrisation(backend, data, rng):
    """scikit-learn's C is l2 = 1 / (C * sum(sw)); the objective LogisticRegression
    minimises (sum_i sw_i l_i + ||w||^2 / (2 C)) equals ours times sum(sw)."""
    X, sw = data
    d = X.shape[1]
    y = rng.integers(0, 2, X.shape[0]).astype(np.float64)
    w, b, C = rng.standard_normal(d), 0.4, 2.5
    loss, _, _ = fl.logistic_loss_grad(X, y, w, b, sample_weight=sw, l2=1.0 / (C * sw.sum()), backend=backend)
    z = X @ w + b
    primal = np.sum(sw * (np.logaddexp(0.0, z) - y * z)) + (w @ w) / (2 * C)
    assert abs(loss * sw.sum() - primal) <= SKLEARN_RTOL * primal
