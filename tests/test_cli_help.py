"""Every command has help, and the help starts with an example (STYLE.md habit 10)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from eolneeds.cli import app

COMMANDS = ["init", "sample", "ingest", "inspect", "validate", "assess", "run",
            "indicators"]


def test_every_command_is_listed_in_the_top_level_help() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def test_no_command_is_missing_from_this_test() -> None:
    registered = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert registered == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example: eolneeds" in result.output
    assert command in result.output.split("Example: ", 1)[1].splitlines()[0]


def test_unknown_command_is_a_usage_error_with_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "eolneeds.cli", "no-such-command"],
        capture_output=True, text=True, encoding="utf-8",
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_user_error_is_one_line_with_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-m", "eolneeds.cli", "validate", "--project", str(tmp_path)],
        capture_output=True, text=True, encoding="utf-8",
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: ")
    assert "is not an eolneeds project" in proc.stderr
    assert "eolneeds init" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
