"""Every public name documents Parameters, Returns and Examples, and the examples run.

Runs doctest on the installed modules (not on the source files by path), so the
examples are checked against the same package the rest of the suite imports. The
examples of the public functions run once per available backend (inside
``use_backend``); they print rounded values or booleans, so they hold on any host.
"""

import doctest
import importlib
import inspect
import itertools
import re

import pytest

import fastlogreg
from fastlogreg import persistence
from fastlogreg._backend import max_num_threads

MODULES = ["fastlogreg._backend", "fastlogreg.functions", "fastlogreg.linear_model",
           "fastlogreg.linear_model_cv", "fastlogreg.persistence", "fastlogreg._sources"]
# Modules whose examples call kernels with backend=None: run under every backend.
PER_BACKEND = ["fastlogreg.functions"]
ESTIMATOR_METHODS = ["fit", "partial_fit", "decision_function", "predict", "predict_proba",
                     "predict_log_proba", "save"]


def _public_callables():
    names = {}
    for name in fastlogreg.__all__:
        obj = getattr(fastlogreg, name)
        if inspect.isclass(obj) and hasattr(obj, "fit"):
            for method in ESTIMATOR_METHODS:
                names[f"{name}.{method}"] = getattr(obj, method)
        elif inspect.isclass(obj):  # a data class: its public methods (the class: below)
            for method, member in vars(obj).items():
                if not method.startswith("_") and callable(getattr(obj, method)) and member.__doc__:
                    names[f"{name}.{method}"] = getattr(obj, method)
        else:
            names[name] = obj
    names["persistence.save"] = persistence.save
    names["_backend.max_num_threads"] = max_num_threads
    return names


PUBLIC = _public_callables()


def _sections(doc):
    """Numpydoc section titles: a line followed by a line of dashes as long."""
    lines = inspect.cleandoc(doc).splitlines()
    return {a.strip() for a, b in itertools.pairwise(lines)
            if b.strip() and set(b.strip()) == {"-"} and len(b.strip()) == len(a.strip())}


def _takes_arguments(func):
    params = inspect.signature(func).parameters
    return any(p for p in params if p != "self")


def test_every_public_name_is_checked():
    classes = {name for name in fastlogreg.__all__ if inspect.isclass(getattr(fastlogreg, name))}
    estimators = {name for name in classes if hasattr(getattr(fastlogreg, name), "fit")}
    assert set(fastlogreg.__all__) - classes <= set(PUBLIC)
    assert len(PUBLIC) >= len(fastlogreg.__all__) - len(classes) + len(estimators) * len(ESTIMATOR_METHODS)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring_sections(name):
    doc = PUBLIC[name].__doc__
    assert doc, f"{name} has no docstring"
    sections = _sections(doc)
    missing = []
    if _takes_arguments(PUBLIC[name]) and "Parameters" not in sections:
        missing.append("Parameters")
    if not sections & {"Returns", "Yields"}:
        missing.append("Returns")
    if "Examples" not in sections:
        missing.append("Examples")
    assert not missing, f"{name}'s docstring lacks {missing} (has {sorted(sections)})"
    examples = doc[doc.index("Examples"):]
    assert re.search(r"^\s*>>> ", examples, re.MULTILINE), f"{name}'s Examples section has no >>> example"


def test_estimator_class_docstring():
    sections = _sections(fastlogreg.LogisticRegression.__doc__)
    assert {"Parameters", "Attributes", "Examples"} <= sections


def test_data_class_docstrings():
    for cls in (getattr(fastlogreg, name) for name in fastlogreg.__all__):
        if inspect.isclass(cls) and not hasattr(cls, "fit"):
            assert {"Parameters", "Examples"} <= _sections(cls.__doc__), cls.__name__


def test_section_parser_finds_missing_sections():
    """The check above can fail: a docstring without the sections is reported."""
    def undocumented(x):
        """Only a summary.

        Returns
        -------
        int
        """

    assert _sections(undocumented.__doc__) == {"Returns"}


def _run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


@pytest.mark.parametrize("name", sorted(set(MODULES) - set(PER_BACKEND)))
def test_docstring_examples(name):
    _run(name)


@pytest.mark.parametrize("name", PER_BACKEND)
def test_docstring_examples_per_backend(name, backend):
    with fastlogreg.use_backend(backend):
        _run(name)
