"""optistaff: a staffing optimiser for multi-skill contact centers."""

from __future__ import annotations

__version__ = "0.1.0"
