"""Is ``fastlogreg`` imported from an unbuilt source checkout?

Python puts the current directory first on ``sys.path``, so ``python`` (or ``pytest``)
started in the root of a clone imports ``./fastlogreg`` instead of the installed
package. That tree has no compiled C kernel unless it was built in place, and the C
backend then looks as if the compiler had failed. :func:`unbuilt_checkout` tells the
two cases apart so the message can say what actually happened.
"""

import glob
import os
import sys


def unbuilt_checkout(package_dir=None):
    """The checkout root when ``package_dir`` is an unbuilt source tree, else None.

    A source tree: the package directory's parent holds ``setup.py`` or
    ``pyproject.toml``. Unbuilt: the package directory holds no ``_c_kernels``
    extension module (``_c_kernels*.so`` or ``.pyd``).

    Parameters
    ----------
    package_dir : str, optional
        Directory of the ``fastlogreg`` package (default: the imported one).

    Returns
    -------
    str or None
    """
    if package_dir is None:
        package_dir = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(package_dir)
    if not any(os.path.isfile(os.path.join(root, f)) for f in ("setup.py", "pyproject.toml")):
        return None
    built = [p for ext in ("so", "pyd")
             for p in glob.glob(os.path.join(package_dir, f"_c_kernels*.{ext}"))]
    return None if built else root


def explanation(root):
    """What happened and the two ways out, for an unbuilt checkout at ``root``."""
    here = os.path.abspath(os.getcwd()) == os.path.abspath(root)
    where = "the current directory" if here else root
    return (
        f"fastlogreg was imported from the source checkout in {where}, not from the "
        "installed package (Python looks in the current directory first), and the C "
        "kernel is not built in that tree. Run Python from another directory to use the "
        f"installed package, or build the C kernel in place: cd {root} && "
        f"{sys.executable or 'python'} setup.py build_ext --inplace"
    )
