"""One error hierarchy for the whole tool.

The core raises these; only the CLI turns them into one readable line and an exit
code. Every message should say what is wrong, where (file, row, column) and how to
fix it. Exit codes are part of the user-facing contract (README, "Exit codes").
"""

from __future__ import annotations

import os
import re
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1  # a bug in eolneeds: please report it (run with --debug)
    USAGE = 2  # bad command line or bad eolneeds.toml
    INPUT_DATA = 3  # input data invalid or failing validation
    LOCKED = 4  # another run holds the project lock
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


# Said on Ctrl-C, whenever it comes: during start-up (eolneeds/__main__.py) or mid-command
# (cli.main). True at any moment because a file is loaded whole or not at all and outputs
# are written whole or not at all.
INTERRUPTED_MESSAGE = (
    "Error: interrupted (Ctrl-C) — nothing unfinished was kept (a file is loaded whole or "
    "not at all, outputs are written whole or not at all); run the command again")


class EolneedsError(Exception):
    """Base for errors a user can act on. `str(err)` is the whole message."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(EolneedsError):
    """Bad options, a bad or missing eolneeds.toml, an unknown dataset or mapping."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """eolneeds.toml or a mapping file is invalid. The message names the key."""


class InputDataError(EolneedsError):
    """An input file cannot be read or fails validation.

    Build messages with `input_error(...)` so they always read the same way.
    """

    exit_code = ExitCode.INPUT_DATA


class ProjectLockedError(EolneedsError):
    """Another eolneeds process holds the project lock."""

    exit_code = ExitCode.LOCKED


def input_error(
    file: str,
    problem: str,
    fix: str,
    *,
    row: int | None = None,
    column: str | None = None,
) -> InputDataError:
    """`deaths.csv row 412, column date_of_death: "31/02/2023" is not a date -- fix ...`"""
    where = file
    if row is not None:
        where += f" row {row}"
    if column is not None:
        where += "," if row is not None else ""
        where += f" column {column}"
    return InputDataError(f"{where}: {problem} — {fix}")


def shell_arg(value: str | Path) -> str:
    """`value` as one argument of a command a message tells the user to run: unchanged
    when it holds only characters no shell treats specially, else quoted -- in single
    quotes for POSIX shells, double quotes for Windows' (whose paths hold no '"')."""
    text = str(value)
    plain = r"[\w@%+=:,./\\-]+" if os.name == "nt" else r"[\w@%+=:,./-]+"
    if re.fullmatch(plain, text):
        return text
    if os.name == "nt":
        return f'"{text}"'
    return "'" + text.replace("'", "'\"'\"'") + "'"
