"""The examples in the public docstrings run and print what they claim.

Runs doctest on the installed modules (not on the source files by path), so the
examples are checked against the same package the rest of the suite imports.
"""

import doctest
import importlib

import pytest

MODULES = ["fastlogreg._backend", "fastlogreg.functions"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
