"""The exceptions optistaff raises on purpose.

A shortage or a time limit is a *result* (see :class:`optistaff.plan.Plan`), never
an exception. Exceptions are for input a person must fix (exit code 2) and for
run-time failures (exit code 1).
"""

from __future__ import annotations

from dataclasses import dataclass


class OptistaffError(Exception):
    """Base class of every error optistaff raises on purpose."""

    exit_code: int = 1


@dataclass(frozen=True)
class Problem:
    """One problem found in the input: where it is, and what is wrong.

    ``file`` is the path as the user gave it (or resolved relative to the scenario),
    ``line`` is 1-based (``None`` when the problem has no single line, e.g. a
    missing key), ``key`` is the dotted key path (``queues.platinum.aht_s``).
    """

    file: str
    line: int | None
    key: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}{key} {self.message}"


class ScenarioError(OptistaffError):
    """The scenario (or one of its side files) is invalid. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = [p for p in problems if p.severity == "error"]
        if not self.problems:
            raise ValueError("ScenarioError needs at least one error")
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(OptistaffError):
    """A command-line argument is out of range (exit code 2)."""

    exit_code = 2


class PlanError(OptistaffError):
    """A plan directory is missing, incomplete or inconsistent."""

    exit_code = 2


class PlanWriteError(OptistaffError):
    """The plan could not be written (unwritable directory, full disk)."""

    exit_code = 1


class SolveError(OptistaffError):
    """The solver failed, or pins contradict each other in a way only the solver finds."""

    exit_code = 1
