"""When optistaff was first imported (``time.monotonic()``): the command line's
``--time-limit`` counts from here, so that loading the libraries counts too
(``optistaff/cli/solve.py``). Imported first by ``optistaff/__init__.py``."""

from __future__ import annotations

import time

IMPORTED_AT = time.monotonic()
