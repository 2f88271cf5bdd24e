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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the commands' docstrings read without
        importing their modules (importing them all costs ~2 s: pandas, scipy, numba)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, short_help(name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


def short_help(name: str, limit: int) -> str:
    """Command ``name``'s line in ``optistaff --help``, as click makes it from the
    docstring (:func:`_summary`), without importing the command."""
    return click.Command(name, help=_summary(name)).get_short_help_str(limit)


def _summary(name: str) -> str:
    """The docstring of command ``name`` (what click's short help is made of), read from
    its module's source; the imported command's help when the source is not there."""
    import ast
    import importlib.util
    import inspect

    spec = importlib.util.find_spec(f"optistaff.cli.{name}")
    origin = spec.origin if spec is not None else None
    if origin is not None and origin.endswith(".py"):
        with open(origin, encoding="utf-8") as source:
            tree = ast.parse(source.read())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "command":
                doc = ast.get_docstring(node, clean=False)
                if doc is not None:
                    return inspect.cleandoc(doc)
    command: click.Command = importlib.import_module(f"optistaff.cli.{name}").command
    return command.help or ""


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


def run() -> None:
    """The ``optistaff`` console script: :func:`main`, then an immediate exit.

    Once the command is done (its files written and closed, its output printed), the
    interpreter's own shutdown (freeing every module and object of numpy, pandas and
    OR-Tools) takes another 0.2-0.3 s that nobody needs: the exit handlers run, the
    output is flushed, and the process ends with the command's exit code."""
    import atexit
    import contextlib
    import os

    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # (a closed pipe: nothing to say)
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
