"""Run code in a fresh Python interpreter that imports the *same* fastlogreg as the tests.

Run from the repository root, ``python -c`` would put the source tree first on
``sys.path`` and import it instead of the installed package, which (after a plain
``pip install .``) has no compiled C kernel. So the child runs from a neutral
directory, and the directory holding the tested package goes on ``PYTHONPATH`` unless it
is already a site directory.
"""

import os
import site
import subprocess
import sys
import tempfile

import fastlogreg

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastlogreg.__file__)))


def run_python(code, *, env=None, timeout=180, check=True):
    """Run ``python -c code`` and return the ``CompletedProcess`` (text, captured output).

    ``env`` replaces ``os.environ`` for the child; with ``check`` a non-zero exit fails the
    calling test with the child's stderr.
    """
    environ = dict(os.environ if env is None else env)
    site_dirs = set(site.getsitepackages()) | {site.getusersitepackages()}
    if PACKAGE_PARENT not in site_dirs:
        paths = [PACKAGE_PARENT] + [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        environ["PYTHONPATH"] = os.pathsep.join(paths)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, cwd=tempfile.gettempdir(), timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
