"""The repository passes ``ruff check`` with the configuration in pyproject.toml
([tool.ruff]: pycodestyle, Pyflakes, isort, bugbear and pyupgrade rules, 110 columns)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ruff():
    """The ruff executable of the ruff package in this environment, else one on PATH."""
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        return shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    return find_ruff_bin()


def test_ruff_check_is_clean():
    if not (REPO / "pyproject.toml").is_file():
        pytest.skip(f"no pyproject.toml in {REPO}: not running from a source checkout")
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (pip install 'fastlogreg[test]' or pip install ruff)")
    proc = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", str(REPO)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"ruff check found problems:\n{proc.stdout}{proc.stderr}"
