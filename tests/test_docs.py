"""The documentation builds without a warning, and the examples in its pages run.

The build is ``sphinx-build -W`` (warnings, broken cross-references included, are
errors) into a temporary directory, in a subprocess so Sphinx's imports and state stay
out of the test process. The ``>>>`` examples of the Markdown pages under ``docs/`` run
as doctests with the NumPy reference backend, whose results every other backend must
match within the documented bounds (the examples print rounded values or booleans).
"""

import doctest
import pathlib
import re
import subprocess
import sys

import pytest

import fastlogreg

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
_PYCON = re.compile(r"^```pycon\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _examples(page):
    """The ``pycon`` blocks of a page, one session (later blocks see earlier names)."""
    return "\n".join(_PYCON.findall((DOCS / page).read_text(encoding="utf-8")))


PAGES_WITH_EXAMPLES = [page for page in PAGES if _examples(page)]


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx", reason="sphinx is not installed (pip install '.[docs]')")
    pytest.importorskip("furo", reason="furo is not installed (pip install '.[docs]')")
    pytest.importorskip("myst_parser", reason="myst-parser is not installed (pip install '.[docs]')")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, f"sphinx-build -W failed:\n{proc.stdout}\n{proc.stderr}"
    api = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
    # Every public name has an entry (an anchor) on the API page.
    missing = [name for name in fastlogreg.__all__ if f'id="fastlogreg.{name}"' not in api]
    assert not missing, f"public names without an API entry: {missing}"


def test_pages_are_listed():
    assert {"index.md", "guide.md", "design.md"} <= set(PAGES)
    assert "guide.md" in PAGES_WITH_EXAMPLES


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES)
def test_page_examples(page, tmp_path, monkeypatch):
    test = doctest.DocTestParser().get_doctest(_examples(page), {}, page, str(DOCS / page), 0)
    assert len(test.examples) >= 10, f"{page}: only {len(test.examples)} examples found"
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    with fastlogreg.use_backend("numpy"):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page}"
