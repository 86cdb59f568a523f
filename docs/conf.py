"""Sphinx configuration of the fastlogreg documentation (``sphinx-build -W docs OUT``)."""

import os
import sys

# The docs document the package of this checkout, installed or not.
sys.path.insert(0, os.path.abspath(".."))

project = "fastlogreg"
author = "fastlogreg developers"
copyright = "fastlogreg developers"

import fastlogreg  # noqa: E402 (after the sys.path entry above)

release = version = fastlogreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

autodoc_member_order = "bysource"
# The tables on the API page link to entries documented on the same page.
autosummary_generate = False

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# Broken :func: / :class: / :mod: references fail the build (with -W). Numpydoc type
# fields ("array_like of shape (n, d)", "ndarray") are prose, not references: ignore them.
nitpicky = True
nitpick_ignore_regex = [("py:class", r".*")]

html_theme = "furo"
html_title = f"fastlogreg {release}"
