"""cffi build script of the optional C backend: module ``fastlogreg._c_kernels``.

Used by setup.py through ``cffi_modules=["csrc/build_c_kernels.py:ffibuilder"]`` (API,
out-of-line mode: every call releases the GIL).  setup.py's build_ext adds ``-fopenmp``
after checking that the compiler accepts it.  Flags:

* default: ``-O3 -std=c11 -fno-trapping-math -fno-math-errno -ffp-contract=fast``
  ``-Wall -Wextra -Wno-psabi``
  (portable: no -march; on x86-64 Linux with GCC the hot loops are compiled for the
  baseline, x86-64-v3 and x86-64-v4 and one is picked at load time);
* ``FASTLOGREG_NATIVE=1`` at build time: also ``-march=native`` (one code path, for this
  CPU);
* ``FASTLOGREG_EXTRA_CFLAGS`` / ``FASTLOGREG_EXTRA_LDFLAGS`` (space separated) are
  appended, e.g. ``-fsanitize=address`` for an AddressSanitizer build.

Standalone (for experiments): ``python csrc/build_c_kernels.py [tmpdir]`` compiles the
module into ``tmpdir`` (default: the current directory).
"""

import os
import sys

from cffi import FFI

_HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(_HERE, "fastlogreg_kernels.h")
SOURCES = [os.path.join(_HERE, "fastlogreg_kernels.c")]
DEPENDS = [HEADER] + [os.path.join(_HERE, f)
                      for f in ("kernels_impl.h", "kernels_isa.h", "kernels_rows.h", "kernels_csr.h")]


def _cdef():
    """The header without preprocessor lines: cffi's cdef parses plain declarations."""
    with open(HEADER, encoding="utf-8") as f:
        return "".join(line for line in f if not line.lstrip().startswith("#"))


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def compile_args():
    # -fno-trapping-math / -fno-math-errno change no value (the kernels neither test FP
    # exception flags nor errno); they let GCC if-convert and vectorize the row loops.
    # -ffp-contract=fast lets the FMA clones fuse a*b+c (-std=c11 alone forbids it): the
    # fused kernels are multiply-add loops, and a fused multiply-add is one rounding fewer.
    # -Wno-psabi: GCC notes that passing 64-byte vectors by value changed ABI in GCC 4.6;
    # those vector helpers are always inlined static functions, no call crosses an ABI.
    args = ["-O3", "-std=c11", "-fno-trapping-math", "-fno-math-errno", "-ffp-contract=fast",
            "-Wall", "-Wextra", "-Wno-psabi"]
    if _flag("FASTLOGREG_NATIVE"):
        args += ["-march=native", "-DFLR_NATIVE"]
    args += os.environ.get("FASTLOGREG_EXTRA_CFLAGS", "").split()
    return args


def link_args():
    return os.environ.get("FASTLOGREG_EXTRA_LDFLAGS", "").split()


def _relative(path):
    # setuptools wants source paths relative to the project root (the cwd of setup.py);
    # ffibuilder.compile() changes directory, so the standalone build keeps them absolute.
    if __name__ == "__main__":
        return path
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "fastlogreg._c_kernels",
    '#include "fastlogreg_kernels.h"',
    sources=[_relative(p) for p in SOURCES],
    include_dirs=[_relative(_HERE)],
    depends=[_relative(p) for p in DEPENDS],
    extra_compile_args=compile_args(),
    extra_link_args=link_args(),
    libraries=["m"] if sys.platform != "win32" else [],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=sys.argv[1] if len(sys.argv) > 1 else ".", verbose=True)
