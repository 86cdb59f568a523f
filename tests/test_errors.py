"""Bad input: a ValueError or TypeError whose message names the argument and says what
was wrong (shapes seen, the offending label, the count of bad values), raised before any
kernel runs. Never a crash, never silent garbage.
"""

import os
import re

import numpy as np
import pytest

import fastlogreg as fl
from fastlogreg import _backend

from _interpreter import run_python

X = np.arange(15.0).reshape(5, 3) / 10
Y01 = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
W = np.zeros(3)
LABELS = np.array([0, 1, 2, 1, 0])
W3 = np.zeros((3, 3))
Z = np.zeros((5, 3))


def _ragged():
    return [[1.0, 2.0], [3.0]]


# (id, call(backend), exception, regex on the message)
CASES = [
    # ---- shapes
    ("y length", lambda b: fl.logistic_loss_grad(X, Y01[:4], W, backend=b), ValueError,
     r"\by\b.*4.*5"),
    ("w shape", lambda b: fl.logistic_loss_grad(X, Y01, np.zeros(2), backend=b), ValueError,
     r"\bw\b.*\(3,\).*\(2,\)"),
    ("b not scalar", lambda b: fl.logistic_loss_grad(X, Y01, W, np.zeros(2), backend=b), ValueError,
     r"\bb\b.*shape"),
    ("W shape", lambda b: fl.softmax_loss_grad(X, LABELS, np.zeros((3, 2)), backend=b), ValueError,
     r"\bW\b.*\(3, 3\).*\(3, 2\)"),
    ("W 1-D", lambda b: fl.softmax_loss_grad(X, LABELS, np.zeros(3), backend=b), ValueError,
     r"\bW\b.*2-D.*\(3,\)"),
    ("softmax b shape", lambda b: fl.softmax_loss_grad(X, LABELS, W3, np.zeros(2), backend=b), ValueError,
     r"\bb\b.*\(3,\).*\(2,\)"),
    ("X 1-D", lambda b: fl.logistic_loss_grad(np.zeros(5), Y01, W, backend=b), ValueError,
     r"\bX\b.*2-dimensional.*\(5,\)"),
    ("X 3-D", lambda b: fl.softmax_loss_grad(np.zeros((5, 3, 1)), LABELS, W3, backend=b), ValueError,
     r"\bX\b.*2-dimensional.*\(5, 3, 1\)"),
    ("y 2-D binary", lambda b: fl.logistic_loss_grad(X, Y01[:, None], W, backend=b), ValueError,
     r"\by\b.*1-dimensional.*\(5, 1\)"),
    ("Y rows shape", lambda b: fl.softmax_loss_grad(X, np.zeros((5, 2)), W3, backend=b), ValueError,
     r"\by\b.*\(5, 3\).*\(5, 2\)"),
    ("y 3-D classes", lambda b: fl.softmax_loss_grad(X, np.zeros((5, 3, 1)), W3, backend=b), ValueError,
     r"\by\b.*\(5, 3, 1\)"),
    ("sample_weight length", lambda b: fl.logistic_loss_grad(X, Y01, W, sample_weight=np.ones(4), backend=b),
     ValueError, r"sample_weight.*4.*5"),
    ("sample_weight 2-D",
     lambda b: fl.logistic_loss_grad(X, Y01, W, sample_weight=np.ones((5, 1)), backend=b),
     ValueError, r"sample_weight.*\(5, 1\)"),
    ("bce y length", lambda b: fl.binary_cross_entropy(np.zeros(5), np.zeros(4), backend=b), ValueError,
     r"\by\b.*4.*5"),
    ("bce logits 2-D", lambda b: fl.binary_cross_entropy(np.zeros((5, 1)), np.zeros(5), backend=b),
     ValueError, r"logits.*1-dimensional.*\(5, 1\)"),
    ("ce logits 1-D", lambda b: fl.cross_entropy(np.zeros(3), [0], backend=b), ValueError,
     r"logits.*2-dimensional.*\(3,\)"),
    ("ce y length", lambda b: fl.cross_entropy(Z, [0, 1], backend=b), ValueError, r"\by\b.*2.*5"),
    ("inner columns", lambda b: fl.inner(np.zeros((4, 3)), np.zeros((4, 2)), backend=b), ValueError,
     r"\bU\b.*\bV\b.*\(4, 3\).*\(4, 2\)"),
    ("inner rows", lambda b: fl.inner(np.zeros((4, 3)), np.zeros((2, 3)), backend=b), ValueError,
     r"\bU\b.*\bV\b.*\(4, 3\).*\(2, 3\)"),
    ("cosine 3-D", lambda b: fl.cosine_similarity(np.zeros((2, 2, 2)), np.zeros(2), backend=b), ValueError,
     r"\bU\b.*\(2, 2, 2\)"),
    ("softmax no classes", lambda b: fl.softmax(np.zeros((3, 0)), backend=b), ValueError, r"\bZ\b.*\(3, 0\)"),
    ("logsumexp 0-d", lambda b: fl.logsumexp(1.0, backend=b), ValueError, r"\bZ\b.*dimension"),
    ("hessp v shape", lambda b: fl.logistic_hessp(X, W, 0.0, np.zeros(2), backend=b), ValueError,
     r"\bv\b.*\(3,\).*\(2,\)"),
    ("hessp V shape", lambda b: fl.softmax_hessp(X, W3, None, np.zeros((2, 3)), backend=b), ValueError,
     r"\bV\b.*\(3, 3\).*\(2, 3\)"),
    # ---- empty
    ("empty X rows", lambda b: fl.logistic_loss_grad(np.zeros((0, 3)), [], W, backend=b), ValueError,
     r"\bX\b.*empty.*\(0, 3\)"),
    ("empty X columns", lambda b: fl.logistic_loss_grad(np.zeros((5, 0)), Y01, np.zeros(0), backend=b),
     ValueError, r"\bX\b.*empty.*\(5, 0\)"),
    ("empty softmax X", lambda b: fl.softmax_loss_grad(np.zeros((0, 3)), [], W3, backend=b), ValueError,
     r"\bX\b.*empty"),
    ("empty bce mean", lambda b: fl.binary_cross_entropy([], [], backend=b), ValueError, r"logits.*empty"),
    ("empty ce mean", lambda b: fl.cross_entropy(np.zeros((0, 3)), [], backend=b), ValueError,
     r"logits.*empty"),
    # ---- labels
    ("class index too large", lambda b: fl.softmax_loss_grad(X, [0, 1, 3, 1, 0], W3, backend=b), ValueError,
     r"\by\b.*class index 3.*\[0, 3\)"),
    ("class index negative", lambda b: fl.softmax_loss_grad(X, [0, -1, 2, 1, 0], W3, backend=b), ValueError,
     r"\by\b.*class index -1.*\[0, 3\)"),
    ("ce class index", lambda b: fl.cross_entropy(Z, [0, 1, 2, 5, 0], backend=b), ValueError,
     r"class index 5.*\[0, 3\)"),
    ("non-integer class", lambda b: fl.softmax_loss_grad(X, [0, 1.5, 2, 1, 0], W3, backend=b), ValueError,
     r"\by\b.*integer.*1\.5"),
    ("NaN class", lambda b: fl.cross_entropy(Z, [0, np.nan, 2, 1, 0], backend=b), ValueError,
     r"\by\b.*integer.*nan"),
    ("string classes", lambda b: fl.cross_entropy(Z, ["a", "b", "c", "a", "b"], backend=b), TypeError,
     r"\by\b.*dtype"),
    ("binary label 2", lambda b: fl.logistic_loss_grad(X, [0, 1, 2, 0, 1], W, backend=b), ValueError,
     r"\by\b.*\[0, 1\].*2\.0"),
    ("binary label negative", lambda b: fl.binary_cross_entropy(np.zeros(5), [0, -1, 1, 0, 1], backend=b),
     ValueError, r"\by\b.*-1\.0"),
    ("binary label NaN", lambda b: fl.logistic_loss_grad(X, [0, np.nan, 1, 0, 1], W, backend=b), ValueError,
     r"\by\b.*nan"),
    ("signed label 0",
     lambda b: fl.binary_cross_entropy(np.zeros(5), [0, 1, -1, 1, 1], signed=True, backend=b), ValueError,
     r"\by\b.*-1 and \+1.*0\.0"),
    ("probability rows > 1", lambda b: fl.cross_entropy(Z, np.full((5, 3), 0.5), backend=b), ValueError,
     r"\by\b.*sum to 1"),
    ("probability rows negative", lambda b: fl.cross_entropy(Z, np.tile([1.5, -0.5, 0.0], (5, 1)), backend=b),
     ValueError, r"\by\b.*\[0, 1\]"),
    # ---- sample weights
    ("negative weight",
     lambda b: fl.logistic_loss_grad(X, Y01, W, sample_weight=[1, -1, 1, 1, -2], backend=b), ValueError,
     r"sample_weight.*2 negative"),
    ("NaN weight",
     lambda b: fl.softmax_loss_grad(X, LABELS, W3, sample_weight=[1, np.nan, 1, 1, 1], backend=b), ValueError,
     r"sample_weight.*1 non-finite"),
    ("inf weight",
     lambda b: fl.binary_cross_entropy(np.zeros(5), Y01, sample_weight=[1, np.inf, 1, np.inf, 1], backend=b),
     ValueError, r"sample_weight.*2 non-finite"),
    ("all-zero weights", lambda b: fl.logistic_loss_grad(X, Y01, W, sample_weight=np.zeros(5), backend=b),
     ValueError, r"sample_weight.*zero"),
    ("all-zero weights ce", lambda b: fl.cross_entropy(Z, LABELS, sample_weight=np.zeros(5), backend=b),
     ValueError, r"sample_weight.*zero"),
    ("complex weights", lambda b: fl.logistic_loss_grad(X, Y01, W, sample_weight=np.ones(5) * 1j, backend=b),
     TypeError, r"sample_weight.*complex"),
    # ---- dtypes
    ("complex X", lambda b: fl.logistic_loss_grad(X + 1j, Y01, W, backend=b), TypeError,
     r"\bX\b.*complex128"),
    ("complex z", lambda b: fl.sigmoid(np.array([1 + 2j]), backend=b), TypeError, r"\bz\b.*complex"),
    ("complex Z", lambda b: fl.softmax(np.zeros((2, 2), np.complex64), backend=b), TypeError,
     r"\bZ\b.*complex64"),
    ("object X", lambda b: fl.logistic_loss_grad(X.astype(object), Y01, W, backend=b), TypeError,
     r"\bX\b.*object"),
    ("object z", lambda b: fl.log_sigmoid(np.array([1.0, None]), backend=b), TypeError, r"\bz\b.*object"),
    ("string z", lambda b: fl.sigmoid(["a", "b"], backend=b), TypeError, r"\bz\b.*dtype"),
    ("ragged z", lambda b: fl.sigmoid(_ragged(), backend=b), TypeError, r"\bz\b"),
    ("longdouble z", lambda b: fl.sigmoid(np.ones(2, np.longdouble), backend=b), TypeError,
     r"\bz\b.*float64"),
    ("complex w", lambda b: fl.logistic_loss_grad(X, Y01, W + 1j, backend=b), TypeError, r"\bw\b.*complex"),
    ("complex y", lambda b: fl.logistic_loss_grad(X, Y01 + 0j, W, backend=b), TypeError, r"\by\b.*complex"),
    # ---- scalars and options
    ("bad reduction", lambda b: fl.binary_cross_entropy(np.zeros(5), Y01, reduction="avg", backend=b),
     ValueError, r"reduction.*'avg'"),
    ("bad reduction ce", lambda b: fl.cross_entropy(Z, LABELS, reduction=None, backend=b), ValueError,
     r"reduction.*None"),
    ("negative l2", lambda b: fl.logistic_loss_grad(X, Y01, W, l2=-1.0, backend=b), ValueError,
     r"\bl2\b.*-1"),
    ("NaN l2", lambda b: fl.softmax_loss_grad(X, LABELS, W3, l2=np.nan, backend=b), ValueError,
     r"\bl2\b.*finite"),
    ("string l2", lambda b: fl.logistic_loss_grad(X, Y01, W, l2="1", backend=b), TypeError, r"\bl2\b.*real"),
    ("inf scale", lambda b: fl.sigmoid(np.zeros(3), np.inf, backend=b), ValueError, r"scale.*finite"),
    ("array scale", lambda b: fl.sigmoid(np.zeros(3), np.ones(3), backend=b), TypeError, r"scale.*real"),
    ("bool scale", lambda b: fl.sigmoid(np.zeros(3), True, backend=b), TypeError, r"scale.*real"),
    # ---- out=
    ("out shape", lambda b: fl.sigmoid(np.zeros(3), out=np.zeros(4), backend=b), ValueError,
     r"\bout\b.*\(3,\).*\(4,\)"),
    ("out dtype", lambda b: fl.sigmoid(np.zeros(3), out=np.zeros(3, np.float32), backend=b), TypeError,
     r"\bout\b.*float64.*float32"),
    ("out read-only",
     lambda b: fl.softmax(np.zeros((2, 2)), out=np.broadcast_to(np.zeros(2), (2, 2)), backend=b), ValueError,
     r"\bout\b.*read-only"),
    ("out list", lambda b: fl.log_sigmoid(np.zeros(3), out=[0.0, 0.0, 0.0], backend=b), TypeError,
     r"\bout\b.*ndarray.*list"),
]


