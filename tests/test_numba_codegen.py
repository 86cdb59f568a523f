"""The Numba backend's code-generation hint reaches LLVM: a function that calls
``scalar.prefer_512_bit_vectors()`` carries the two function attributes in its IR, and
one that does not call it carries neither (so the hint is per function, not global)."""

import numpy as np
import pytest

numba = pytest.importorskip("numba")

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
