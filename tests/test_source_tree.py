"""The C backend's message when Python imported an unbuilt source checkout.

Started in the root of a clone, Python imports ``./fastlogreg`` rather than the installed
package; with no C kernel built in that tree, the message must say so and give the two
ways out instead of blaming the compiler.
"""

import os
import shutil
import subprocess
import sys

import pytest

import fastlogreg
from fastlogreg import _source_tree

PACKAGE_DIR = os.path.dirname(os.path.abspath(fastlogreg.__file__))


def _checkout(tmp_path, marker="pyproject.toml", built=False):
    root = tmp_path / "clone"
    package = root / "fastlogreg"
    package.mkdir(parents=True)
    if marker:
        (root / marker).write_text("")
    if built:
        (package / "_c_kernels.abi3.so").write_bytes(b"")
    return root, package


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.py"])
def test_unbuilt_checkout_is_detected(tmp_path, marker):
    root, package = _checkout(tmp_path, marker)
    assert _source_tree.unbuilt_checkout(str(package)) == str(root)


def test_built_checkout_is_not_flagged(tmp_path):
    _, package = _checkout(tmp_path, built=True)
    assert _source_tree.unbuilt_checkout(str(package)) is None


def test_installed_package_is_not_flagged(tmp_path):
    _, package = _checkout(tmp_path, marker=None)  # site-packages has no setup.py next to it
    assert _source_tree.unbuilt_checkout(str(package)) is None


def test_explanation_names_both_ways_out(tmp_path):
    root, _ = _checkout(tmp_path)
    text = _source_tree.explanation(str(root))
    assert str(root) in text and "source checkout" in text
    assert "another directory" in text
    assert f"cd {root} && {sys.executable} setup.py build_ext --inplace" in text


def test_c_backend_message_from_an_unbuilt_checkout(tmp_path):
    """A copy of the package without its extension, imported from the clone's root."""
    root = tmp_path / "clone"
    shutil.copytree(PACKAGE_DIR, root / "fastlogreg",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "_c_build_error.txt"))
    (root / "pyproject.toml").write_text("[project]\nname = 'fastlogreg'\n")
    code = "import fastlogreg; print(fastlogreg.__file__); print(fastlogreg.backend_info()['c'])"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=root, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    imported, message = proc.stdout.splitlines()[:2]
    assert imported == str(root / "fastlogreg" / "__init__.py")
    assert "source checkout in the current directory" in message
    assert "build_ext --inplace" in message
    assert "compiler" not in message
