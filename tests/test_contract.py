"""The kernel contract (fastlogreg.backends.contract.KERNELS) is enforced: every registered
backend conforms, and the registry refuses a module that lacks a kernel or has it with
other parameters, with a message naming the backend and the kernel."""

import inspect
import sys
import types

import pytest

import fastlogreg as fl
from fastlogreg import _backend
from fastlogreg.backends import contract
from fastlogreg.backends.contract import KERNELS, contract_violations

#: The kernels the public layer calls (fastlogreg.functions and fastlogreg._problems), with
#: their parameters: written out here, not read from KERNELS, so a change to the contract
#: has to be made on purpose in both places.
EXPECTED = {
    "sigmoid": "x scale out n_threads",
    "log_sigmoid": "x out n_threads",
    "log_ndtr": "x out n_threads",
    "logsumexp": "Z out n_threads",
    "softmax": "Z out n_threads",
    "log_softmax": "Z out n_threads",
    "inner": "U V out n_threads",
    "cosine_similarity": "U V out n_threads",
    "binary_cross_entropy": "z y out n_threads",
    "cross_entropy": "Z labels Y out n_threads",
    "logistic_loss_grad": "X y w b sample_weight grad_w n_threads",
    "softmax_loss_grad": "X labels Y W b sample_weight grad_W grad_b n_threads",
    "probit_loss_grad": "X y w b sample_weight grad_w n_threads",
    "logistic_hessp": "X w b sample_weight v v_b hv n_threads",
    "softmax_hessp": "X W b sample_weight V v_b hv hv_b n_threads",
    "logistic_loss_grad_csr": "data indices indptr y w b sample_weight grad_w n_threads",
    "probit_loss_grad_csr": "data indices indptr y w b sample_weight grad_w n_threads",
    "softmax_loss_grad_csr": "data indices indptr labels Y W b sample_weight grad_W grad_b n_threads",
    "logistic_hessp_csr": "data indices indptr w b sample_weight v v_b hv n_threads",
    "softmax_hessp_csr": "data indices indptr W b sample_weight V v_b hv hv_b n_threads",
}


def test_kernels_table():
    assert {name: " ".join(k.params) for name, k in KERNELS.items()} == EXPECTED
    for name, kernel in KERNELS.items():
        assert kernel.params[-1] == "n_threads", name
        assert kernel.doc.strip() and "\n" not in kernel.doc, name
        assert str(kernel.signature) == "(" + ", ".join(kernel.params) + ")"


def test_registered_backends_conform(backend):
    module = _backend.resolve(backend)
    assert contract_violations(module, backend) == []
    for name, kernel in KERNELS.items():
        assert list(inspect.signature(getattr(module, name)).parameters) == list(kernel.params)


def test_every_known_backend_is_available_or_says_why():
    """A backend that fails the contract never becomes available: numpy always loads, and
    a backend that did not load has a reason that is not a contract violation."""
    info = fl.backend_info()
    assert info["numpy"] == "available"
    for name in _backend._MODULES:
        assert "breaks the kernel contract" not in info[name], info[name]


def _fake_backend(**changes):
    """A module with every kernel of the contract (taken from the reference), changed."""
    from fastlogreg.backends import reference

    module = types.ModuleType("fake_backend")
    for name in KERNELS:
        setattr(module, name, getattr(reference, name))
    for name, value in changes.items():
        if value is None:
            delattr(module, name)
        else:
            setattr(module, name, value)
    return module


def test_fake_backend_copy_conforms():
    assert contract_violations(_fake_backend(), "fake") == []


def test_missing_kernel_is_named():
    assert contract_violations(_fake_backend(softmax_loss_grad=None), "fake") == [
        "backend 'fake': kernel 'softmax_loss_grad' missing"]


def test_wrong_signature_is_named():
    def sigmoid(x, out, n_threads):  # no scale
        pass

    def logsumexp(Z, *, out=None, n_threads=1):
        pass

    problems = contract_violations(_fake_backend(sigmoid=sigmoid, logsumexp=logsumexp), "fake")
    assert problems == [
        "backend 'fake': kernel 'sigmoid' signature (x, out, n_threads) differs from "
        "(x, scale, out, n_threads)",
        "backend 'fake': kernel 'logsumexp' signature (Z, *, out=None, n_threads=1) differs from "
        "(Z, out, n_threads)",
    ]


def test_renamed_parameter_and_varargs_are_refused():
    def inner(U, W, out, n_threads):
        pass

    def softmax(*args):
        pass

    problems = contract_violations(_fake_backend(inner=inner, softmax=softmax), "fake")
    assert len(problems) == 2
    assert "kernel 'softmax' signature (*args)" in problems[0]
    assert "kernel 'inner' signature (U, W, out, n_threads)" in problems[1]


def test_annotations_are_allowed_but_not_a_non_callable():
    def log_ndtr(x: object, out: object, n_threads: int) -> None:
        pass

    assert contract_violations(_fake_backend(log_ndtr=log_ndtr), "fake") == []
    problems = contract_violations(_fake_backend(log_ndtr=3.0), "fake")
    assert problems == ["backend 'fake': kernel 'log_ndtr' is not callable (a float)"]


def test_default_name_is_the_module_name():
    problems = contract_violations(_fake_backend(inner=None))
    assert problems == ["backend 'fake_backend': kernel 'inner' missing"]


@pytest.fixture
def fake_registered(monkeypatch):
    """Register backend "fake" as module "fake_backend"; the test puts the module in place."""
    monkeypatch.setitem(_backend._MODULES, "fake", "fake_backend")
    yield lambda module: monkeypatch.setitem(sys.modules, "fake_backend", module)
    for table in (_backend._loaded, _backend._errors):
        table.pop("fake", None)


def test_registry_refuses_a_backend_that_breaks_the_contract(fake_registered):
    def cross_entropy(Z, labels, out, n_threads):  # no Y
        pass

    fake_registered(_fake_backend(logistic_hessp=None, cross_entropy=cross_entropy))
    assert _backend._load("fake") is None
    reason = _backend._errors["fake"]
    assert reason.startswith("breaks the kernel contract: ")
    assert "backend 'fake': kernel 'cross_entropy' signature (Z, labels, out, n_threads)" in reason
    assert "backend 'fake': kernel 'logistic_hessp' missing" in reason
    with pytest.raises(ValueError, match=r"unknown or unavailable backend 'fake' \(breaks the kernel "
                                         r"contract: .*'logistic_hessp' missing"):
        fl.sigmoid(0.0, backend="fake")


def test_registry_accepts_a_conforming_backend(fake_registered):
    fake_registered(_fake_backend())
    assert _backend._load("fake") is not None
    assert float(fl.sigmoid(0.0, backend="fake")) == 0.5


def test_module_docstring_says_how_to_add_a_kernel_and_a_backend():
    assert "Adding a kernel" in contract.__doc__ and "Adding a backend" in contract.__doc__
