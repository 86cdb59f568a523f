"""run_with_so.py SO SCRIPT [args]: run SCRIPT with fastlogreg._c_kernels loaded from SO."""
import importlib.util
import runpy
import sys

so, script = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("fastlogreg._c_kernels", so)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
sys.modules["fastlogreg._c_kernels"] = mod
import fastlogreg.backends.c as c  # noqa: E402 (after the build is put in sys.modules)

assert c.lib is mod.lib, "not the requested build"
print("using", so)
sys.argv = sys.argv[2:]
runpy.run_path(script, run_name="__main__")
