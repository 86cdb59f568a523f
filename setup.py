"""Build of the optional C backend (everything else is in pyproject.toml).

The C kernel (csrc/, module ``fastlogreg._c_kernels``) is built by cffi's setuptools
integration.  It is optional: when it cannot be compiled the install still succeeds,
prints a warning and records why in ``fastlogreg/_c_build_error.txt`` (shown by
``fastlogreg.backend_info()``), and the "c" backend is simply unavailable.
Environment variables read at build time:

* ``FASTLOGREG_REQUIRE_C=1``: a failed C build fails the install (CI sets it);
* ``FASTLOGREG_NATIVE=1``: compile with ``-march=native`` (not portable);
* ``FASTLOGREG_NO_OPENMP=1``: do not use OpenMP even if the compiler supports it;
* ``FASTLOGREG_EXTRA_CFLAGS`` / ``FASTLOGREG_EXTRA_LDFLAGS``: appended flags.
"""

import os
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_ext import build_ext

ERROR_FILE = "_c_build_error.txt"  # next to the extension module, read by backends/c.py


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class OptionalBuildExt(build_ext):
    """build_ext that adds OpenMP when it works and turns a failed build into a warning."""

    def _openmp_flags(self):
        if _flag("FASTLOGREG_NO_OPENMP"):
            return []
        source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "check_openmp.c")
            with open(path, "w") as f:
                f.write(source)
            try:
                objects = self.compiler.compile([path], output_dir=tmp, extra_postargs=["-fopenmp"])
                self.compiler.link_executable(objects, "check_openmp", output_dir=tmp,
                                              extra_postargs=["-fopenmp"])
            except Exception as exc:  # any compiler or linker failure: build serial
                print(f"fastlogreg: OpenMP not available ({exc}); the C kernel will be serial",
                      file=sys.stderr)
                return []
        return ["-fopenmp"]

    def _strip_flags(self):
        """(compile, link) flags that leave debug information out of the extension.

        Python's own CFLAGS usually carry ``-g``, which makes the .so several times larger
        than its code. GCC and Clang on Linux only; placed before the other extra flags so
        ``-g`` in FASTLOGREG_EXTRA_CFLAGS still wins.
        """
        if sys.platform.startswith("linux") and self.compiler.compiler_type == "unix":
            return ["-g0"], ["-s"]
        return [], []

    def build_extensions(self):
        openmp = []
        try:
            openmp = self._openmp_flags()
        except Exception:
            pass
        no_debug, strip = self._strip_flags()
        for ext in self.extensions:
            ext.extra_compile_args = no_debug + list(ext.extra_compile_args or []) + openmp
            ext.extra_link_args = strip + list(ext.extra_link_args or []) + openmp
        super().build_extensions()

    def build_extension(self, ext):
        error_file = os.path.join(os.path.dirname(self.get_ext_fullpath(ext.name)), ERROR_FILE)
        try:
            super().build_extension(ext)
        except Exception as exc:
            if _flag("FASTLOGREG_REQUIRE_C"):
                raise
            reason = f"{type(exc).__name__}: {exc}"
            print(
                "\n" + "*" * 78 + "\n"
                f"WARNING: the optional C kernel of fastlogreg was not built ({reason}).\n"
                "fastlogreg works without it (backends 'numba' and 'numpy'); install a C\n"
                "compiler and reinstall to get backend 'c', or set FASTLOGREG_REQUIRE_C=1\n"
                "to make this failure fatal.\n" + "*" * 78 + "\n",
                file=sys.stderr,
            )
            os.makedirs(os.path.dirname(error_file), exist_ok=True)
            with open(error_file, "w", encoding="utf-8") as f:
                f.write(reason + "\n")
        else:
            if os.path.exists(error_file):
                os.remove(error_file)

    def run(self):
        try:
            super().run()
        except Exception as exc:  # e.g. no compiler at all (DistutilsPlatformError)
            if _flag("FASTLOGREG_REQUIRE_C"):
                raise
            print(f"WARNING: fastlogreg C kernel not built: {type(exc).__name__}: {exc}",
                  file=sys.stderr)


setup(
    cmdclass={"build_ext": OptionalBuildExt},
    cffi_modules=["csrc/build_c_kernels.py:ffibuilder"],
)
