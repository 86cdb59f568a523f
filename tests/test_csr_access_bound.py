"""``bench/csr_access_bound.c`` (the CSR kernels' memory accesses timed alone) builds
without warnings and prints one line per pass, at a size of milliseconds."""

import pathlib
import re
import shutil
import subprocess

import pytest

SOURCE = pathlib.Path(__file__).resolve().parents[1] / "bench" / "csr_access_bound.c"
PASSES = ["stream", "gather", "gather+scatter", "interleaved"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")
def test_builds_and_reports_every_pass(tmp_path):
    binary = tmp_path / "csr_access_bound"
    build = subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-fopenmp", str(SOURCE), "-o",
                            str(binary), "-lm"], capture_output=True, text=True, check=False)
    if build.returncode != 0 and "omp.h" in build.stderr:
        pytest.skip("gcc without OpenMP")
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(binary), "2000", "300", "7", "2"], capture_output=True, text=True,
                         check=False, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "2000 x 300 CSR, 7 entries a row, uniform columns, 2 threads"
    number = r"(\d+\.\d)"
    pattern = re.compile(rf"^(\S+) +{number} ms \(quartiles {number}-{number}\)  "
                         r"(\d+\.\d\d) of the stream pass$")
    matches = [pattern.match(line) for line in lines[1:]]
    assert all(matches), lines
    assert [m.group(1) for m in matches] == PASSES
    assert matches[0].group(5) == "1.00"
    for m in matches:
        low, median, high = float(m.group(3)), float(m.group(2)), float(m.group(4))
        assert low <= median <= high
