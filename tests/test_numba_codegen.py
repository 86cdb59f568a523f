"""The Numba backend's code: the code-generation hint reaches LLVM (a function that
calls ``scalar.prefer_512_bit_vectors()`` carries the two function attributes in its IR,
and one that does not call it carries neither, so the hint is per function, not global),
and no function of the kernel modules takes more than ``_MAX_PARAMETERS`` parameters
(the contract's kernels excepted, which take the contract's)."""

import ast
import pathlib

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from fastlogreg.backends.contract import KERNELS  # noqa: E402
from fastlogreg.backends.numba_kernels import scalar  # noqa: E402


@numba.njit(cache=False)
def _hinted_sum(x):
    scalar.prefer_512_bit_vectors()
    total = 0.0
    for v in x:
        total += v
    return total


@numba.njit(cache=False)
def _plain_sum(x):
    total = 0.0
    for v in x:
        total += v
    return total


def test_wide_vector_hint_is_set_on_the_calling_function_only():
    x = np.arange(5.0)
    assert _hinted_sum(x) == _plain_sum(x) == 10.0
    hinted_ir = "\n".join(_hinted_sum.inspect_llvm().values())
    plain_ir = "\n".join(_plain_sum.inspect_llvm().values())
    for attribute in scalar._WIDE_VECTOR_ATTRIBUTES:
        assert attribute in hinted_ir
        assert attribute not in plain_ir


# Related arrays and flags travel as tuples (Numba passes a tuple's members as it would
# separate arguments), so a kernel's signature stays readable.
_MAX_PARAMETERS = 10
_KERNEL_DIR = pathlib.Path(__file__).resolve().parents[1] / "fastlogreg" / "backends" / "numba_kernels"


def _parameter_counts(source):
    """(name, line, number of parameters) of every function and lambda in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            count = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
            count += (a.vararg is not None) + (a.kwarg is not None)
            yield getattr(node, "name", "<lambda>"), node.lineno, count


def test_parameter_count_scan_counts_every_kind_of_parameter():
    source = "def f(a, /, b, *c, d, **e):\n    g = lambda x, y: x\n"
    assert sorted(_parameter_counts(source)) == [("<lambda>", 2, 2), ("f", 1, 5)]


def test_no_numba_kernel_function_takes_more_than_ten_parameters():
    modules = sorted(_KERNEL_DIR.glob("*.py"))
    assert {"fused.py", "hessp.py", "elementwise.py"} <= {m.name for m in modules}
    # the kernels of the contract take exactly the contract's parameters (the CSR softmax
    # twins have 11); every other function keeps to the limit
    contract = {name: len(kernel.params) for name, kernel in KERNELS.items()}
    too_many = [
        f"{module.name}:{line} {name} takes {count}"
        for module in modules
        for name, line, count in _parameter_counts(module.read_text())
        if count > _MAX_PARAMETERS and contract.get(name) != count
    ]
    assert not too_many, f"more than {_MAX_PARAMETERS} parameters: {too_many}"