@pytest.mark.parametrize("call, exception, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_message(backend, call, exception, match):
    with pytest.raises(exception, match=re.compile(match, re.IGNORECASE | re.DOTALL)):
        call(backend)


# ----------------------------------------------------------------------------- never reaches a kernel
KERNEL_CALLS = [
    ("softmax_loss_grad", lambda b: fl.softmax_loss_grad(X, [0, 1, 3, 1, 0], W3, backend=b)),
    ("softmax_loss_grad", lambda b: fl.softmax_loss_grad(X, [0, 1, -1, 1, 0], W3, backend=b)),
    ("softmax_loss_grad", lambda b: fl.softmax_loss_grad(X, [0, 1, 2**40, 1, 0], W3, backend=b)),
    ("softmax_loss_grad", lambda b: fl.softmax_loss_grad(X, [0, 1, 2.5, 1, 0], W3, backend=b)),
    ("softmax_hessp", lambda b: fl.softmax_hessp(X, np.zeros((0, 3)), None, np.zeros((0, 3)), backend=b)),
    ("cross_entropy", lambda b: fl.cross_entropy(Z, [0, 1, 3, 1, 0], backend=b)),
    ("cross_entropy", lambda b: fl.cross_entropy(Z, np.array([0, 1, -7, 1, 0], dtype=np.int8), backend=b)),
    ("cross_entropy", lambda b: fl.cross_entropy(Z, np.array([0, 1, 300, 1, 0], dtype=np.uint16), backend=b)),
    ("logistic_loss_grad", lambda b: fl.logistic_loss_grad(X, [0, 1, 2, 0, 1], W, backend=b)),
    ("logistic_loss_grad", lambda b: fl.logistic_loss_grad(X, Y01, W, sample_weight=-np.ones(5), backend=b)),
    ("binary_cross_entropy", lambda b: fl.binary_cross_entropy(np.zeros(5), [0, 1, 2, 0, 1], backend=b)),
]


@pytest.mark.parametrize("kernel, call", KERNEL_CALLS,
                         ids=[f"{k}-{i}" for i, (k, _) in enumerate(KERNEL_CALLS)])
def test_bad_labels_never_reach_the_kernel(backend, monkeypatch, kernel, call):
    """A Numba or C kernel does no bounds checks: an unchecked label would read or write
    out of bounds. The public layer must refuse it before dispatching."""
    module = _backend.resolve(backend)
    calls = []
    monkeypatch.setattr(module, kernel, lambda *args: calls.append(args))
    with pytest.raises(ValueError):
        call(backend)
    assert calls == [], f"{kernel} of {backend} was called with invalid input"


def test_valid_call_does_reach_the_spy(backend, monkeypatch):
    """The spy above sees calls (so its empty record means something)."""
    module = _backend.resolve(backend)
    calls = []
    real = module.cross_entropy
    monkeypatch.setattr(module, "cross_entropy", lambda *args: calls.append(args) or real(*args))
    fl.cross_entropy(Z, LABELS, backend=backend)
    assert len(calls) == 1 and calls[0][1].dtype == np.int64


def test_class_index_error_message_counts(backend):
    """Issue: say which labels are wrong."""
    with pytest.raises(ValueError, match=r"class index 7") as info:
        fl.cross_entropy(np.zeros((3, 4)), [0, 7, 1], backend=backend)
    assert "[0, 4)" in str(info.value)


# ----------------------------------------------------------------------------- backend names
def test_unknown_backend_lists_available(backend):
    available = fl.available_backends()
    pattern = r"'nope'.*available.*" + ".*".join(re.escape(repr(name)) for name in available)
    with pytest.raises(ValueError, match=pattern):
        fl.sigmoid(np.zeros(2), backend="nope")
    with pytest.raises(ValueError, match=pattern):
        fl.logistic_loss_grad(X, Y01, W, backend="nope")
    with pytest.raises(ValueError, match=pattern):
        fl.set_backend("nope")
    with pytest.raises(ValueError, match=pattern):
        with fl.use_backend("nope"):
            pass  # pragma: no cover
    assert fl.get_backend() in available  # a failed set_backend changed nothing
    with pytest.raises(TypeError, match=r"backend.*string.*int"):
        fl.sigmoid(np.zeros(2), backend=3)


def test_backend_env_junk_is_a_clear_error():
    """FASTLOGREG_BACKEND=junk: import still works (backends load lazily), the first call
    that needs the default raises a ValueError naming the variable and the choices."""
    code = (
        "import fastlogreg, numpy\n"
        "try:\n"
        "    fastlogreg.sigmoid(numpy.zeros(2))\n"
        "except ValueError as exc:\n"
        "    print('ValueError:', exc)\n"
        "else:\n"
        "    print('no error')\n"
        "print('explicit:', float(fastlogreg.sigmoid(0.0, backend='numpy')))\n"
    )
    env = dict(os.environ, FASTLOGREG_BACKEND="junk")
    proc = run_python(code, env=env)
    assert re.search(r"ValueError: FASTLOGREG_BACKEND.*'junk'.*available.*'numpy'", proc.stdout), proc.stdout
    assert "explicit: 0.5" in proc.stdout, proc.stdout


def test_nonfinite_data_is_not_silently_dropped(backend):
    """No finiteness check is asked of X: a NaN in X must show in the loss, not vanish."""
    Xn = X.copy()
    Xn[2, 1] = np.nan
    loss, grad_w, grad_b = fl.logistic_loss_grad(Xn, Y01, np.ones(3), backend=backend)
    assert np.isnan(loss) and np.isnan(grad_b)
    loss, grad_W, grad_b = fl.softmax_loss_grad(Xn, LABELS, np.ones((3, 3)), backend=backend)
    assert np.isnan(loss)


def test_empty_batches_sum_and_none(backend):
    """Zero samples are fine for reduction "sum" (0) and "none" (an empty array); only the
    mean is undefined (a ValueError, tested above)."""
    for reduction, check in (("sum", lambda r: r == 0.0), ("none", lambda r: r.shape == (0,))):
        got = fl.binary_cross_entropy(np.zeros(0), np.zeros(0), reduction=reduction, backend=backend)
        assert check(got), (reduction, got)
        got = fl.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), reduction=reduction,
                               backend=backend)
        assert check(got), (reduction, got)
