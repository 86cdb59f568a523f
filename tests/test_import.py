"""``import fastlogreg`` stays fast: backends (Numba, the C extension, SciPy) load lazily,
the first time one is asked for; and every public name is there."""

import json
import os

import fastlogreg

from _interpreter import run_python

#: Import time allowed (best of 3 fresh interpreters). NumPy alone takes ~0.1 s and the
#: package ~0.25 s on the development machine; importing Numba would add ~0.5 s and SciPy
#: ~0.3 s. 1.5 s leaves room for a loaded, shared CI machine; the module check below is the
#: precise guard.
MAX_IMPORT_SECONDS = 1.5
HEAVY = ("numba", "llvmlite", "scipy", "sklearn")

PUBLIC_API = [
    "sigmoid", "log_sigmoid", "log_ndtr", "logsumexp", "softmax", "log_softmax", "inner",
    "cosine_similarity", "binary_cross_entropy", "cross_entropy", "logistic_loss_grad",
    "softmax_loss_grad", "probit_loss_grad", "logistic_hessp", "softmax_hessp",
    "available_backends", "get_backend", "set_backend", "use_backend", "backend_info",
    "set_num_threads", "get_num_threads",
]


def _python(code, **env):
    proc = run_python(code, env=dict(os.environ, **env))
    return json.loads(proc.stdout.strip().splitlines()[-1])


IMPORT_PROBE = (
    "import json, sys, time\n"
    "t = time.perf_counter()\n"
    "import fastlogreg\n"
    "elapsed = time.perf_counter() - t\n"
    f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
    "print(json.dumps({'seconds': elapsed, 'heavy': heavy}))\n"
)


def test_import_does_not_load_backends_and_is_fast():
    env = {k: v for k, v in os.environ.items() if k != "FASTLOGREG_BACKEND"}
    runs = []
    for _ in range(3):
        proc = run_python(IMPORT_PROBE, env=env)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert runs[0]["heavy"] == [], f"import fastlogreg imported {runs[0]['heavy']}"
    best = min(r["seconds"] for r in runs)
    assert best < MAX_IMPORT_SECONDS, f"import fastlogreg took {best:.2f} s (best of 3)"


def test_numpy_backend_does_not_load_numba():
    """Choosing the reference backend loads SciPy but never Numba."""
    out = _python(
        "import json, sys, fastlogreg\n"
        "v = float(fastlogreg.sigmoid(0.0))\n"
        "print(json.dumps({'v': v, 'numba': 'numba' in sys.modules}))\n",
        FASTLOGREG_BACKEND="numpy",
    )
    assert out == {"v": 0.5, "numba": False}


def test_public_api():
    for name in PUBLIC_API:
        assert name in fastlogreg.__all__, name
        assert callable(getattr(fastlogreg, name)), name
    assert isinstance(fastlogreg.__version__, str) and fastlogreg.__version__


def test_python_dash_m_runs_the_command_line():
    proc = run_python("import runpy, sys\n"
                      "sys.argv = ['fastlogreg', '--help']\n"
                      "runpy.run_module('fastlogreg', run_name='__main__')\n", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "usage: fastlogreg" in proc.stdout and "bench" in proc.stdout


def test_package_ships_its_type_marker_and_license():
    from importlib import metadata, resources

    assert resources.files("fastlogreg").joinpath("py.typed").is_file()
    meta = metadata.metadata("fastlogreg")
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert any(str(name).endswith("LICENSE") for name in metadata.files("fastlogreg") or []), \
        "LICENSE is not in the distribution"
