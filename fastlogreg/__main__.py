"""``python -m fastlogreg``: the same command line as the ``fastlogreg`` script."""

import sys

from .cli import main

sys.exit(main())
