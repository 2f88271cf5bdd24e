"""The clock of the command line's ``--time-limit`` (``optistaff/cli/solve.py``).

A fresh ``optistaff`` process spends a second importing numpy, pandas and OR-Tools before
a command runs; the user waits for that too, so the first command of a process that runs
within ``START_WINDOW_S`` of optistaff's import counts from the import. Any other command
(a test runner or a notebook invoking the CLI long after the import) counts from when it
starts. Imported first by ``optistaff/__init__.py``.
"""

from __future__ import annotations

import time

IMPORTED_AT = time.monotonic()
START_WINDOW_S = 5.0
_first = True


def command_started() -> float:
    """The ``time.monotonic()`` reading the running command's time limit counts from."""
    global _first
    now = time.monotonic()
    first, _first = _first, False
    return IMPORTED_AT if first and now - IMPORTED_AT <= START_WINDOW_S else now
