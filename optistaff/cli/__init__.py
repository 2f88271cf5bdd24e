"""The ``optistaff`` command line: parse, call the library, print.

Each command lives in its own module (``optistaff/cli/<command>.py``) exposing a
click command named ``command``; this module only assembles them and turns
optistaff's exceptions into one clear message and the exit codes of docs/formats.md:
0 a plan was written, 1 a run-time failure, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from optistaff import __version__
from optistaff.errors import OptistaffError, ScenarioError

COMMANDS = (
    "solve",
    "replan",
    "validate",
    "evaluate",
    "erlang",
    "compare",
    "explain",
    "report",
    "export",
    "simulate",
    "generate",
    "sweep",
)


class _LazyGroup(click.Group):
    """Imports a command's module only when that command runs (keeps startup fast and
    keeps solver imports out of commands that do not solve)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _module_exists(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(cmd_name):
            return None
        module = importlib.import_module(f"optistaff.cli.{cmd_name}")
        command: click.Command = module.command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScenarioError as exc:
            report_problems(exc)
            ctx.exit(exc.exit_code)
        except OptistaffError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing was written", err=True)
            ctx.exit(130)


def _module_exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"optistaff.cli.{name}") is not None


def report_problems(exc: ScenarioError) -> None:
    """Print every problem of a ScenarioError, one per line, on stderr."""
    n = len(exc.problems)
    click.echo(f"{n} problem{'s' if n != 1 else ''} found:", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="optistaff")
def main() -> None:
    """optistaff: where every multi-skilled agent works, in every interval."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
